"""Overlapping decode, network and encode: each runs in its own thread, joined by small bounded queues.

Why: PyAV and torch release the GIL while they work, so decoding the next frame and encoding the last
one cost almost nothing beside the network; the bounds keep memory flat on a video of any length.
Errors in a worker reach the caller; a caller that stops early (an error, Ctrl-C) stops the workers.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put unless told to stop; False when stopped (the consumer has gone)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Iterate `items` in a background thread, up to `depth` items ahead of the consumer."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(q, item, stop):
                    return
            _put(q, _END, stop)
        except BaseException as e:  # handed to the consumer, which raises it
            _put(q, _Failure(e), stop)

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()


class Background(Generic[T]):
    """Calls `consume(item)` in a background thread for each `put` item, in order, `depth` at most queued.

    Use as a context manager: leaving it waits for the queue to drain and raises the worker's error,
    if any; leaving with an error of the caller's drops what is still queued.
    """

    def __init__(self, consume: Callable[[T], None], depth: int = 4):
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="background", daemon=True)

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is None and not self._stop.is_set():
                try:
                    self._consume(item)
                except BaseException as e:
                    self._error = e

    def put(self, item: T) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def __enter__(self) -> Background[T]:
        self._worker.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._stop.set()
        self._queue.put(_END)
        self._worker.join()
        if exc_type is None and self._error is not None:
            raise self._error
