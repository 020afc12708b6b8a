"""forcegen: stochastic, evidence-linked simulation of how an army at war gains and
loses people.

The public API fits on one page::

    import forcegen as fg

    scenario = fg.load("russia-2022-covert")      # a built-in name or a YAML path
    result = fg.Sim(scenario, runs=1000, seed=1).run()
    result.summary()
"""

from forcegen._version import __version__
from forcegen.errors import ForcegenError, Problem, ScenarioError, StoreError, UsageError
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim, load

__all__ = [
    "ForcegenError",
    "Problem",
    "Result",
    "Scenario",
    "ScenarioError",
    "Sim",
    "StoreError",
    "UsageError",
    "__version__",
    "load",
]
