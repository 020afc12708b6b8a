"""The command line asks the user's questions and takes overrides: ``report --below
--hold --by`` (and a scenario's ``questions:``), ``--set PATH=VALUE`` on run, ask,
report, compare and solve, and ask/plot/report saving the runs they simulate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.results.store import Store

Cli = Callable[..., tuple[int, str, str]]

DECAY = """
name: decay
start_date: 2022-01-01
horizon_days: 100
channels:
  - id: a
    enlistment: {model: series, recruits_per_day: 0}
    initial: {deployed: 1000}
losses:
  killed_per_day: 0.01
  wounded_per_day: 0
  missing_per_day: 0
  recovery: {mean_days: 30, return_probability: 0.5}
"""
# Without losses the 1,000 stay; with 1 % a day, about 366 are left after 100 days.
NO_LOSSES = "losses.killed_per_day=0"


@pytest.fixture
def decay(tmp_path: Path) -> Path:
    path = tmp_path / "decay.yaml"
    path.write_text(DECAY, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "runs.duckdb"


# ------------------------------------------------------------------------ --set
def test_run_applies_overrides_and_records_them_in_the_label(
    run_cli: Cli, decay: Path, store: Path
) -> None:
    args = ["run", str(decay), "--runs", "4", "--quiet", "--store", str(store)]
    code, out, err = run_cli(*args, "--set", NO_LOSSES, "--label", "mine")
    assert code == 0, err
    assert "1,000 [1,000–1,000]" in out  # nobody is lost
    (run_id,) = Store(store).run_ids()
    info = Store(store).info(run_id)
    assert info.label == f"mine; --set {NO_LOSSES}"
    # The stored scenario carries the value, as an assumption naming the override.
    stored = Store(store).load(run_id).scenario.losses.killed_per_day
    assert stored.expected()[0] == 0
    assert stored.assumption == f"set on the command line: --set {NO_LOSSES}"


def test_ask_applies_overrides(run_cli: Cli, decay: Path) -> None:
    base = ["ask", str(decay), "--below", "500", "--runs", "4", "--no-store"]
    code, out, err = run_cli(*base)
    assert code == 0, err
    assert "in 4 of 4 replicates" in out
    code, out, err = run_cli(*base, "--set", NO_LOSSES)
    assert code == 0, err
    assert "in 0 of 4 replicates" in out


def test_compare_applies_overrides_to_every_scenario(
    run_cli: Cli, decay: Path, tmp_path: Path
) -> None:
    faster = tmp_path / "faster.yaml"
    faster.write_text(
        DECAY.replace("name: decay", "name: faster").replace("0.01", "0.02"), encoding="utf-8"
    )
    base = ["compare", str(decay), str(faster), "--runs", "4"]
    code, out, err = run_cli(*base)
    assert code == 0, err
    assert "losses.killed_per_day" in out
    code, out, err = run_cli(*base, "--set", NO_LOSSES)
    assert code == 0, err
    assert "no parameter values differ" in out


def test_solve_applies_overrides(run_cli: Cli, decay: Path) -> None:
    args = ["solve", str(decay), "--hold-strength", "900", "--runs", "4", "--set", NO_LOSSES]
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "already meets it" in out


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("losses.kiled_per_day=0", "--set:1:8: losses.kiled_per_day: losses has no field"),
        ("channels.b.training_days=3", "channels has no item 'b'"),
        ("losses.killed_per_day=range:1", "range takes LOW,HIGH"),
        ("losses.killed_per_day=1.5", "--set:1:23: losses.killed_per_day: must be within"),
    ],
)
@pytest.mark.parametrize("command", ["run", "ask", "report", "compare", "solve"])
def test_bad_overrides_exit_2_with_a_located_message(
    run_cli: Cli, decay: Path, tmp_path: Path, command: str, override: str, words: str
) -> None:
    args = {
        "run": ["run", str(decay), "--no-store"],
        "ask": ["ask", str(decay), "--below", "5"],
        "report": ["report", str(decay), "--out", str(tmp_path / "r.html")],
        "compare": ["compare", str(decay), str(decay)],
        "solve": ["solve", str(decay), "--hold-strength", "5"],
    }[command]
    code, out, err = run_cli(*args, "--runs", "2", "--set", override)
    assert code == 2
    assert words in err
    assert "Traceback" not in err + out
    if "kiled" in override:
        assert "did you mean 'killed_per_day'?" in err


def test_overrides_are_refused_for_a_stored_run(run_cli: Cli, decay: Path, store: Path) -> None:
    code, _, err = run_cli("run", str(decay), "--runs", "2", "--quiet", "--store", str(store))
    assert code == 0, err
    (run_id,) = Store(store).run_ids()
    code, _, err = run_cli("ask", run_id, "--below", "5", "--store", str(store), "--set", NO_LOSSES)
    assert code == 2
    assert "a stored run cannot be changed" in err


# ------------------------------------------------------------- saving the runs
@pytest.mark.parametrize("command", ["ask", "plot", "report"])
def test_answer_commands_save_their_runs_unless_told_not_to(
    run_cli: Cli, decay: Path, store: Path, tmp_path: Path, command: str
) -> None:
    extra = {
        "ask": ["--below", "500"],
        "plot": ["--out", str(tmp_path / "f.png")],
        "report": ["--out", str(tmp_path / "r.html")],
    }[command]
    args = [command, str(decay), *extra, "--runs", "3", "--store", str(store)]
    code, _, err = run_cli(*args, "--no-store")
    assert code == 0, err
    assert not store.exists()
    code, _, err = run_cli(*args, "--set", NO_LOSSES)
    assert code == 0, err
    (run_id,) = Store(store).run_ids()
    assert f"saved as run {run_id}" in err
    info = Store(store).info(run_id)
    assert info.replicates == 3
    assert info.label == f"forcegen {command}; --set {NO_LOSSES}"
    if command == "report":  # the report names the run it shows
        assert run_id in (tmp_path / "r.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ questions
def test_report_answers_the_questions_given(run_cli: Cli, decay: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, _, err = run_cli(
        "report", str(decay), "--out", str(out), "--runs", "4", "--no-store",
        "--below", "500", "--below", "300", "--hold", "400", "--by", "2022-02-01",
    )  # fmt: skip
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "falls below 500 people by 2022-04-10" in html
    assert "falls below 300 people by 2022-04-10" in html
    assert "at least 400 people on 2022-02-01" in html
    assert "every day through 2022-02-01" in html
    assert "of the initial deployed strength" not in html


def test_report_defaults_to_the_scenarios_questions_then_to_fractions(
    run_cli: Cli, decay: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    args = ["report", str(decay), "--out", str(out), "--runs", "4", "--no-store"]
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "75% of the initial deployed strength" in out.read_text(encoding="utf-8")

    asking = tmp_path / "asking.yaml"
    asking.write_text(DECAY + "questions:\n  below: [450]\n  hold: 600\n", encoding="utf-8")
    code, _, err = run_cli("report", str(asking), *args[2:])
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "falls below 450 people" in html
    assert "at least 600 people on 2022-04-10" in html
    assert "of the initial deployed strength" not in html
    # Questions on the command line replace the file's.
    code, _, err = run_cli("report", str(asking), *args[2:], "--below", "700")
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert "falls below 700 people" in html
    assert "450 people" not in html


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--by", "2022-02-01"], "give --hold"),
        (["--hold", "10", "--by", "2023-01-01"], "outside the simulated horizon"),
        (["--below", "-3"], "positive numbers of people"),
        (["--hold", "10", "--by", "soon"], "expected a date"),
    ],
)
def test_report_refuses_bad_questions(
    run_cli: Cli, decay: Path, tmp_path: Path, extra: list[str], words: str
) -> None:
    out = tmp_path / "r.html"
    code, stdout, err = run_cli(
        "report", str(decay), "--out", str(out), "--runs", "2", "--no-store", *extra
    )
    assert code == 2
    assert words in err
    assert "Traceback" not in err + stdout
    assert not out.exists()


def test_solve_json_gives_the_bonus_baseline_by_date(run_cli: Cli, tmp_path: Path) -> None:
    raised = tmp_path / "raised.yaml"
    raised.write_text(
        DECAY.replace(
            "    enlistment: {model: series, recruits_per_day: 0}",
            "    pool: p\n"
            "    enlistment: {model: behavioural, base_rate_per_day: 3.0e-8, pay_elasticity: 1}\n"
            "    pay: {salary_per_month: 50000, sign_up_bonus_federal: 1000}",
        )
        + "pools:\n  - {id: p, initial_people: 1.0e+8, reference_wage_per_month: 50000}\n"
        "events:\n  - {type: change_pay, date: 2022-02-20, channel: a, "
        "sign_up_bonus_federal: 3000}\n",
        encoding="utf-8",
    )
    args = ["solve", str(raised), "--hold-strength", "50", "--lever", "bonus", "--runs", "2"]
    code, out, err = run_cli(*args, "--format", "json")
    assert code == 0, err
    data = json.loads(out)["data"]
    assert data["baseline_steps"] == [
        {"from": "2022-01-01", "value": 1000.0},
        {"from": "2022-02-20", "value": 3000.0},
    ]
    assert data["baseline"] == pytest.approx((50 * 1000 + 50 * 3000) / 100)
