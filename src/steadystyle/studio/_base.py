"""What every tab of the studio shares: where it keeps its files, and how errors reach the page.

The studio's folder holds only what the studio makes (models, paintings, job results, thumbnails), so
it can be served to the page as a whole and deleted as a whole.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import gradio as gr

from ..errors import USER_ERRORS

STUDIO_ENV = "STEADYSTYLE_STUDIO"
DEFAULT_STUDIO = Path("~/.cache/steadystyle/studio")
ERROR_SECONDS = 20
log = logging.getLogger("steadystyle.studio")
F = TypeVar("F", bound=Callable)


def studio_dir(folder: str | Path | None = None) -> Path:
    """The studio's folder: `folder` if given, else $STEADYSTYLE_STUDIO, else ~/.cache/steadystyle/studio."""
    return Path(folder or os.environ.get(STUDIO_ENV) or DEFAULT_STUDIO).expanduser()


def subfolder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# An absolute path: a slash not inside a word or URL, then folders, then the name (group 1).
SERVER_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"]+/)+([^\s/'\"]+)")


def without_paths(message: str) -> str:
    """Server paths mean nothing to a browser user (and show others where things live): a file is named
    by its name only, e.g. an upload (UPLOADS/HASH/NAME) is NAME, as the user knows it."""
    return SERVER_PATH.sub(r"\1", message)


def error_notice(message: str) -> gr.Error:
    """A notice in the page that goes away by itself, long enough to read."""
    return gr.Error(message, duration=ERROR_SECONDS, print_exception=False)


def page_error(error: Exception) -> gr.Error:
    """The message a user can act on, as a notice in the page (never a traceback)."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, USER_ERRORS):
        return error_notice(without_paths(str(error)))
    log.exception("unexpected error in the studio")
    return error_notice(f"Something went wrong ({type(error).__name__}: {without_paths(str(error))}). "
                        "The details are in the terminal that runs `steadystyle studio`.")


def readable_errors(fn: F) -> F:
    """Wrap an event handler so that every error it raises shows in the page as a plain message."""
    @functools.wraps(fn)
    def handler(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise page_error(e) from e

    return handler  # type: ignore[return-value]
