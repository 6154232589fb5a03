"""One writer per output: a second run on the same video output or training work folder stops at once.

The lock is an OS file lock (fcntl.flock) on a small file beside what it guards, so the kernel releases it
when its process ends in any way, a crash or SIGKILL included: a lock file left by a dead process is no lock,
and the next run takes it over. The file also records who holds it (process id, start time, command), which
is what a refused run reports.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path

from .atomic import OutputError


class LockedError(OutputError):
    """Another run is writing the same output; the message names it and its process."""


def lock_path(target: str | Path) -> Path:
    """The lock file of `target` (a file or folder, existing or not): hidden, beside it."""
    target = Path(target)
    return target.with_name(f".{target.name}.lock")


class Lock:
    """An exclusive lock on `target`, held from construction until `release()` (or the process's end);
    `with Lock(out, what):` runs a block alone on `out`, or raises LockedError before it starts.

    `what` says in the refusal what the holder is doing ("writing OUT", "training in WORK").
    """

    def __init__(self, target: str | Path, what: str) -> None:
        self.path, self._fd = lock_path(target), None
        while True:  # the lock file may be replaced between open and flock: retry on the new one
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise LockedError(f"{what}: another run is at it ({holder}; lock file {self.path}); wait for it to "
                                  "finish or stop it, or give another output") from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                break
            os.close(fd)  # its holder removed this file on release; lock the current one
        self._fd = fd
        record = {"pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S"), "command": " ".join(sys.argv)}
        with contextlib.suppress(OSError):  # who holds it is only told; a full disk must not stop the run
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(record).encode())

    def release(self) -> None:
        """Remove the lock file, then unlock (in this order, so no one locks a file that is about to go)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None

    def __del__(self) -> None:  # a holder dropped without release() (an abandoned trainer) lets go
        self.release()

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _holder(fd: int) -> str:
    """'process 123 since 2024-05-01 10:00:00, steadystyle stylize ...', or what can be said of a fresh lock."""
    try:
        record = json.loads(os.pread(fd, 4096, 0).decode())
        return f"process {record['pid']} since {record['since']}: {record['command']}"
    except (ValueError, KeyError, TypeError, OSError):
        return "a process that has only just started"
