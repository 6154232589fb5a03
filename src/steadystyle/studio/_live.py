"""The Live tab: the browser's webcam, stylized frame by frame with the recurrent (stable) network.

Each browser session keeps its own `stylize_frames` generator, fed one frame per call, so the
recurrence (the previous frame and the network's output for it) carries over from frame to frame
exactly as it does for a video file, cut detection included.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

import gradio as gr
import numpy as np

from ..images import to_uint8
from ..models import Model
from ..stylize import StylizeOptions, stylize_frames
from ._base import readable_errors
from ._styles import StyleLibrary

LIVE_MAX_SIDE = 480  # frames are shrunk to this longer side: about real time on two cores
STREAM_EVERY = 0.1  # seconds between frames sent by the browser


class LiveSession:
    """One browser's stream through one style with one set of options."""

    def __init__(self, key: tuple, model: Model, opts: StylizeOptions):
        self.key = key
        self._frames: deque[np.ndarray] = deque()
        self._output = stylize_frames(self._fed(), model, opts)
        self._lock = threading.Lock()  # a generator runs in one thread at a time

    def _fed(self) -> Iterator[np.ndarray]:
        """The frames as `step` hands them over: `stylize_frames` takes one per output, so one is always there."""
        while True:
            yield self._frames.popleft()

    def step(self, frame: np.ndarray) -> np.ndarray:
        with self._lock:
            self._frames.append(np.array(frame))  # a copy: gradio hands over read-only arrays
            return to_uint8(next(self._output))


def live_tab(library: StyleLibrary) -> gr.Dropdown:
    """Build the tab; returns its style list, which the app refreshes when the tab is opened."""
    gr.Markdown("Allow the page to use your camera, then press record. The stable network keeps each "
                "frame consistent with the one before, so the picture does not flicker.")
    with gr.Row():
        camera = gr.Image(sources=["webcam"], streaming=True, label="Camera", elem_id="camera")
        output = gr.Image(label="Stylized", interactive=False, elem_id="live-output")
    with gr.Row():
        names = list(library.styles())
        styles = gr.Dropdown(names, value=names[0] if names else None, label="Style", elem_id="live-style")
        strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength")
        keep = gr.Checkbox(label="Preserve the original colours")
    session = gr.State(None)

    @readable_errors
    def stylize(frame: np.ndarray | None, name: str, strength: float, keep: bool, current: LiveSession | None):
        if frame is None:
            return gr.skip(), current
        key = (name, strength, keep)
        if current is None or current.key != key:  # new options start a fresh recurrence
            style = library.get(name)
            mode = "stable" if style.stable else "per-frame"
            current = LiveSession(key, style.load(mode), StylizeOptions(
                mode=mode, strength=strength, preserve_color=keep, max_side=LIVE_MAX_SIDE))
        return current.step(frame), current

    camera.stream(stylize, inputs=[camera, styles, strength, keep, session], outputs=[output, session],
                  stream_every=STREAM_EVERY, concurrency_limit=None, show_progress="hidden")
    return styles
