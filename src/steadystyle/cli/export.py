"""`steadystyle export`: a style's networks as ONNX, each checked against PyTorch on real frames."""

from __future__ import annotations

import argparse
import importlib.util
from itertools import islice
from pathlib import Path

import torch

from ..atomic import OutputError, check_not_inputs, check_writable
from ..export import encoder_difference, encoder_file, export_encoder, export_onnx, onnx_difference, write_card
from ..images import IMAGE_SUFFIXES, load_rgb, resize_max_side, resize_to
from ..models import PER_FRAME_SUFFIX, Model, per_frame_file, shipped_styles
from ..stylize import as_tensor
from ..video import SAMPLE_CLIP, open_video
from .args import REPLACED, is_shipped_name, resolve_model

TOLERANCE = 1 / 255  # one step of an 8-bit pixel: a larger difference could show in a frame
CODE_TOLERANCE = 1e-3  # of a style code, whose numbers are about 1
CHECK_FRAMES, CHECK_SIDE = 8, 160
ODD_SIZE = (67, 119)  # (H, W): dynamic shapes must hold beyond the size the graph was traced at
EXPORT_PACKAGES = ("onnx", "onnxscript", "onnxruntime")


class ExportError(ValueError):
    """An export that cannot be made or does not match PyTorch closely enough."""


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("export", help="write a style's networks as ONNX, for runtimes beyond Python",
                            description="Export a style as ONNX (opset 18, any frame size). A shipped style name "
                                        "gives two files: OUT (the stable, recurrent network) and OUT-per-frame; a "
                                        "model file gives its own network. Each is checked with onnxruntime against "
                                        "PyTorch on frames of the bundled sample clip and refused (removed) unless "
                                        "every pixel agrees within 1/255; a card (OUT.md) describes its inputs.")
    p.add_argument("-s", "--style", required=True, metavar="MODEL", help="a shipped style name, a model file, or a picture (its networks for any picture, and their encoder)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.onnx", help=f"the ONNX file. {REPLACED}")
    p.set_defaults(run=run)


def _networks(spec: str, output: Path) -> list[tuple[Model, Path]]:
    """(model, ONNX path) for each network to export: a shipped style's or a picture's stable and per-frame twin,
    or one file's."""
    model = resolve_model(spec)
    if model.takes_a_picture and Path(spec).suffix.lower() in IMAGE_SUFFIXES:
        return [(model, output), (resolve_model(spec, per_frame=True), per_frame_file(output))]
    twin = f"{spec}{PER_FRAME_SUFFIX}"
    if model.recurrent and is_shipped_name(spec) and twin in shipped_styles():
        per_frame = per_frame_file(output)
        return [(model, output), (resolve_model(twin), per_frame)]
    return [(model, output)]


def check_frames() -> list[torch.Tensor]:
    """Real frames to compare on: the sample clip's first frames, shrunk, then one frame at an odd size."""
    frames = [resize_max_side(as_tensor(f.image), CHECK_SIDE) for f in islice(open_video(SAMPLE_CLIP), CHECK_FRAMES)]
    return [*frames, resize_to(frames[-1], ODD_SIZE)]


def _check_ready(networks: list[tuple[Model, Path]]) -> None:
    """Fail before minutes of exporting: the packages are here, and every output can be written."""
    missing = [name for name in EXPORT_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(f"export needs {', '.join(missing)}: pip install 'steadystyle[export]'")
    for model, path in networks:
        if path.suffix.lower() != ".onnx":
            raise OutputError(f"-o {path}: name the output NAME.onnx")
        outputs = [path, path.with_suffix(".md"), *([encoder_file(path)] if model.takes_a_picture else [])]
        check_not_inputs(outputs, [model.path, model.meta.get("picture")])
        check_writable(path)


def _export_encoder(model: Model, path: Path) -> Path:
    """The encoder of a network for any picture, checked on the picture the model was given."""
    export_encoder(model, path)
    difference = encoder_difference(model, path, load_rgb(model.meta["picture"]))
    if not difference < CODE_TOLERANCE:
        raise ExportError(f"{path}'s codes differ from PyTorch's by {difference:.2g}, more than {CODE_TOLERANCE}, so it "
                          f"was removed; try another version of torch or onnxruntime, and report it")
    print(f"{path}: onnxruntime and PyTorch codes differ by at most {difference:.2g}")
    return path


def run(args: argparse.Namespace) -> int:
    networks = _networks(args.style, args.output)
    _check_ready(networks)
    frames = check_frames()
    written: list[Path] = []
    try:
        for model, path in networks:
            written.append(export_onnx(model, path))
            difference = onnx_difference(model, path, frames)
            print(f"{path}: onnxruntime and PyTorch differ by at most {difference * 255:.3f}/255 on {len(frames)} "
                  f"frames of the sample clip")
            if not difference < TOLERANCE:
                raise ExportError(f"{path} differs from PyTorch by {difference * 255:.2f}/255, more than 1/255, so it "
                                  f"was removed; try another version of torch or onnxruntime, and report it")
            written.append(write_card(model, path, difference))
        if networks[0][0].takes_a_picture:
            written.append(_export_encoder(networks[0][0], encoder_file(args.output)))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    print(f"wrote {', '.join(map(str, written))}")
    return 0
