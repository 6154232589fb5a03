"""Many videos in one run: one output per input in a folder, a failing file that does not stop the others,
and a re-run that skips what is finished and resumes what is not.

Each video is `stylize_video`'s resumable job (video/_resume.py): an interrupted batch leaves its current
video's work saved, and the next run continues it. A finished video is one whose sidecar says it was made
from the same input, style and options (`made_from`); with other options the video is made again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .atomic import OutputError, check_not_inputs
from .models import Model
from .stylize import StylizeOptions, VideoSummary, frames_to_come, job_fingerprint, stylize_video
from .video import CHECKPOINT_EVERY, Encoding, JobError, VideoError, probe, read_sidecar, sidecar_path

OUTPUT_SUFFIX = ".mp4"


@dataclass
class BatchResult:
    """What became of one input: "done", "skipped" (finished before) or "failed" (with the error)."""

    source: Path
    output: Path
    status: str
    frames: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def batch_outputs(sources: list[Path], folder: Path, also_inputs: list[Path | None]) -> list[Path]:
    """FOLDER/NAME.mp4 for each input NAME.*; two inputs of one name, or an output that is an input, are refused."""
    outputs = [folder / (source.stem + OUTPUT_SUFFIX) for source in sources]
    seen: dict[Path, Path] = {}
    for source, output in zip(sources, outputs):
        if output in seen:
            raise OutputError(f"{seen[output]} and {source} would both become {output}; rename one")
        seen[output] = source
    check_not_inputs([*outputs, *map(sidecar_path, outputs)], [*sources, *also_inputs])
    return outputs


def is_finished(output: Path, fingerprint: dict[str, str]) -> bool:
    """`output` exists and its sidecar records that it was made from what `fingerprint` names (job_fingerprint)."""
    info = read_sidecar(output) if output.is_file() else None
    return bool(info) and info.get("made_from") == fingerprint


def frames_to_do(sources: list[Path], start: float | None, duration: float | None) -> int | None:
    """All the readable inputs' frames, for one progress bar; None when a container does not say."""
    total = 0
    for source in sources:
        try:
            reader = probe(source, start, duration)
        except (VideoError, OSError):
            continue  # its error is reported in its turn
        count = frames_to_come(reader)
        if count is None:
            return None
        total += count
    return total


def _stylize_one(source: Path, model: Model, output: Path, opts: StylizeOptions, start: float | None,
                 duration: float | None, encoding: Encoding, restart: bool, checkpoint_every: float,
                 on_frame: Callable[[int, int | None], None]) -> VideoSummary:
    """One video: its leftover job continued, or made anew when that job had other options (a batch re-run
    with other options remakes every video; only --restart discards a job that could continue)."""
    def run(fresh: bool) -> VideoSummary:
        return stylize_video(source, model, output, opts, start=start, duration=duration, encoding=encoding,
                             progress=False, on_frame=on_frame, resume=not fresh, restart=fresh,
                             checkpoint_every=checkpoint_every)
    try:
        return run(restart)
    except JobError as e:
        if restart or "was made with a different" not in str(e):
            raise
        return run(True)


def stylize_videos(sources: list[Path], model: Model, folder: Path, opts: StylizeOptions | None = None, *,
                   start: float | None = None, duration: float | None = None, encoding: Encoding = Encoding(),
                   restart: bool = False, checkpoint_every: float = CHECKPOINT_EVERY,
                   on_frame: Callable[[int], None] | None = None,
                   on_result: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Stylize each video into FOLDER/NAME.mp4, in order; `on_frame(n)` after each frame of any of them (n
    counts all), `on_result` after each video. An error in one video is its result, and the next one
    starts; Ctrl-C stops the batch (the current video's job is kept for the next run)."""
    opts = opts or StylizeOptions()
    outputs = batch_outputs(sources, folder, [model.path])
    folder.mkdir(parents=True, exist_ok=True)
    results, done = [], [0]

    def count(n: int, _total: int | None) -> None:
        if on_frame:
            on_frame(done[0] + n)

    for source, output in zip(sources, outputs):
        t0 = time.perf_counter()
        try:
            if not restart and is_finished(output, job_fingerprint(source, model, opts, start, duration, encoding)):
                result = BatchResult(source, output, "skipped", frames=read_sidecar(output).get("frames", 0))
            else:
                summary = _stylize_one(source, model, output, opts, start, duration, encoding, restart,
                                       checkpoint_every, count)
                result = BatchResult(source, output, "done", summary.frames, time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - reported as its result; the library's errors say what to do
            result = BatchResult(source, output, "failed", seconds=time.perf_counter() - t0, error=str(e))
        done[0] += result.frames
        if on_frame:
            on_frame(done[0])
        results.append(result)
        if on_result:
            on_result(result)
    return results
