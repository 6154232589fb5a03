"""`steadystyle stylize` (images, a video, a frame folder or the webcam) and `steadystyle models`."""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..atomic import OutputError, check_not_inputs, check_writable
from ..batch import BatchResult, batch_outputs, frames_to_do, stylize_videos
from ..device import native_bf16
from ..images import IMAGE_SUFFIXES, load_image, save_image
from ..live import parse_webcam, run_live
from ..models import PER_FRAME_SUFFIX, Model, load_model, shipped_styles
from ..motion import MOTIONS
from ..parallel import LocalWorkers, Workers, pieces_folder, stylize_in_pieces
from ..stylize import CUT_THRESHOLD, PRECISIONS, StylizeOptions, stylize_image, stylize_video
from ..video import SAMPLE_CLIP, VIDEO_IN_SUFFIXES, JobError, check_output, is_folder_output, sidecar_path
from .args import (REPLACED, encoding, encoding_args, fraction, json_arg, non_negative_float, open_checked, pixels,
                   positive_float, positive_int, quiet_arg, resolve_model, resume_args, resume_hint)

DEFAULTS = StylizeOptions()


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("stylize", help="stylize images, a video, a folder of frames or the webcam",
                            description="Stylize images (several at once into a folder), or one video or folder of "
                                        "numbered frames into an H.264 .mp4 (audio kept) or a folder of PNG frames, "
                                        "or the webcam live.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image file(s), one video file or frame folder ('sample': a 5 s clip that ships with "
                        "steadystyle), several videos, a folder of them or a quoted pattern ('clips/*.mp4') into -o "
                        "FOLDER (a re-run skips finished ones and resumes the rest), or webcam[:N] for live stylization")
    p.add_argument("-s", "--style", required=True, metavar="MODEL", help="a shipped style name, a model file, or any picture (.jpg, .png, ...) as the style")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output image (.png, .jpg), folder (several images), .mp4 or frame folder (video); "
                        f"not for webcam. {REPLACED}")
    p.add_argument("--mode", choices=["stable", "per-frame"],
                   help="stable: the recurrent network (default for recurrent models); per-frame: an image model")
    p.add_argument("--motion", choices=MOTIONS, default=DEFAULTS.motion,
                   help="stable mode: flow warps the previous frame and output along the motion (DIS optical flow, "
                        "a few ms per frame) so that what merely moved stays; none shows them as they were "
                        "(default: %(default)s)")
    p.add_argument("--max-side", type=pixels, metavar="PX", help="shrink inputs so the longer side is at most PX")
    p.add_argument("--preserve-color", action="store_true", help="keep the input's colours, take the style's strokes")
    p.add_argument("--strength", type=fraction, default=DEFAULTS.strength,
                   help="blend with the original, 0-1 (default: %(default)s)")
    p.add_argument("--precision", choices=PRECISIONS, default=DEFAULTS.precision,
                   help="auto (default): bf16 where this CPU computes it natively (AVX512-BF16, AMX), else fp32, "
                        "since emulated bf16 is slower; the summary line says which ran")
    p.add_argument("--bf16", dest="precision", action="store_const", const="bf16", help=argparse.SUPPRESS)
    p.add_argument("--device", default=DEFAULTS.device,
                   help="auto (default): a CUDA GPU when there is one, else the CPU; or cpu, cuda, cuda:N")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=DEFAULTS.compile,
                   help="compile the network for the frame size, after seconds of compiling; measured slower than "
                        "the default on 2 CPU cores (benchmarks/bench_video.py tells for this machine) (default: off)")
    v = p.add_argument_group("video")
    v.add_argument("--start", type=non_negative_float, metavar="SEC", help="start this many seconds in")
    v.add_argument("--duration", type=positive_float, metavar="SEC", help="stylize only this many seconds")
    encoding_args(v)
    v.add_argument("--cut-threshold", type=fraction, default=CUT_THRESHOLD,
                   help="mean frame difference that counts as a shot cut and restarts the recurrence "
                        "(default: %(default)s)")
    v.add_argument("--no-cut-detect", action="store_true", help="never restart the recurrence")
    resume_args(p)
    par = p.add_argument_group("in parallel (video files into .mp4; see docs/usage.md, 'Long films and many videos')")
    par.add_argument("--workers", type=positive_int, metavar="N",
                     help="cut each video at its shot cuts and stylize the pieces in N processes, joined into the "
                          "video one process makes; with --ray, N workers on the cluster (default there: one per CPU)")
    par.add_argument("--piece-seconds", type=positive_float, metavar="SEC",
                     help="with --workers or --ray, also cut a shot longer than SEC, restarting the recurrence "
                          "there (a visible change at that frame, as at a cut): more pieces for a film of long shots")
    par.add_argument("--ray", metavar="ADDRESS",
                     help="run the pieces on a running Ray cluster (host:port, or auto), each worker loading the "
                          "model once; needs pip install 'steadystyle[cluster]' on every node")
    par.add_argument("--ray-send-inputs", action="store_true",
                     help="with --ray, send each input file to the nodes through Ray rather than have them read "
                          "it at the same path (a shared folder)")
    w = p.add_argument_group("live (INPUT webcam or webcam:N, an OpenCV capture device)")
    w.add_argument("--source", type=Path, metavar="FILE", help="a video file standing in for the camera")
    w.add_argument("--record", type=Path, metavar="OUT.mp4", help=f"also record the stylized stream. {REPLACED}")
    w.add_argument("--frames", type=positive_int, metavar="N", help="stop after N frames")
    w.add_argument("--no-window", action="store_true", help="run without a screen (prints the frame rate)")
    quiet_arg(p)
    p.set_defaults(run=run)

    p = commands.add_parser("models", help="list the styles shipped with steadystyle")
    json_arg(p)
    p.set_defaults(run=run_models)


def options(args: argparse.Namespace) -> StylizeOptions:
    return StylizeOptions(mode=args.mode, motion=args.motion, strength=args.strength,
                          preserve_color=args.preserve_color, max_side=args.max_side,
                          cut_threshold=None if args.no_cut_detect else args.cut_threshold,
                          precision=args.precision, compile=args.compile, device=args.device)


def how_it_ran(opts: StylizeOptions) -> str:
    """The precision (and why, for auto) and whether compiled: what the summary line shows."""
    precision = "bf16" if opts.dtype == torch.bfloat16 else "fp32"
    if opts.precision == "auto" and opts.target.type == "cpu":
        precision += f" (auto: {'native' if native_bf16() else 'no native'} bf16 on this CPU)"
    where = "" if opts.target.type == "cpu" else f" on {opts.target}"
    return precision + where + (", compiled" if opts.compile else "")


def _load_for_mode(spec: str, mode: str | None) -> Model:
    """A shipped style name or a picture with --mode per-frame means its stage-1 image model."""
    if mode == "per-frame" and f"{spec}{PER_FRAME_SUFFIX}" in shipped_styles():
        spec = f"{spec}{PER_FRAME_SUFFIX}"
    return resolve_model(spec, per_frame=mode == "per-frame")


def _warn_compile(args: argparse.Namespace) -> None:
    if args.compile and not args.quiet:
        print("compiling the network for this frame size: seconds before the first frame", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    camera = parse_webcam(args.inputs[0]) if len(args.inputs) == 1 else None
    if camera is not None or args.source:
        return _run_live(args, args.source or camera)
    if not args.output:
        raise ValueError("stylize needs -o OUT (an image, a folder, or a .mp4)")
    inputs = [SAMPLE_CLIP if p == "sample" and not Path(p).exists() else Path(p) for p in args.inputs]
    videos = batch_inputs(inputs)
    if videos is not None:
        return _run_batch(args, videos)
    if len(inputs) == 1 and (inputs[0].is_dir() or inputs[0].suffix.lower() in VIDEO_IN_SUFFIXES):
        return _run_video(args, inputs[0])
    return _run_images(args, inputs)


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_IN_SUFFIXES


def batch_inputs(inputs: list[Path]) -> list[Path] | None:
    """The videos of a batch: several video files, a folder holding videos, or a quoted pattern ('clips/*.mp4');
    None for one video or frame folder, or images."""
    videos: list[Path] = []
    others: list[Path] = []
    expanded = False
    for given in inputs:
        if not given.exists() and glob.has_magic(str(given)):
            matches = [Path(m) for m in sorted(glob.glob(str(given)))]
            if not matches:
                raise FileNotFoundError(f"{given}: no file matches this pattern")
            videos += [m for m in matches if _is_video(m)]
            expanded = True
        elif given.is_dir() and any(_is_video(p) for p in given.iterdir()):
            videos += sorted(p for p in given.iterdir() if _is_video(p) and p.is_file())
            expanded = True
        elif _is_video(given):
            videos.append(given)
        else:
            others.append(given)
    if not videos or (len(videos) == 1 and not expanded):
        return None
    if others:
        raise ValueError(f"{others[0]} is neither a video nor a folder or pattern of videos; a batch takes videos "
                         "only (images and frame folders: run them apart)")
    return videos


def _run_batch(args: argparse.Namespace, videos: list[Path]) -> int:
    """Each video into -o FOLDER/NAME.mp4; a table at the end; exit 1 if any failed."""
    folder = Path(args.output)
    if folder.suffix and not folder.is_dir():
        raise OutputError(f"-o {folder}: {len(videos)} videos go into a folder; give a folder name (no suffix)")
    model = _load_for_mode(args.style, args.mode)
    batch_outputs(videos, folder, [model.path])  # refused before any work: clashing names, an input as output
    _warn_compile(args)
    opts = options(args)
    bar = tqdm(total=frames_to_do(videos, args.start, args.duration), desc=f"{len(videos)} videos", unit="frame",
               disable=args.quiet)

    def report(result: BatchResult) -> None:
        if not args.quiet:
            bar.write(f"{result.source.name}: {result.status}" + (f" ({result.error})" if result.error else ""))

    with bar:
        on_frame = lambda n: bar.update(n - bar.n)  # noqa: E731
        if _in_parallel(args):
            outputs = batch_outputs(videos, folder, [model.path])
            folder.mkdir(parents=True, exist_ok=True)
            results = stylize_in_pieces(videos, outputs, model, _workers(args, model), opts, start=args.start,
                                        duration=args.duration, encoding=encoding(args), restart=args.restart,
                                        piece_seconds=args.piece_seconds, on_frame=on_frame, on_result=report)
        else:
            results = stylize_videos(videos, model, folder, opts, start=args.start, duration=args.duration,
                                     encoding=encoding(args), restart=args.restart,
                                     checkpoint_every=args.checkpoint_every, on_frame=on_frame, on_result=report)
    print(summary_table(results))
    failed = sum(r.status == "failed" for r in results)
    print(f"{len(results) - failed} of {len(results)} videos in {folder}; {how_it_ran(opts)}")
    return 1 if failed else 0


def summary_table(results: list[BatchResult]) -> str:
    """Per file: frames, seconds, frames/s and what became of it."""
    rows = [f"{'file':32} {'frames':>7} {'seconds':>8} {'frames/s':>9}  result"]
    for r in results:
        outcome = r.status if r.status != "failed" else f"failed: {r.error}"
        speed = f"{r.fps:9.1f}" if r.status == "done" else f"{'-':>9}"
        rows.append(f"{r.source.name[:32]:32} {r.frames:7d} {r.seconds:8.1f} {speed}  {outcome}")
    return "\n".join(rows)


def _run_video(args: argparse.Namespace, source: Path) -> int:
    """A video file or a folder of frames, into a video or a folder of frames."""
    open_checked(source, args.start, args.duration, args.max_side)
    model = _load_for_mode(args.style, args.mode)
    check_not_inputs([args.output, sidecar_path(args.output)], [source, model.path])
    check_output(args.output)
    _warn_compile(args)
    opts = options(args)
    if _in_parallel(args):
        return _run_video_in_pieces(args, source, model, opts)
    with resume_hint(Path(args.output)):
        summary = stylize_video(source, model, args.output, opts, start=args.start, duration=args.duration,
                                encoding=encoding(args), progress=not args.quiet, resume=args.resume,
                                restart=args.restart, checkpoint_every=args.checkpoint_every)
    print(f"{summary}; {how_it_ran(opts)}")
    return 0


def _in_parallel(args: argparse.Namespace) -> bool:
    """--workers or --ray: the pieces' path, which takes video files into video files only."""
    if not (args.workers or args.ray):
        if args.piece_seconds or args.ray_send_inputs:
            raise ValueError("--piece-seconds and --ray-send-inputs go with --workers N or --ray ADDRESS")
        return False
    if args.ray_send_inputs and not args.ray:
        raise ValueError("--ray-send-inputs goes with --ray ADDRESS")
    return True


def _workers(args: argparse.Namespace, model: Model) -> Workers:
    if args.ray:
        from ..parallel.cluster import RayWorkers  # Ray is an extra; imported only when asked for
        return RayWorkers(model, args.ray, args.workers, send_inputs=args.ray_send_inputs)
    return LocalWorkers(model, args.workers)


def _run_video_in_pieces(args: argparse.Namespace, source: Path, model: Model, opts: StylizeOptions) -> int:
    """One video file, cut into pieces that workers stylize side by side."""
    if source.is_dir():
        raise ValueError(f"{source} is a folder of frames; --workers and --ray take video files")
    if is_folder_output(args.output):
        raise ValueError(f"-o {args.output}: --workers and --ray write a video file (.mp4, .mov, .m4v, .mkv), not a "
                         "folder of frames; run without them for frames")
    output = Path(args.output)
    bar = tqdm(total=frames_to_do([source], args.start, args.duration), desc="stylizing", unit="frame",
               disable=args.quiet)
    with bar:
        [result] = stylize_in_pieces([source], [output], model, _workers(args, model), opts, start=args.start,
                                     duration=args.duration, encoding=encoding(args), resume=args.resume,
                                     restart=args.restart, batch=False, piece_seconds=args.piece_seconds,
                                     on_frame=lambda n: bar.update(n - bar.n))
    if result.status == "failed":
        kept = pieces_folder(output)
        raise JobError(f"{source}: {result.error}" + (f" (the pieces made are kept in {kept}: run again with --resume "
                                                       "to make only the others)" if kept.is_dir() else ""))
    print(f"wrote {output}: {result.frames} frames in {result.seconds:.1f} s ({result.fps:.1f} frames/s); "
          f"{how_it_ran(opts)}")
    return 0


def _image_outputs(inputs: list[Path], output: Path, also_inputs: list[Path | None]) -> list[Path]:
    """One input: OUTPUT is the image file. Several: OUTPUT is a folder (created), files keep their names."""
    suffix = output.suffix.lower()
    to_folder = suffix not in IMAGE_SUFFIXES
    if to_folder and suffix and not output.is_dir():
        what = "a video name" if suffix in VIDEO_IN_SUFFIXES else f"not an image name ({suffix})"
        raise OutputError(f"-o {output} is {what}, but images come out as images: give -o NAME.png (or .jpg), "
                          "or a folder name without a suffix; a video comes from a video or a frame folder")
    if not to_folder and len(inputs) > 1:
        raise OutputError(f"{len(inputs)} inputs need a folder as output, not the file {output}")
    outputs = [output / (p.stem + ".png") for p in inputs] if to_folder else [output]
    if len(set(outputs)) < len(outputs):
        raise OutputError(f"two inputs share a name, so their results would overwrite each other in {output}; "
                          "rename one")
    check_not_inputs(outputs, [*inputs, *also_inputs])
    if to_folder:
        output.mkdir(parents=True, exist_ok=True)
    return [check_writable(p) for p in outputs]


def _run_images(args: argparse.Namespace, inputs: list[Path]) -> int:
    # Every input is read (and shrunk to --max-side) before any output is written.
    images = [load_image(p, args.max_side) for p in inputs]
    model = _load_for_mode(args.style, args.mode)
    outputs = _image_outputs(inputs, Path(args.output), [model.path])
    opts = options(args)
    _warn_compile(args)
    for (rgb, alpha), out in zip(images, outputs):
        t0 = time.perf_counter()
        y = stylize_image(model, rgb, opts)
        save_image(y, out, alpha)
        print(f"wrote {out} ({y.shape[2]}x{y.shape[1]}, {time.perf_counter() - t0:.2f} s; {how_it_ran(opts)})")
    return 0


def _run_live(args: argparse.Namespace, source: int | Path) -> int:
    if args.source:
        open_checked(args.source, None, None, args.max_side)
    model = _load_for_mode(args.style, args.mode)
    if args.record:
        check_not_inputs([args.record], [args.source, model.path])
        check_output(args.record)
    _warn_compile(args)
    opts = options(args)
    stats = run_live(source, model, opts, max_frames=args.frames, window=not args.no_window, record=args.record)
    print(f"\n{stats.frames} frames in {stats.seconds:.1f} s ({stats.fps:.1f} frames/s; {how_it_ran(opts)})"
          + (f"; recorded {args.record}" if args.record else ""))
    return 0


def run_models(args: argparse.Namespace) -> int:
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
            kind = "stable" if r["recurrent"] else "per-frame"
            print(f"{r['name']:28} {kind:10} {r['size_mb']:6.2f} {r['train_size'] or '?':>8}")
    return 0
