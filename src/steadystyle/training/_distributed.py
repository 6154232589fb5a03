"""Training on several processes: `torchrun --nproc_per_node N [--nnodes M ...] -m steadystyle train ...`.

torchrun starts the processes and tells each its place in the environment (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR/PORT); `join` finds it there and joins the process group (gloo on the CPU, nccl
on CUDA, one GPU per process). The global batch is split item by item (`Cluster.shard`), gradients are
averaged by DistributedDataParallel, and only rank 0 writes files. The work folder must be one that
every process sees (on several machines: a shared filesystem), since each process resumes from it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..device import DeviceError, resolve_device


@dataclass(frozen=True)
class Cluster:
    """This process's place among the training processes; a process on its own is rank 0 of 1."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # None: no process group

    @property
    def main(self) -> bool:
        """Rank 0 writes the checkpoints, the log, the samples and the model."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    def shard(self, batch: int) -> range:
        """This process's items of a global batch: rank, rank + world_size, ... Every item is drawn by
        exactly one process, so the global batch is the same whatever the number of processes."""
        if batch < self.world_size:
            raise ValueError(f"a global batch of {batch} cannot be shared by {self.world_size} training processes "
                             f"(each needs at least one item): use --batch {self.world_size} or more, or fewer "
                             "processes")
        return range(self.rank, batch, self.world_size)

    def loss_scale(self, batch: int) -> float:
        """DDP averages gradients over the processes. Weighting each process's mean loss by its share of
        the global batch, times the number of processes, turns that average into the gradient of the
        global batch's mean loss, even when the shares differ (a batch of 3 on 2 processes). 1 alone."""
        return len(self.shard(batch)) / batch * self.world_size

    def global_mean(self, terms: dict[str, torch.Tensor], batch: int) -> dict[str, float]:
        """Loss terms of this process's share -> the global batch's mean terms, the same on every process."""
        values = torch.stack([v.detach().float() for v in terms.values()])
        if self.distributed:
            values = values * (len(self.shard(batch)) / batch)
            dist.all_reduce(values)
        return dict(zip(terms, values.tolist()))

    def wrap(self, net: nn.Module) -> nn.Module:
        """What training steps call: in DDP when distributed, so that backward averages the gradients."""
        if not self.distributed:
            return net
        return DistributedDataParallel(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def agree(self, decision: bool) -> bool:
        """Rank 0's decision, on every process (for what each would decide by its own clock)."""
        if not self.distributed:
            return decision
        flag = torch.tensor([float(decision)], device=self.device)
        dist.broadcast(flag, src=0)
        return bool(flag.item())

    @contextlib.contextmanager
    def local_main_first(self) -> Iterator[None]:
        """One process per machine does the block first (filling a cache: built-in images, clip flow),
        then the others, which find the cache filled instead of racing to write it."""
        if self.local_rank != 0:
            self.barrier()
        yield
        if self.local_rank == 0:
            self.barrier()


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def join(device: str = "auto") -> Cluster:
    """This process's Cluster: the process group torchrun set up (joined on first use, left at exit),
    one already initialised by the caller, or none."""
    if not (dist.is_initialized() or launched_by_torchrun()):
        return Cluster(resolve_device(device))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    resolved = _process_device(resolve_device(device), local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
        atexit.register(dist.destroy_process_group)
    return Cluster(resolved, dist.get_rank(), dist.get_world_size(), local_rank, dist.get_backend())


def _process_device(device: torch.device, local_rank: int) -> torch.device:
    """Under torchrun each process on a machine takes its own GPU: number LOCAL_RANK."""
    if device.type != "cuda":
        return device
    if device.index is not None:
        raise DeviceError(f"--device {device} picks one GPU, but with torchrun each process takes its own "
                          "(GPU LOCAL_RANK); give --device cuda")
    if local_rank >= torch.cuda.device_count():
        raise DeviceError(f"torchrun started more processes on this machine than it has GPUs "
                          f"({torch.cuda.device_count()}); use --nproc_per_node {torch.cuda.device_count()} "
                          "or fewer, or --device cpu")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)
