"""Outputs appear under their final name only when complete: an interrupted run leaves nothing half-written,
and a full disk is a message naming the file, not a traceback."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


class OutputError(OSError):
    """An output path that cannot be written (raised before any work is done), or a disk that filled up."""


# What the longest name made from an output's adds to it: the temporary file of atomic_output
# (".NAME.XXXXXXXX.part" around the stem); the lock file (".NAME.lock") and a job's work folder
# (".NAME.resume") add less.
NAME_EXTRA = len("..XXXXXXXX.part")
_RANDOM = "[a-z0-9_]{8}"  # the part tempfile picks


def check_writable(path: str | Path) -> Path:
    """Fail fast (before minutes of work) when `path` cannot be created, or the names made from it at the end
    (its temporary file) would be too long for the file system."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"output {path} is a directory; give a file name")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {parent} is not writable")
    limit = os.pathconf(parent, "PC_NAME_MAX")
    if len(os.fsencode(path.name)) + NAME_EXTRA > limit:
        raise OutputError(f"cannot write {path}: its name is {len(os.fsencode(path.name))} bytes, and with the "
                          f"{NAME_EXTRA} its temporary file adds it exceeds this file system's {limit}; "
                          "give a shorter name")
    return path


def check_free_space(path: str | Path, needed: int, what: str) -> None:
    """Refuse long work up front when the disk of `path` has less free space than `needed` bytes (an estimate
    of `what` the work writes), rather than fail when it fills."""
    folder = Path(path).absolute().parent
    while not folder.is_dir():  # a folder the work will create: the disk it will be on
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OutputError(f"cannot write {path}: {free / 1e6:.1f} MB free in {folder}, and {what} needs about "
                          f"{needed / 1e6:.1f} MB; free some space or write elsewhere")


def disk_full(error: BaseException, path: str | Path) -> OutputError | None:
    """The user's error for a write to `path` that failed because its disk (or quota) is full, else None.

    The OS's error may be the cause or context of another (torch.save reports "unexpected pos" on top of it).
    """
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return OutputError(f"cannot write {path}: the disk is full ({error.strerror}); free some space and run "
                               "again (no half-written file is left under a final name)")
        error = error.__cause__ or error.__context__
    return None


def remove_leftovers(path: str | Path) -> None:
    """Delete the temporary files and folders that writes of `path` left when their process was killed (no
    handler ran). Only for the holder of `path`'s lock (see locks.py): others' writes in flight look the same."""
    path = Path(path)
    own = re.compile(rf"\.{re.escape(path.stem)}\.{_RANDOM}\.part{re.escape(path.suffix)}"
                     rf"|\.{re.escape(path.name)}\.{_RANDOM}\.part")
    parent = path.parent if str(path.parent) else Path(".")
    for leftover in parent.iterdir():
        if own.fullmatch(leftover.name):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def check_not_inputs(outputs: Iterable[str | Path], inputs: Iterable[str | Path | None]) -> None:
    """Inputs are never touched: refuse, before any work, an output that is an input or lies in an input folder.

    "Is" means the same file on disk (os.path.samefile: the same device and inode), so another spelling
    of the path, a hard link or a symlink to an input is caught too. Inputs that do not exist (a shipped
    style's name, 'builtin') cannot be overwritten and are skipped.
    """
    existing = [Path(p) for p in inputs if p is not None and Path(p).exists()]
    for out in map(Path, outputs):
        for given in existing:
            if out.exists() and os.path.samefile(out, given):
                raise OutputError(f"output {out} is the input {given}; give another output name "
                                  "(an input is never overwritten)")
            if given.is_dir() and out.resolve().is_relative_to(given.resolve()):
                raise OutputError(f"output {out} is inside the input folder {given}; write it elsewhere "
                                  "(inputs are never changed)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix, so writers pick the same format); rename on success."""
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent or ".")
    except OSError as e:
        raise disk_full(e, path) or e
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes files owner-only; outputs are ordinary files
        os.replace(tmp_path, path)
    except Exception as e:
        tmp_path.unlink(missing_ok=True)
        raise disk_full(e, path) or e
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
