"""`steadystyle optimize image|video`: the optimisation baselines (Gatys et al.; Ruder et al. for video)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..atomic import check_not_inputs
from ..images import check_image_output, load_rgb, save_image
from ..losses import LossWeights
from ..optimize import OptimizeSettings, VideoOptimizeSettings, optimize_image, optimize_video
from ..vgg import find_weights
from ..video import check_output, sidecar_path
from .args import (PAINTING_HELP, REPLACED, encoding, encoding_args, flow_args, json_arg, loss_weight_args,
                   loss_weights, non_negative_float, open_checked, painting, pixels, positive_float, positive_int,
                   quiet_arg, renamed, resume_args, resume_hint, seed, vgg_arg)


def register(commands: argparse._SubParsersAction) -> None:
    opt = commands.add_parser("optimize", help="optimisation baselines (Gatys et al.; slow, high quality)")
    what = opt.add_subparsers(dest="what", required=True, metavar="WHAT")
    _register_image(what)
    _register_video(what)


def _optimizer_args(p: argparse.ArgumentParser, d: OptimizeSettings) -> None:
    """What the image and video baselines share."""
    renamed(p, "--painting-size", "--style-size", type=pixels, metavar="PX",
            help="longer side of the painting (default: --size)")
    p.add_argument("--method", choices=["lbfgs", "adam"], default=d.method)
    p.add_argument("--lr", type=positive_float, help="Adam step size (default 0.02) or L-BFGS scale (1)")
    p.add_argument("--seed", type=seed, default=d.seed, help="of the noise init")
    quiet_arg(p)
    loss_weight_args(p, LossWeights())
    vgg_arg(p)


def _register_image(what: argparse._SubParsersAction) -> None:
    d = OptimizeSettings()
    p = what.add_parser("image", help="Gatys et al. style transfer on one image")
    p.add_argument("content", type=Path, metavar="CONTENT")
    p.add_argument("style", type=painting, metavar="PAINTING", help=PAINTING_HELP)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help=f"an image file. {REPLACED}")
    p.add_argument("--size", type=pixels, default=384, help="longer side of the result in pixels (default: 384)")
    p.add_argument("--iters", type=positive_int, default=d.iters, help="loss evaluations (default: %(default)s)")
    p.add_argument("--init", choices=["content", "noise"], default=d.init)
    p.add_argument("--preserve-color", action="store_true", help="luminance-only transfer (Gatys et al. 2017)")
    json_arg(p, "print the final losses as one JSON object")
    _optimizer_args(p, d)
    p.set_defaults(run=run_image)


def _register_video(what: argparse._SubParsersAction) -> None:
    v = VideoOptimizeSettings()
    p = what.add_parser("video", help="Ruder et al. 2016: per-frame Gatys with a temporal loss on optical flow",
                        description="Optimise every frame (Gatys et al.) with the short-term temporal loss of Ruder "
                                    "et al. 2016: the previous result, warped by SOURCE's backward flow and weighted "
                                    "by the consistency mask, must agree with the current one, and is where the "
                                    "current frame starts. Timestamps and audio are kept; OUT.json records the speed.")
    p.add_argument("source", type=Path, metavar="SOURCE", help="a video or a folder of numbered frames")
    p.add_argument("style", type=painting, metavar="PAINTING", help=PAINTING_HELP)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help=f".mp4 (or .mov, .m4v, .mkv), or a folder for PNG frames. {REPLACED}")
    p.add_argument("--size", type=pixels, default=256, help="longer side of the result in pixels (default: 256)")
    p.add_argument("--iters", type=positive_int, default=v.iters,
                   help="loss evaluations per frame started from the warped previous result (default: %(default)s)")
    p.add_argument("--first-iters", type=positive_int, metavar="N",
                   help="for frames started from scratch: the first, or all with --no-temporal (default: 2 x --iters)")
    p.add_argument("--temporal-weight", type=non_negative_float, default=v.temporal_weight, help="default: %(default)g")
    p.add_argument("--no-temporal", action="store_true",
                   help="plain per-frame optimisation, every frame from --init: the unstable reference")
    p.add_argument("--later-init", choices=["warped", "content"], default=v.later_init,
                   help="where frames after the first start (default: the warped previous result)")
    p.add_argument("--init", choices=["content", "noise"], default=v.init, help="start of the first frame")
    flow_args(p, v.flow_method, v.flow_preset, "SOURCE")
    p.add_argument("--start", type=non_negative_float, metavar="SEC", help="start this many seconds in")
    p.add_argument("--duration", type=positive_float, metavar="SEC", help="optimise only this many seconds")
    encoding_args(p)
    _optimizer_args(p, v)
    resume_args(p)
    p.set_defaults(run=run_video)


def run_image(args: argparse.Namespace) -> int:
    check_image_output(args.output)
    check_not_inputs([args.output], [args.content, args.style, args.vgg_weights])
    content, style = load_rgb(args.content, args.size), load_rgb(args.style, args.style_size or args.size)
    settings = OptimizeSettings(iters=args.iters, method=args.method, lr=args.lr, init=args.init, seed=args.seed)
    t0 = time.perf_counter()
    image, terms = optimize_image(content, style, find_weights(args.vgg_weights), loss_weights(args, LossWeights()),
                                  settings, preserve_color=args.preserve_color, progress=not args.quiet)
    save_image(image, args.output)
    result = {"output": str(args.output), "seconds": round(time.perf_counter() - t0, 2),
              **{k: terms[k] for k in ("style", "content", "tv", "total")}}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"wrote {args.output} in {result['seconds']} s: style {terms['style']:.4g}, "
              f"content {terms['content']:.4g}, tv {terms['tv']:.4g}")
    return 0


def run_video(args: argparse.Namespace) -> int:
    open_checked(args.source, args.start, args.duration, args.size)
    check_output(args.output)
    check_not_inputs([args.output, sidecar_path(args.output)], [args.source, args.style, args.vgg_weights])
    style = load_rgb(args.style, args.style_size or args.size)
    settings = VideoOptimizeSettings(iters=args.iters, first_iters=args.first_iters, method=args.method, lr=args.lr,
                                     init=args.init, seed=args.seed, temporal=not args.no_temporal,
                                     temporal_weight=args.temporal_weight, later_init=args.later_init,
                                     flow_method=args.flow, flow_preset=args.flow_preset)
    with resume_hint(args.output):
        print(optimize_video(args.source, style, find_weights(args.vgg_weights), args.output,
                             loss_weights(args, LossWeights()), settings, size=args.size, start=args.start,
                             duration=args.duration, encoding=encoding(args), style_name=args.style.name,
                             progress=not args.quiet, resume=args.resume, restart=args.restart,
                             checkpoint_every=args.checkpoint_every))
    return 0
