"""Videos made from pieces: plan each video's pieces, have the workers stylize all of them, join each video once
its pieces are in.

A video's work folder beside its output (`.OUT.pieces/`) holds its plan (the pieces and what the video is made
from) and each finished piece, written whole or not at all; an interrupted run keeps them and the next one
(with `resume`, as a batch always does) makes only the missing pieces. The output appears when it is joined,
with the source's timestamps and audio; its sidecar records what it was made from, as one process's does, so
a batch re-run without workers skips it too.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..atomic import atomic_output, check_writable, remove_leftovers
from ..batch import BatchResult, is_finished
from ..locks import Lock
from ..models import Model
from ..stylize import StylizeOptions, job_fingerprint
from ..video import (Encoding, JobError, VideoReader, VideoWriter, join_segments, open_video, read_sidecar,
                     segment_frames, sidecar_path, write_sidecar)
from ._pieces import Piece, frame_starts, plan_pieces
from ._worker import PieceTask

PLAN = "plan.json"


class Workers(Protocol):
    """What runs the pieces: local processes (LocalWorkers) or a Ray cluster (RayWorkers)."""

    workers: int

    def run(self, tasks: list[PieceTask], on_frames: Callable[[int], None] | None = None
            ) -> Iterator[tuple[PieceTask, bytes | BaseException]]: ...


def pieces_folder(output: Path) -> Path:
    return output.with_name(f".{output.name}.pieces")


def piece_path(folder: Path, piece: Piece) -> Path:
    return folder / f"piece_{piece.index:05d}.mp4"


@dataclass
class _Job:
    """One video on its way: its plan, its pieces in hand, and the lock on its output."""

    index: int
    source: Path
    output: Path
    reader: VideoReader
    fingerprint: dict[str, str]
    pieces: list[Piece]
    lock: Lock
    missing: set[int] = field(default_factory=set)
    error: str = ""

    @property
    def folder(self) -> Path:
        return pieces_folder(self.output)

    @property
    def frames(self) -> int:
        return sum(p.frames for p in self.pieces)


def _fingerprint(source: Path, model: Model, opts: StylizeOptions, start: float | None, duration: float | None,
                 encoding: Encoding, piece_seconds: float | None) -> dict[str, str]:
    """One process's fingerprint; cutting long shots changes frames, so it counts too when asked for."""
    fingerprint = job_fingerprint(source, model, opts, start, duration, encoding)
    return fingerprint | ({"--piece-seconds": str(piece_seconds)} if piece_seconds else {})


def _saved_plan(folder: Path, fingerprint: dict[str, str]) -> list[Piece] | None:
    """The pieces of a leftover plan made from the same, each field checked; None if there is none."""
    try:
        saved = json.loads((folder / PLAN).read_text())
        if saved["fingerprint"] != fingerprint:
            return None
        pieces = [Piece(**p) for p in saved["pieces"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = all(isinstance(p.first, int) and (p.end is None or isinstance(p.end, int)) and isinstance(p.frames, int)
             and p.frames > 0 and p.index == k for k, p in enumerate(pieces))
    return pieces if ok and pieces else None


def _open(index: int, source: Path, output: Path, model: Model, opts: StylizeOptions, start: float | None,
          duration: float | None, encoding: Encoding, workers: int, piece_seconds: float | None, resume: bool,
          restart: bool) -> _Job:
    """Lock the output, then take up its leftover plan or make a new one (a pass over the video's frames)."""
    lock = Lock(output, f"writing {output}")
    try:
        check_writable(sidecar_path(output))
        for path in (output, sidecar_path(output)):
            remove_leftovers(path)
        reader = open_video(source, start, duration)
        mode = opts.resolved_mode(model)
        fingerprint = _fingerprint(source, model, opts, start, duration, encoding, piece_seconds)
        folder = pieces_folder(output)
        if restart and folder.exists():
            shutil.rmtree(folder)
        if folder.exists() and not resume:
            raise JobError(f"{output}: an interrupted run left its pieces in {folder}; add --resume to continue it, "
                           f"or --restart to start over (or delete {folder})")
        pieces = _saved_plan(folder, fingerprint) if folder.exists() else None
        if pieces is None and folder.exists():  # made from other options, or damaged: nothing in it is of use
            shutil.rmtree(folder)
        if pieces is None:
            ticks, fresh = frame_starts(reader, opts, mode == "stable")
            longest = round(piece_seconds * reader.fps) if piece_seconds else None
            pieces = plan_pieces(ticks, fresh, workers, longest, reader.end_pts)
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(folder / PLAN) as tmp:
                tmp.write_text(json.dumps({"fingerprint": fingerprint, "pieces": [p.as_dict() for p in pieces]}))
        job = _Job(index, source, output, reader, fingerprint, pieces, lock)
        job.missing = {p.index for p in pieces if not _has_piece(folder, p)}
        return job
    except BaseException:
        lock.release()
        raise


def _has_piece(folder: Path, piece: Piece) -> bool:
    path = piece_path(folder, piece)
    try:
        return path.is_file() and segment_frames(path) == piece.frames
    except JobError:
        return False


def _join(job: _Job, model: Model, mode: str, seconds: float, workers: int) -> None:
    """The pieces, in order, into the output with the source's audio; the sidecar; the folder removed."""
    with VideoWriter(job.output, job.reader.fps, time_base=job.reader.time_base, audio_from=job.reader) as writer:
        join_segments([piece_path(job.folder, p) for p in job.pieces], writer)
    name = model.path.name if model.path else model.style
    write_sidecar(job.output, {"command": "stylize", "model": name, "mode": mode, "fps": job.frames / seconds,
                               "frames": job.frames, "seconds": seconds, "workers": workers,
                               "made_from": job.fingerprint})
    shutil.rmtree(job.folder)


def stylize_in_pieces(sources: list[Path], outputs: list[Path], model: Model, workers: Workers,
                      opts: StylizeOptions | None = None, *, start: float | None = None,
                      duration: float | None = None, encoding: Encoding = Encoding(), resume: bool = True,
                      restart: bool = False, skip_finished: bool = True, piece_seconds: float | None = None,
                      on_frame: Callable[[int], None] | None = None,
                      on_result: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Stylize each source into its output, every video cut into pieces that `workers` make side by side.

    A video whose sidecar says it was made from the same is skipped (`skip_finished`); one that fails (to open,
    or in a piece) is reported as failed and the others go on. `on_frame(n)` counts frames over all videos,
    `on_result` follows each video. Each result's seconds run from the start of the whole run to its join.
    """
    opts = opts or StylizeOptions()
    mode = opts.resolved_mode(model)
    t0 = time.perf_counter()
    results: dict[int, BatchResult] = {}
    jobs: dict[int, _Job] = {}
    done = [0]

    def finish(result: BatchResult, index: int) -> None:
        results[index] = result
        if on_result:
            on_result(result)

    def count(n: int) -> None:
        done[0] += n
        if on_frame:
            on_frame(done[0])

    for index, (source, output) in enumerate(zip(sources, outputs)):
        try:
            fingerprint = _fingerprint(source, model, opts, start, duration, encoding, piece_seconds)
            if skip_finished and not restart and is_finished(output, fingerprint):
                frames = int(read_sidecar(output).get("frames", 0))
                count(frames)
                finish(BatchResult(source, output, "skipped", frames=frames), index)
                continue
            job = _open(index, source, output, model, opts, start, duration, encoding, workers.workers,
                        piece_seconds, resume, restart)
        except Exception as e:  # noqa: BLE001 - reported as its result; the library's errors say what to do
            finish(BatchResult(source, output, "failed", seconds=time.perf_counter() - t0, error=str(e)), index)
            continue
        jobs[index] = job
        count(sum(p.frames for p in job.pieces if p.index not in job.missing))
    tasks = [PieceTask(job.index, job.source, start, duration, piece, opts, encoding)
             for job in jobs.values() for piece in job.pieces if piece.index in job.missing]
    try:
        for job in [j for j in jobs.values() if not j.missing]:  # every piece was made by an earlier run
            _complete(job, model, mode, t0, workers.workers, finish)
        for task, made in workers.run(tasks, count):
            job = jobs[task.job]
            if isinstance(made, BaseException):
                job.error = job.error or f"piece {task.piece.index}: {made}"
            else:
                with atomic_output(piece_path(job.folder, task.piece)) as tmp:
                    tmp.write_bytes(made)
            job.missing.discard(task.piece.index)
            if not job.missing:
                _complete(job, model, mode, t0, workers.workers, finish)
    finally:
        for job in jobs.values():
            job.lock.release()
    return [results[i] for i in sorted(results)]


def _complete(job: _Job, model: Model, mode: str, t0: float, workers: int,
              finish: Callable[[BatchResult, int], None]) -> None:
    """Join a video whose pieces are all in (or report why not), and let go of its output."""
    try:
        if job.error:
            raise RuntimeError(job.error)
        _join(job, model, mode, time.perf_counter() - t0, workers)
        result = BatchResult(job.source, job.output, "done", job.frames, time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - reported as its result
        result = BatchResult(job.source, job.output, "failed", seconds=time.perf_counter() - t0, error=str(e))
    job.lock.release()
    finish(result, job.index)

