"""A long video killed midway and resumed gives the file an uninterrupted run gives (#13).

    python benchmarks/resume_long.py                       # a 10-minute 720p clip, killed at ~40%
    python benchmarks/resume_long.py --minutes 1 --work /tmp/r   # a quick rehearsal

Makes a clip with sound (bench_video.make_clip: real frames at 24 fps), stylizes it once without
interruption, then again with SIGKILL (no chance to clean up) once its checkpoint holds `--kill-at` of the
frames, resumes that with `--resume`, and compares the two files: frame count, every timestamp, the
largest pixel difference, and `steadystyle evaluate`'s E_warp and content loss. The runs' peak memory,
beside bench_video.py's on 10 s, shows whether memory grows with the length of the video. Takes about
as long as three runs of the clip plus the evaluation; everything stays in `--work`, so an interrupted
benchmark can be looked into, and `--compare-only` redoes just the comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench_video import make_clip, timed
from readme_tables import save_results
from steadystyle.video import CHECKPOINT, open_video, probe, read_checkpoint, work_folder

STYLIZE = [sys.executable, "-m", "steadystyle", "stylize"]
RESULTS = "resume_long"
RUN = "run.json"  # in --work: the runs' times and memory, for a later --compare-only


def stylize(clip: Path, out: Path, style: str, *extra: str) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of one run."""
    return timed([*STYLIZE, str(clip), "-s", style, "-o", str(out), "-q", *extra])


def killed_at(clip: Path, out: Path, style: str, frames: int, every: float) -> int:
    """Start stylizing afresh and SIGKILL the process once its checkpoint holds at least `frames` frames.

    Counting checkpointed frames, not seconds, puts the kill at the same place however busy the machine is.
    Returns the frames the checkpoint held at the kill.
    """
    shutil.rmtree(work_folder(out), ignore_errors=True)  # an older job's checkpoint must not trigger the kill
    process = subprocess.Popen([*STYLIZE, str(clip), "-s", style, "-o", str(out), "-q", "--restart",
                                "--checkpoint-every", str(every)])
    checkpoint = work_folder(out) / CHECKPOINT
    while process.poll() is None:
        saved = read_checkpoint(checkpoint)
        if saved is not None and saved["frames"] >= frames:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return saved["frames"]
        time.sleep(0.5)
    raise SystemExit(f"the run ended (exit {process.returncode}) before {frames} frames were checkpointed")


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


def run(clip: Path, whole: Path, resumed: Path, args: argparse.Namespace) -> dict:
    """The uninterrupted run, the killed one and its resumption, with their times and peak memory."""
    for path in (whole, resumed):
        path.unlink(missing_ok=True)
    seconds, whole_peak = stylize(clip, whole, args.style, "--restart")
    print(f"uninterrupted: {seconds:.0f} s, peak memory {whole_peak:.0f} MB", flush=True)
    total = probe(clip).frame_count or sum(1 for _ in open_video(whole))
    done = killed_at(clip, resumed, args.style, round(args.kill_at * total), args.checkpoint_every)
    print(f"killed with SIGKILL with {done} of {total} frames checkpointed; {resumed} exists: {resumed.exists()}",
          flush=True)
    more, peak = stylize(clip, resumed, args.style, "--resume")
    print(f"resumed: {more:.0f} s more, peak memory {peak:.0f} MB", flush=True)
    return {"frames": total, "killed_at": done, "whole": {"seconds": seconds, "peak_mb": whole_peak},
            "resumed": {"seconds": more, "peak_mb": peak}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--size", default="1280x720", help="WxH (default: %(default)s)")
    p.add_argument("--style", default="starry_night")
    p.add_argument("--kill-at", type=float, default=0.4, help="share of the frames checkpointed at the kill")
    p.add_argument("--checkpoint-every", type=float, default=10.0, help="seconds, for the killed run")
    p.add_argument("--compare-only", action="store_true",
                   help="compare WORK/whole.mp4 and WORK/resumed.mp4 from an earlier run without making them again")
    p.add_argument("--work", type=Path, default=Path("resume-long"), help="folder for the clip and the videos")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    w, h = map(int, args.size.split("x"))
    clip = args.work / f"clip-{args.minutes:g}min-{args.size}.mp4"
    if not clip.exists():
        make_clip(clip, w, h, 60 * args.minutes)
    whole, resumed = args.work / "whole.mp4", args.work / "resumed.mp4"
    if not args.compare_only:
        (args.work / RUN).write_text(json.dumps(run(clip, whole, resumed, args)))
    runs = json.loads((args.work / RUN).read_text()) if (args.work / RUN).is_file() else None
    same = compare(whole, resumed)
    print(json.dumps({"comparison": same}), flush=True)
    scores = evaluate(clip, whole, resumed)
    print(json.dumps({"evaluate": scores}, indent=1))
    e_whole, e_resumed = (m["warping_error"] for m in scores["methods"])
    print(f"\nframes {' and '.join(map(str, same['frames']))}, timestamps identical: {same['same_timestamps']}, "
          f"largest pixel difference {same['max_pixel_difference']}/255; E_warp {e_whole:.6f} vs {e_resumed:.6f} "
          f"({100 * (e_resumed / e_whole - 1):+.2f}%)")
    save_results(RESULTS, f"python benchmarks/resume_long.py --minutes {args.minutes:g} --size {args.size}",
                 {"minutes": args.minutes, "size": args.size, "runs": runs, "comparison": same,
                  "warping_error": {"whole": e_whole, "resumed": e_resumed}})


def table_cell(results: dict) -> str:
    same, e = results["comparison"], results["warping_error"]
    cell = (f"{results['minutes']:g} minutes of {results['size']}: {' and '.join(map(str, same['frames']))} frames, "
            f"timestamps {'identical' if same['same_timestamps'] else 'different'}, mean pixel difference "
            f"{same['mean_pixel_difference']:.2f}/255 (encoder noise), E_warp resumed / whole "
            f"{e['resumed'] / e['whole']:.4f}")
    if results["runs"]:
        runs = results["runs"]
        cell += (f"; killed with {runs['killed_at']} of {runs['frames']} frames checkpointed; peak memory "
                 f"{runs['whole']['peak_mb']:.0f} MB whole and {runs['resumed']['peak_mb']:.0f} MB resumed")
    return cell


if __name__ == "__main__":
    main()
