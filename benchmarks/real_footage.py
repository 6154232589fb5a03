"""Held-out real-footage benchmark: does the stable network remove flicker on real camera clips?

    bash benchmarks/install_footage.sh                       # once: the packages that ship the clips
    OMP_NUM_THREADS=1 python benchmarks/real_footage.py --styles starry_night udnie --clips vtest cup
    OMP_NUM_THREADS=1 python benchmarks/real_footage.py --clips held-out-motion --no-drift --json motion.json
    python benchmarks/real_footage.py --probe-only --no-drift --json probes.json

For every style (shipped NAME and NAME-per-frame, or --styles) on every clip of footage.py's CLIPS plus the
existing held-out carphone_pristine.mp4 (or on request `--clips held-out-motion`, footage.py's
HELD_OUT_MOTION: real hand-held, pan, dolly, zoom, roll and fast-subject clips no decision may look at; and
`--clips synthetic`: clean camera motion and a moving object over scikit-image's astronaut, with exact flow
and masks instead of DIS): E_warp of the source, the per-frame and the stable outputs
(`metrics.warping_error`, DIS flow and consistency mask on the source, computed once per clip and kept in
memory for all styles), the kept-flicker fraction (E_st - E_src) / (E_pf - E_src) (0: all the per-frame
net's flicker removed, 1: none) and the style-loss ratio stable / per-frame (the loss of `evaluate`,
painting at the frames' longer side). The stable net runs twice, its history warped by optical flow (the
default path) and not warped (`StylizeOptions(motion="none")`), so what the flow buys shows beside it
(`--flow-only`: the default path alone). Stylized frames are scored as 8-bit, like a video.

Probes: (i) noise: a still photo with fresh Gaussian noise (std 2/255) in each of 20 frames, mean
|y_t - y_t-1| x 255 over t = 10..19, for the source and each net (float outputs, no rounding);
(ii) drift on a noisy still: 720 frames (30 s at 24 fps) of the same noisy photo through each stable net,
mean RGB and style loss of output frames 10 and 700. The photo is scikit-image's `coffee` (600x400, shown
at 480x320): no clip here is both static and free of moving subjects, which would change colour and style
loss by themselves. (iii) hand-held drift: no packaged hand-held clip is 30 s long, so the hand-held drift
clip is the diver clip (HELD_OUT_MOTION, 351 frames, hand-held underwater) played forward, then backward,
then forward again: 720 frames of real hand-held motion, not a real 30 s take. Sharpness (mean gradient
magnitude of the luminance, which accumulated blur lowers) and mean colour of the stable output at frames
10 and 700, with and without flow, beside the source's own at those frames. Frame 700 shows source frame 0
and frame 10 source frame 10, so frame 690, which shows frame 10's content again, is compared with frame 10
too: drift without the content's own change. Frames 10 | 700 of each go to docs/images/drift_handheld.jpg.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from footage import (ALL_CLIPS, CLIPS, HELD_OUT_CLIP, HELD_OUT_MOTION, MAX_SIDE, clip_frames, installed_version,
                     locate, read_frames)
from footage_report import STABLE_RUNS, markdown, table_cell  # table_cell: the benchmarks table's row
from readme_tables import DOCS, ROOT, save_results
from steadystyle.evaluation import scoring_loss  # the evaluate command's own loss network
from steadystyle.flow import flow_and_mask
from steadystyle.images import load_rgb, resize_to, to_uint8
from steadystyle.metrics import flicker_kept, still_camera_motion, warping_error
from steadystyle.models import PER_FRAME_SUFFIX, load_model, shipped_styles
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions, as_tensor, stylize_frames
from steadystyle.training import per_frame_twin, synthetic_sequence, wheel_clip
from steadystyle.vgg import cached_weights
from style_cards import STATIC_CLIP

CARPHONE, SYNTHETIC, MOTION_SET = "carphone", "synthetic", "held-out-motion"
RESULTS = "real_footage"
SYNTHETIC_SIZE, SYNTHETIC_FRAMES = (360, 480), 48
NOISE_STD, NOISE_FRAMES, NOISE_FROM = 2 / 255, 20, 10
DRIFT_FRAMES, DRIFT_AT = 720, (10, 700)
PROBE_SIZE = (320, 480)  # (H, W)
DRIFT_CLIP = "diver"  # hand-held, 351 frames, played forward and back: the hand-held drift clip
DRIFT_PICTURE = DOCS / "drift_handheld.jpg"


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


def stylized(frames, model, mode: str, motion: str = "flow") -> list[np.ndarray]:
    """The public loop, outputs as the 8-bit frames a video would hold, at the source's size."""
    out = []
    for x, y in zip(frames, stylize_frames(frames, model, StylizeOptions(mode=mode, motion=motion))):
        out.append(to_uint8(y if y.shape[-2:] == x.shape[:2] else resize_to(y, x.shape[:2])))
    return out


def motion_error(frames, motion) -> float:
    """E_warp of `frames` under `motion`, a (flow, mask) per consecutive pair."""
    return warping_error(frames, flows=[f for f, _ in motion], masks=[m for _, m in motion]).mean


def against_per_frame(stable: dict, per_frame: dict, source: float, source_farneback: float | None = None) -> dict:
    """A stable run's flicker kept and style-loss ratio against the per-frame network's, on one clip; with the
    source's E_warp under Farneback's flow, the flicker kept under it too."""
    scores = {"kept_flicker": flicker_kept(stable["warping_error"], per_frame["warping_error"], source),
              "style_ratio": (stable["style_loss"] / per_frame["style_loss"]
                              if per_frame["style_loss"] and stable["style_loss"] is not None else None)}
    if source_farneback is not None:
        scores["kept_flicker_farneback"] = flicker_kept(stable["warping_error_farneback"],
                                                        per_frame["warping_error_farneback"], source_farneback)
    return scores


def clip_scores(frames, motion, style: str, loss: StyleLoss, style_every: int, still=None,
                motions: tuple[str, ...] = ("flow",), farneback=None) -> dict:
    """E_warp and style loss of one style's per-frame and stable nets on one clip (motion precomputed), the
    stable one with each of `motions` (under STABLE_RUNS' keys); with `still` (the camera's motion of a static
    shot, `metrics.still_camera_motion`) also their E_warp under it and the DIS-based E_warp of a perfectly
    steady output (the stable net's first frame, repeated); with `farneback` (Farneback's flow and masks) also
    E_warp under it. `style`: a shipped style's name, or a stable model file with its NAME-per-frame beside it."""
    row, outputs, stable = {}, {}, load_model(style)
    runs = [("per-frame", load_model(per_frame_twin(style)), "per-frame", "flow")]
    runs += [(STABLE_RUNS[m], stable, "stable", m) for m in motions]
    for key, model, mode, how in runs:
        ys = stylized(frames, model, mode, how)
        if still is not None:
            outputs[key] = ys
        losses = [loss(stable.style, y) for y in ys[::style_every]]
        row[key] = {"warping_error": motion_error(ys, motion),
                    "style_loss": None if None in losses else float(np.mean(losses))}
        if farneback is not None:
            row[key]["warping_error_farneback"] = motion_error(ys, farneback)
    if still is not None:
        row["static"] = {key: motion_error(ys, still) for key, ys in outputs.items()} | {
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
              save=lambda results: None, motions: tuple[str, ...] = ("flow",)) -> dict:
    """Scores per clip, the stable net with each of `motions` ("flow" first: the default path's figures sit at
    the top of each row); `save(results so far)` runs after each clip, so a long run keeps what it finished."""
    loss, results = StyleLoss(), {}
    for name in names:
        t0 = time.perf_counter()
        if name == SYNTHETIC:
            frames, motion = synthetic_clip(max_frames or SYNTHETIC_FRAMES)
        else:
            frames = (list(read_frames(wheel_clip(HELD_OUT_CLIP), 0, max_frames)) if name == CARPHONE
                      else clip_frames(name, max_frames))
            motion = [flow_and_mask(cur, prev) for prev, cur in pairwise(frames)]  # once per clip, all styles
        # E_warp's DIS flow shares the errors of the stable path's own DIS flow (motion.py), which it therefore
        # forgives; Farneback's, another method, scores the same outputs with errors of its own.
        farneback = (None if name == SYNTHETIC
                     else [flow_and_mask(cur, prev, "farneback") for prev, cur in pairwise(frames)])
        source = motion_error(frames, motion)
        entry = {"frames": len(frames), "size": list(frames[0].shape[:2]), "source_warping_error": source,
                 "styles": {}}
        if farneback is not None:
            entry["source_warping_error_farneback"] = motion_error(frames, farneback)
        still = still_camera_motion(frames, motion) if name == STATIC_CLIP else None
        if still is not None:
            entry["static"] = {"clip": name, "frames": len(frames),
                               "still_share": float(np.mean([m.mean() for _, m in still])),
                               "source": motion_error(frames, still), "source_dis": source}
        for style in styles:
            row = clip_scores(frames, motion, style, loss, style_every, still, motions, farneback)
            for how in motions:  # the default path's figures at the top of the row, as the styles table reads them
                run = row if how == "flow" else row[STABLE_RUNS[how]]
                run |= against_per_frame(row[STABLE_RUNS[how]], row["per-frame"], source,
                                         entry.get("source_warping_error_farneback"))
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


def bounce(t: int, n: int) -> int:
    """The source frame shown at time t when n frames play forward, backward, forward...: 0..n-1, n-2..0, 1.."""
    k = t % (2 * (n - 1))
    return min(k, 2 * (n - 1) - k)


def sharpness(x: torch.Tensor) -> float:
    """Mean gradient magnitude of the luminance x 255 of a (3, H, W) frame: blur accumulating lowers it."""
    luma = torch.einsum("chw,c->hw", x.float(), torch.tensor([0.299, 0.587, 0.114]))
    dx, dy = luma[:-1, 1:] - luma[:-1, :-1], luma[1:, :-1] - luma[:-1, :-1]
    return float((dx**2 + dy**2).sqrt().mean() * 255)


def looks(x: torch.Tensor) -> dict:
    return {"sharpness": sharpness(x), "mean_rgb": [round(v * 255, 2) for v in x.float().mean((1, 2)).tolist()]}


def change(first: dict, later: dict) -> dict:
    """Relative change of sharpness and of the mean colour channel that moved most, from `looks` figures."""
    return {"sharpness_change": later["sharpness"] / first["sharpness"] - 1,
            "colour_change": max((y / x - 1 for x, y in zip(first["mean_rgb"], later["mean_rgb"])), key=abs)}


def handheld_drift(styles: list[str], motions: tuple[str, ...], picture: Path = DRIFT_PICTURE) -> dict:
    """Sharpness and mean colour of frames DRIFT_AT of the stable outputs over DRIFT_FRAMES frames of the diver
    clip played back and forth, the source's own beside them, and the picture of those frames. Frame 700 shows
    other content than frame 10, so the frame near it that shows frame 10's content again (690) is compared
    with frame 10 too: that change is drift alone."""
    frames = list(read_frames(locate(DRIFT_CLIP), turn=HELD_OUT_MOTION[DRIFT_CLIP].turn))
    a, b = DRIFT_AT
    again = 2 * (len(frames) - 1) - a  # the next frame that shows frame a's source frame
    at = (a, again, b)
    shown = {"source": {t: as_tensor(frames[bounce(t, len(frames))]) for t in at}}
    for style in styles:
        model = load_model(style)
        for how in motions:
            take: Iterator = (frames[bounce(t, len(frames))] for t in range(DRIFT_FRAMES))
            ys = stylize_frames(take, model, StylizeOptions(mode="stable", motion=how))
            shown[f"{style}, {'flow' if how == 'flow' else 'no flow'}"] = {t: y.float() for t, y in enumerate(ys)
                                                                           if t in at}
    drift_picture(shown, picture)
    result = {"clip": DRIFT_CLIP, "frames": DRIFT_FRAMES, "at": list(DRIFT_AT), "same_content": again,
              "picture": str(picture.resolve().relative_to(ROOT)), "outputs": {}}
    for label, kept in shown.items():
        figures = {t: looks(kept[t]) for t in at}
        result["outputs"][label] = ({f"frame_{t}": f for t, f in figures.items()} | change(figures[a], figures[b])
                                    | {"same_content": change(figures[a], figures[again])})
    return result


def drift_picture(shown: dict[str, dict[int, torch.Tensor]], path: Path, width: int = 320) -> None:
    """One row per output: its frames DRIFT_AT side by side, each `width` px wide, labelled in the corner."""
    from PIL import Image, ImageDraw

    rows = [torch.cat([kept[t].clamp(0, 1) for t in DRIFT_AT], -1) for kept in shown.values()]
    rows = [resize_to(r, (round(r.shape[-2] * len(DRIFT_AT) * width / r.shape[-1]), len(DRIFT_AT) * width))
            for r in rows]
    image = Image.fromarray(to_uint8(torch.cat(rows, -2)))
    draw, top = ImageDraw.Draw(image), 0
    for label, row in zip(shown, rows):
        text = f"{label}: frame {' | frame '.join(map(str, DRIFT_AT))}"
        draw.rectangle(draw.textbbox((4, top + 4), text), fill="black")
        draw.text((4, top + 4), text, fill="white")
        top += row.shape[-2]
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=85)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shipped = sorted({n.removesuffix(PER_FRAME_SUFFIX) for n in shipped_styles()})
    p.add_argument("--styles", nargs="+", default=shipped,
                   help=f"style names, or stable model files with their -per-frame twin beside them "
                        f"(default: {' '.join(shipped)})")
    p.add_argument("--clips", nargs="+", default=[*CLIPS, CARPHONE], choices=[*ALL_CLIPS, CARPHONE, SYNTHETIC, MOTION_SET],
                   help=f"default: {' '.join(CLIPS)} {CARPHONE}; {MOTION_SET}: all of footage.HELD_OUT_MOTION")
    p.add_argument("--max-frames", type=int, help="use at most this many frames of each clip (default: the "
                   "clip's own range, 48 for the held-out motion clips)")
    p.add_argument("--style-every", type=int, default=4, help="style loss on every Nth frame (VGG is slow)")
    p.add_argument("--flow-only", action="store_true", help="score the stable net only with its history warped "
                   "by flow (the default path), not also without")
    p.add_argument("--probe-only", action="store_true", help="skip the clips, run only the probes")
    p.add_argument("--no-drift", action="store_true", help="skip the two 720-frame drift probes")
    p.add_argument("--json", type=Path, help="write every figure (and the clips' provenance) here")
    p.add_argument("--keep", action="store_true", help=f"also keep them in results/{RESULTS}.json, the benchmarks table's row")
    args = p.parse_args()
    clips = list(dict.fromkeys(c for name in args.clips for c in (HELD_OUT_MOTION if name == MOTION_SET else [name])))
    motions = ("flow",) if args.flow_only else tuple(STABLE_RUNS)
    t0 = time.perf_counter()
    results: dict = {"styles": args.styles, "max_side": MAX_SIDE, "threads": torch.get_num_threads(),
                     "motions": motions, "provenance": {n: {**c.__dict__, "installed": installed_version(c.package)}
                                                        for n, c in ALL_CLIPS.items() if n in clips and not args.probe_only}}

    def save(scores: dict | None = None) -> None:  # after every stage: a slow run keeps what it finished
        if scores is not None:
            results["clips"] = scores
        results["seconds"] = time.perf_counter() - t0
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))

    if not args.probe_only:
        run_clips(clips, args.styles, args.max_frames, args.style_every, save, motions)
    results["noise_probe"] = {"from": NOISE_FROM, "frames": NOISE_FRAMES, **noise_probe(args.styles)}
    save()
    if not args.no_drift:
        results["drift_probe"] = {"frames": DRIFT_FRAMES, "at": DRIFT_AT, "styles": drift_probe(args.styles)}
        save()
        results["drift_handheld"] = handheld_drift(args.styles, motions)
        save()
    print(markdown(results))
    if args.keep:
        save_results(RESULTS, "python benchmarks/real_footage.py " + " ".join(sys.argv[1:]), results)


if __name__ == "__main__":
    main()
