"""The quantity mapping: what each ``quantity`` of a ledger measures in the model.

A mapping file (the shipped ``quantities.yaml``, or a user's of the same form) names,
per quantity, a *measure* built from output series — a stock on a date, a flow over a
period, a rate (flow per day or per month), or a share (one flow over another) — from
one or more *terms* (sums over series, channels and categories), a *family* (which
observations share one observation factor), and optionally a factor range that
overrides the source kind's default, with the reason. It also holds the observation
model of each source kind and the truth assumed before a scenario's start.

Problems are reported all at once, located in the mapping file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import fnmatch
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from forcegen.errors import Problem, ScenarioError
from forcegen.observations.ledger import VERIFICATIONS
from forcegen.results.result import SERIES
from forcegen.scenario.yamlsource import YamlDocument, parse_yaml

__all__ = [
    "MEASURES",
    "BeforeStart",
    "QuantityMap",
    "QuantitySpec",
    "SourceModel",
    "Term",
    "builtin_mapping_path",
    "load_mapping",
    "parse_term",
]

MEASURES = ("stock", "flow", "rate", "share")
"""``stock``: end-of-day value on the date; ``flow``: total over the period;
``rate``: the flow divided by the period's days (``per: day``) or months (``per:
month``, 30.4375 days); ``share``: one flow (or stock) over another."""
ModelKind = Literal["count", "claim", "estimate", "report"]
_TERM = re.compile(r"^\s*([a-z_]+)\s*(?:\[\s*([^\]]*)\])?\s*$")
DAYS_PER_MONTH = 30.4375
"""Mean days of a month (365.25 / 12), for ``per: month`` rates."""
RATE_WINDOW_DAYS = 30
"""A rate figure with no period is read as the mean over the 30 days ending on its
date (an assumption, stated in docs/calibration.md)."""


@dataclass(frozen=True)
class Term:
    """A sum of one output series over channels (or pools) and categories.

    Attributes:
        series: A name of :data:`forcegen.results.result.SERIES`.
        entities: Channel (pool) id patterns (:mod:`fnmatch` globs); empty = all.
        categories: Categories (states, kinds, causes); empty = all.
        text: The term as written.
    """

    series: str
    entities: tuple[str, ...]
    categories: tuple[str, ...]
    text: str

    def match(self, ids: list[str]) -> list[str] | None:
        """The ids among ``ids`` the term selects (None = all); ``[]`` when its
        patterns match none of them."""
        if not self.entities:
            return None
        return [i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in self.entities)]


def parse_term(text: str) -> Term | str:
    """``SERIES``, ``SERIES[CATEGORIES]`` or ``SERIES[CHANNELS:CATEGORIES]`` (pools:
    ``pool[POOLS]``) as a :class:`Term`, or a message saying what is wrong."""
    match = _TERM.match(text)
    if match is None:
        return f"cannot read term {text!r}; expected SERIES[CHANNELS:CATEGORIES]"
    series = match.group(1)
    if series not in SERIES:
        close = difflib.get_close_matches(series, list(SERIES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown series {series!r}{hint}; expected one of {', '.join(SERIES)}"
    inside = match.group(2) or ""
    spec = SERIES[series]
    if spec.category is None:
        entities_text, categories_text = inside, ""
    elif ":" in inside:
        entities_text, categories_text = inside.split(":", 1)
    else:
        entities_text, categories_text = "", inside
    entities = tuple(e.strip() for e in entities_text.split(",") if e.strip())
    categories = tuple(c.strip() for c in categories_text.split(",") if c.strip())
    unknown = [c for c in categories if c not in spec.labels]
    if unknown:
        return f"{', '.join(unknown)} not a category of {series}; expected {', '.join(spec.labels)}"
    return Term(series, entities, categories, text.strip())


@dataclass(frozen=True)
class SourceModel:
    """How a kind of source relates to the truth: observed = factor × truth × exp(e),
    ``e ~ Normal(0, log_sd²)``, the factor uniform on ``[low, high]``.

    Attributes:
        kind: ``count`` (a fraction found, ≤ 1), ``claim`` (a factor that may
            inflate), ``estimate`` (factor 1; a stated range is its 90 % interval),
            ``report`` (unverified: a factor and a wide error).
        low, high: Range of the factor (1, 1 for estimates).
        log_sd: Log-scale error sd.
        why: The reason for the range (assumptions say so).
        drift_low, drift_high: Range of the factor's drift (per year, natural-log
            scale): the factor at date t is ``f0 × exp(drift × years since the
            mapping's drift_reference)``, drift uniform on the range; 0, 0 = constant.
    """

    kind: ModelKind
    low: float
    high: float
    log_sd: float
    why: str = ""
    drift_low: float = 0.0
    drift_high: float = 0.0

    @property
    def drifts(self) -> bool:
        """Whether the factor may change over time (a drift range other than 0, 0)."""
        return self.drift_low != 0.0 or self.drift_high != 0.0


@dataclass(frozen=True)
class BeforeStart:
    """The truth of a term before a scenario's start: a rate per day, uniform on
    ``[low, high]`` (people a day), times the days from the war's (or the period's)
    start to the scenario's start.

    Attributes:
        term: The term (as written in the mapping).
        low, high: Range of the daily rate.
        why: Its basis.
    """

    term: str
    low: float
    high: float
    why: str


@dataclass(frozen=True)
class QuantitySpec:
    """What one ledger ``quantity`` measures.

    Attributes:
        quantity: The quantity's name.
        measure: One of :data:`MEASURES`, or ``unusable``.
        of: Terms summed (the numerator of a share).
        over: Denominator terms of a share.
        per: ``day`` or ``month`` for rates.
        running_total: An empty period means "since the war's start".
        family: Observations of one source kind and family share one factor.
        low, high: Factor range overriding the source kind's (None: the default).
        why: Reason for the override, or why the quantity is unusable.
        line: Line in the mapping file.
        drift_low, drift_high: Drift range (per year) overriding the source kind's
            (None: the default).
    """

    quantity: str
    measure: str
    of: tuple[Term, ...] = ()
    over: tuple[Term, ...] = ()
    per: str | None = None
    running_total: bool = False
    family: str = ""
    low: float | None = None
    high: float | None = None
    why: str = ""
    line: int = 0
    drift_low: float | None = None
    drift_high: float | None = None


@dataclass(frozen=True)
class QuantityMap:
    """A validated mapping file.

    Attributes:
        path: Where it came from.
        war_start: Start of every running total (``YYYY-MM-DD``).
        models: Verification status → its source model.
        before_start: Term text → the truth assumed before a scenario's start.
        quantities: Quantity name → what it measures.
        drift_reference: Date at which a drifting factor equals its ``f0`` (the
            ``drift_reference`` key; default ``war_start``).
    """

    path: str
    war_start: dt.date
    models: dict[str, SourceModel]
    before_start: dict[str, BeforeStart]
    quantities: dict[str, QuantitySpec]
    drift_reference: dt.date | None = None

    @property
    def drift_from(self) -> dt.date:
        """The date a drifting factor's years are counted from."""
        return self.drift_reference or self.war_start

    def model_for(self, verification: str, spec: QuantitySpec) -> SourceModel:
        """The source model of a row: its kind's, with the quantity's factor range and
        drift range if set (an estimate has neither)."""
        base = self.models[verification]
        if base.kind == "estimate":
            return base
        model = base
        if spec.low is not None and spec.high is not None:
            model = dataclasses.replace(
                model, low=spec.low, high=spec.high, why=spec.why or base.why
            )
        if spec.drift_low is not None and spec.drift_high is not None:
            model = dataclasses.replace(model, drift_low=spec.drift_low, drift_high=spec.drift_high)
        return model


def builtin_mapping_path() -> Path:
    """The shipped mapping, ``forcegen/observations/quantities.yaml``."""
    return Path(str(resources.files("forcegen.observations") / "quantities.yaml"))


def load_mapping(path: str | Path | None = None) -> QuantityMap:
    """Read and validate a mapping file (the shipped one when None).

    Raises:
        ScenarioError: Every problem, located in the file.
    """
    target = builtin_mapping_path() if path is None else Path(path)
    shown = str(target)
    try:
        raw = target.read_bytes()
    except OSError as exc:
        raise ScenarioError(
            [Problem(shown, 0, 0, "", f"cannot read file: {exc.strerror or exc}")]
        ) from None
    doc = parse_yaml(raw, shown)
    return _Reader(doc).read()


class _Reader:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def bad(self, path: tuple[str | int, ...], message: str) -> None:
        line, column = self.doc.locate(path)
        self.problems.append(
            Problem(self.doc.file, line, column, ".".join(str(p) for p in path), message)
        )

    def range_of(self, value: Any, path: tuple[str | int, ...]) -> tuple[float, float] | None:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(float(v)) for v in value)
            or not 0 <= float(value[0]) <= float(value[1])
        ):
            self.bad(path, f"expected [LOW, HIGH] with 0 <= LOW <= HIGH, got {value!r}")
            return None
        return float(value[0]), float(value[1])

    def drift_of(self, value: Any, path: tuple[str | int, ...]) -> tuple[float, float] | None:
        """A drift range per year: any signed [LOW, HIGH], at most 1 in size (a factor
        changing e-fold a year is not "slow")."""
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            or not all(math.isfinite(float(v)) for v in value)
            or not float(value[0]) <= float(value[1])
        ):
            self.bad(path, f"expected [LOW, HIGH] per year with LOW <= HIGH, got {value!r}")
            return None
        if max(abs(float(v)) for v in value) > 1:
            self.bad(path, "a drift is per year on the log scale; at most 1 (e-fold a year)")
            return None
        return float(value[0]), float(value[1])

    def read(self) -> QuantityMap:
        data = self.doc.data
        war_start = data.get("war_start")
        if not isinstance(war_start, dt.date):
            self.bad(("war_start",), "expected a date YYYY-MM-DD")
            war_start = dt.date(1, 1, 1)
        models = self.read_models(data.get("models"))
        before = self.read_before(data.get("before_start") or {})
        quantities = self.read_quantities(data.get("quantities"))
        reference = data.get("drift_reference")
        if reference is not None and not isinstance(reference, dt.date):
            self.bad(("drift_reference",), "expected a date YYYY-MM-DD")
            reference = None
        if self.problems:
            raise ScenarioError(self.problems)
        return QuantityMap(self.doc.file, war_start, models, before, quantities, reference)

    def read_models(self, raw: Any) -> dict[str, SourceModel]:
        out: dict[str, SourceModel] = {}
        if not isinstance(raw, dict):
            self.bad(("models",), "expected a mapping of verification status to model")
            return out
        for status in VERIFICATIONS:
            entry = raw.get(status)
            path: tuple[str | int, ...] = ("models", status)
            if not isinstance(entry, dict):
                self.bad(path, f"missing the model of {status}")
                continue
            kind = entry.get("kind")
            if kind not in ("count", "claim", "estimate", "report"):
                self.bad(
                    (*path, "kind"), f"expected count, claim, estimate or report, got {kind!r}"
                )
                continue
            sd = entry.get("log_sd")
            if not isinstance(sd, int | float) or isinstance(sd, bool) or not sd > 0:
                self.bad((*path, "log_sd"), f"expected a positive number, got {sd!r}")
                continue
            low = high = 1.0
            drift = (0.0, 0.0)
            if "drift" in entry:
                if kind == "estimate":
                    self.bad((*path, "drift"), "an estimate has no factor to drift")
                    continue
                read = self.drift_of(entry["drift"], (*path, "drift"))
                if read is None:
                    continue
                drift = read
            if kind != "estimate":
                rng = self.range_of(entry.get("range"), (*path, "range"))
                if rng is None:
                    continue
                low, high = rng
                if kind == "count" and high > 1:
                    self.bad((*path, "range"), "a count's fraction is at most 1")
                    continue
                if low <= 0:
                    self.bad((*path, "range"), "the factor's range must be above 0")
                    continue
            out[status] = SourceModel(
                kind, low, high, float(sd), str(entry.get("why", "")), drift[0], drift[1]
            )
        for status in raw:
            if status not in VERIFICATIONS:
                self.bad(
                    ("models", status),
                    f"unknown verification status {status!r}; expected {', '.join(VERIFICATIONS)}",
                )
        return out

    def read_before(self, raw: Any) -> dict[str, BeforeStart]:
        out: dict[str, BeforeStart] = {}
        if not isinstance(raw, dict):
            self.bad(("before_start",), "expected a mapping of term to per_day range")
            return out
        for text, entry in raw.items():
            path: tuple[str | int, ...] = ("before_start", text)
            term = parse_term(text)
            if isinstance(term, str):
                self.bad(path, term)
                continue
            if not isinstance(entry, dict):
                self.bad(path, "expected per_day: [LOW, HIGH] and why")
                continue
            rng = self.range_of(entry.get("per_day"), (*path, "per_day"))
            if rng is None:
                continue
            out[term.text] = BeforeStart(term.text, rng[0], rng[1], str(entry.get("why", "")))
        return out

    def read_quantities(self, raw: Any) -> dict[str, QuantitySpec]:
        out: dict[str, QuantitySpec] = {}
        if not isinstance(raw, dict):
            self.bad(("quantities",), "expected a mapping of quantity to what it measures")
            return out
        for name, entry in raw.items():
            path: tuple[str | int, ...] = ("quantities", name)
            line = self.doc.locate_key(path)[0]
            if not isinstance(entry, dict):
                self.bad(path, "expected a mapping (measure, of, ...) or unusable: REASON")
                continue
            if "unusable" in entry:
                out[name] = QuantitySpec(name, "unusable", why=str(entry["unusable"]), line=line)
                continue
            measure = entry.get("measure")
            if measure not in MEASURES:
                self.bad(
                    (*path, "measure"), f"expected one of {', '.join(MEASURES)}, got {measure!r}"
                )
                continue
            terms = self.terms(entry.get("of"), (*path, "of"))
            over = self.terms(entry.get("over"), (*path, "over")) if measure == "share" else ()
            if terms is None or over is None:
                continue
            if measure == "share" and not over:
                self.bad((*path, "over"), "a share needs the terms it is a share of")
                continue
            per = entry.get("per")
            if measure == "rate" and per not in ("day", "month"):
                self.bad((*path, "per"), f"a rate is per day or per month, got {per!r}")
                continue
            low = high = None
            if "range" in entry:
                rng = self.range_of(entry["range"], (*path, "range"))
                if rng is None:
                    continue
                low, high = rng
                if low <= 0:
                    self.bad((*path, "range"), "the factor's range must be above 0")
                    continue
                if not entry.get("why"):
                    self.bad((*path, "range"), "say why the range differs from the default")
                    continue
            drift_low = drift_high = None
            if "drift" in entry:
                drift = self.drift_of(entry["drift"], (*path, "drift"))
                if drift is None:
                    continue
                if not entry.get("why"):
                    self.bad((*path, "drift"), "say why the drift differs from the default")
                    continue
                drift_low, drift_high = drift
            family = entry.get("family")
            if not isinstance(family, str) or not family:
                self.bad((*path, "family"), "name the family (observations sharing a factor)")
                continue
            out[name] = QuantitySpec(
                quantity=name,
                measure=measure,
                of=terms,
                over=over,
                per=per if measure == "rate" else None,
                running_total=bool(entry.get("running_total", False)),
                family=family,
                low=low,
                high=high,
                why=str(entry.get("why", "")),
                line=line,
                drift_low=drift_low,
                drift_high=drift_high,
            )
        return out

    def terms(self, raw: Any, path: tuple[str | int, ...]) -> tuple[Term, ...] | None:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
            self.bad(path, 'expected a list of terms such as "outflow[killed]"')
            return None
        out = []
        for i, text in enumerate(raw):
            term = parse_term(text)
            if isinstance(term, str):
                self.bad((*path, i), term)
                return None
            out.append(term)
        return tuple(out)
