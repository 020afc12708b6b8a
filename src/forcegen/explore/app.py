"""The explorer's page: controls, charts and downloads (Dash, served on 127.0.0.1).

One server holds the scenarios opened in it (:class:`Explorer`) and the simulations
(:class:`~forcegen.explore.jobs.Simulations`); each page sends its whole setting with
every change, so two tabs do not disturb each other. Nothing is written to disk:
downloads are sent from memory. Every user error (a bad value, a date after the
horizon, a malformed number) is shown beside the control that caused it, in the words
the command line uses; the server keeps running.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forcegen.errors import ForcegenError, ScenarioError, UsageError
from forcegen.explore.jobs import Simulations
from forcegen.explore.levers import Lever, format_value
from forcegen.explore.memo import hash_of
from forcegen.explore.setting import (
    Base,
    Edit,
    Setting,
    base_from_scenario,
    build,
    problem_controls,
    scenario_yaml,
)
from forcegen.scenario.load import list_builtin, load_scenario
from forcegen.scenario.model import Scenario
from forcegen.scenario.walk import iter_params

__all__ = ["DEFAULT_RUNS", "Explorer", "create_app", "open_source"]

DEFAULT_RUNS = 256
"""Replicates of each background ensemble."""

_SIZE_FIELDS = {
    "mobilisation_wave": "size_people",
    "widen_eligibility": "add_people",
    "change_pay": "sign_up_bonus_federal",
}
"""The one amount of each kind of event the page offers to change."""


def open_source(source: str, *, seed: int, store: Path | None = None) -> Base:
    """The :class:`Base` of a built-in name, a scenario file or a stored run id
    (a stored run brings its own seed).

    Raises:
        ScenarioError: An invalid scenario file.
        UsageError: Neither a scenario nor a run in ``store``.
    """
    source = source.strip()
    looks_like_file = source.endswith((".yaml", ".yml")) or "/" in source
    if source in list_builtin() or Path(source).is_file() or looks_like_file:
        return base_from_scenario(load_scenario(source), source, seed)
    if store is None or not os.path.lexists(store):
        names = ", ".join(list_builtin())
        raise UsageError(
            f"{source!r} is not a scenario file or built-in name ({names}), and there is "
            f"no results store {'given' if store is None else f'at {store}'} to look it up "
            "as a run id"
        )
    from forcegen.results.store import Store

    st = Store(store)
    info = st.info(source)
    scenario = st.folder(info.run_id).scenario()
    return base_from_scenario(scenario, f"run {info.run_id}", info.seed)


@dataclass
class Explorer:
    """What one explorer server holds.

    Attributes:
        sims: The simulations.
        store: The results store stored runs are looked up in.
        observed: Observations drawn over the bands (deployed strength rows).
        bases: Opened scenarios by id.
        scenarios: Built scenarios by hash (for charts and downloads).
    """

    sims: Simulations
    store: Path | None = None
    observed: Sequence[Any] = ()
    bases: dict[str, Base] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, source: str) -> str:
        """Open ``source``; returns its base id."""
        base = open_source(source, seed=self.sims.seed, store=self.store)
        key = hash_of(base.scenario)[:16]
        with self.lock:
            self.bases[key] = base
            self.scenarios[hash_of(base.scenario)] = base.scenario
        self.sims.levers(base.scenario)
        return key

    def remember(self, scenario: Scenario) -> str:
        """Keep ``scenario`` for later requests; returns its hash."""
        key = hash_of(scenario)
        with self.lock:
            self.scenarios[key] = scenario
        return key


# ------------------------------------------------------------------------ page parts
def setting_from_page(
    base: Base,
    levers: Sequence[Lever],
    lever_values: Sequence[Any],
    event_on: Sequence[Any],
    event_dates: Sequence[Any],
    event_sizes: Sequence[Any],
    searched: Sequence[dict[str, str]],
) -> Setting:
    """The :class:`Setting` the page's controls describe: a lever moved from its
    start, an event's date or amount changed, an event switched off, and each value
    set through the search box (in the order set)."""
    edits: list[Edit] = []
    for lever, value in zip(levers, lever_values, strict=False):
        if value is None or _same(value, lever.start):
            continue
        edits.append(Edit(f"lever:{lever.name}", lever.name, _text(value)))
    off: set[int] = set()
    for i, event in enumerate(base.scenario.events):
        on = event_on[i] if i < len(event_on) else ["on"]
        if not on:
            off.add(i)
        date = event_dates[i] if i < len(event_dates) else None
        if date not in (None, "") and str(date).strip() != event.date.isoformat():
            edits.append(Edit(f"event-date:{i}", f"events.{i}.date", str(date)))
        size_field = _SIZE_FIELDS.get(event.type)
        size = event_sizes[i] if i < len(event_sizes) else None
        if size_field is not None and size not in (None, ""):
            current = _event_amount(event, size_field)
            if current is None or str(size).strip() != current:
                edits.append(Edit(f"event-size:{i}", f"events.{i}.{size_field}", str(size)))
    for item in searched:
        edits.append(Edit("search", item["name"], item["value"]))
    return Setting(tuple(edits), frozenset(off))


def _same(value: Any, start: float) -> bool:
    try:
        return abs(float(value) - start) <= 1e-12 * max(1.0, abs(start))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_value(float(value))
    return str(value)


def _event_amount(event: Any, name: str) -> str | None:
    """The amount an event's size box starts with: a point value as a number, any
    other prior in the short form it is described in (so an untouched box is no edit)."""
    param = getattr(event, name, None)
    if param is None:
        return None
    if not param.is_uncertain and not param.is_series:
        return format_value(float(param.expected()[0]))
    return str(param.describe())


def event_label(event: Any) -> str:
    """``mobilisation_wave: mobilised`` / ``widen_eligibility: prisoners-eligible``."""
    target = getattr(event, "channel", None) or getattr(event, "pool", None)
    if target is None and getattr(event, "channels", None):
        target = ", ".join(event.channels)
    extra = f" ({'on' if event.active else 'off'})" if event.type == "stop_loss" else ""
    return f"{event.type}: {target or 'all channels'}{extra}"


def parse_question(kind: str, number: Any, by: Any, scenario: Scenario) -> dict[str, Any]:
    """The question asked on the page as ``{"below": N}`` or ``{"hold": N, "by": date}``.

    Raises:
        UsageError: Not a positive number of people, or a date outside the horizon,
            said as ``forcegen ask`` says it.
    """
    try:
        value = float(str(number).replace(",", "").replace("_", ""))
    except ValueError:
        raise UsageError(f"--{kind}: expected a number of people, got {number!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"--{kind}: expected a positive number of people, got {number!r}")
    if kind == "below":
        return {"below": value}
    when: dt.date | None = None
    if by not in (None, ""):
        try:
            when = dt.date.fromisoformat(str(by).strip())
        except ValueError:
            raise UsageError(f"--by: expected a date YYYY-MM-DD, got {by!r}") from None
        if not scenario.start_date <= when <= scenario.end_date:
            raise UsageError(
                f"--by: {when} is outside the simulated days ({scenario.start_date} to "
                f"{scenario.end_date})"
            )
    return {"hold": value, "by": when}


def param_options(scenario: Scenario) -> list[dict[str, str]]:
    """Every parameter for the search box: ``name — now: value (unit)``."""
    return [
        {"label": f"{ref.name} — now {ref.param.describe()} ({ref.unit})", "value": ref.name}
        for ref in iter_params(scenario)
    ]


def build_from_page(base: Base, setting: Setting) -> tuple[Scenario | None, dict[str, list[str]]]:
    """The scenario, or the problems by control (``""``: not tied to a control)."""
    try:
        return build(base, setting), {}
    except ScenarioError as exc:
        return None, problem_controls(setting, exc.problems)
    except ForcegenError as exc:
        return None, {"": [str(exc)]}


def yaml_download(base: Base, setting: Setting, scenario: Scenario) -> tuple[str, str]:
    """File name and text of the changed scenario."""
    return f"{scenario.name}-explored.yaml", scenario_yaml(scenario, base, setting)


def create_app(explorer: Explorer, first: str) -> Any:
    """The Dash app showing ``first`` (a base id already opened)."""
    from forcegen.explore.page import make_app

    return make_app(explorer, first)


def as_json(value: Any) -> str:
    """``value`` as compact JSON (for stores in the page)."""
    return json.dumps(value, separators=(",", ":"), default=str)
