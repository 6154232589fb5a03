"""Where a video is cut into pieces that stylize apart and join into the frames one process makes.

The stable network's recurrence restarts at every shot cut (and at the first frame), so a piece that begins at
such a frame makes the same frames alone as it does inside the whole run. The per-frame network has no
history: any frame will do. A shot longer than `longest` frames may also be cut, at the price of a restart
there (a visible change at that frame, as at a cut): the trade-off `--piece-seconds` offers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

from ..stylize import StylizeOptions, starts_fresh
from ..video import VideoReader

PIECES_PER_WORKER = 3  # pieces of unequal length still keep every worker busy to the end
MIN_PIECE_FRAMES = 48  # about 2 s: a piece costs a seek, a keyframe and an encoder start


@dataclass(frozen=True)
class Piece:
    """Frames [first, end) of a video, in its time base's ticks; `end` None runs to the end of the window."""

    index: int
    first: int
    end: int | None
    frames: int


def frame_starts(reader: VideoReader, opts: StylizeOptions, stable: bool) -> tuple[list[int], list[bool]]:
    """Every frame's pts (ticks) and whether it starts fresh in stable mode (always True per frame)."""
    ticks: list[int] = []

    def images():
        for frame in reader:
            ticks.append(reader.first_pts + int(frame.time / reader.time_base))
            yield frame.image

    if not stable:
        for _ in images():
            pass
        return ticks, [True] * len(ticks)
    return ticks, list(starts_fresh(images(), opts))


def plan_pieces(ticks: list[int], fresh: list[bool], workers: int, longest: int | None = None,
                end: int | None = None) -> list[Piece]:
    """Consecutive pieces, each starting at a fresh frame and, but for the last, at least
    len/(workers x PIECES_PER_WORKER) (and MIN_PIECE_FRAMES) long; with `longest`, none longer than that (a long
    shot is cut, restarting there, and a piece may then end sooner). `end` is the window's end tick."""
    target = max(MIN_PIECE_FRAMES, math.ceil(len(ticks) / (workers * PIECES_PER_WORKER)))
    starts = [0]
    for i in range(1, len(ticks)):
        size = i - starts[-1]
        if (fresh[i] and size >= target) or (longest is not None and size >= longest):
            starts.append(i)
    bounds = [*starts, len(ticks)]
    return [Piece(k, ticks[a], ticks[b] if b < len(ticks) else end, b - a)
            for k, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def piece_reader(reader: VideoReader, piece: Piece) -> tuple[VideoReader, Fraction]:
    """The reader of one piece's frames, and what to add to their times to get the whole video's."""
    end = piece.end if piece.end is not None else reader.end_pts
    part = replace(reader, first_pts=piece.first, end_pts=end, frame_count=None, duration=None)
    return part, (piece.first - reader.first_pts) * reader.time_base
