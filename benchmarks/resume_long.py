"""A long video killed midway and resumed gives the file an uninterrupted run gives (#13).

    python benchmarks/resume_long.py                       # a 10-minute 720p clip, killed at ~40%
    python benchmarks/resume_long.py --minutes 1 --work /tmp/r   # a quick rehearsal

Makes a clip with sound (bench_video.make_clip: real frames at 24 fps), stylizes it once without
interruption, then again with SIGKILL (no chance to clean up) at about `--kill-at` of the first run's
time, resumes that with `--resume`, and compares the two files: frame count, every timestamp, the
largest pixel difference, and `steadystyle evaluate`'s E_warp and content loss. The runs' peak memory,
beside bench_video.py's on 10 s, shows whether memory grows with the length of the video. Takes about
as long as three runs of the clip; everything stays in `--work`, so an interrupted benchmark can be
looked into.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench_video import make_clip, timed
from steadystyle.resume import CHECKPOINT, read_checkpoint, work_folder
from steadystyle.video import open_video

STYLIZE = [sys.executable, "-m", "steadystyle", "stylize"]


def stylize(clip: Path, out: Path, style: str, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of one run."""
    return timed([*STYLIZE, str(clip), "-s", style, "-o", str(out), "-q", *extra])


def killed_at(clip: Path, out: Path, style: str, seconds: float) -> None:
    """Start stylizing and SIGKILL the process after `seconds`."""
    process = subprocess.Popen([*STYLIZE, str(clip), "-s", style, "-o", str(out), "-q"])
    try:
        process.wait(timeout=seconds)
        raise SystemExit(f"the run finished before the kill at {seconds:.0f} s; use a longer clip")
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def compare(a: Path, b: Path) -> dict:
    """Frame counts, timestamps and the largest pixel difference of two videos, streamed side by side."""
    frames, same_times, worst, total = 0, True, 0, 0.0
    for x, y in zip(open_video(a), open_video(b)):
        frames += 1
        same_times &= x.time == y.time
        diff = np.abs(x.image.astype(np.int16) - y.image)
        worst, total = max(worst, int(diff.max())), total + float(diff.mean())
    counts = [sum(1 for _ in open_video(path)) for path in (a, b)]
    return {"frames": counts, "same_timestamps": same_times and counts[0] == counts[1],
            "max_pixel_difference": worst, "mean_pixel_difference": total / max(frames, 1)}


def evaluate(source: Path, *videos: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "steadystyle", "evaluate", str(source), *map(str, videos), "--json",
                          "-q"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--size", default="1280x720", help="WxH (default: %(default)s)")
    p.add_argument("--style", default="starry_night")
    p.add_argument("--kill-at", type=float, default=0.4, help="share of the uninterrupted run's time")
    p.add_argument("--work", type=Path, default=Path("resume-long"), help="folder for the clip and the videos")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    w, h = map(int, args.size.split("x"))
    clip = args.work / f"clip-{args.minutes:g}min-{args.size}.mp4"
    if not clip.exists():
        make_clip(clip, w, h, 60 * args.minutes)
    whole, resumed = args.work / "whole.mp4", args.work / "resumed.mp4"
    for path in (whole, resumed):
        path.unlink(missing_ok=True)
    seconds, peak = stylize(clip, whole, args.style)
    print(f"uninterrupted: {seconds:.0f} s, peak memory {peak:.0f} MB", flush=True)
    killed_at(clip, resumed, args.style, args.kill_at * seconds)
    saved = read_checkpoint(work_folder(resumed) / CHECKPOINT)
    if saved is None:
        raise SystemExit("the kill came before the first checkpoint, so there is nothing to resume: raise --kill-at")
    done = saved["frames"]
    print(f"killed with SIGKILL after {args.kill_at * seconds:.0f} s, {done} frames checkpointed; {resumed} exists: "
          f"{resumed.exists()}", flush=True)
    more, peak = stylize(clip, resumed, args.style, "--resume")
    print(f"resumed: {more:.0f} s more, peak memory {peak:.0f} MB", flush=True)
    same = compare(whole, resumed)
    scores = evaluate(clip, whole, resumed)
    print(json.dumps({"comparison": same, "evaluate": scores}, indent=1))
    e_whole, e_resumed = (m["warping_error"] for m in scores["methods"])
    print(f"\nframes {' and '.join(map(str, same['frames']))}, timestamps identical: {same['same_timestamps']}, "
          f"largest pixel difference {same['max_pixel_difference']}/255; E_warp {e_whole:.6f} vs {e_resumed:.6f} "
          f"({100 * (e_resumed / e_whole - 1):+.2f}%)")


if __name__ == "__main__":
    main()
