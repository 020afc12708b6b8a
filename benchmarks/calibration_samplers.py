"""Ledger calibration, sampler against sampler: tempered SMC versus emcee on one posterior.

    python -m benchmarks.calibration_samplers OBSERVATIONS.csv
    python -m benchmarks.calibration_samplers OBS.csv --smc-particles 128 512 --smc-seeds 0 1
    python -m benchmarks.calibration_samplers OBS.csv --only emcee --emcee-max-seconds 1800
    python -m benchmarks.calibration_samplers OBS.csv --json samplers.json

Issue 14 §2 asks for the sampler that reaches an honest posterior on the public record
(SMC: final temperature 1 and ESS ≥ 30 % of the particles; MCMC: R-hat < 1.01 and bulk
ESS ≥ 400) and for the samplers to be measured side by side. Both samplers here target
**the same posterior**: the unknowns of :func:`forcegen.observations.smc.smc_calibrate`
in its unit cube (the chosen scenario parameters' prior quantiles, each factor group,
each before-start rate and the model discrepancy τ), a uniform prior on the cube, and
:func:`forcegen.observations.smc.log_likelihood` on the mean-field trajectory.

* **SMC**: ``smc_calibrate`` itself, with its defaults and with more particles. Its
  log-evidence is not returned by the library, so it is recorded here by wrapping the
  private tempering step (``_next_step``): ``log Z = Σ_t log mean_i exp(δ_t ℓ_i)``
  over the stages (the particles are equally weighted after each resampling).
* **emcee** (affine-invariant ensemble, Goodman & Weare 2010): on the logit of the
  unit cube (``x = logit(u)``, prior density ``Π u(1 − u)``), ``K`` independent
  ensembles started from independent prior draws. Their half-ensemble proposals are
  evaluated in one batched simulation (a batcher thread per ensemble): the engine's
  cost per call is nearly flat in the batch size, so this is what makes emcee
  affordable at all. Every ``--check-every`` steps the second half of each chain is
  diagnosed (the first half is burn-in): rank-normalised split-R-hat and bulk ESS
  (Vehtari et al. 2021, computed here; arviz is not a dependency) with every walker of
  every ensemble a chain, as arviz treats emcee, and emcee's integrated
  autocorrelation time per ensemble. The run stops when every unknown has R-hat <
  1.01 and bulk ESS ≥ 400, or at the time or step limit.
* **Between SMC runs**: R-hat across independent runs (seeds) of one SMC setting,
  from each run's particle mean and sd — the MCMC criterion applied to SMC, which its
  own diagnostics (ESS of the last reweighting) cannot replace.

The library has no public function for the likelihood of one point: the adapter
(:class:`Posterior`) rebuilds ``smc_calibrate``'s closure from the library's public
pieces (``Truth``, ``factor_matrix``, ``log_sds``, ``log_likelihood``,
``simulate_design``), line for line. Runs share a loaded machine: simulations and
batched calls are reported beside seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from numpy.typing import NDArray
from scipy import special

from forcegen.analysis.sensitivity import resolve_parameters, simulate_design, through_day
from forcegen.errors import ForcegenError
from forcegen.observations import smc
from forcegen.observations.check import factor_matrix, log_sds
from forcegen.observations.convergence import bulk_ess, split_rhat
from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import load_mapping
from forcegen.observations.measure import Resolved, Truth, resolve
from forcegen.sim import load

FloatArray = NDArray[np.float64]
RHAT_MAX = 1.01
"""MCMC passes with every unknown's rank-normalised split-R-hat below this…"""
BULK_ESS_MIN = 400.0
"""…and every unknown's bulk effective sample size at least this (draws)."""
_HISTORY = ("steps", "seconds", "simulations", "calls", "max_rhat", "min_bulk_ess", "max_tau")


# ------------------------------------------------------------------ the posterior
@dataclass
class Posterior:
    """``smc_calibrate``'s target: unknowns in the unit cube, mean-field likelihood.

    Attributes:
        resolved: The ledger resolved against the scenario.
        names: Calibrated scenario parameters (the first ``k`` unknowns).
        columns: Name of every unknown, in ``smc_calibrate``'s column order.
        simulations: Simulations run so far (one mean-field trajectory each).
        calls: Batched engine calls so far (each costs about the same whatever its size).
    """

    resolved: Resolved
    names: list[str]
    columns: list[str] = field(default_factory=list)
    simulations: int = 0
    calls: int = 0

    def __post_init__(self) -> None:
        r = self.resolved
        self._truth = Truth.of(r)
        self._short = through_day(r.scenario, r.last_day)
        self._ms = r.measurements
        self._sd = log_sds(self._ms)
        self._observed = np.array([m.observed for m in self._ms])
        self._bounds = [m.row.bound for m in self._ms]
        before = [r.mapping.before_start[t] for t in r.offsets]
        self._off_lo = np.array([b.low for b in before])
        self._off_hi = np.array([b.high for b in before])
        self.columns = (
            list(self.names)
            + [f"factor:{x}" for x in r.groups]
            + [f"before:{x}" for x in r.offsets]
            + ["discrepancy"]
        )

    @property
    def dim(self) -> int:
        """Number of unknowns."""
        return len(self.columns)

    def simulate(self, theta: FloatArray) -> FloatArray:
        """``(n, measurements, 2)`` flows of the mean-field trajectories of ``theta``'s
        parameter quantiles (one batched engine call)."""
        self.simulations += theta.shape[0]
        self.calls += 1
        return simulate_design(
            self._short,
            theta.shape[0],
            {name: theta[:, j] for j, name in enumerate(self.names)},
            self._truth.flows,
            seed=self.calls,  # mean-field: the trajectory does not depend on it
            mode="mean-field",
        )

    def log_likelihood(self, theta: FloatArray, flows: FloatArray) -> FloatArray:
        """``(n,)`` log-likelihood, as ``smc_calibrate``'s ``loglik`` (discrepancy on)."""
        k, g, o = len(self.names), len(self.resolved.groups), len(self.resolved.offsets)
        rates = self._off_lo + (self._off_hi - self._off_lo) * theta[:, k + g : k + g + o]
        values = self._truth.finish(flows, rates if o else None)
        factors = factor_matrix(self._ms, self.resolved.groups, theta[:, k : k + g])
        tau = smc.MAX_DISCREPANCY * theta[:, -1]
        return smc.log_likelihood(values, factors, self._sd, self._observed, self._bounds, tau)

    def log_posterior_logit(self, x: FloatArray) -> FloatArray:
        """``(n,)`` unnormalised log-density of ``x = logit(u)``: likelihood plus the
        log-Jacobian ``Σ log u(1 − u)`` of the uniform prior on the cube."""
        x = np.atleast_2d(x)
        u = special.expit(x)
        inside = np.all((u > 0) & (u < 1), axis=1)
        out = np.full(x.shape[0], -np.inf)
        if inside.any():
            ui = u[inside]
            ll = self.log_likelihood(ui, self.simulate(ui))
            out[inside] = ll + np.sum(np.log(ui) + np.log1p(-ui), axis=1)
        # emcee refuses NaN; a NaN here would be a bug upstream, -inf rejects the move.
        return np.where(np.isnan(out), -np.inf, out)

    def natural(self, u: FloatArray) -> FloatArray:
        """Unknowns in their own units: parameter values (their scenario units),
        factors, before-start rates (people a day) and τ (log scale)."""
        r = self.resolved
        out = u.copy()
        refs = resolve_parameters(r.scenario, self.names)
        for j, ref in enumerate(refs):
            out[:, j] = ref.param.values(np.clip(u[:, j], 1e-9, 1 - 1e-9))
        k, g, o = len(self.names), len(r.groups), len(r.offsets)
        lows = {m.group: (m.model.low, m.model.high) for m in r.measurements}
        for j, grp in enumerate(r.groups):
            lo, hi = lows[grp]
            out[:, k + j] = lo + (hi - lo) * u[:, k + j]
        out[:, k + g : k + g + o] = self._off_lo + (self._off_hi - self._off_lo) * u[:, k + g : -1]
        out[:, -1] = smc.MAX_DISCREPANCY * u[:, -1]
        return out


# ------------------------------------------------------------------ SMC
def run_smc(
    resolved: Resolved, post: Posterior, particles: int, seed: int, budget: int, moves: int = 3
) -> dict[str, Any]:
    """One ``smc_calibrate`` run on ``post``'s parameters, with its log-evidence
    (``moves``: Metropolis steps with a simulation per stage; 3 is the default)."""
    increments: list[float] = []
    original = smc._next_step

    def step(ll: FloatArray, beta: float, target: float) -> tuple[float, float]:
        delta, ess = original(ll, beta, target)
        finite = np.where(np.isfinite(ll), ll, -1e300)  # as _next_step treats them
        increments.append(float(special.logsumexp(delta * finite) - math.log(ll.size)))
        return delta, ess

    calls = {"n": 0}

    def progress(_done: int, _budget: int) -> None:
        calls["n"] += 1

    start = time.perf_counter()
    with mock.patch.object(smc, "_next_step", step):
        result = smc.smc_calibrate(
            resolved,
            params=post.names,
            particles=particles,
            moves=moves,
            budget=budget,
            seed=seed,
            progress=progress,
        )
    seconds = time.perf_counter() - start
    d = result.diagnostics
    values = post.natural(result.particles)
    return {
        "sampler": f"SMC N={particles}" + (f", {moves} moves" if moves != 3 else ""),
        "seed": seed,
        "seconds": seconds,
        "simulations": d.simulations,
        "calls": calls["n"],
        "passed": d.passed,
        "diagnostics": d.as_dict(),
        "temperatures": result.temperatures,
        "log_evidence": float(sum(increments)) if d.final_temperature == 1.0 else None,
        "summary": _summary(post.columns, values, d.ess),
    }


def _summary(columns: Sequence[str], values: FloatArray, ess: FloatArray | float) -> dict[str, Any]:
    """Mean, sd, 5 % and 95 % quantiles and the Monte Carlo error of the mean
    (sd / sqrt(ESS)) of every unknown."""
    ess_arr = np.broadcast_to(np.asarray(ess, dtype=np.float64), (len(columns),))
    out: dict[str, Any] = {}
    for j, name in enumerate(columns):
        v = values[:, j]
        sd = float(np.std(v, ddof=1))
        out[name] = {
            "mean": float(np.mean(v)),
            "sd": sd,
            "q05": float(np.quantile(v, 0.05)),
            "q95": float(np.quantile(v, 0.95)),
            "mcse": sd / math.sqrt(float(ess_arr[j])) if ess_arr[j] > 0 else math.nan,
        }
    return out


# ------------------------------------------------------------------ emcee
class _Batcher:
    """Gathers one log-density request from every running ensemble and evaluates them
    in one batched engine call (the engine costs about the same for 40 or 160 points)."""

    def __init__(self, fn: Callable[[FloatArray], FloatArray], clients: int) -> None:
        self._fn = fn
        self._cond = threading.Condition()
        self._active = clients
        self._pending: dict[int, FloatArray] = {}
        self._results: dict[int, FloatArray] = {}
        self._error: BaseException | None = None

    def call(self, who: int, x: FloatArray) -> FloatArray:
        with self._cond:
            self._pending[who] = np.atleast_2d(x)
            self._run_if_complete()
            while who not in self._results and self._error is None:
                self._cond.wait()
            if self._error is not None:
                raise RuntimeError("a batched evaluation failed") from self._error
            return self._results.pop(who)

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._run_if_complete()

    def _run_if_complete(self) -> None:
        if not self._pending or len(self._pending) < self._active:
            return
        keys = list(self._pending)
        xs = [self._pending.pop(key) for key in keys]
        try:
            out = self._fn(np.concatenate(xs))
        except BaseException as exc:  # handed to every waiting ensemble
            self._error = exc
            self._cond.notify_all()
            return
        edges = np.cumsum([0] + [len(x) for x in xs])
        for key, a, b in zip(keys, edges[:-1], edges[1:], strict=True):
            self._results[key] = out[a:b]
        self._cond.notify_all()


def run_emcee(
    post: Posterior,
    *,
    ensembles: int,
    walkers: int,
    seed: int,
    check_every: int,
    max_steps: int,
    max_seconds: float,
) -> dict[str, Any]:
    """``ensembles`` independent emcee ensembles until R-hat < 1.01 and bulk ESS ≥ 400
    for every unknown (second half of the chains), or a limit."""
    import logging

    import emcee

    # emcee warns at every check that short chains give unreliable τ; the report says so.
    logging.getLogger("emcee").setLevel(logging.ERROR)

    dim = post.dim
    rng = np.random.default_rng([seed, 14])
    start_u = rng.uniform(0.02, 0.98, size=(ensembles, walkers, dim))
    states: list[Any] = list(special.logit(start_u))
    # Each chunk of steps gets a fresh batcher (the ensembles leave it as they finish).
    current = {"batcher": _Batcher(post.log_posterior_logit, ensembles)}
    samplers = [
        emcee.EnsembleSampler(
            walkers,
            dim,
            (lambda x, i=i: current["batcher"].call(i, x)),
            vectorize=True,
        )
        for i in range(ensembles)
    ]
    for sampler in samplers:
        # emcee 3 takes no seed argument; its stretch moves draw from this generator.
        sampler._random = np.random.RandomState(int(rng.integers(2**31)))
    sims0, calls0 = post.simulations, post.calls
    start = time.perf_counter()
    history: list[dict[str, Any]] = []
    steps = 0
    final: dict[str, Any] = {}
    while steps < max_steps:
        chunk = min(check_every, max_steps - steps)
        errors: list[BaseException] = []
        batcher = current["batcher"] = _Batcher(post.log_posterior_logit, ensembles)

        def advance(
            i: int,
            chunk: int = chunk,
            batcher: _Batcher = batcher,
            errors: list[BaseException] = errors,
        ) -> None:
            try:
                states[i] = samplers[i].run_mcmc(states[i], chunk, progress=False)
            except BaseException as exc:
                errors.append(exc)
            finally:
                batcher.leave()

        threads = [threading.Thread(target=advance, args=(i,)) for i in range(ensembles)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        steps += chunk
        final = _emcee_diagnostics(post, samplers, steps)
        final.update(
            seconds=time.perf_counter() - start,
            simulations=post.simulations - sims0,
            calls=post.calls - calls0,
        )
        history.append({k: final[k] for k in _HISTORY})
        print(
            f"  emcee step {steps}: {final['simulations']} sims, {final['seconds']:.0f} s, "
            f"max R-hat {final['max_rhat']:.3f}, min bulk ESS {final['min_bulk_ess']:.0f}, "
            f"max tau {final['max_tau']:.0f}",
            file=sys.stderr,
            flush=True,
        )
        if final["passed"] or final["seconds"] >= max_seconds:
            break
    final["history"] = history
    final["sampler"] = f"emcee {ensembles}×{walkers} walkers"
    final["ensembles"] = ensembles
    final["walkers"] = walkers
    return final


def _emcee_diagnostics(post: Posterior, samplers: Sequence[Any], steps: int) -> dict[str, Any]:
    """Diagnostics and summaries of the second half of every chain."""
    chains = np.stack([s.get_chain() for s in samplers])  # (ens, steps, walkers, dim)
    kept = chains[:, steps // 2 :]
    u = special.expit(kept)
    ens, n, w, dim = u.shape
    # chains for R-hat/ESS: every walker of every ensemble, on the natural scale.
    values = post.natural(u.reshape(-1, dim)).reshape(ens, n, w, dim)
    per_chain = values.transpose(0, 2, 1, 3).reshape(ens * w, n, dim)
    rhat = np.array([split_rhat(per_chain[:, :, j]) for j in range(dim)]) if n >= 4 else None
    ess = np.array([bulk_ess(per_chain[:, :, j]) for j in range(dim)]) if n >= 4 else None
    from emcee.autocorr import integrated_time

    taus = np.array(
        [integrated_time(c[steps // 2 :], quiet=True) for c in (s.get_chain() for s in samplers)]
    )
    acceptance = float(np.mean([np.mean(s.acceptance_fraction) for s in samplers]))
    max_rhat = float(np.nanmax(rhat)) if rhat is not None else math.inf
    min_ess = float(np.nanmin(ess)) if ess is not None else 0.0
    flat = values.reshape(-1, dim)
    return {
        "steps": steps,
        "kept_steps": n,
        "max_rhat": max_rhat,
        "min_bulk_ess": min_ess,
        "max_tau": float(np.max(taus)),
        "tau": dict(zip(post.columns, np.mean(taus, axis=0).tolist(), strict=True)),
        "rhat": dict(zip(post.columns, rhat.tolist(), strict=True)) if rhat is not None else {},
        "bulk_ess": dict(zip(post.columns, ess.tolist(), strict=True)) if ess is not None else {},
        "acceptance": acceptance,
        "passed": bool(max_rhat < RHAT_MAX and min_ess >= BULK_ESS_MIN),
        "summary": _summary(post.columns, flat, ess if ess is not None else 0.0),
    }


# ------------------------------------------------------------------ report
def markdown(report: dict[str, Any]) -> str:
    """The comparison table and the parameter table, as Markdown."""
    lines = [
        "| sampler | seed | passed | simulations | engine calls | wall s | diagnostics | "
        "log-evidence |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for run in report["runs"]:
        if run["sampler"].startswith("SMC"):
            d = run["diagnostics"]
            diag = (
                f"T {d['final_temperature']:.3g}, ESS {d['ess_share']:.0%}, "
                f"distinct {d['unique_share']:.0%}, {d['stages']} stages"
            )
        else:
            diag = (
                f"{run['steps']} steps, max R-hat {run['max_rhat']:.3g}, "
                f"min bulk ESS {run['min_bulk_ess']:.0f}, max τ_int {run['max_tau']:.0f} steps, "
                f"acceptance {run['acceptance']:.2f}"
            )
        z = run.get("log_evidence")
        lines.append(
            f"| {run['sampler']} | {run.get('seed', '')} | {'yes' if run['passed'] else 'no'} | "
            f"{run['simulations']:,} | {run['calls']:,} | {run['seconds']:.0f} | {diag} | "
            f"{'' if z is None else f'{z:.1f}'} |"
        )
    lines += [
        "",
        "Mean ± sd/√ESS [5 %, 95 %] of each unknown. For SMC, ESS is that of the last "
        "reweighting, which ignores the particles' shared ancestry: compare seeds.",
        "",
        _parameter_table(report),
        "",
        _between_runs(report),
        "",
    ]
    return "\n".join(lines)


def between_run_rhat(means: Sequence[float], sds: Sequence[float], n: int) -> float:
    """Gelman–Rubin R-hat of independent runs of ``n`` draws each, from their means
    and sds (ddof 1): ``sqrt(((n − 1)/n · W + B) / W)`` with ``W`` the mean within-run
    variance and ``B`` the variance of the run means. Runs of one sampler that found
    the same posterior give about 1; it is the MCMC criterion applied to SMC runs."""
    within = float(np.mean(np.square(sds)))
    between = float(np.var(means, ddof=1))
    if within <= 0:
        return math.nan
    return math.sqrt(((n - 1) / n * within + between) / within)


def _between_runs(report: dict[str, Any]) -> str:
    """R-hat across the SMC runs of each setting (two or more seeds)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in report["runs"]:
        if run["sampler"].startswith("SMC"):
            groups.setdefault(run["sampler"], []).append(run)
    groups = {k: v for k, v in groups.items() if len(v) >= 2}
    if not groups:
        return ""
    shown = [*report["parameters"], "discrepancy"]
    out = [
        "R-hat across independent SMC runs (seeds) of one setting; < 1.01 would mean "
        "they found the same posterior:",
        "",
        "| unknown | " + " | ".join(f"{k} ({len(v)} seeds)" for k, v in groups.items()) + " |",
        "| --- |" + " ---: |" * len(groups),
    ]
    every = next(iter(groups.values()))[0]["summary"]
    for name in [*shown, "max over all unknowns"]:
        cells = []
        for runs in groups.values():
            n = int(runs[0]["diagnostics"]["ess"] / runs[0]["diagnostics"]["ess_share"])
            names = every if name.startswith("max") else [name]
            value = max(
                between_run_rhat(
                    [r["summary"][x]["mean"] for r in runs],
                    [r["summary"][x]["sd"] for r in runs],
                    n,
                )
                for x in names
            )
            cells.append(f"{value:.2f}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _parameter_table(report: dict[str, Any]) -> str:
    runs = report["runs"]
    shown = [*report["parameters"], "discrepancy"]
    head = "| unknown | " + " | ".join(r["sampler"] + f" s{r.get('seed', '')}" for r in runs)
    out = [head + " |", "| --- |" + " --- |" * len(runs)]
    for name in shown:
        cells = []
        for r in runs:
            s = r["summary"][name]
            cells.append(f"{s['mean']:.4g} ± {s['mcse']:.2g} [{s['q05']:.4g}, {s['q95']:.4g}]")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the samplers, print the tables, write the JSON if asked."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.calibration_samplers", description=__doc__.split("\n")[0]
    )
    parser.add_argument("observations", type=Path, nargs="?", help="ledger CSV or YAML")
    parser.add_argument(
        "--render",
        type=Path,
        nargs="+",
        default=None,
        help="measure nothing: print the tables of these JSON dumps' runs together",
    )
    parser.add_argument("--scenario", default="russia-2022-mobilisation")
    parser.add_argument("--only", choices=("smc", "emcee"), default=None)
    parser.add_argument("--smc-particles", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--smc-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--smc-budget", type=int, default=20000)
    parser.add_argument("--smc-moves", type=int, default=3, help="moves per stage (3: default)")
    parser.add_argument("--emcee-ensembles", type=int, default=4)
    parser.add_argument("--emcee-walkers", type=int, default=0, help="0: 2 × unknowns + 2")
    parser.add_argument("--emcee-seed", type=int, default=0)
    parser.add_argument("--check-every", type=int, default=20)
    parser.add_argument("--emcee-max-steps", type=int, default=5000)
    parser.add_argument("--emcee-max-seconds", type=float, default=1800.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.render:
        return _render(args.render)
    if args.observations is None:
        parser.error("give the observations file (or --render JSON files)")
    try:
        resolved = resolve(load_ledger(args.observations), load(args.scenario), load_mapping())
    except ForcegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    names = smc.choose_parameters(resolved, 6)
    post = Posterior(resolved, names)
    report: dict[str, Any] = {
        "command": "python -m benchmarks.calibration_samplers " + " ".join(sys.argv[1:]),
        "scenario": args.scenario,
        "observations": len(resolved.measurements),
        "parameters": names,
        "unknowns": post.dim,
        "choose_seconds": time.perf_counter() - start,
        "runs": [],
    }
    print(f"{post.dim} unknowns; parameters {names}", file=sys.stderr, flush=True)
    if args.only in (None, "smc"):
        for particles in args.smc_particles:
            for seed in args.smc_seeds:
                run = run_smc(resolved, post, particles, seed, args.smc_budget, args.smc_moves)
                report["runs"].append(run)
                print(
                    f"  {run['sampler']} seed {seed}: {run['seconds']:.0f} s, "
                    f"{run['simulations']} sims, passed {run['passed']}",
                    file=sys.stderr,
                    flush=True,
                )
                _dump(report, args.json)
    if args.only in (None, "emcee"):
        walkers = args.emcee_walkers or 2 * post.dim + 2
        run = run_emcee(
            post,
            ensembles=args.emcee_ensembles,
            walkers=walkers,
            seed=args.emcee_seed,
            check_every=args.check_every,
            max_steps=args.emcee_max_steps,
            max_seconds=args.emcee_max_seconds,
        )
        report["runs"].append(run)
        _dump(report, args.json)
    print(markdown(report))
    return 0


def _render(paths: Sequence[Path]) -> int:
    """Print the tables of several JSON dumps (runs made in separate processes)."""
    merged: dict[str, Any] | None = None
    for path in paths:
        try:
            report = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            return 2
        if merged is None:
            merged = report
        elif report.get("parameters") != merged.get("parameters"):
            print(f"error: {path}: calibrated other parameters; not comparable", file=sys.stderr)
            return 2
        else:
            merged["runs"] += report["runs"]
    assert merged is not None  # argparse gives at least one path
    print(markdown(merged))
    return 0


def _dump(report: dict[str, Any], path: Path | None) -> None:
    if path is not None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(report, indent=1, default=float))
        tmp.replace(path)


if __name__ == "__main__":
    raise SystemExit(main())
