"""Model files: safetensors weights with the metadata needed to rebuild and describe the network.

One file holds everything (the JSON metadata sits in the safetensors header), so a model can be
copied around alone. Shipped styles live in the package's `styles/` folder and resolve by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

import torch

from .atomic import atomic_output
from .conditioning import encode
from .images import IMAGE_SUFFIXES, check_size, load_rgb
from .networks import Arch, TransformNet

FORMAT = "steadystyle-model"
VERSION = 1
STYLES_DIR = Path(__file__).parent / "styles"
PER_FRAME_SUFFIX = "-per-frame"
# The network that paints any picture's style (conditioning.py), stable and per-frame: not a style by itself.
ANY_STYLE = Path(__file__).parent / "any_style" / "any_style.safetensors"
ANY_STYLE_VARIABLE = "STEADYSTYLE_ANY_STYLE"  # another such network (stable; its per-frame twin beside it)


def any_style_network() -> Path:
    """The network for any picture: $STEADYSTYLE_ANY_STYLE (one trained with scripts/train_any_style.py), else
    the shipped one."""
    return Path(os.environ.get(ANY_STYLE_VARIABLE) or ANY_STYLE)


class ModelError(ValueError):
    """A model file or name that cannot be used; the message says what is wrong and what to do."""


@dataclass
class Model:
    net: TransformNet
    style: str
    path: Path | None = None
    meta: dict = field(default_factory=dict)

    @property
    def recurrent(self) -> bool:
        return self.net.arch.recurrent

    @property
    def takes_a_picture(self) -> bool:
        """A network that paints any picture's style, which needs one (`picture_style`) before it paints."""
        return self.net.style is not None


def save_model(net: TransformNet, path: str | Path, style: str, training: dict | None = None) -> Path:
    """Write weights + metadata atomically."""
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "arch": net.arch.as_dict(),
        "style": style,
        "io": "RGB in [0, 1] -> RGB in [0, 1]",
        "training": training or {},
    }
    tensors = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    with atomic_output(path) as tmp:  # bytes written by Python: a full disk is an OSError, reported as such
        tmp.write_bytes(save(tensors, metadata={"steadystyle": json.dumps(meta)}))
    return Path(path)


def load_model_file(path: str | Path) -> Model:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"{path}: not a readable model file ({e}); is it truncated? Re-copy or re-train it.") from e
    if "steadystyle" not in header:
        raise ModelError(f"{path}: a safetensors file without steadystyle metadata; not a steadystyle model")
    try:
        meta = json.loads(header["steadystyle"])
        arch = Arch(**meta["arch"])  # checked against sane bounds before any network is built
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path}: damaged or hostile metadata ({e}); not a model this version can use") from e
    if meta.get("format") != FORMAT or meta.get("version", 0) > VERSION:
        raise ModelError(f"{path}: format {meta.get('format')} v{meta.get('version')} is not one this version reads")
    net = TransformNet(arch)
    if arch.layout == "classic":  # files written before layouts existed name their keys without "trunk."
        tensors = {k if k.startswith("trunk.") else f"trunk.{k}": v for k, v in tensors.items()}
    expected = net.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = [f"{k} {tuple(tensors[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
             if k in tensors and tensors[k].shape != v.shape]
    if missing or extra or wrong:
        detail = "; ".join(filter(None, [
            f"missing {missing[:3]}" if missing else "", f"unexpected {extra[:3]}" if extra else "",
            f"shapes {wrong[:3]}" if wrong else ""]))
        raise ModelError(f"{path}: weights do not match the architecture its metadata declares {arch} ({detail})")
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    net.eval()
    return Model(net, meta.get("style", path.stem), path, meta)


def shipped_styles() -> dict[str, Path]:
    """Names of the styles shipped in the package, stable and per-frame, with their files."""
    if not STYLES_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(STYLES_DIR.glob("*.safetensors"))}


def load_model(spec: str | Path, per_frame: bool = False) -> Model:
    """A model from a file path, a shipped style by name (`starry_night`, `starry_night-per-frame`), or any
    picture as a style (`painting.jpg`: see `picture_style`, stable unless `per_frame`)."""
    path = Path(spec)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return picture_style(path, per_frame=per_frame)
    if path.suffix == ".safetensors" or path.exists():
        return load_model_file(path)
    styles = shipped_styles()
    if str(spec) in styles:
        return load_model_file(styles[str(spec)])
    names = ", ".join(styles) or "(none shipped in this installation)"
    raise ModelError(f"no model file or shipped style named {spec!r}; shipped styles: {names}")


def per_frame_file(model: Path) -> Path:
    """Where a stable model's per-frame (stage-1) twin is kept: beside it, NAME-per-frame."""
    return model.with_name(model.stem + PER_FRAME_SUFFIX + model.suffix)


@torch.no_grad()
def picture_style(picture: str | Path, per_frame: bool = False, network: str | Path | None = None) -> Model:
    """Any picture as a style, with no training: the any-style network (`network`, else `any_style_network()`)
    conditioned on the picture's code, computed once here. The model is named after the picture."""
    path = Path(network) if network else any_style_network()
    if per_frame:
        path = per_frame_file(path)
    if not path.is_file():
        raise ModelError(f"{path} is missing: no network for pictures as styles here; train one with "
                         f"scripts/train_any_style.py and set ${ANY_STYLE_VARIABLE} to it, or give a trained style")
    model = load_model_file(path)
    if not model.takes_a_picture:
        raise ModelError(f"{path} paints one style ({model.style}); it cannot take a picture as its style")
    image = load_rgb(picture)
    check_size(picture, *image.shape[-2:])
    model.net.style.condition(encode(model.net.style.encoder, image))
    model.meta = {**model.meta, "picture": str(picture)}
    return Model(model.net, Path(picture).stem, model.path, model.meta)
