"""Outputs appear under their final name only when complete: an interrupted run leaves nothing half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


class OutputError(OSError):
    """An output path that cannot be written; raised before any work is done."""


def check_writable(path: str | Path) -> Path:
    """Fail fast (before minutes of work) when `path` cannot be created."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"output {path} is a directory; give a file name")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist (create it first)")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {parent} is not writable")
    return path


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes files owner-only; outputs are ordinary files
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
