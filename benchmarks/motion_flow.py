"""How good a flow the stable path needs to follow the motion (issue 32): flicker kept for each DIS preset and size.

    python benchmarks/motion_flow.py [STYLE] [--clips cockatoo waterski city]
    python benchmarks/motion_flow.py --docs   # only rewrite the table in docs/benchmarks.md

The stable network sees its history moved along a flow estimated at test time (motion.py: DIS at FLOW_PRESET on
grey frames at longer side FLOW_SIDE). Here each (preset, side) runs the style's stable network on selection
clips, 48 frames at 480 px, and the share of the per-frame network's flicker it keeps is scored three ways:
with the benchmarks' own E_warp flow (DIS medium at full size, which shares the test-time flow's errors and so
forgives them), with Farneback's (another method, whose errors are its own), and, on a synthetic selection clip
(scikit-image's chelsea under a moving camera with a sliding patch), with the exact flow. Beside each, the
milliseconds DIS takes per frame at that setting on 640x360 frames, one thread (the fastest of 11 pairs, so that
a busy machine shows what it costs on a quiet one).

Figures go to benchmarks/results/motion_flow.json, the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from itertools import pairwise

import cv2
import numpy as np
import skimage.data
import torch

import steadystyle.motion as motion
from footage import clip_frames
from readme_tables import BENCHMARKS_PAGE, docs_flag, load_results, rewrite_table, save_results
from real_footage import motion_error, stylized
from steadystyle.flow import DIS_PRESETS, flow_and_mask
from steadystyle.images import to_uint8
from steadystyle.metrics import flicker_kept
from steadystyle.models import PER_FRAME_SUFFIX, load_model
from steadystyle.training._synthetic import synthetic_sequence

RESULTS, TABLE, PAGE = "motion_flow", "motion-flow-table", BENCHMARKS_PAGE
SETTINGS = [("ultrafast", 256), ("fast", 256), ("ultrafast", 480), ("fast", 480), ("medium", 480)]
CLIPS, FRAMES, SYNTHETIC = ("cockatoo", "waterski", "city"), 48, "synthetic (chelsea)"


def synthetic_selection() -> tuple[list[np.ndarray], dict]:
    """A synthetic clip for choosing (not real_footage's held-out one: another photo and seed), exact motion."""
    photo = torch.from_numpy(skimage.data.chelsea()).permute(2, 0, 1).float() / 255
    seq = synthetic_sequence(photo, (270, 400), 32, torch.Generator().manual_seed(7), max_shift=5.0,
                             max_rotation=0.5, max_zoom=0.01)
    exact = [(f.permute(1, 2, 0).numpy(), m[0].numpy()) for f, m in zip(seq.flows, seq.masks)]
    return [to_uint8(f) for f in seq.frames], {"exact": exact}


def real(clip: str) -> tuple[list[np.ndarray], dict]:
    frames = clip_frames(clip, FRAMES)
    return frames, {m: [flow_and_mask(c, p, m) for p, c in pairwise(frames)] for m in ("dis", "farneback")}


def dis_ms(preset: str, side: int, frames: list[np.ndarray]) -> float:
    """Milliseconds of one DIS flow at this setting, on grey frames shrunk from 640x360 to longer side `side`."""
    size = (side, round(side * 360 / 640))
    greys = [cv2.resize(cv2.cvtColor(cv2.resize(f, (640, 360)), cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
             for f in frames]
    dis, times = cv2.DISOpticalFlow_create(DIS_PRESETS[preset]), []
    for a, b in pairwise(greys):
        t0 = time.perf_counter()
        dis.calc(b, a, None)
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)  # the fastest of the pairs: what the flow costs when nothing else runs


def scores(style: str, frames: list[np.ndarray], metrics: dict) -> dict:
    """Flicker kept per setting and metric flow."""
    stable, per_frame = load_model(style), load_model(style + PER_FRAME_SUFFIX)
    ys = stylized(frames, per_frame, "per-frame")
    base = {m: (motion_error(frames, mo), motion_error(ys, mo)) for m, mo in metrics.items()}
    rows, kept = {}, (motion.FLOW_PRESET, motion.FLOW_SIDE)
    try:
        for preset, side in SETTINGS:
            motion.FLOW_PRESET, motion.FLOW_SIDE = preset, side
            ys = stylized(frames, stable, "stable")
            rows[f"{preset} {side}"] = {m: flicker_kept(motion_error(ys, mo), base[m][1], base[m][0])
                                        for m, mo in metrics.items()}
    finally:
        motion.FLOW_PRESET, motion.FLOW_SIDE = kept
    return rows


def table_body() -> str:
    r = load_results(RESULTS)
    clips = list(r["clips"])
    lines = ["| flow at test time | ms/frame | " + " | ".join(clips) + " |", "| --- | ---: |" + " ---: |" * len(clips)]
    for setting, ms in r["ms"].items():
        cells = [" / ".join(f"{v:.0%}" for v in r["clips"][c][setting].values()) for c in clips]
        lines.append(f"| DIS {setting} px | {ms:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("style", nargs="?", default="starry_night")
    p.add_argument("--clips", nargs="+", default=list(CLIPS))
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if args.docs:
        rewrite_table(PAGE, TABLE, table_body())
        return
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    results = {}
    for clip in [SYNTHETIC, *args.clips]:
        frames, metrics = synthetic_selection() if clip == SYNTHETIC else real(clip)
        results[clip] = scores(args.style, frames, metrics)
        for setting, row in results[clip].items():
            print(f"{clip:20} DIS {setting:14} " + "  ".join(f"{m} {v:6.1%}" for m, v in row.items()), flush=True)
    frames = clip_frames(args.clips[0], 12)
    ms = {f"{p} {s}": dis_ms(p, s, frames) for p, s in SETTINGS}
    command = " ".join(["python benchmarks/motion_flow.py", args.style, "--clips", *args.clips])
    print(f"figures in {save_results(RESULTS, command, {'style': args.style, 'ms': ms, 'clips': results})}; "
          "`--docs` puts them in the docs")


if __name__ == "__main__":
    main()
