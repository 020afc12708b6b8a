"""Writing output files and folders without destroying anything forcegen did not write.

Every file forcegen writes goes through :func:`atomic_file` (a temporary file in the
target's folder, flushed to disk, then renamed over the target) and every result
folder through :func:`atomic_dir`, so:

* an interrupted or failed write (an error, Ctrl-C, a full disk) leaves no partial
  file and whatever was at the target before stays as it was;
* an existing file is replaced only when it is recognisably forcegen's own output
  (or the caller passes ``force=True``: the user said so explicitly); an existing
  folder only when it is empty or holds nothing but a previous forcegen result;
* an operating-system error (no space, permission denied, read-only file system, a
  folder where a file was expected) becomes an :class:`~forcegen.errors.OutputError`
  naming the path and the reason, which the CLI prints with exit code 2.

How an existing file is recognised depends on what forcegen writes there: files that
carry forcegen's name (HTML reports, figures, JSON, Parquet) by
:func:`looks_like_forcegen` or a stricter :func:`has_marker`; CSV tables, which carry
no marker, by their first line (:func:`csv_header_is`).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forcegen.errors import OutputError, UsageError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "FIGURE_FORMATS",
    "OutputError",
    "atomic_dir",
    "atomic_file",
    "check_file_target",
    "csv_header",
    "csv_header_is",
    "figure_metadata",
    "has_marker",
    "looks_like_forcegen",
    "looks_like_forcegen_figure",
    "output_error",
    "write_figure",
]

Recognise = Callable[[Path], bool]
"""Tells whether an existing path is forcegen's own output (so it may be replaced)."""

_SNIFF_BYTES = 64 * 1024
_MARK = b"forcegen"

_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ELOOP: "too many symbolic links (a loop?)",
    errno.EEXIST: "it already exists",
}

FIGURE_FORMATS = ("png", "svg", "pdf")
"""Figure formats forcegen writes, each with metadata naming forcegen."""

# What :func:`figure_metadata` puts into each format's bytes (checked by the tests).
_FIGURE_MARKERS = (
    b"Software\x00forcegen",  # PNG tEXt chunk, before the image data
    b"<dc:title>forcegen</dc:title>",  # SVG <metadata>, creator
    b"/Creator (forcegen)",  # PDF document information, near the end
)


def output_error(exc: OSError, path: str | os.PathLike[str], action: str = "write") -> OutputError:
    """An :class:`OutputError` for ``exc`` raised while trying to ``action`` ``path``."""
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
    return OutputError(
        f"cannot {action} {os.fspath(path)}: {reason}; nothing was written there "
        "and earlier files are unchanged"
    )


def has_marker(*markers: bytes) -> Recognise:
    """A :data:`Recognise` that accepts a file holding any of ``markers`` in its first
    or last 64 KiB (where formats keep their metadata)."""

    def recognise(path: Path) -> bool:
        return _sniff(path, markers)

    return recognise


def looks_like_forcegen(path: Path) -> bool:
    """Whether the file at ``path`` names forcegen in its first or last 64 KiB.

    Every file forcegen writes carries its name: the HTML report's generator tag,
    PNG/SVG/PDF metadata, Parquet key-value metadata (stored at the end of the file),
    JSON and netCDF provenance attributes. A user's file that happens to contain the
    word is rare, and the cost of that mistake is the one the user asked for: a
    file at that name replaced by forcegen's output.
    """
    return _sniff(path, (_MARK,))


looks_like_forcegen_figure = has_marker(*_FIGURE_MARKERS)
"""Whether a file holds the metadata :func:`figure_metadata` writes (PNG, SVG or PDF):
stricter than :func:`looks_like_forcegen`, which an SVG merely mentioning forcegen in
its text would pass."""


def _sniff(path: Path, markers: tuple[bytes, ...]) -> bool:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if any(m in head for m in markers):
                return True
            if size > _SNIFF_BYTES:
                handle.seek(max(size - _SNIFF_BYTES, _SNIFF_BYTES))
                tail = handle.read(_SNIFF_BYTES)
                return any(m in tail for m in markers)
    except OSError:
        return False
    return False


def csv_header(frame: pd.DataFrame, *, index: bool = False) -> str:
    """The first line ``frame.to_csv(index=index)`` writes (without the line end)."""
    return str(frame.iloc[:0].to_csv(index=index, lineterminator="\n")).rstrip("\n")


def csv_header_is(header: str) -> Recognise:
    """A :data:`Recognise` for CSV tables, which carry no marker: the existing file's
    first line must be exactly ``header``, the one forcegen would write there.

    A user's table with the very same columns is most likely a copy of forcegen's;
    anything else (another table, a spreadsheet, notes) is refused.
    """
    expected = header.encode("utf-8")

    def recognise(path: Path) -> bool:
        try:
            with path.open("rb") as handle:
                first = handle.readline(len(expected) + 3)
        except OSError:
            return False
        return first.rstrip(b"\r\n") == expected and first.endswith(b"\n")

    return recognise


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def check_file_target(
    path: Path, *, force: bool = False, recognise: Recognise = looks_like_forcegen
) -> None:
    """Refuse (:class:`OutputError`) a target that is a folder, one under a file, or an
    existing file that forcegen did not write (unless ``force``).

    Cheap enough to call before long work, so the user hears at once rather than
    after a simulation; :func:`atomic_file` calls it again just before writing.
    """
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    # A file among the parent folders would fail only at the write; say it now.
    ancestor = _first_existing(path.parent)
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputError(
            f"cannot write {path}: {ancestor} is a file, not a folder; nothing was written there"
        )
    if path.exists() and not force and not recognise(path):
        raise OutputError(
            f"refusing to replace {path}: it was not written by forcegen; "
            "choose another name, remove it yourself, or pass --force"
        )


@contextmanager
def atomic_file(
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    recognise: Recognise = looks_like_forcegen,
) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is flushed and renamed to ``path``.

    Missing parent folders are created. On any exception the temporary file is removed
    and the target is untouched; an :class:`OSError` becomes an :class:`OutputError`.
    The temporary file ends with the target's suffix, so writers that choose a format
    or compression by suffix (matplotlib, pandas) choose as for the target, and has
    the permissions any new file would have (the umask's, not private ones).

    Several files written together: enter one :func:`atomic_file` per file in a
    :class:`contextlib.ExitStack`; a failure before the end then replaces none of them.

    Example::

        with atomic_file("report.html") as tmp:
            tmp.write_text(html)
    """
    target = Path(path)
    check_file_target(target, force=force, recognise=recognise)
    try:
        _make_parents(target.parent)
        tmp = _new_temp_file(target)
    except OSError as exc:
        raise output_error(exc, target) from None
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise output_error(exc, target) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _make_parents(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # mkdir says "exists" when the parent itself is a file: name the real problem.
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


def _new_temp_file(target: Path) -> Path:
    # Not tempfile.mkstemp: its files are private (0600), and a report renamed from one
    # would be unreadable by anyone else; os.open with 0666 lets the umask decide.
    for _ in range(100):
        tmp = target.parent / f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def _new_temp_dir(parent: Path, name: str) -> Path:
    # Not tempfile.mkdtemp, for the reason given in _new_temp_file (it makes 0700).
    for _ in range(100):
        tmp = parent / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            tmp.mkdir(0o777)
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(parent / name))


@contextmanager
def atomic_dir(path: str | os.PathLike[str], *, recognise: Recognise) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it becomes ``path``.

    ``path`` may be new, an empty folder, or a folder that ``recognise`` accepts as a
    previous forcegen result, which is replaced as a whole (moved aside, the new one
    renamed in, the old one removed). Anything else is refused with an
    :class:`OutputError` before any work is done. On failure the temporary folder is
    removed and ``path`` is as it was.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputError(f"cannot write the folder {target}: a file of that name exists")
    replace = False
    if target.is_dir():
        try:
            entries = list(target.iterdir())
        except OSError as exc:
            raise output_error(exc, target, "read") from None
        if entries and not recognise(target):
            raise OutputError(
                f"refusing to write into {target}: it holds files that are not a forcegen "
                "result; give a new or empty folder"
            )
        replace = bool(entries)
        if replace and target.resolve() == Path.cwd().resolve():
            raise OutputError(
                f"cannot replace {target}: it is the current folder; give a new folder name"
            )
    parent = target.resolve().parent if target.exists() else target.parent
    try:
        _make_parents(parent)
        tmp = _new_temp_dir(parent, target.name or "out")
    except OSError as exc:
        raise output_error(exc, target) from None
    try:
        yield tmp
        _fsync_tree(tmp)
        if not target.exists():
            os.replace(tmp, target)
        elif not replace:
            _move_into_empty(tmp, target)
        else:
            _swap_in(tmp, target, parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise output_error(exc, target) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_empty(tmp: Path, target: Path) -> None:
    # An empty folder (perhaps the current one, which cannot be renamed over): move the
    # finished files in one by one, each rename atomic; if one fails, take the ones
    # already moved out again, so the folder is left empty as it was found.
    moved: list[Path] = []
    try:
        for item in tmp.iterdir():
            os.replace(item, target / item.name)
            moved.append(target / item.name)
        tmp.rmdir()
    except BaseException:
        for item in moved:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
        raise


def _swap_in(tmp: Path, target: Path, parent: Path) -> None:
    backup = _new_temp_dir(parent, f"{target.name}.old")
    try:
        os.replace(target, backup / "old")
        try:
            os.replace(tmp, target)
        except BaseException:
            # Put the previous result back: the caller was promised it stays as it was.
            os.replace(backup / "old", target)
            raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def figure_metadata(fmt: str) -> dict[str, Any] | None:
    """Metadata for ``Figure.savefig(..., format=fmt)``: names forcegen in the file (so
    :func:`looks_like_forcegen_figure` recognises it) and omits creation dates (so the
    same figure gives the same bytes)."""
    if fmt == "png":
        return {"Software": "forcegen"}
    if fmt == "svg":
        return {"Date": None, "Creator": "forcegen"}
    if fmt == "pdf":
        return {"CreationDate": None, "Creator": "forcegen"}
    return None


def write_figure(
    fig: Figure, path: str | os.PathLike[str], *, dpi: int = 150, force: bool = False
) -> Path:
    """Save a matplotlib figure through :func:`atomic_file`, in the format of the
    suffix (``.png``, ``.svg``, ``.pdf``), with :func:`figure_metadata`.

    An existing file is replaced only when it is a forcegen figure (or ``force``).

    Raises:
        UsageError: Another suffix.
        OutputError: The target cannot or may not be written.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise UsageError(
            f"cannot save a figure as {target.suffix or 'no suffix'}: use .png, .svg or .pdf"
        )
    with atomic_file(target, force=force, recognise=looks_like_forcegen_figure) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=figure_metadata(fmt))
    return target


def _fsync(path: Path) -> None:
    # A rename is atomic only for data already on disk; without the fsync a crash just
    # after it can leave a renamed but empty file on some file systems.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for item in folder.rglob("*"):
        if item.is_file():
            _fsync(item)
