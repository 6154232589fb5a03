"""N local worker processes, each loading the model once and stylizing pieces on its share of the cores.

Processes, not threads: the network already uses every thread it is given, and one process per worker keeps
each worker's decode, flow and encode off the others' interpreter. They are spawned (not forked): a fork of
a process that has started torch's and PyAV's threads may hang.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import torch

from ..models import Model
from ._worker import PieceTask, stylize_piece

_model: Model | None = None
_progress = None
_REPORT_EVERY = 8  # frames between a worker's progress messages


def threads_each(workers: int) -> int:
    """Each worker's share of this machine's cores (at least one)."""
    return max(1, (os.cpu_count() or 1) // workers)


def _start(model: Model, threads: int, progress) -> None:
    global _model, _progress
    torch.set_num_threads(threads)
    _model, _progress = model, progress
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker when the process that started it has gone (killed, even with SIGKILL): nobody is left
    to take its pieces, and it would hold its model in memory for good."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _run(task: PieceTask) -> tuple[bytes, float]:
    unsent = [0]

    def count(n: int) -> None:
        unsent[0] += n
        if unsent[0] >= _REPORT_EVERY:
            _progress.put(unsent[0])
            unsent[0] = 0

    try:
        return stylize_piece(task, _model, count)
    finally:
        _progress.put(unsent[0])


class LocalWorkers:
    """`workers` processes on this machine; `run` yields each task with its piece (bytes, seconds) or its error."""

    def __init__(self, model: Model, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"--workers must be at least 1, got {workers}")
        self.model, self.workers = model, workers

    def run(self, tasks: list[PieceTask], on_frames: Callable[[int], None] | None = None
            ) -> Iterator[tuple[PieceTask, tuple[bytes, float] | BaseException]]:
        """Each task with its piece or its error, as they finish; `on_frames(n)` as the workers make frames."""
        context = multiprocessing.get_context("spawn")
        progress = context.Queue()
        stop = threading.Event()
        reporter = threading.Thread(target=_report, args=(progress, stop, on_frames), daemon=True)
        reporter.start()
        workers = max(1, min(self.workers, len(tasks)))  # fewer pieces than workers: each gets more cores
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start,
                                   initargs=(self.model, threads_each(workers), progress))
        try:
            pending: dict[Future, PieceTask] = {pool.submit(_run, task): task for task in tasks}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    error = future.exception()
                    yield task, error if error is not None else future.result()
        except BaseException:
            # Ctrl-C, a kill, an error here: stop the pieces in progress now rather than wait for them
            # (finished pieces are already kept). The pool has no public way to do so before Python 3.14.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            stop.set()
            reporter.join()


def _report(progress, stop: threading.Event, on_frames: Callable[[int], None] | None) -> None:
    """Pass the workers' frame counts to `on_frames` until told to stop and nothing is left."""
    while not stop.is_set() or not progress.empty():
        try:
            n = progress.get(timeout=0.2)
        except queue.Empty:
            continue
        if on_frames and n:
            on_frames(n)
