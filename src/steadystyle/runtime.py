"""ONNX Runtime as the engine that runs a network (`stylize --backend onnxruntime`).

Why: on a CPU without native bf16 (AVX2 alone: most laptops) PyTorch runs the networks in fp32, and ONNX
Runtime ran the same stable network 2.5-4x faster there at 640x360 (benchmarks/bench_video.py measures it
end to end). The network is exported once per model (its weights, architecture and the exporting torch name
the file) into the cache, which takes about half a minute on 2 cores, and reused after. Only the network
moves: the flow, the history's warp and everything else stay as they are. The network exported is the one
PyTorch runs (fused, see fusion.py), so the frames are those of PyTorch in fp32.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
from pathlib import Path

import numpy as np
import torch

from .cache import cache_dir
from . import export, fusion, networks
from .export import export_onnx
from .fusion import fused
from .models import Model
from .networks import Previous
from .version import __version__
from .video import tensors_identity

BACKENDS = ("torch", "onnxruntime")
_NEEDS = ("onnxruntime", "onnxscript", "onnx")  # running, and exporting the network to run


def onnxruntime_usable() -> bool:
    """Whether ONNX Runtime and the exporter are installed (the `export` extra)."""
    return all(importlib.util.find_spec(name) is not None for name in _NEEDS)


def onnx_path(model: Model) -> Path:
    """Where the model's ONNX export is cached, named by all that makes it: the weights and architecture, the
    code that builds and exports the network, and the exporter's versions."""
    code = hashlib.sha256("".join(inspect.getsource(m) for m in (networks, fusion, export)).encode()).hexdigest()
    what = {"weights": tensors_identity(model.net.state_dict()), "arch": model.net.arch.as_dict(), "code": code,
            "steadystyle": __version__, **{name: importlib.metadata.version(name) for name in ("torch", *_NEEDS)}}
    key = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return cache_dir() / "onnx" / f"{key}.onnx"


def exported(model: Model) -> Path:
    """The model as ONNX in the cache, as PyTorch runs it (fused): exported the first time, found after."""
    path = onnx_path(model)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        # atomic: a killed export leaves no file to find next time
        export_onnx(dataclasses.replace(model, net=fused(model.net)), path)
    return path


_OPEN: dict[tuple[Path, int], OnnxNetwork] = {}


def onnx_network(model: Model) -> OnnxNetwork:
    """The model's session, opened once per process and thread count: every piece, image or clip a
    process stylizes with the same model after the first skips loading and optimising the graph."""
    key = (onnx_path(model), torch.get_num_threads())
    if key not in _OPEN:
        _OPEN[key] = OnnxNetwork(model, key[1])
    return _OPEN[key]


class OnnxNetwork:
    """A plain (not any-picture) network run by ONNX Runtime on the CPU, called as TransformNet is:
    `net(x)` or `net(x, previous)` with (1, 3, H, W) fp32 tensors, returning one."""

    def __init__(self, model: Model, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its notes on the graph's shapes are nothing a user can act on
        self.recurrent, trunk = model.recurrent, model.net.trunk
        self.smallest = trunk.margin + trunk.multiple + 1  # the graph mirrors its margin; smaller frames cannot
        path = exported(model)
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a damaged cache file (a disk error, an edit): made again, once
            path.unlink(missing_ok=True)
            self.session = ort.InferenceSession(str(exported(model)), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor, previous: Previous | None = None) -> torch.Tensor:
        if min(x.shape[-2:]) < self.smallest:
            raise ValueError(f"--backend onnxruntime runs frames of at least {self.smallest} px a side, not "
                             f"{x.shape[-1]}x{x.shape[-2]}; use --backend torch")
        feeds = {"frame": _array(x)}
        if self.recurrent:
            history = previous if previous is not None else Previous(x, x)  # a fresh start, as TransformNet's
            feeds |= {"prev_frame": _array(history.frame), "prev_output": _array(history.output),
                      "history": np.array([float(previous is not None)], dtype=np.float32)}
        return torch.from_numpy(self.session.run(None, feeds)[0])


def _array(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().float().numpy())
