"""Where the stable networks' flicker under motion comes from, and how much they use their history (issue 32).

    python benchmarks/motion_sources.py [STYLE ...] [--clips city cockatoo] [--frames 32]
    python benchmarks/motion_sources.py --docs   # only rewrite the table in docs/benchmarks.md

On selection clips with camera motion (city: a night pan; cockatoo: hand-held; both informed earlier choices,
so no held-out clip is spent), each stable network runs with its history (previous frame and output) moved
along DIS flow before the network and the hold see it, as `stylize` moves it (the network as trained, in fp32;
the per-frame baseline through `stylize_frames`). Per clip and style it prints:

- kept: the share of the per-frame network's flicker the stable one keeps (metrics.flicker_kept);
- edges, borders: the share of the stable output's warping error (E_warp's masked squared differences) on
  the 20% of pixels with the strongest edges in the source, and within 8 px of where the flow's consistency
  mask fails (occlusions, new content), each beside its share of the pixels;
- repainted: the share of the warping error on pixels where the network takes less than half of its history
  (the gate after the hold), beside that share of the pixels;
- keep: the mean share of the history taken, under motion and on the clip's first frame repeated with a
  camera's noise (std 0.01) for contrast;
- use: how much of a change to the history reaches the output (noise of std 0.05 added to the moved previous
  output; 1: copied through, 0: ignored).

Figures go to benchmarks/results/motion_sources.json, the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
from itertools import pairwise

import cv2
import numpy as np
import torch

from footage import ALL_CLIPS, locate, read_frames
from readme_tables import BENCHMARKS_PAGE, docs_flag, load_results, rewrite_table, save_results
from steadystyle import StylizeOptions, load_model, stylize_frames
from steadystyle.flow import flow_and_mask, warp_numpy
from steadystyle.metrics import flicker_kept, warping_error
from steadystyle.models import PER_FRAME_SUFFIX, shipped_styles
from steadystyle.motion import Lookup, grey, warp_frame, warp_kept
from steadystyle.networks import Previous, TransformNet
from steadystyle.stylize import as_tensor

RESULTS, TABLE, PAGE = "motion_sources", "motion-sources-table", BENCHMARKS_PAGE
CLIPS = ("city", "cockatoo")
EDGE_SHARE, BORDER_PX, NOISE_STD, PROBE_STD = 0.2, 8, 0.01, 0.05


@torch.no_grad()
def run_stable(net: TransformNet, frames: list[torch.Tensor], seed: int = 0) -> tuple[list, list, list]:
    """The outputs, the share of history kept at each pixel (frames 1..) and the history use (frames 1..)."""
    rng = torch.Generator().manual_seed(seed)
    ys, keeps, uses, previous, seen = [], [], [], None, None
    for x in frames:
        xin, now = x[None], grey(x)
        if previous is None:
            y = net(xin).clamp(0, 1)
        else:
            lookup = Lookup.between(now, seen, *x.shape[-2:])
            history = Previous(warp_frame(previous.frame, lookup), warp_kept(previous.output, lookup))
            y = net(xin, history).clamp(0, 1)
            keeps.append(net.proposal(xin, history.frame, history.output)[1][0, 0])
            nudged = (history.output + PROBE_STD * torch.randn(history.output.shape, generator=rng)).clamp(0, 1)
            moved = (net(xin, Previous(history.frame, nudged)).clamp(0, 1) - y).abs().mean()
            uses.append(float(moved / (nudged - history.output).abs().mean()))
        previous, seen = Previous(xin, y), now
        ys.append(y[0])
    return ys, keeps, uses


def hwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(1, 2, 0).numpy()


def error_shares(source: list[torch.Tensor], ys: list[torch.Tensor], keeps: list[torch.Tensor]) -> dict:
    """Where the stable output's warping error lies: edges, occlusion borders, repainted pixels."""
    names = ("edges", "borders", "repainted", "all")
    totals, areas = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    for (x0, x1), (y0, y1), keep in zip(pairwise(source), pairwise(ys), keeps):
        flow, mask = flow_and_mask(hwc(x1), hwc(x0))
        error = mask * ((hwc(y1) - warp_numpy(hwc(y0), flow)) ** 2).sum(-1)
        g = cv2.cvtColor(hwc(x1), cv2.COLOR_RGB2GRAY)
        edge = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
        holes = (mask < 0.5).astype(np.uint8)
        near = cv2.dilate(holes, np.ones((2 * BORDER_PX + 1,) * 2, np.uint8)).astype(bool) & ~holes.astype(bool)
        regions = {"edges": edge >= np.quantile(edge, 1 - EDGE_SHARE), "borders": near,
                   "repainted": keep.numpy() < 0.5, "all": np.ones_like(near)}
        for name, region in regions.items():
            totals[name] += float(error[region].sum())
            areas[name] += float(region.mean())
    n = len(keeps)
    return {name: {"error": totals[name] / totals["all"], "pixels": areas[name] / n}
            for name in totals if name != "all"}


def style_row(style: str, source: list[torch.Tensor]) -> dict:
    """One style on one clip: flicker kept, where the error lies, how much history is taken and used."""
    stable, per_frame = load_model(style), load_model(style + PER_FRAME_SUFFIX)
    net = stable.net.float().eval()
    ys, keeps, uses = run_stable(net, source)
    noise = torch.Generator().manual_seed(1)
    still_frames = [(source[0] + NOISE_STD * torch.randn(source[0].shape, generator=noise)).clamp(0, 1)
                    for _ in range(8)]
    _, still_keeps, _ = run_stable(net, still_frames)
    per_frame_ys = list(stylize_frames(source, per_frame, StylizeOptions(precision="fp32")))
    errors = {name: warping_error([hwc(y) for y in outputs], [hwc(x) for x in source]).mean
              for name, outputs in (("stable", ys), ("per-frame", per_frame_ys), ("source", source))}
    return {"kept": flicker_kept(errors["stable"], errors["per-frame"], errors["source"]),
            **error_shares(source, ys, keeps),
            "keep": float(torch.stack(keeps).mean()), "keep_still": float(torch.stack(still_keeps).mean()),
            "use": float(np.mean(uses))}


def table_body() -> str:
    """The docs table from results/motion_sources.json: error share / pixel share per region."""
    results = load_results(RESULTS)
    lines = ["| clip | style | flicker kept | edges | occlusion borders | repainted | history taken (motion / still) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for clip, styles in results["clips"].items():
        for style, row in styles.items():
            shares = " | ".join(f"{row[k]['error']:.0%} / {row[k]['pixels']:.0%}" for k in
                                ("edges", "borders", "repainted"))
            lines.append(f"| {clip} | {style} | {row['kept']:.0%} | {shares} | {row['keep']:.2f} / "
                         f"{row['keep_still']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("styles", nargs="*", metavar="STYLE")
    p.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(ALL_CLIPS))
    p.add_argument("--frames", type=int, default=32)
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if args.docs:
        rewrite_table(PAGE, TABLE, table_body())
        return
    torch.set_grad_enabled(False)
    styles = args.styles or [s for s in shipped_styles() if not s.endswith(PER_FRAME_SUFFIX)]
    results: dict[str, dict] = {}
    print(f"{'clip':10} {'style':16} {'kept':>5} {'edges':>11} {'borders':>11} {'repainted':>11} "
          f"{'keep':>5} {'still':>5} {'use':>5}   (error share / pixel share)")
    for clip in args.clips:
        source = [as_tensor(f) for f in read_frames(locate(clip), ALL_CLIPS[clip].first, args.frames)]
        for style in styles:
            row = results.setdefault(clip, {})[style] = style_row(style, source)
            shares = " ".join(f"{row[k]['error']:5.0%}/{row[k]['pixels']:<4.0%}" for k in
                              ("edges", "borders", "repainted"))
            print(f"{clip:10} {style:16} {row['kept']:5.0%} {shares} {row['keep']:5.2f} {row['keep_still']:5.2f} "
                  f"{row['use']:5.2f}", flush=True)
    command = " ".join(["python benchmarks/motion_sources.py", *args.styles, "--clips", *args.clips,
                        "--frames", str(args.frames)])
    print(f"figures in {save_results(RESULTS, command, {'frames': args.frames, 'clips': results})}; "
          "`--docs` puts them in the docs")


if __name__ == "__main__":
    main()
