"""Held-out real-footage benchmark: does the stable network remove flicker on real camera clips?

    bash benchmarks/install_footage.sh                       # once: the packages that ship the clips
    OMP_NUM_THREADS=1 python benchmarks/real_footage.py --styles starry_night udnie --clips vtest cup
    python benchmarks/real_footage.py --probe-only --no-drift --json probes.json

For every style (shipped NAME and NAME-per-frame, or --styles) on every clip of footage.py plus the
existing held-out carphone_pristine.mp4 (and, on request, `--clips synthetic`: clean camera motion and a
moving object over scikit-image's astronaut, with exact flow and masks instead of DIS): E_warp of the
source, the per-frame and the stable outputs (`metrics.warping_error`, DIS flow and consistency mask on
the source, computed once per clip and kept in memory for all styles), the kept-flicker fraction
(E_st - E_src) / (E_pf - E_src) (0: all the per-frame net's flicker removed, 1: none) and the style-loss
ratio stable / per-frame (the loss of `evaluate`, painting at the frames' longer side). Stylized frames
are scored as 8-bit, like a video.

Probes: (i) noise: a still photo with fresh Gaussian noise (std 2/255) in each of 20 frames, mean
|y_t - y_t-1| x 255 over t = 10..19, for the source and each net (float outputs, no rounding);
(ii) drift: 720 frames (30 s at 24 fps) of the same noisy photo through each stable net, mean RGB
and style loss of output frames 10 and 700. The photo is scikit-image's `coffee` (600x400, shown at
480x320); the drift probe uses it rather than a looped real clip because no clip here is both static
and free of moving subjects, which would change colour and style loss by themselves.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from footage import CLIPS, HELD_OUT_CLIP, MAX_SIDE, clip_frames, installed_version, read_frames
from readme_tables import save_results
from steadystyle.evaluation import scoring_loss  # the evaluate command's own loss network
from steadystyle.flow import flow_and_mask
from steadystyle.images import load_rgb, resize_to, to_uint8
from steadystyle.metrics import flicker_kept, still_camera_motion, warping_error
from steadystyle.models import PER_FRAME_SUFFIX, load_model, shipped_styles
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.training import per_frame_twin, synthetic_sequence, wheel_clip
from steadystyle.vgg import cached_weights
from style_cards import STATIC_CLIP

CARPHONE, SYNTHETIC = "carphone", "synthetic"
RESULTS = "real_footage"
SYNTHETIC_SIZE, SYNTHETIC_FRAMES = (360, 480), 48
NOISE_STD, NOISE_FRAMES, NOISE_FROM = 2 / 255, 20, 10
DRIFT_FRAMES, DRIFT_AT = 720, (10, 700)
PROBE_SIZE = (320, 480)  # (H, W)


def painting(style: str) -> Path | None:
    """The style's bundled painting, or None for a style whose painting is not bundled (no style loss then)."""
    try:
        return painting_path(style)
    except ValueError:
        return None


class StyleLoss:
    """evaluate's default-weighted style term against one painting, one network per frame size."""

    def __init__(self) -> None:
        self.vgg, self.nets = cached_weights(), {}

    def __call__(self, style: str, frame: np.ndarray | torch.Tensor) -> float | None:
        x = frame if isinstance(frame, torch.Tensor) else torch.from_numpy(frame).permute(2, 0, 1).float() / 255
        side = max(x.shape[-2:])
        if (style, side) not in self.nets:
            path = painting(style)
            self.nets[style, side] = path and scoring_loss(self.vgg, load_rgb(path, side))
        if self.nets[style, side] is None:
            return None
        with torch.no_grad():
            return float(self.nets[style, side](x[None], None)["style"])


def stylized(frames, model, mode: str) -> list[np.ndarray]:
    """The public loop, outputs as the 8-bit frames a video would hold, at the source's size."""
    out = []
    for x, y in zip(frames, stylize_frames(frames, model, StylizeOptions(mode=mode))):
        out.append(to_uint8(y if y.shape[-2:] == x.shape[:2] else resize_to(y, x.shape[:2])))
    return out


def motion_error(frames, motion) -> float:
    """E_warp of `frames` under `motion`, a (flow, mask) per consecutive pair."""
    return warping_error(frames, flows=[f for f, _ in motion], masks=[m for _, m in motion]).mean


def clip_scores(frames, motion, style: str, loss: StyleLoss, style_every: int, still=None) -> dict:
    """E_warp and style loss of one style's per-frame and stable nets on one clip (motion precomputed);
    with `still` (the camera's motion of a static shot, `metrics.still_camera_motion`) also their E_warp
    under it and the DIS-based E_warp of a perfectly steady output (the stable net's first frame, repeated).
    `style`: a shipped style's name, or a stable model file with its NAME-per-frame beside it."""
    row, outputs, stable = {}, {}, load_model(style)
    for mode, model in (("per-frame", load_model(per_frame_twin(style))), ("stable", stable)):
        ys = stylized(frames, model, mode)
        if still is not None:
            outputs[mode] = ys
        losses = [loss(stable.style, y) for y in ys[::style_every]]
        row[mode] = {"warping_error": motion_error(ys, motion),
                     "style_loss": None if None in losses else float(np.mean(losses))}
    if still is not None:
        row["static"] = {mode: motion_error(ys, still) for mode, ys in outputs.items()} | {
            "frozen_dis": motion_error([outputs["stable"][0]] * len(frames), motion)}
    return row


def synthetic_clip(count: int) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """A fixed synthetic clip and its exact motion: what the networks score when nothing but motion changes
    (no noise, no compression, no exposure flicker), the setting the issue's 3-10x figures came from."""
    import skimage.data

    photo = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float() / 255
    clip = synthetic_sequence(photo, SYNTHETIC_SIZE, count, torch.Generator().manual_seed(0))
    motion = [(f.permute(1, 2, 0).numpy(), m[0].numpy()) for f, m in zip(clip.flows, clip.masks)]
    return [to_uint8(f) for f in clip.frames], motion


def run_clips(names: list[str], styles: list[str], max_frames: int | None, style_every: int,
              save=lambda results: None) -> dict:
    """Scores per clip; `save(results so far)` runs after each clip, so a long run keeps what it finished."""
    loss, results = StyleLoss(), {}
    for name in names:
        t0 = time.perf_counter()
        if name == SYNTHETIC:
            frames, motion = synthetic_clip(max_frames or SYNTHETIC_FRAMES)
        else:
            frames = (list(read_frames(wheel_clip(HELD_OUT_CLIP), 0, max_frames)) if name == CARPHONE
                      else clip_frames(name, max_frames))
            motion = [flow_and_mask(cur, prev) for prev, cur in pairwise(frames)]  # once per clip, all styles
        source = motion_error(frames, motion)
        entry = {"frames": len(frames), "size": list(frames[0].shape[:2]), "source_warping_error": source,
                 "styles": {}}
        still = still_camera_motion(frames, motion) if name == STATIC_CLIP else None
        if still is not None:
            entry["static"] = {"clip": name, "frames": len(frames),
                               "still_share": float(np.mean([m.mean() for _, m in still])),
                               "source": motion_error(frames, still), "source_dis": source}
        for style in styles:
            row = clip_scores(frames, motion, style, loss, style_every, still)
            pf, st = row["per-frame"], row["stable"]
            row["kept_flicker"] = flicker_kept(st["warping_error"], pf["warping_error"], source)
            row["style_ratio"] = (st["style_loss"] / pf["style_loss"]
                                  if pf["style_loss"] and st["style_loss"] is not None else None)
            entry["styles"][style] = row
            print(f"{name} {style}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        entry["seconds"] = time.perf_counter() - t0
        results[name] = entry
        save(results)
        print(f"{name}: {len(frames)} frames in {entry['seconds']:.0f} s", file=sys.stderr)
    return results


def static_shot(scores: dict, style: str) -> dict:
    """One style's figures on the static shot from `run_clips`' scores, flat: E_warp on a tripod shot under the
    camera's true motion (none) where the scene is still, for the source and the style's per-frame and stable
    nets; and, to show why the DIS-based figure cannot judge this shot, that of a perfectly steady output."""
    return scores[STATIC_CLIP]["static"] | scores[STATIC_CLIP]["styles"][style]["static"]


def probe_photo() -> torch.Tensor:
    import skimage.data
    photo = torch.from_numpy(skimage.data.coffee()).permute(2, 0, 1).float() / 255
    return resize_to(photo, PROBE_SIZE)


def noisy(photo: torch.Tensor, count: int, seed: int = 0):
    """`count` frames of the still photo, each with fresh Gaussian noise; lazily, so 720 cost no memory."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        yield (photo + NOISE_STD * torch.randn(photo.shape, generator=g)).clamp(0, 1)


def mean_change(frames) -> float:
    """Mean |y_t - y_t-1| x 255 over t = NOISE_FROM.. of a frame sequence."""
    ys = list(frames)
    return float(np.mean([(b - a).abs().mean().item() * 255 for a, b in pairwise(ys[NOISE_FROM - 1:])]))


def noise_probe(styles: list[str]) -> dict:
    photo = probe_photo()
    result = {"source": mean_change(noisy(photo, NOISE_FRAMES))}
    for style in styles:
        result[style] = {mode: mean_change(stylize_frames(noisy(photo, NOISE_FRAMES), load_model(spec),
                                                          StylizeOptions(mode=mode)))
                         for mode, spec in (("per-frame", per_frame_twin(style)), ("stable", style))}
    return result


def drift_probe(styles: list[str]) -> dict:
    photo, loss, result = probe_photo(), StyleLoss(), {}
    for style in styles:
        kept, model = {}, load_model(style)
        for t, y in enumerate(stylize_frames(noisy(photo, DRIFT_FRAMES), model, StylizeOptions(mode="stable"))):
            if t in DRIFT_AT:
                kept[t] = y
        a, b = (kept[t] for t in DRIFT_AT)
        result[style] = {**{f"frame_{t}": {"mean_rgb": [round(v * 255, 2) for v in kept[t].mean((1, 2)).tolist()],
                                           "style_loss": loss(model.style, kept[t])} for t in DRIFT_AT},
                         "mean_abs_change": (b - a).abs().mean().item() * 255}
    return result


def _f(v: float | None, fmt: str = ".3g") -> str:
    return "-" if v is None else format(v, fmt)


def markdown(results: dict) -> str:
    out, clips, probe = [], results.get("clips", {}), results.get("noise_probe")
    styles = results["styles"]
    tables = [("E_warp x 1e3, per-frame -> stable (source in the 2nd column)",
               lambda r: f"{r['per-frame']['warping_error'] * 1e3:.3f} -> {r['stable']['warping_error'] * 1e3:.3f}"),
              ("kept flicker (E_st - E_src) / (E_pf - E_src): 0 = all removed", lambda r: _f(r["kept_flicker"], ".2f")),
              ("style loss ratio stable / per-frame", lambda r: _f(r["style_ratio"], ".2f"))]
    for title, cell in (tables if clips else []):
        out += [f"### {title}", "", "| clip | frames | E_src x 1e3 | " + " | ".join(styles) + " |",
                "|---" * (len(styles) + 3) + "|"]
        out += [f"| {n} | {c['frames']} ({c['size'][1]}x{c['size'][0]}) | {c['source_warping_error'] * 1e3:.3f} | "
                + " | ".join(cell(c["styles"][s]) for s in styles) + " |" for n, c in clips.items()]
        out.append("")
    if probe:
        out += [f"### noise probe: mean |y_t - y_t-1| x 255, t = {NOISE_FROM}..{NOISE_FRAMES - 1} "
                f"(source: {probe['source']:.3f})", "", "| style | per-frame | stable |", "|---|---|---|"]
        out += [f"| {s} | {probe[s]['per-frame']:.3f} | {probe[s]['stable']:.3f} |" for s in styles]
        out.append("")
    if results.get("drift_probe"):
        a, b = DRIFT_AT
        out += [f"### drift probe: stable output, frame {a} vs {b} of {DRIFT_FRAMES}", "",
                f"| style | mean RGB {a} | mean RGB {b} | style loss {a} | style loss {b} | mean abs change x 255 |",
                "|---|---|---|---|---|---|"]
        for s, d in results["drift_probe"].items():
            fa, fb = d[f"frame_{a}"], d[f"frame_{b}"]
            out.append(f"| {s} | {fa['mean_rgb']} | {fb['mean_rgb']} | {_f(fa['style_loss'])} | "
                       f"{_f(fb['style_loss'])} | {d['mean_abs_change']:.3f} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shipped = sorted({n.removesuffix(PER_FRAME_SUFFIX) for n in shipped_styles()})
    p.add_argument("--styles", nargs="+", default=shipped,
                   help=f"style names, or stable model files with their -per-frame twin beside them "
                        f"(default: {' '.join(shipped)})")
    p.add_argument("--clips", nargs="+", default=[*CLIPS, CARPHONE], choices=[*CLIPS, CARPHONE, SYNTHETIC])
    p.add_argument("--max-frames", type=int, help="use at most this many frames of each clip")
    p.add_argument("--style-every", type=int, default=4, help="style loss on every Nth frame (VGG is slow)")
    p.add_argument("--probe-only", action="store_true", help="skip the clips, run only the probes")
    p.add_argument("--no-drift", action="store_true", help="skip the 720-frame drift probe")
    p.add_argument("--json", type=Path, help="write every figure (and the clips' provenance) here")
    p.add_argument("--keep", action="store_true", help=f"also keep them in results/{RESULTS}.json, the benchmarks table's row")
    args = p.parse_args()
    t0 = time.perf_counter()
    results: dict = {"styles": args.styles, "max_side": MAX_SIDE, "threads": torch.get_num_threads(),
                     "provenance": {n: {**c.__dict__, "installed": installed_version(c.package)}
                                    for n, c in CLIPS.items() if n in args.clips and not args.probe_only}}

    def save(clips: dict | None = None) -> None:  # after every stage: a slow run keeps what it finished
        if clips is not None:
            results["clips"] = clips
        results["seconds"] = time.perf_counter() - t0
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))

    if not args.probe_only:
        run_clips(args.clips, args.styles, args.max_frames, args.style_every, save)
    results["noise_probe"] = noise_probe(args.styles)
    save()
    if not args.no_drift:
        results["drift_probe"] = drift_probe(args.styles)
        save()
    print(markdown(results))
    if args.keep:
        save_results(RESULTS, "python benchmarks/real_footage.py " + " ".join(sys.argv[1:]), results)


def table_cell(results: dict) -> str:
    """Per clip: how many times lower the stable networks' E_warp is than their per-frame twins', and the most
    flicker any of them keeps."""
    parts = []
    for clip, entry in results["clips"].items():
        scores = entry["styles"].values()
        ratios = [s["per-frame"]["warping_error"] / s["stable"]["warping_error"] for s in scores]
        parts.append(f"{clip}: per-frame E_warp {min(ratios):.1f}-{max(ratios):.1f}x the stable network's, at most "
                     f"{max((s['kept_flicker'] for s in scores if s['kept_flicker'] is not None), default=0):.0%} of the "
                     f"flicker kept")
    return f"`{results['command']}`, {len(results['styles'])} styles: " + "; ".join(parts)


if __name__ == "__main__":
    main()
