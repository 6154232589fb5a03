"""Live stylization: a camera (or any video standing in for one) through `stylize_frames`, on screen.

The window is plain Tk (in Python's standard library), because the OpenCV wheel steadystyle depends
on is the headless one, which has no windows of its own. `window=False` runs the same loop without a
screen, which is how it is tested and how it records on a server.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .images import to_uint8
from .models import Model
from .stylize import StylizeOptions, stylize_frames
from .video import VideoWriter

WEBCAM_FPS = 30  # a camera's rate is only nominal; recordings are stamped with the measured times


class CameraError(ValueError):
    """A capture device or stand-in file that gives no frames."""


def parse_webcam(spec: str) -> int | None:
    """'webcam' -> 0, 'webcam:2' -> 2, anything else -> None (not a camera)."""
    if spec == "webcam":
        return 0
    if spec.startswith("webcam:") and spec[7:].isdigit():
        return int(spec[7:])
    return None


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """OpenCV logs a warning for each capture backend that fails to open; the CameraError after says what matters."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def capture_frames(source: int | str | Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """RGB uint8 frames from an OpenCV capture device index or a video file, until it ends or `max_frames`."""
    with _quiet_opencv():
        cap = cv2.VideoCapture(str(source) if isinstance(source, Path) else source)
    if not cap.isOpened():
        what = f"camera {source}" if isinstance(source, int) else f"file {source}"
        raise CameraError(f"cannot open {what}; check it is connected and not in use "
                          "(or stand in a video file with --source FILE)")
    try:
        n = 0
        while max_frames is None or n < max_frames:
            ok, bgr = cap.read()
            if not ok:
                if n == 0:
                    raise CameraError(f"{source} gave no frames")
                return
            n += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


@dataclass
class LiveStats:
    frames: int = 0
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


class _TkWindow:
    """A window showing frames; 'q' or closing it stops the loop."""

    def __init__(self, title: str):
        import tkinter

        self.tk = tkinter.Tk()
        self.tk.title(title)
        self.label = tkinter.Label(self.tk)
        self.label.pack()
        self.open = True
        self.tk.bind("<Key-q>", lambda _: self.close())
        self.tk.protocol("WM_DELETE_WINDOW", self.close)
        self._photo = None

    def show(self, rgb: np.ndarray) -> None:
        import tkinter

        h, w = rgb.shape[:2]
        ppm = f"P6 {w} {h} 255 ".encode() + rgb.tobytes()
        self._photo = tkinter.PhotoImage(data=ppm, format="PPM")
        self.label.configure(image=self._photo)
        self.tk.update()

    def close(self) -> None:
        if self.open:
            self.open = False
            self.tk.destroy()


def _overlay_fps(rgb: np.ndarray, fps: float) -> np.ndarray:
    out = np.ascontiguousarray(rgb)
    cv2.putText(out, f"{fps:4.1f} fps  (q quits)", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def run_live(source: int | str | Path, model: Model, opts: StylizeOptions | None = None, *,
             max_frames: int | None = None, window: bool = True, record: str | Path | None = None,
             report: Callable[[str], None] = lambda s: print(s, file=sys.stderr, end="\r")) -> LiveStats:
    """Stylize a capture live until it ends, `max_frames` pass, the window is closed or Ctrl-C.

    All of these are normal ways to stop, so a recording is finished properly in each case; it is
    stamped with the measured capture times (millisecond ticks), not a nominal rate. The frame rate is
    measured over the last 30 frames and drawn on the screen (not on the recording).
    """
    stats = LiveStats()
    recent: deque[float] = deque(maxlen=30)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(VideoWriter(record, WEBCAM_FPS, time_base=Fraction(1, 1000))) if record else None
        win = _TkWindow(f"steadystyle - {model.style}") if window else None
        if win:
            stack.callback(win.close)
        try:
            for y in stylize_frames(capture_frames(source, max_frames), model, opts):
                now = time.perf_counter()
                recent.append(now)
                fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
                frame = to_uint8(y)
                if writer:
                    writer.write(frame, now - t0)
                stats.frames += 1
                if win:
                    if not win.open:
                        break
                    win.show(_overlay_fps(frame, fps))
                elif stats.frames % 10 == 0:
                    report(f"{stats.frames} frames, {fps:.1f} fps")
        except KeyboardInterrupt:
            pass
    stats.seconds = time.perf_counter() - t0
    return stats
