"""``forcegen new``: a commented template (or a built-in's copy) that validates, and
never a replaced file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.scenario.load import load_scenario_with_warnings

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(run_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    monkeypatch.chdir(tmp_path)
    return run_cli


def test_new_writes_a_commented_template_that_validates(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli("new", "small-army")
    assert code == 0, err
    path = tmp_path / "small-army.yaml"
    assert "wrote small-army.yaml" in out
    text = path.read_text(encoding="utf-8")
    assert text.count("\n#") > 10  # commented
    assert "\nname: small-army\n" in text
    loaded = load_scenario_with_warnings(path, strict=True)  # every value sourced
    assert loaded.scenario.name == "small-army"
    assert loaded.warnings == []
    code, out, err = cli("validate", "small-army.yaml")
    assert code == 0, err
    assert out.startswith("small-army: ok")


def test_new_never_replaces_a_file(cli: Cli, tmp_path: Path) -> None:
    mine = tmp_path / "army.yaml"
    mine.write_bytes(b"my own work\n")
    for name in ("army", "army.yaml"):
        code, out, err = cli("new", name)
        assert code == 2
        assert "already exists" in err
        assert "Traceback" not in err + out
    assert mine.read_bytes() == b"my own work\n"


def test_new_from_a_builtin_copies_its_ledgers(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli("new", "work/copy.yaml", "--from", "russia-2022-covert")
    assert code == 0, err
    folder = tmp_path / "work"
    assert sorted(p.name for p in folder.iterdir()) == ["copy.yaml", "ledger-ap-2022-08.yaml"]
    sc = load_scenario_with_warnings(folder / "copy.yaml").scenario
    assert sc.name == "copy"
    assert len(sc.channels) == 4
    # A second copy beside it keeps the identical ledger it shares...
    code, out, err = cli("new", "work/other", "--from", "russia-2022-mobilisation")
    assert code == 0, err
    assert "wrote work/other.yaml" in out
    assert "wrote work/ledger-ap-2022-08.yaml" not in out
    assert load_scenario_with_warnings(folder / "other.yaml").scenario.name == "other"
    # ...but refuses, writing nothing, when a ledger of that name differs.
    (folder / "ledger-ap-2022-08.yaml").write_text("claims: []\n", encoding="utf-8")
    code, _, err = cli("new", "work/third", "--from", "russia-2022-covert")
    assert code == 2
    assert "ledger-ap-2022-08.yaml already exists" in err
    assert not (folder / "third.yaml").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["Big_Army"], "a scenario name is lower-case letters"),
        (["army", "--from", "russia-2022"], "no built-in scenario 'russia-2022'"),
    ],
)
def test_new_refuses_bad_names(cli: Cli, tmp_path: Path, args: list[str], words: str) -> None:
    code, _, err = cli("new", *args)
    assert code == 2
    assert words in err
    assert list(tmp_path.iterdir()) == []


def test_the_authoring_guides_scenario_validates() -> None:
    import re

    from forcegen.scenario.load import load_scenario_text

    guide = (Path(__file__).parents[2] / "docs" / "authoring.md").read_text(encoding="utf-8")
    final = re.findall(r"```yaml\n(.*?)```", guide, flags=re.S)[-1]
    sc = load_scenario_text(final, strict=True)
    assert [c.id for c in sc.channels] == ["contract", "volunteers"]
    assert sc.questions is not None
    assert sc.questions.hold == 10000


def test_the_authoring_guides_priced_scenario_validates() -> None:
    import re

    from forcegen.scenario.load import load_scenario_text

    guide = (Path(__file__).parents[2] / "docs" / "authoring.md").read_text(encoding="utf-8")
    priced = [b for b in re.findall(r"```yaml\n(.*?)```", guide, flags=re.S) if "priced" in b]
    assert len(priced) == 1
    sc = load_scenario_text(priced[0], strict=True)
    assert sc.channels[0].enlistment.model == "priced"
    assert sc.channels[0].contract.retention is not None
