"""Videos made from pieces: plan each video's pieces, have the workers stylize all of them, join each video once
its pieces are in.

A video's work folder beside its output (`.OUT.pieces/`) holds its plan (the pieces and what the video is made
from) and each finished piece, written whole or not at all; an interrupted run keeps them and the next one
(with `resume`, as a batch always does) makes only the missing pieces; pieces in progress when a run stops are
lost. The output appears when it is joined, with the source's timestamps and audio; its sidecar records what it
was made from as one process's does, so a batch re-run without workers skips it too (unless `--piece-seconds`
cut its shots).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import torch

from ..atomic import atomic_output
from ..batch import BatchResult, is_finished
from ..locks import Lock
from ..models import Model
from ..stylize import StylizeOptions, job_fingerprint
from ..video import (Encoding, JobError, VideoReader, VideoWriter, check_same_job, claim_output,
                     fingerprint_changes, join_segments, open_video, read_sidecar, segment_frames, work_folder,
                     write_sidecar)
from ._pieces import Piece, frame_starts, plan_pieces
from ._worker import PieceTask

PLAN = "plan.json"


class Workers(Protocol):
    """What runs the pieces: local processes (LocalWorkers) or a Ray cluster (RayWorkers)."""

    workers: int

    def run(self, tasks: list[PieceTask], on_frames: Callable[[int], None] | None = None
            ) -> Iterator[tuple[PieceTask, tuple[bytes, float] | BaseException]]: ...


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
    made: int = 0  # frames made by this run's workers, in `seconds` of their time
    seconds: float = 0.0

    @property
    def folder(self) -> Path:
        return pieces_folder(self.output)

    @property
    def frames(self) -> int:
        return sum(p.frames for p in self.pieces)


def _fingerprint(source: Path, model: Model, opts: StylizeOptions, start: float | None, duration: float | None,
                 encoding: Encoding, piece_seconds: float | None) -> dict[str, str]:
    """One process's fingerprint; in stable mode cutting long shots changes frames, so it counts too when asked for."""
    fingerprint = job_fingerprint(source, model, opts, start, duration, encoding)
    cuts_shots = piece_seconds and opts.resolved_mode(model) == "stable"
    return fingerprint | ({"--piece-seconds": str(piece_seconds)} if cuts_shots else {})


def _saved_plan(folder: Path) -> tuple[dict, list[Piece]]:
    """The fingerprint and pieces of a leftover plan, each field checked; a JobError when it is damaged."""
    try:
        saved = json.loads((folder / PLAN).read_text())
        fingerprint, pieces = saved["fingerprint"], [Piece(**p) for p in saved["pieces"]]
        ok = isinstance(fingerprint, dict) and pieces and all(
            isinstance(p.first, int) and (p.end is None or isinstance(p.end, int)) and isinstance(p.frames, int)
            and p.frames > 0 and p.index == k for k, p in enumerate(pieces))
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise JobError(f"{folder / PLAN}: damaged; start over with --restart (or delete {folder})")
    return fingerprint, pieces


def _leftover(folder: Path, fingerprint: dict[str, str], output: Path, batch: bool) -> list[Piece] | None:
    """The pieces of the plan an interrupted run left, when it was made from the same; a batch starts over on
    anything else, and a single video is refused, naming what changed (as `--resume` of one process is)."""
    try:
        saved, pieces = _saved_plan(folder)
    except JobError:
        if batch:
            return None
        raise
    if not batch:
        check_same_job(output, folder, saved, fingerprint)
    return None if fingerprint_changes(saved, fingerprint) else pieces


def _open(index: int, source: Path, output: Path, model: Model, opts: StylizeOptions, start: float | None,
          duration: float | None, encoding: Encoding, workers: int, piece_seconds: float | None, resume: bool,
          restart: bool, batch: bool) -> _Job:
    """Lock the output, then take up its leftover plan or make a new one (a pass over the video's frames)."""
    lock = claim_output(output)
    try:
        reader = open_video(source, start, duration)
        mode = opts.resolved_mode(model)
        fingerprint = _fingerprint(source, model, opts, start, duration, encoding, piece_seconds)
        folder, one_process = pieces_folder(output), work_folder(output)
        if restart:
            for leftover in (folder, one_process):
                shutil.rmtree(leftover, ignore_errors=True)
        if one_process.exists():
            raise JobError(f"{output}: an interrupted run without workers left its work in {one_process}; continue it "
                           "without --workers and with --resume, or start over with --restart")
        if folder.exists() and not resume:
            raise JobError(f"{output}: an interrupted run left its pieces in {folder}; add --resume to make only the "
                           f"missing ones, or --restart to start over (or delete {folder})")
        pieces = _leftover(folder, fingerprint, output, batch) if folder.exists() else None
        if pieces is None:
            shutil.rmtree(folder, ignore_errors=True)
            ticks, fresh = frame_starts(reader, opts, mode == "stable")
            longest = round(piece_seconds * reader.fps) if piece_seconds else None
            pieces = plan_pieces(ticks, fresh, workers, longest, reader.end_pts)
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(folder / PLAN) as tmp:
                tmp.write_text(json.dumps({"fingerprint": fingerprint, "pieces": [asdict(p) for p in pieces]}))
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


def _join(job: _Job, model: Model, mode: str, workers: int) -> None:
    """The pieces, in order, into the output with the source's audio; the sidecar; the folder removed."""
    with VideoWriter(job.output, job.reader.fps, time_base=job.reader.time_base, audio_from=job.reader) as writer:
        join_segments([piece_path(job.folder, p) for p in job.pieces], writer)
    name = model.path.name if model.path else model.style
    # Speed per worker: the frames made in this run over the seconds the workers spent on them.
    fps = job.made / job.seconds if job.seconds else None
    write_sidecar(job.output, {"command": "stylize", "model": name, "mode": mode, "fps": fps, "frames": job.frames,
                               "seconds": job.seconds, "workers": workers, "made_from": job.fingerprint})
    shutil.rmtree(job.folder)


def _on_driver(opts: StylizeOptions) -> StylizeOptions:
    """The options with precision and device resolved here, so that every worker, on any node, computes alike."""
    return replace(opts, precision="bf16" if opts.dtype == torch.bfloat16 else "fp32", device=str(opts.target))


def _piece_text(job: _Job, piece: Piece) -> str:
    """'piece 2 (120 frames from 12.40 s)': which part of the video a piece's error is about."""
    seconds = float((piece.first - job.reader.first_pts) * job.reader.time_base)
    return f"piece {piece.index} ({piece.frames} frames from {seconds:.2f} s)"


def stylize_in_pieces(sources: list[Path], outputs: list[Path], model: Model, workers: Workers,
                      opts: StylizeOptions | None = None, *, start: float | None = None,
                      duration: float | None = None, encoding: Encoding = Encoding(), resume: bool = True,
                      restart: bool = False, batch: bool = True, piece_seconds: float | None = None,
                      on_frame: Callable[[int], None] | None = None,
                      on_result: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Stylize each source into its output, every video cut into pieces that `workers` make side by side.

    As a `batch`, a video whose sidecar says it was made from the same is skipped, and the pieces an
    interrupted run left are taken up, or dropped when they were made from other options; otherwise each video
    is made, and leftover pieces are taken up only with `resume`. A video that fails (to open, or in a piece) is
    reported as failed and the others go on. `on_frame(n)` counts frames over all videos (from a background
    thread with local workers), `on_result` follows each video, whose seconds run from the start of the run.
    """
    opts = opts or StylizeOptions()
    mode = opts.resolved_mode(model)  # what the user asked for, checked before _on_driver settles it
    opts = _on_driver(opts)
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

    try:
        for index, (source, output) in enumerate(zip(sources, outputs)):
            source = source.resolve()  # a worker on another node, or in another folder, reads the same path
            try:
                fingerprint = _fingerprint(source, model, opts, start, duration, encoding, piece_seconds)
                if batch and not restart and is_finished(output, fingerprint):
                    frames = int(read_sidecar(output).get("frames", 0))
                    count(frames)
                    finish(BatchResult(source, output, "skipped", frames=frames), index)
                    continue
                job = _open(index, source, output, model, opts, start, duration, encoding, workers.workers,
                            piece_seconds, resume, restart, batch)
            except Exception as e:  # noqa: BLE001 - reported as its result; the library's errors say what to do
                finish(BatchResult(source, output, "failed", seconds=time.perf_counter() - t0, error=str(e)), index)
                continue
            jobs[index] = job
            count(sum(p.frames for p in job.pieces if p.index not in job.missing))
        # Longest first: the last pieces to finish are short, so no worker waits long at the end.
        tasks = sorted((PieceTask(job.index, job.source, start, duration, piece, opts, encoding)
                        for job in jobs.values() for piece in job.pieces if piece.index in job.missing),
                       key=lambda task: -task.piece.frames)
        for job in [j for j in jobs.values() if not j.missing]:  # every piece was made by an earlier run
            _complete(job, model, mode, t0, workers.workers, finish)
        with contextlib.closing(workers.run(tasks, count)) as made_pieces:
            for task, made in made_pieces:
                job = jobs[task.job]
                if isinstance(made, BaseException):
                    job.error = job.error or f"{_piece_text(job, task.piece)}: {made}"
                else:
                    piece, seconds = made
                    with atomic_output(piece_path(job.folder, task.piece)) as tmp:
                        tmp.write_bytes(piece)
                    job.made, job.seconds = job.made + task.piece.frames, job.seconds + seconds
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
            raise JobError(job.error)
        _join(job, model, mode, workers)
        result = BatchResult(job.source, job.output, "done", job.frames, time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - reported as its result
        result = BatchResult(job.source, job.output, "failed", seconds=time.perf_counter() - t0, error=str(e))
    job.lock.release()
    finish(result, job.index)
