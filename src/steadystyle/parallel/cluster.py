"""Pieces as tasks on a running Ray cluster: one actor per worker loads the model once and makes pieces; the
driver (this process) plans, collects the encoded pieces and joins the videos.

Each node needs steadystyle installed (with the `cluster` extra: Ray) and reads the input at the same path as
the driver (a shared folder), unless `send_inputs`, where the driver puts each input file into Ray's object
store once and every node that needs it writes it to a temporary file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import torch

from ..models import Model
from ._worker import PieceTask, stylize_piece


def _ray():
    try:
        import ray
    except ImportError as e:
        raise ValueError("--ray needs Ray: pip install 'steadystyle[cluster]' (on every node of the cluster)") from e
    return ray


class _PieceMaker:
    """A Ray actor: the model, loaded once, and the inputs it was sent (written once to a temporary folder)."""

    def __init__(self, model: Model, threads: int) -> None:
        torch.set_num_threads(threads)
        self.model, self.inputs = model, {}
        self.folder = tempfile.TemporaryDirectory(prefix="steadystyle-ray-")

    def make(self, task: PieceTask, sent: list | None) -> tuple[bytes, float]:
        """One piece; `sent` is [the input's object ref] with --ray-send-inputs (in a list, so that Ray passes
        the ref and the file crosses the network only the first time this actor needs it)."""
        if sent is not None:
            if task.job not in self.inputs:
                local = Path(self.folder.name) / f"{task.job}{task.source.suffix}"
                local.write_bytes(_ray().get(sent[0]))
                self.inputs[task.job] = local
            task = replace(task, source=self.inputs[task.job])
        elif not task.source.exists():
            raise FileNotFoundError(f"{task.source} is not at this path on a node of the Ray cluster; put the inputs "
                                    "in a folder every node shares, or send them with --ray-send-inputs")
        return stylize_piece(task, self.model)

    def close(self) -> None:
        """Remove the inputs it was sent (a killed actor would leave them)."""
        self.folder.cleanup()


class RayWorkers:
    """`workers` actors on the Ray cluster at `address` ("auto": the one this machine belongs to), each using
    `threads` cores (default: one per CPU of the cluster); `run` yields each task with its piece (bytes,
    seconds) or its error, as LocalWorkers does."""

    def __init__(self, model: Model, address: str, workers: int | None = None, threads: int = 1,
                 send_inputs: bool = False) -> None:
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False)
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
        self.model, self.threads, self.send_inputs = model, threads, send_inputs

    def run(self, tasks: list[PieceTask], on_frames: Callable[[int], None] | None = None
            ) -> Iterator[tuple[PieceTask, tuple[bytes, float] | BaseException]]:
        """Each task with its piece or its error, as they finish; `on_frames(n)` as each piece comes in."""
        ray = _ray()
        model = ray.put(self.model)
        maker = ray.remote(num_cpus=self.threads)(_PieceMaker)
        actors = [maker.remote(model, self.threads) for _ in range(min(self.workers, len(tasks)))]
        sources = {t.job: t.source for t in tasks}
        inputs = {job: [ray.put(source.read_bytes())] for job, source in sources.items()} if self.send_inputs else {}
        waiting, pending, idle = list(reversed(tasks)), {}, list(actors)
        try:
            while waiting or pending:
                while idle and waiting:
                    task, actor = waiting.pop(), idle.pop()
                    pending[actor.make.remote(task, inputs.get(task.job))] = (task, actor)
                [ready], _ = ray.wait(list(pending), num_returns=1)
                task, actor = pending.pop(ready)
                try:
                    made: tuple[bytes, float] | BaseException = ray.get(ready)
                except ray.exceptions.RayActorError as e:  # the actor died (its node lost, out of memory)
                    made = e
                    actors.remove(actor)
                    actor = maker.remote(model, self.threads)
                    actors.append(actor)
                except Exception as e:  # noqa: BLE001 - the piece's error, reported with its video
                    made = getattr(e, "cause", None) or e
                idle.append(actor)
                if on_frames and not isinstance(made, BaseException):
                    on_frames(task.piece.frames)
                yield task, made
        finally:
            ray.wait([actor.close.remote() for actor in actors], num_returns=len(actors), timeout=10)
            for actor in actors:
                ray.kill(actor)
