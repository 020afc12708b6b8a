"""Correlated steps of a dated series: a Gaussian copula around the series' quantile.

A dated series is driven by one uniform quantile ``u`` per replicate. With
``step_correlation: rho`` (a rank correlation, 0 … 1) each step ``k`` gets its own
quantile instead::

    z_k = sqrt(r) * Phi^-1(u) + sqrt(1 - r) * e_k,    u_k = Phi(z_k),
    r   = 2 sin(pi * rho / 6),

with ``e_k`` independent standard normal deviates. The ``z_k`` are standard normal
with pairwise (Pearson) correlation ``r``, and the Spearman rank correlation of a
bivariate normal pair with correlation ``r`` is ``(6 / pi) arcsin(r / 2)``, which is
``rho``: so any two steps' *values* (monotone transforms of the ``u_k``) have rank
correlation ``rho`` whatever their distributions, and each step keeps its own
distribution (``u_k`` is uniform). ``rho = 1`` is the shared quantile (``u_k = u``)
and ``rho = 0`` independent steps. The common factor ``u`` stays the parameter's one
input to sensitivity analysis and calibration.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["latent_correlation", "step_quantiles"]

FloatArray = NDArray[np.float64]


def latent_correlation(rank_correlation: float) -> float:
    """Pearson correlation of the copula's normals that gives this Spearman rank
    correlation between steps (both dimensionless, 0 … 1)."""
    return 2.0 * math.sin(math.pi * rank_correlation / 6.0)


def step_quantiles(
    u: FloatArray, rank_correlation: float, noise: FloatArray, eps: float
) -> FloatArray:
    """Per-step quantiles ``(R, n_steps)`` from the series quantile ``u`` ``(R,)``.

    Args:
        u: The series' quantile per replicate, in (0, 1).
        rank_correlation: Stated rank correlation between steps, 0 … 1.
        noise: Independent standard normal deviates ``(R, n_steps)``, one per step.
        eps: Quantiles are kept in ``[eps, 1 - eps]``, as every sampled quantile is.
    """
    from scipy.special import ndtr, ndtri  # scipy is slow to import; needed only here

    r = min(max(latent_correlation(rank_correlation), 0.0), 1.0)
    z = math.sqrt(r) * ndtri(u)[:, None] + math.sqrt(1.0 - r) * noise
    return np.clip(np.asarray(ndtr(z), dtype=np.float64), eps, 1.0 - eps)
