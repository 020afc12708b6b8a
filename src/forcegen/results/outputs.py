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
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from forcegen.errors import OutputError

__all__ = [
    "OutputError",
    "atomic_dir",
    "atomic_file",
    "check_file_target",
    "looks_like_forcegen",
    "output_error",
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


def output_error(exc: OSError, path: str | os.PathLike[str], action: str = "write") -> OutputError:
    """An :class:`OutputError` for ``exc`` raised while trying to ``action`` ``path``."""
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
    return OutputError(
        f"cannot {action} {os.fspath(path)}: {reason}; nothing was written there "
        "and earlier files are unchanged"
    )


def looks_like_forcegen(path: Path) -> bool:
    """Whether the file at ``path`` names forcegen in its first or last 64 KiB.

    Every file forcegen writes carries its name: the HTML report's generator tag,
    PNG/SVG/PDF metadata, Parquet key-value metadata (stored at the end of the file),
    JSON and netCDF provenance attributes. A user's file that happens to contain the
    word is rare, and the cost of that mistake is the one the user asked for: a
    file at that name replaced by forcegen's output.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            if _MARK in head:
                return True
            if size > _SNIFF_BYTES:
                handle.seek(max(size - _SNIFF_BYTES, _SNIFF_BYTES))
                return _MARK in handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return False


def check_file_target(
    path: Path, *, force: bool = False, recognise: Recognise = looks_like_forcegen
) -> None:
    """Refuse (:class:`OutputError`) a target that is a folder, or an existing file that
    forcegen did not write (unless ``force``)."""
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
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

    Example::

        with atomic_file("report.html") as tmp:
            tmp.write_text(html)
    """
    target = Path(path)
    check_file_target(target, force=force, recognise=recognise)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise output_error(exc, target) from None
    tmp = Path(name)
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
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name or 'out'}.", dir=parent))
    except OSError as exc:
        raise output_error(exc, target) from None
    try:
        yield tmp
        _fsync_tree(tmp)
        if not target.exists():
            os.replace(tmp, target)
        elif not replace:
            # An empty folder (perhaps the current one, which cannot be renamed over):
            # move the finished files in one by one, each rename atomic.
            for item in tmp.iterdir():
                os.replace(item, target / item.name)
            tmp.rmdir()
        else:
            backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=parent))
            os.replace(target, backup / "old")
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise output_error(exc, target) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
