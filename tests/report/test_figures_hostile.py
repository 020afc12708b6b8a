"""Labels are drawn as written (issue #12): a "$" in a channel or pool label is a
dollar sign, not the start of matplotlib mathtext (which fails on "$_$")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from report_cases import YAML

from forcegen.report import figures
from forcegen.scenario.load import load_scenario_text
from forcegen.sim import Sim

Cli = Callable[..., tuple[int, str, str]]

CHANNEL = "Regular $_$ contracts (US$ 2,150 to $5,500)"
POOL = "Prison $^$ pool"
HOSTILE_YAML = YAML.replace("label: Regular contracts", f'label: "{CHANNEL}"').replace(
    'label: "Prison <pool>"', f'label: "{POOL}"'
)


def test_a_dollar_in_a_label_does_not_break_the_report(run_cli: Cli, tmp_path: Path) -> None:
    assert CHANNEL in HOSTILE_YAML
    assert POOL in HOSTILE_YAML
    scenario = tmp_path / "dollars.yaml"
    scenario.write_text(HOSTILE_YAML, encoding="utf-8")
    out = tmp_path / "r.html"
    code, _, err = run_cli("report", str(scenario), "--out", str(out), "--runs", "8")
    assert code == 0, err
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_every_figure_draws_labels_as_written(tmp_path: Path) -> None:
    result = Sim(load_scenario_text(HOSTILE_YAML), runs=4, seed=1).run()
    for kind, draw in figures.FIGURES.items():
        path = figures.save_figure(draw(result), tmp_path / f"{kind}.svg")
        text = path.read_text(encoding="utf-8")
        if kind in ("fan", "inflows"):
            assert CHANNEL.replace("&", "&amp;") in text, kind
        if kind == "pools":
            assert POOL in text
