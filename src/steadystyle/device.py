"""Where the networks run (`--device cpu|cuda|auto`) and in which precision training computes there.

Everything defaults to "auto": a CUDA GPU when torch sees one, else the CPU. A user who names "cuda" on
a machine without one gets an error saying so, not a silent run on the CPU.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda")


class DeviceError(ValueError):
    """A device that cannot be used here; the message says what to give instead."""


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' (CUDA if available, else CPU), 'cpu', 'cuda' or 'cuda:N' as a torch.device that works here."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEVICES:
        raise DeviceError(f"unknown device {name!r}; use one of {', '.join(DEVICES)} (or cuda:N for GPU N)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA (a CPU-only build)"
            raise DeviceError(f"device {name!r}: no CUDA GPU is usable here (torch {torch.__version__} with {build}); "
                              "use --device cpu, or auto to take a GPU only when there is one")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f"device {name!r}: this machine has {count} GPU(s), numbered from 0")
    return device


@dataclass(frozen=True)
class Precision:
    """What training autocasts to on a device (None: fp32 throughout). Gram matrices and loss sums stay
    fp32 anyway (see losses.py)."""

    device_type: str
    dtype: torch.dtype | None

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast(self.device_type, self.dtype) if self.dtype else contextlib.nullcontext()

    def scaler(self) -> torch.amp.GradScaler:
        """fp16's narrow range lets small gradients underflow to zero, so fp16 needs loss scaling;
        for bf16 and fp32 the scaler is a pass-through."""
        return torch.amp.GradScaler(self.device_type, enabled=self.dtype == torch.float16)


@functools.cache  # read once: inference asks for every frame
def native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware; elsewhere bf16 is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def training_precision(device: torch.device, mixed: bool) -> Precision:
    """Mixed precision where it pays: bf16 on CPUs that compute it (convolutions 1.4-3x faster; emulated on
    AVX2 alone, a convolution's forward and backward took 17x longer than in fp32), bf16 on GPUs that compute
    it (Ampere and later), fp16 with loss scaling on older ones."""
    if not mixed or (device.type == "cpu" and not native_bf16()):
        return Precision(device.type, None)
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return Precision(device.type, torch.float16)
    return Precision(device.type, torch.bfloat16)
