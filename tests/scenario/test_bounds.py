"""Upper bounds that follow from the engine (docs/scenarios.md, "Bounds"): each value
over its bound is a located problem, never a run with wrapped counts, infinite money or
a traceback. Every case here validated before the bounds existed (issue #12)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario import bounds
from forcegen.scenario.load import list_builtin, load_scenario, load_scenario_text

LineOf = Callable[[str, str], int]
Run = Callable[..., tuple[int, str, str]]
PRISONS = "      assumption: prisons in regions with recruitment\n"


def broken(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(text, "s.yaml")
    return caught.value.problems


def only(problems: list[Problem], field: str) -> Problem:
    hits = [p for p in problems if p.field == field]
    assert len(hits) == 1, problems
    return hits[0]


def test_three_billion_deployed_is_refused_where_written(valid_text: str, line_of: LineOf) -> None:
    """3e9 people validated, ran, and printed a deployed strength of -1,305,862,440."""
    text = broken(
        valid_text,
        "    contract:\n      term_days:\n        value: 180\n        assumption: six-month",
        "    initial:\n      deployed: {value: 3000000000, assumption: x}\n"
        "    contract:\n      term_days:\n        value: 180\n        assumption: six-month",
    )
    problem = only(problems_of(text), "channels[0].initial.deployed")
    assert problem.line == line_of(text, "3000000000")
    assert problem.message.startswith("must be at most 1,000,000,000 (people;")
    assert "docs/scenarios.md, Bounds" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("      value: 20000\n", "      value: 1.0e+15\n", "pools[1].initial_people"),
        (
            PRISONS,
            PRISONS + "    replenish_per_day: {value: 1.0e+15, assumption: x}\n",
            "pools[1].replenish_per_day",
        ),
    ],
)
def test_pools_of_1e15_are_refused(valid_text: str, old: str, new: str, field: str) -> None:
    """Pools or replenishment of 1e15 gave thousands of negative cells."""
    problem = only(problems_of(broken(valid_text, old, new)), field)
    assert problem.message.startswith("must be at most 1,000,000,000 (people")


def test_people_sources_together_must_fit(valid_text: str, line_of: LineOf) -> None:
    """Each count under the bound, their sum over the horizon over it: the problem is
    located at the largest source."""
    text = broken(valid_text, "range: [1000000, 3000000]", "range: [1000000, 800000000]")
    text = broken(
        text, PRISONS, PRISONS + "    replenish_per_day: {value: 600000, assumption: x}\n"
    )
    problem = only(problems_of(text), "pools[0].initial_people")
    assert problem.line == line_of(text, "range: [1000000, 800000000]")
    assert problem.message.startswith("up to 1,019,030,000 people can enter the simulation")
    assert "800,000,000 of them from here" in problem.message
    assert len(bounds.people_sources(load_scenario_text(valid_text))) == 2 * 3 + 2 * 2 + 1


def test_salary_of_1e308_is_refused(valid_text: str) -> None:
    """A salary of 1e308 validated and the run stored `inf` costs."""
    text = broken(
        valid_text, "range: [2150, 5500]\n        evidence", "value: 1.0e+308\n        evidence"
    )
    problem = only(problems_of(text), "channels[0].pay.salary_per_month")
    assert problem.message.startswith("must be at most 1e+15 RUB per person after conversion")
    assert problem.message.endswith(
        "got 1e+308 USD: up to inf RUB at up to 75 RUB per USD (exchange_rates.USD)"
    )


def test_compensation_of_1e300_is_refused(valid_text: str) -> None:
    text = broken(
        valid_text,
        "      on_term_end: released\n",
        "      on_term_end: released\n    pay:\n"
        "      death_compensation: {value: 1.0e+300, assumption: x}\n",
    )
    problem = only(problems_of(text), "channels[1].pay.death_compensation")
    assert problem.message == (
        "must be at most 1e+15 RUB per person (docs/scenarios.md, Bounds), got 1e+300"
    )


def test_exchange_rate_of_1e308_is_refused_once(valid_text: str) -> None:
    text = broken(valid_text, "range: [55, 75]", "value: 1.0e+308")
    problems = problems_of(text)
    assert [p.field for p in problems] == ["exchange_rates.USD"]
    assert problems[0].message.startswith("must be at most 1e+15 (currency per unit;")


def test_converted_money_is_bounded(valid_text: str) -> None:
    text = broken(
        valid_text,
        "range: [2150, 5500]\n        evidence",
        "range: [2150, 2.0e+13]\n        evidence",
    )
    problem = only(problems_of(text), "channels[0].pay.salary_per_month")
    assert "up to 1.5e+15 RUB at up to 75 RUB per USD" in problem.message


def test_start_date_9999_12_31_is_a_problem_not_an_overflow(
    valid_text: str, line_of: LineOf
) -> None:
    """start_date: 9999-12-31 raised OverflowError in validate and run."""
    text = broken(valid_text, "start_date: 2022-08-01", "start_date: 9999-12-31")
    problem = only(problems_of(text), "start_date")
    assert problem.line == line_of(text, "start_date: 9999")
    assert problem.message == (
        "must be a date from 1900-01-01 to 2200-12-31 (docs/scenarios.md, Bounds), got 9999-12-31"
    )


def test_the_whole_horizon_must_end_by_2200(valid_text: str) -> None:
    text = broken(valid_text, "start_date: 2022-08-01", "start_date: 2200-06-01")
    problem = only(problems_of(text), "horizon_days")
    assert "ends on 2201-05-31, after 2200-12-31" in problem.message


def test_series_steps_and_claim_dates_are_bounded(valid_text: str) -> None:
    text = broken(valid_text, "- from: 2022-10-01", "- from: 9000-10-01")
    text = broken(
        text,
        "published: 2022-08-07\n    status: estimate",
        "published: 9999-01-01\n    status: estimate",
    )
    problems = problems_of(text)
    step = only(problems, "channels[1].enlistment.recruits_per_day.series[1].from")
    assert step.message.endswith("got 9000-10-01")
    assert only(problems, "claims[1].published").message.endswith("got 9999-01-01")


@pytest.mark.parametrize("term", ["1.0e+9", "5.0e+6", "36501"])
def test_durations_are_bounded(valid_text: str, term: str) -> None:
    """A term of 1e9 days tried to allocate 954 GiB."""
    text = broken(
        valid_text,
        "        value: 180\n        assumption: six-month",
        f"        value: {term}\n        assumption: six-month",
    )
    problem = only(problems_of(text), "channels[0].contract.term_days")
    assert problem.message.startswith("must be at most 36,500 (days;")


def test_multipliers_are_bounded(valid_text: str) -> None:
    text = broken(valid_text, "        value: 2\n", "        value: 1.0e+300\n")
    problem = only(problems_of(text), "losses.service_multipliers[0].multiplier")
    assert problem.message.startswith("must be at most 1,000,000 (multiplier;")


def test_probabilities_are_checked_as_far_as_the_sampler_draws(valid_text: str) -> None:
    """A lognormal probability inside [0, 1] at the one-in-a-million quantile but not at
    the one-in-a-billion quantile the sampler reaches used to validate, then fail in a
    binomial draw (p > 1) for about one replicate in a million."""
    text = broken(
        valid_text,
        "      renewal_probability:\n        range: [0.2, 0.5]",
        "      renewal_probability:\n        dist: lognormal\n        median: 0.01\n"
        "        p95: 0.04",
    )
    problem = only(problems_of(text), "channels[0].contract.renewal_probability")
    assert problem.message.startswith("must be within [0, 1] (probability), but lognormal")


def test_builtins_are_within_every_bound() -> None:
    for name in list_builtin():
        scenario = load_scenario(name)
        total = sum(s.people for s in bounds.people_sources(scenario))
        # russia-2022-2026's pools (men reachable, reservists, conscription age over
        # five years) add up to about 29 million at their largest: 2.9 % of the limit.
        assert total < bounds.MAX_PEOPLE / 25, (name, total)


def test_validate_exits_2_with_a_located_message(
    valid_text: str, tmp_path: Path, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "start_date: 2022-08-01", "start_date: 9999-12-31")
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = run_cli("validate", str(path))
    assert code == 2
    assert err.startswith(f"{path}:{line_of(text, 'start_date')}:13: start_date: must be a date")
    assert "Traceback" not in err
