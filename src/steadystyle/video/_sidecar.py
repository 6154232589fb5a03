"""The sidecar that records how a stylized video was made.

The sidecar is OUTPUT + ".json" (`clip.mp4` -> `clip.mp4.json`, a frame folder `frames` -> `frames.json`):
one JSON object with at least "made_by" (steadystyle and its version), "command", "model", "mode", "fps"
(frames per second of the whole run, decoding and encoding included, wall clock), "frames" and "seconds".
`stylize` and `optimize video` write it; `evaluate` reads the speed from it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from ..atomic import atomic_output, check_writable, remove_leftovers
from ..locks import Lock
from ..version import __version__

SIDECAR_SUFFIX = ".json"


def sidecar_path(output: str | Path) -> Path:
    return Path(output).with_name(Path(output).name + SIDECAR_SUFFIX)


def claim_output(output: Path) -> Lock:
    """The lock on `output` (a LockedError when another run holds it), once its sidecar, written last, is known
    to be writable and the temporary files of runs killed while writing either are gone: how every job that
    writes a video starts."""
    lock = Lock(output, f"writing {output}")
    try:
        check_writable(sidecar_path(output))
        for path in (output, sidecar_path(output)):
            remove_leftovers(path)
    except BaseException:
        lock.release()
        raise
    return lock


def write_sidecar(output: str | Path, info: dict) -> Path:
    """Record how `output` was made beside it, atomically."""
    path = sidecar_path(output)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps({"made_by": f"steadystyle {__version__}", **info}, indent=2, default=str) + "\n")
    return path


def read_sidecar(video: str | Path) -> dict | None:
    """The sidecar of `video`, or None when it has none; a damaged one is reported and ignored, since the
    scores do not depend on it."""
    path = sidecar_path(video)
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        warnings.warn(f"{path}: unreadable ({e}); the speed of {video} is reported as unknown", stacklevel=2)
        return None
    return info if isinstance(info, dict) else None
