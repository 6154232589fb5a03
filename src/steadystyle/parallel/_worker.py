"""What a worker does with one piece: read its frames, stylize them from a fresh start, encode them, and hand
the encoded piece back as bytes (a Ray worker may sit on another machine; a local one pays a pipe copy of
about a megabyte a second of video)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..images import to_uint8
from ..models import Model
from ..pipeline import prefetch
from ..stylize import StylizeOptions, stylize_frames
from ..video import Encoding, VideoWriter, open_video
from ._pieces import Piece, piece_reader


@dataclass(frozen=True)
class PieceTask:
    """One piece of one video, with everything a worker needs to make it."""

    job: int  # which video of the run
    source: Path
    start: float | None
    duration: float | None
    piece: Piece
    opts: StylizeOptions
    encoding: Encoding


class PieceError(ValueError):
    """A piece that came out with another number of frames than planned: its video is not joined."""


def stylize_piece(task: PieceTask, model: Model, on_frames: Callable[[int], None] | None = None
                  ) -> tuple[bytes, float]:
    """The piece's frames stylized and encoded as an H.264 .mp4, stamped with the whole video's times, and the
    seconds it took."""
    t0 = time.perf_counter()
    reader = open_video(task.source, task.start, task.duration)
    part, offset = piece_reader(reader, task.piece)
    times = []

    def images():
        for frame in part:
            times.append(frame.time + offset)
            yield frame.image

    with tempfile.TemporaryDirectory(prefix="steadystyle-piece-") as tmp:
        path = Path(tmp) / "piece.mp4"
        with VideoWriter(path, reader.fps, time_base=reader.time_base, encoding=task.encoding) as writer:
            for n, y in enumerate(stylize_frames(prefetch(images()), model, task.opts), 1):
                writer.write(to_uint8(y), times[n - 1])
                if on_frames:
                    on_frames(1)
        if writer.frames_written != task.piece.frames:
            raise PieceError(f"{task.source}: piece {task.piece.index} gave {writer.frames_written} frames where "
                             f"{task.piece.frames} were planned; the file may be damaged or changed meanwhile")
        return path.read_bytes(), time.perf_counter() - t0
