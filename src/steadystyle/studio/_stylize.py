"""Stylizing an uploaded video or image as a background job: one mode, or both networks side by side.

Videos go through `stylize_video` (timestamps and sound kept); "both" runs each network over the clip
and then puts the two results side by side, with the source's sound, so flicker is easy to compare.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..images import IMAGE_SUFFIXES, load_rgb, save_image, to_uint8
from ..stylize import StylizeOptions, as_tensor, stylize_image, stylize_video
from ..video import VideoReader, VideoWriter, open_video, probe
from ._jobs import Report
from ._styles import MODES, Style

BOTH = "both"
MODE_CHOICES = [("stable", "stable"), ("per-frame", "per-frame"), ("both, side by side", BOTH)]


@dataclass(frozen=True)
class StylizeRequest:
    source: Path
    style: Style
    mode: str  # one of MODES, or BOTH
    strength: float = 1.0
    preserve_color: bool = False
    seconds: float | None = None  # only the first seconds of a video: a quick preview

    @property
    def modes(self) -> tuple[str, ...]:
        return MODES if self.mode == BOTH else (self.mode,)

    @property
    def is_image(self) -> bool:
        return self.source.suffix.lower() in IMAGE_SUFFIXES

    @property
    def title(self) -> str:
        part = f" · first {self.seconds:g} s" if self.seconds and not self.is_image else ""
        return f"{self.source.name} · {self.style.name} · {self.mode}{part}"

    def check(self) -> None:
        """Fail now, in the page, rather than in the job: the input reads, the style has the models."""
        for mode in self.modes:
            self.options(mode).resolved_mode(self.style.load(mode))
        if self.is_image:
            load_rgb(self.source)
        else:
            probe(self.source, duration=self.seconds)

    def options(self, mode: str) -> StylizeOptions:
        return StylizeOptions(mode=mode, strength=self.strength, preserve_color=self.preserve_color)

    def run(self, folder: Path, report: Report) -> list[Path]:
        """The job: results in `folder` (with a copy of the source, so the job is complete on its own)."""
        source = folder / f"source{self.source.suffix.lower()}"
        shutil.copyfile(self.source, source)
        stem = f"{self.source.stem}-{self.style.name}"
        if self.is_image:
            return self._image(source, folder / stem, report)
        return self._video(source, folder / stem, report)

    def _image(self, source: Path, stem: Path, report: Report) -> list[Path]:
        image = load_rgb(source)
        outputs = {}
        for mode in self.modes:
            report(len(outputs) / len(self.modes), f"{mode} network")
            outputs[mode] = stylize_image(self.style.load(mode), image, self.options(mode))
        files = [save_image(y, f"{stem}-{mode}.png") for mode, y in outputs.items()]
        if len(files) == 1:
            return files
        pair = np.hstack([labelled(to_uint8(y), mode) for mode, y in outputs.items()])
        return [save_image(as_tensor(pair), f"{stem}-{BOTH}.png"), *files]

    def _video(self, source: Path, stem: Path, report: Report) -> list[Path]:
        passes = len(self.modes) + (len(self.modes) > 1)  # each network, then the side-by-side
        files: dict[str, Path] = {}
        for i, mode in enumerate(self.modes):
            def on_frame(done: int, total: int | None, i: int = i, mode: str = mode) -> None:
                share = min(done / (total or done + 1), 1.0)  # `total` may be an estimate, or unknown
                report((i + share) / passes, f"{mode} network: frame {done} of {total or '?'}")

            files[mode] = Path(f"{stem}-{mode}.mp4")
            stylize_video(source, self.style.load(mode), files[mode], self.options(mode),
                          duration=self.seconds, progress=False, on_frame=on_frame)
        if len(files) == 1:
            return list(files.values())
        return [side_by_side(files, open_video(source, duration=self.seconds), Path(f"{stem}-{BOTH}.mp4"),
                             lambda done, total: report((passes - 1 + done / total) / passes,
                                                        f"side by side: frame {done} of {total}")),
                *files.values()]


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of the frame with its name in the bottom-left corner (players put their controls at the top),
    readable on light and dark pictures."""
    out = np.ascontiguousarray(image).copy()
    scale = max(0.4, image.shape[1] / 640)
    corner = (8, image.shape[0] - round(10 * scale))
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(out, text, corner, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, width, cv2.LINE_AA)
    return out


def side_by_side(videos: dict[str, Path], audio_from: VideoReader, out: Path,
                 on_frame: Callable[[int, int], None]) -> Path:
    """The videos (same frames, same size) next to each other, each labelled, with `audio_from`'s sound."""
    readers = [open_video(p) for p in videos.values()]
    first = readers[0]
    total = first.frame_count or 0
    with VideoWriter(out, first.fps, time_base=first.time_base, audio_from=audio_from) as writer:
        for done, frames in enumerate(zip(*readers), 1):
            writer.write(np.hstack([labelled(f.image, name) for f, name in zip(frames, videos)]), frames[0].time)
            on_frame(done, max(total, done))
    return out
