"""Where steadystyle keeps what it can always make again: training's resized photos and clips' motion, and the
benchmarks' footage."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$STEADYSTYLE_CACHE, else $XDG_CACHE_HOME/steadystyle, else ~/.cache/steadystyle."""
    root = os.environ.get("STEADYSTYLE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "steadystyle"
    return Path(root)
