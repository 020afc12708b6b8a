"""forcegen benchmarks: the same scenario in forcegen, Mesa and SimPy, side by side.

``python -m benchmarks`` (or ``make bench``) runs everything and writes
``docs/benchmarks.md``; ``python -m benchmarks --quick`` is a smoke run of a few
minutes. Modules:

* :mod:`benchmarks.scenario` — the benchmark scenario (one channel, Poisson recruits,
  training, three hazards, recovery and return, fixed term with renewal);
* :mod:`benchmarks.peer_mesa`, :mod:`benchmarks.peer_simpy` — the same semantics as a
  Mesa 3 agent-based model and a SimPy discrete-event model, one agent / process per
  soldier;
* :mod:`benchmarks.measure` — one measurement in a fresh process (time, peak memory);
* :mod:`benchmarks.floors` — random-number floors and where the engine's time goes;
* :mod:`benchmarks.__main__` — the driver and the report.

Nothing here is imported by forcegen or by the default test suite, except one fast
correctness test of the peers (``tests/benchmarks``).
"""
