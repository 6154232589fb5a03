"""ONNX export of a style's networks, for runtimes beyond Python (C++, mobile, browsers, onnxruntime).

The per-frame network takes `frame` (1, 3, H, W) RGB in [0, 1]. The recurrent one also takes
`prev_frame` and `prev_output` (the last frame and the output for it) and `history` (1,): 0 starts
fresh (first frame or a shot cut; pass the frame itself as prev_frame and prev_output), 1 continues.
Height and width are dynamic. The output is `stylized`, to be clamped to [0, 1]. A network for any picture
also takes `style` (1, D), the picture's code, which its encoder (exported on its own) computes from `picture`
(1, 3, h, w) RGB in [0, 1] scaled so that its shorter side is 256.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .atomic import atomic_output
from .conditioning import encoder_view
from .models import PER_FRAME_SUFFIX, Model
from .networks import Previous

MIN_SIDE = 32  # exported graphs mirror a margin of the frame (see networks.py), which needs this much


class _Step(nn.Module):
    """The recurrent network's `step` as a module with four tensor inputs, the graph ONNX records."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, frame, prev_frame, prev_output, history):
        return self.net.step(frame, prev_frame, prev_output, history)


class _Styled(nn.Module):
    """A network for any picture with its style code as the last input."""

    def __init__(self, net: nn.Module, inner: nn.Module):
        super().__init__()
        self.net, self.inner = net, inner

    def forward(self, *inputs):
        *frames, style = inputs
        self.net.style.condition(style)
        return self.inner(*frames)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's notes concern its own internals (torchvision's operators, which no style uses; how it
    names axes; a deprecation inside torch): nothing whoever exports a style can act on. Its errors still show."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"# The axis name: .* will not be used", UserWarning)
            warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning)
            warnings.filterwarnings("ignore", r"The tensor attributes .* were assigned during export", UserWarning)
            yield
    finally:
        log.setLevel(level)


def export_onnx(model: Model, path: str | Path) -> Path:
    """Write `model` as ONNX (opset 18, dynamic height and width), atomically; a network for any picture takes
    its style code as an input `style` (see `export_encoder`)."""
    net = model.net.eval().float()
    frame = torch.rand(1, 3, 72, 96)  # distinct example inputs: the tracer would merge one passed thrice
    h, w = torch.export.Dim("height", min=MIN_SIDE, max=8192), torch.export.Dim("width", min=MIN_SIDE, max=8192)
    image = {2: h, 3: w}
    if model.recurrent:
        module, args = _Step(net).eval(), (frame, torch.rand_like(frame), torch.rand_like(frame), torch.ones(1))
        names = ["frame", "prev_frame", "prev_output", "history"]
        shapes = (image, image, image, None)
    else:
        module, args, names, shapes = net, (frame,), ["frame"], (image,)
    if model.takes_a_picture:
        code = net.style.code
        module, args, names = _Styled(net, module).eval(), (*args, code), [*names, "style"]
        shapes = ((*shapes, None),)  # the wrapper's inputs are one tuple to torch.export
    _export(module, args, names, "stylized", shapes, path)
    if model.takes_a_picture:
        with torch.no_grad():
            net.style.condition(code)  # tracing conditioned it on its example
    return Path(path)


def export_encoder(model: Model, path: str | Path) -> Path:
    """Write the encoder of a network for any picture as ONNX: `picture` (1, 3, h, w) -> `style` (1, D)."""
    h, w = torch.export.Dim("height", min=MIN_SIDE, max=4096), torch.export.Dim("width", min=MIN_SIDE, max=4096)
    _export(model.net.style.encoder.eval().float(), (torch.rand(1, 3, 96, 128),), ["picture"], "style",
            ({2: h, 3: w},), path)
    return Path(path)


def encoder_difference(model: Model, path: str | Path, picture: torch.Tensor) -> float:
    """Largest absolute difference between the exported encoder and PyTorch's on `picture` (3, H, W)."""
    import onnxruntime as ort

    view = encoder_view(picture)
    with torch.no_grad():
        ours = model.net.style.encoder(view).numpy()
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"picture": view.numpy()})[0]
    return float(np.abs(theirs - ours).max())


def _export(module: nn.Module, args: tuple, names: list[str], output: str, shapes: tuple, path: str | Path) -> None:
    with atomic_output(path) as tmp, torch.no_grad(), _quiet_exporter():
        program = torch.onnx.export(module, args, input_names=names, output_names=[output],
                                    dynamic_shapes=shapes, opset_version=18, dynamo=True, verbose=False)
        program.save(str(tmp))


def onnx_difference(model: Model, path: str | Path, frames: list[torch.Tensor]) -> float:
    """Largest absolute difference between onnxruntime and PyTorch over a sequence of (3, H, W) frames,
    run as a video (the recurrent network's history flowing through both)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    style = {"style": model.net.style.code.numpy()} if model.takes_a_picture else {}
    previous: Previous | None = None  # PyTorch's history
    history: tuple[np.ndarray, np.ndarray] | None = None  # onnxruntime's: its own previous output
    with torch.no_grad():
        for x in frames:
            x = x[None].float()
            if previous is not None and previous.frame.shape != x.shape:  # a new size starts fresh
                previous, history = None, None
            if model.recurrent:
                ours = model.net(x, previous).clamp(0, 1)
                frame, output = history or (x.numpy(), x.numpy())
                feeds = {"frame": x.numpy(), "prev_frame": frame, "prev_output": output,
                         "history": np.array([float(history is not None)], dtype=np.float32), **style}
                theirs = np.clip(session.run(None, feeds)[0], 0, 1)
                previous, history = Previous(x, ours), (x.numpy(), theirs)
            else:
                ours = model.net(x).clamp(0, 1)
                theirs = np.clip(session.run(None, {"frame": x.numpy(), **style})[0], 0, 1)
            worst = max(worst, float(np.abs(theirs - ours.numpy()).max()))
    return worst


def write_card(model: Model, path: str | Path, difference: float) -> Path:
    """A short Markdown card beside the ONNX file: what it is, its inputs, and how well it matches."""
    card, arch = Path(path).with_suffix(".md"), model.net.arch
    inputs = ("`frame`, `prev_frame`, `prev_output` (1, 3, H, W) RGB in [0, 1] and `history` (1,): 0 to start "
              "fresh (pass the frame as prev_frame and prev_output), 1 to continue") if model.recurrent else \
        "`frame` (1, 3, H, W) RGB in [0, 1]"
    if model.takes_a_picture:
        inputs += (f"; `style` (1, {arch.style_dim}): the style's code, which {encoder_file(path).name} computes from a "
                   f"picture (checked here with the code of {model.style})")
    text = (f"# {Path(path).name}\n\n{model.style}, {'recurrent (stable)' if model.recurrent else 'per-frame'} "
            f"network exported from {model.path.name if model.path else model.style} by `steadystyle export`.\n\n"
            f"- Inputs: {inputs}. Height and width are free (32-8192).\n- Output: `stylized` (1, 3, H, W); clamp "
            f"to [0, 1].\n- Checked with onnxruntime against PyTorch on real frames: largest difference "
            f"{difference * 255:.3f}/255.\n- Architecture: {arch.layout} layout, width {arch.width}, {arch.res_blocks} "
            f"residual blocks{f', a head on {arch.head} channels' if arch.head else ''}.\n" + (
                "- The previous frame and output are taken as given: `stylize` first warps them along the optical "
                "flow onto the new frame (`--motion flow`, steadystyle.motion.follow); feeding them unwarped is "
                "`--motion none`.\n" if model.recurrent else ""))
    with atomic_output(card) as tmp:
        Path(tmp).write_text(text)
    return card


def encoder_file(network: str | Path) -> Path:
    """Where the encoder of an exported network for any picture goes: beside it, NAME-encoder.onnx."""
    network = Path(network)
    return network.with_name(network.stem.removesuffix(PER_FRAME_SUFFIX) + "-encoder.onnx")
