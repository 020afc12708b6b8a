"""A file that is not a scenario is refused without showing what it holds (issue
#12): ``forcegen validate /etc/shadow`` echoed every line as an "unknown key"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]

# Shaped like a system password file: each line reads as a YAML key with no value.
SECRET = "s3cr3t-hash-9f8e7d"
PASSWD = f"alice-admin:{SECRET}:19000:0:99999:7:::\nbob-daemon:*:19000:0:99999:7:::\n"


def test_a_password_file_is_not_echoed(write: Write, run_cli: Run) -> None:
    path = write(PASSWD, name="shadow")
    code, out, err = run_cli("validate", str(path))
    assert code == 2
    assert SECRET not in out + err
    assert "alice-admin" not in out + err
    assert "bob-daemon" not in out + err
    assert err.splitlines() == [
        f"{path}:1:1: <document>: not a scenario: expected a YAML mapping of keys such as "
        "name, start_date, channels; none of the 2 keys of this file is one"
    ]


def test_a_password_file_named_as_a_ledger_is_not_echoed(write: Write, run_cli: Run) -> None:
    write(PASSWD, name="shadow")
    scenario = write("name: x\nledger_files: [shadow]\n", name="s.yaml")
    code, out, err = run_cli("validate", str(scenario))
    assert code == 2
    assert SECRET not in out + err
    assert "alice-admin" not in out + err
    assert "not an evidence ledger: expected a YAML mapping of keys such as claims" in err


def test_a_single_value_is_not_echoed(write: Write, run_cli: Run) -> None:
    path = write("8675309\n")
    code, _, err = run_cli("validate", str(path))
    assert code == 2
    assert "8675309" not in err
    assert "got a single value (a number)" in err
