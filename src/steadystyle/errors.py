"""The errors a user can act on: every front end (the command, the studio) shows these as a plain message.

Each one names the file or setting at fault and what to do; anything else is a bug and keeps its traceback.
VideoError, CameraError, DeviceError, EvaluationError and the other checks of input derive from ValueError.
"""

from __future__ import annotations

from .atomic import OutputError
from .images import ImageError
from .models import ModelError
from .vgg import VGGWeightsError

USER_ERRORS = (ImageError, ModelError, VGGWeightsError, OutputError, FileNotFoundError, ValueError)


def interrupt(signum: int, frame: object) -> None:
    """A SIGTERM handler: `kill` stops a run as Ctrl-C does, so its cleanup and checkpointing run."""
    raise KeyboardInterrupt
