"""forcegen.results.outputs: files and folders written whole or not at all, never over
what forcegen did not write, with operating-system errors turned into clear messages.

The tests run as root (as CI does), where permission bits stop nothing: errors are
injected by replacing the writer, or made real with a path under a file and, where
mounting is permitted, a tiny tmpfs.
"""

from __future__ import annotations

import errno
import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from forcegen.errors import OutputError, UsageError
from forcegen.results import outputs
from forcegen.results.outputs import (
    atomic_dir,
    atomic_file,
    check_file_target,
    csv_header,
    csv_header_is,
    looks_like_forcegen,
    looks_like_forcegen_figure,
    write_figure,
)

USER_BYTES = b"the user's own notes\n\x00\x01 not to be lost\n"
OLD_FORCEGEN = b"<html><head><title>forcegen report - old</title></head></html>\n"


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders left in ``folder`` (hidden names)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def enospc(path: str | os.PathLike[str] = "") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))


def write_then_raise(
    target: Path, exc: BaseException | None = None, *, size: int = 10_000, force: bool = False
) -> None:
    """Write ``size`` bytes through atomic_file, then fail with ``exc`` (if given)."""
    with atomic_file(target, force=force) as tmp, tmp.open("wb") as handle:
        handle.write(b"x" * size)
        if exc is not None:
            raise exc


def fill_dir_then_raise(target: Path, exc: BaseException | None = None) -> None:
    """Fill a result folder through atomic_dir, then fail with ``exc``."""
    with atomic_dir(target, recognise=_is_result) as folder:
        (folder / "run.json").write_text("new")
        (folder / "series.parquet").write_text("data")
        if exc is not None:
            raise exc


# -------------------------------------------------------------------- atomic_file
def test_new_file_and_missing_parents_are_written(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.txt"
    with atomic_file(target) as tmp:
        assert tmp != target
        assert not target.exists()  # nothing at the name until the write is complete
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert leftovers(target.parent) == []


def test_forcegen_file_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_bytes(OLD_FORCEGEN)
    with atomic_file(target) as tmp:
        tmp.write_text("new forcegen output")
    assert target.read_text() == "new forcegen output"


def test_user_file_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "notes.html"
    target.write_bytes(USER_BYTES)
    with pytest.raises(OutputError, match=r"refusing to replace .*notes\.html.*--force"):
        write_then_raise(target)
    assert target.read_bytes() == USER_BYTES
    assert leftovers(tmp_path) == []


def test_force_replaces_a_user_file(tmp_path: Path) -> None:
    target = tmp_path / "notes.html"
    target.write_bytes(USER_BYTES)
    with atomic_file(target, force=True) as tmp:
        tmp.write_text("replaced on request")
    assert target.read_text() == "replaced on request"


def test_a_folder_is_refused_as_a_file_target(tmp_path: Path) -> None:
    folder = tmp_path / "report.html"
    folder.mkdir()
    (folder / "inside.txt").write_bytes(USER_BYTES)
    with pytest.raises(OutputError, match="it is a folder"):
        write_then_raise(folder, force=True)
    assert (folder / "inside.txt").read_bytes() == USER_BYTES


@pytest.mark.parametrize("under", ["x.csv", "deeper/x.csv"])
def test_a_path_under_a_file_is_refused_before_writing(tmp_path: Path, under: str) -> None:
    blocker = tmp_path / "data"
    blocker.write_bytes(USER_BYTES)
    with pytest.raises(OutputError, match=r"data is a file, not a folder"):
        check_file_target(blocker / under)
    assert blocker.read_bytes() == USER_BYTES


def test_a_parent_that_turned_into_a_file_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the early check (e.g. the file appeared meanwhile), mkdir reports EEXIST,
    # which must not read "it already exists" for a file that does not.
    monkeypatch.setattr(outputs, "check_file_target", lambda *a, **k: None)
    blocker = tmp_path / "data"
    blocker.write_bytes(USER_BYTES)
    with pytest.raises(OutputError, match="a part of the path is a file") as info:
        write_then_raise(blocker / "x.csv")
    assert "already exists" not in str(info.value)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "no space left on the device"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "read-only file system"),
    ],
)
def test_os_errors_while_writing_become_output_errors(
    tmp_path: Path, code: int, reason: str
) -> None:
    target = tmp_path / "out.html"
    target.write_bytes(OLD_FORCEGEN)
    with pytest.raises(OutputError) as info:
        write_then_raise(target, OSError(code, os.strerror(code), "tmp"))
    message = str(info.value)
    assert str(target) in message
    assert reason in message
    assert target.read_bytes() == OLD_FORCEGEN
    assert leftovers(tmp_path) == []


def test_full_disk_at_flush_leaves_the_earlier_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Delayed allocation: the writes succeed and the disk is found full at fsync.
    def full(path: Path) -> None:
        raise enospc(path)

    monkeypatch.setattr(outputs, "_fsync", full)
    target = tmp_path / "out.html"
    target.write_bytes(OLD_FORCEGEN)
    with pytest.raises(OutputError, match="no space left"):
        write_then_raise(target)
    assert target.read_bytes() == OLD_FORCEGEN
    assert leftovers(tmp_path) == []


def test_no_room_for_even_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(target: Path) -> Path:
        raise enospc(target)

    monkeypatch.setattr(outputs, "_new_temp_file", full)
    with pytest.raises(OutputError, match="no space left"):
        write_then_raise(tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_pass_through_and_clean_up(tmp_path: Path) -> None:
    target = tmp_path / "out.html"
    target.write_bytes(OLD_FORCEGEN)
    with pytest.raises(ValueError, match="a bug"):
        write_then_raise(target, ValueError("a bug"))
    assert target.read_bytes() == OLD_FORCEGEN
    assert leftovers(tmp_path) == []


def test_ctrl_c_mid_write_leaves_the_earlier_file(tmp_path: Path) -> None:
    target = tmp_path / "out.html"
    target.write_bytes(OLD_FORCEGEN)
    with pytest.raises(KeyboardInterrupt):
        write_then_raise(target, KeyboardInterrupt())
    assert target.read_bytes() == OLD_FORCEGEN
    assert leftovers(tmp_path) == []


def test_killed_mid_write_leaves_the_earlier_file(tmp_path: Path) -> None:
    target = tmp_path / "out.html"
    target.write_bytes(OLD_FORCEGEN)
    started = tmp_path / "started"
    child = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from forcegen.results.outputs import atomic_file
        with atomic_file({str(target)!r}) as tmp, tmp.open("wb") as handle:
            handle.write(b"x" * 100_000)
            handle.flush()
            Path({str(started)!r}).touch()
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child])
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, "the writer died before it started writing"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # A kill leaves the hidden temporary file (nothing can remove it) but never a
    # partial file at the target's name.
    assert target.read_bytes() == OLD_FORCEGEN


def _write_two(first: Path, second: Path) -> None:
    with ExitStack() as stack:
        tmp_a = stack.enter_context(atomic_file(first))
        tmp_b = stack.enter_context(atomic_file(second))
        tmp_a.write_text("new a")
        tmp_b.write_text("new b, half")
        raise enospc(tmp_b)


def test_several_files_are_replaced_together_or_not_at_all(tmp_path: Path) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    first.write_bytes(OLD_FORCEGEN)
    second.write_bytes(OLD_FORCEGEN)
    with pytest.raises(OutputError, match="no space left"):
        _write_two(first, second)
    assert first.read_bytes() == OLD_FORCEGEN
    assert second.read_bytes() == OLD_FORCEGEN
    assert leftovers(tmp_path) == []


def test_temporary_file_keeps_the_suffix_so_writers_choose_as_for_the_target(
    tmp_path: Path,
) -> None:
    # pandas picks compression by suffix: a temporary name ending ".tmp" would write
    # plain text into q.csv.gz.
    target = tmp_path / "q.csv.gz"
    with atomic_file(target) as tmp:
        pd.DataFrame({"a": [1, 2]}).to_csv(tmp, index=False)
    assert gzip.decompress(target.read_bytes()) == b"a\n1\n2\n"


def test_written_files_and_folders_are_not_private(tmp_path: Path) -> None:
    # mkstemp/mkdtemp make 0600/0700: a report renamed from one is unreadable by others.
    old = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "r.html") as tmp:
            tmp.write_text("x")
        with atomic_dir(tmp_path / "result", recognise=lambda p: False) as folder:
            (folder / "run.json").write_text("{}")
    finally:
        os.umask(old)
    assert (tmp_path / "r.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "result").stat().st_mode & 0o777 == 0o755


# --------------------------------------------------------------------- recognising
def test_looks_like_forcegen_reads_the_head_and_the_tail(tmp_path: Path) -> None:
    head = tmp_path / "head.bin"
    head.write_bytes(b"forcegen" + b"\0" * 200_000)
    tail = tmp_path / "tail.bin"
    tail.write_bytes(b"\0" * 200_000 + b"forcegen")
    middle = tmp_path / "middle.bin"
    middle.write_bytes(b"\0" * 100_000 + b"forcegen" + b"\0" * 100_000)
    assert looks_like_forcegen(head)
    assert looks_like_forcegen(tail)
    assert not looks_like_forcegen(middle)
    assert not looks_like_forcegen(tmp_path / "missing")


def test_csv_header_is_exact(tmp_path: Path) -> None:
    frame = pd.DataFrame({"rank": [1], "parameter": ["a,b"]})
    header = csv_header(frame)
    assert header == "rank,parameter"
    recognise = csv_header_is(header)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert recognise(path)
    path.write_bytes(b"rank,parameter\r\n1,x\r\n")  # written on Windows
    assert recognise(path)
    for other in (b"rank,parameter,extra\n", b"rank\n", b"Rank,Parameter\n", b"rank,parameter"):
        path.write_bytes(other)
        assert not recognise(path), other
    assert csv_header(frame.set_index("rank"), index=True) == "rank,parameter"


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_figures_carry_forcegen_in_their_bytes(tmp_path: Path, fmt: str) -> None:
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    path = write_figure(fig, tmp_path / f"f.{fmt}")
    assert looks_like_forcegen_figure(path)
    # A re-run replaces it without --force.
    assert write_figure(fig, path) == path


def test_a_users_svg_mentioning_forcegen_is_not_taken_for_a_figure(tmp_path: Path) -> None:
    user = tmp_path / "diagram.svg"
    user.write_bytes(b"<svg><text>how forcegen works</text></svg>\n")
    assert looks_like_forcegen(user)
    assert not looks_like_forcegen_figure(user)
    fig = Figure()
    with pytest.raises(OutputError, match="refusing to replace"):
        write_figure(fig, user)
    assert user.read_bytes() == b"<svg><text>how forcegen works</text></svg>\n"


def test_write_figure_rejects_other_formats(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"use \.png, \.svg or \.pdf"):
        write_figure(Figure(), tmp_path / "f.jpg")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- atomic_dir
def _is_result(folder: Path) -> bool:
    return (folder / "run.json").is_file()


def test_atomic_dir_new_and_empty_folders(tmp_path: Path) -> None:
    with atomic_dir(tmp_path / "new", recognise=_is_result) as folder:
        (folder / "run.json").write_text("{}")
    assert (tmp_path / "new" / "run.json").read_text() == "{}"
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty, recognise=_is_result) as folder:
        (folder / "run.json").write_text("{}")
    assert sorted(p.name for p in empty.iterdir()) == ["run.json"]
    assert leftovers(tmp_path) == []


def test_atomic_dir_replaces_a_previous_result_whole(tmp_path: Path) -> None:
    target = tmp_path / "result"
    target.mkdir()
    (target / "run.json").write_text("old")
    (target / "stale.parquet").write_text("old")
    with atomic_dir(target, recognise=_is_result) as folder:
        (folder / "run.json").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["run.json"]
    assert (target / "run.json").read_text() == "new"
    assert leftovers(tmp_path) == []


def test_atomic_dir_refuses_a_users_folder_and_a_file(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.docx").write_bytes(USER_BYTES)
    with pytest.raises(OutputError, match="not a forcegen result"):
        fill_dir_then_raise(user)
    assert [p.name for p in user.iterdir()] == ["thesis.docx"]
    assert (user / "thesis.docx").read_bytes() == USER_BYTES
    a_file = tmp_path / "file"
    a_file.write_bytes(USER_BYTES)
    with pytest.raises(OutputError, match="a file of that name exists"):
        fill_dir_then_raise(a_file)
    assert a_file.read_bytes() == USER_BYTES


def test_atomic_dir_failure_leaves_the_previous_result(tmp_path: Path) -> None:
    target = tmp_path / "result"
    target.mkdir()
    (target / "run.json").write_text("old")
    with pytest.raises(OutputError, match="no space left"):
        fill_dir_then_raise(target, enospc("run.json"))
    assert (target / "run.json").read_text() == "old"
    assert leftovers(tmp_path) == []


def _failing_replace(
    monkeypatch: pytest.MonkeyPatch, fail_on: int
) -> Callable[[str | os.PathLike[str], str | os.PathLike[str]], None]:
    real = os.replace
    calls = {"n": 0}

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == fail_on:
            raise enospc(dst)
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    return replace


def test_atomic_dir_puts_the_previous_result_back_when_the_swap_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "result"
    target.mkdir()
    (target / "run.json").write_text("old")
    # Call 1 moves the old result aside, call 2 (renaming the new one in) fails.
    _failing_replace(monkeypatch, fail_on=2)
    with pytest.raises(OutputError, match="no space left"):
        fill_dir_then_raise(target)
    assert (target / "run.json").read_text() == "old"
    assert leftovers(tmp_path) == []


def test_atomic_dir_leaves_an_empty_folder_empty_when_moving_in_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    _failing_replace(monkeypatch, fail_on=2)
    with pytest.raises(OutputError, match="no space left"):
        fill_dir_then_raise(target)
    assert list(target.iterdir()) == []
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------- a real full disk
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (skipped where mounting is not permitted)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_really_full_disk(tiny_disk: Path) -> None:
    target = tiny_disk / "report.html"
    target.write_bytes(OLD_FORCEGEN)
    with pytest.raises(OutputError, match="no space left on the device"):
        write_then_raise(target, size=300_000)  # into 64 KiB
    assert target.read_bytes() == OLD_FORCEGEN
    assert leftovers(tiny_disk) == []
