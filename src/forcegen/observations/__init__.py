"""Observations as a ledger: sourced public figures, what each measures in the model,
how each source relates to the truth, and how forecasts score against them.

* :mod:`.dates` — dates at day, month or year precision (month = its last day).
* :mod:`.ledger` — the public-record CSV read as it is, every problem located.
* :mod:`.mapping` — the mapping from a ``quantity`` to model series (``quantities.yaml``).
* :mod:`.obsmodel` — observation models per source (named count, official claim,
  estimate, unverified report).
* :mod:`.measure` — the simulated truth of each observation from a result.
* :mod:`.scoring` — predictive bands, percentiles, interval score and CRPS.
* :mod:`.check` — ``forcegen check``: every observation against a predictive ensemble.
* :mod:`.smc` — tempered sequential Monte Carlo on the mean-field trajectory.
* :mod:`.backtest` — ``forcegen backtest``: calibrate up to a cut-off, score the rest
  against the prior and naive baselines.
"""
