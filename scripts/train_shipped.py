"""Retrain the shipped styles, both networks, on the shared training photos: hours of work, run in the background.

    python scripts/train_shipped.py [STYLE ...] [--out DIR] [--jobs 2] [--image-steps N] [--video-steps N]
                                    [--content-weight W] [--temporal-weight W] [--deep-steps N]

Each style is one `steadystyle train style` run on ../shared/data/content-train (1147 photos and frames,
training only: they never ship and no figure is measured on them), one thread per run, `--jobs` runs at once.
Its models and work folder go to DIR (default ../shipped-training beside the project); running the same
command again continues every unfinished run from its last checkpoint, so it survives a closed session.
A finished style is installed by copying DIR/STYLE*.safetensors into src/steadystyle/styles/ and
regenerating its card (`python benchmarks/evaluate_styles.py STYLE --cards`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT.parent / "shared" / "data" / "content-train"
STYLES = ("starry_night", "composition_vii", "the_scream", "udnie", "wave")


def command(style: str, out: Path, args: argparse.Namespace) -> list[str]:
    """The `train style` command line of one style."""
    cmd = [sys.executable, "-m", "steadystyle", "train", "style", "--painting", style,
           "-o", str(out / f"{style}.safetensors"), "--content", str(CONTENT), "--clips", "builtin",
           "-q"]
    for flag, value in (("--image-steps", args.image_steps), ("--video-steps", args.video_steps)):
        cmd += [flag, str(value)] if value else []
    cmd += ["--temporal-weight", str(args.temporal_weight)] if args.temporal_weight else []
    cmd += ["--deep-steps", str(args.deep_steps)] if args.deep_steps is not None else []
    return cmd + (["--content-weight", str(args.content_weight)] if args.content_weight else [])


def run(style: str, out: Path, args: argparse.Namespace) -> int:
    """One style's run, its output in DIR/STYLE.log; the exit code."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with open(out / f"{style}.log", "a") as log:
        return subprocess.run(command(style, out, args), stdout=log, stderr=subprocess.STDOUT, env=env).returncode


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("styles", nargs="*", default=list(STYLES), metavar="STYLE")
    p.add_argument("--out", type=Path, default=ROOT.parent / "shipped-training")
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each (default: %(default)s)")
    p.add_argument("--image-steps", type=int, help="stage 1 (default: train style's)")
    p.add_argument("--video-steps", type=int, help="stage 2 (default: train style's)")
    p.add_argument("--temporal-weight", type=float, help="stage 2 (default: the painting's suggestion)")
    p.add_argument("--content-weight", type=float, help="both stages (default: train style's)")
    p.add_argument("--deep-steps", type=int, help="stage 1's first steps with relu4_3 (default: train style's)")
    args = p.parse_args()
    if not CONTENT.is_dir():
        raise SystemExit(f"{CONTENT} is missing: this script needs ../shared/data beside the project")
    args.out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        codes = dict(zip(args.styles, pool.map(lambda s: run(s, args.out, args), args.styles)))
    for style, code in codes.items():
        log = args.out / f"{style}.log"
        print(f"{style}: done" if code == 0 else f"{style}: stopped (exit {code}); see {log}")
    raise SystemExit(1 if any(codes.values()) else 0)  # a killed run's code is negative


if __name__ == "__main__":
    main()
