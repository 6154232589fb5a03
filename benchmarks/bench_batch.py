"""Long films and many videos: one process against `--workers 2` and a local 2-CPU Ray cluster, in one run.

    python benchmarks/bench_batch.py            # measure, keep results/batch.json, rewrite the docs table
    python benchmarks/bench_batch.py --docs     # only rewrite the table in docs/benchmarks.md

Two workloads of real footage at 640x360 (the selection clips of footage.py: a night pan, a hand-held bird, a
living room, people on a road; `bash benchmarks/install_footage.sh`): the four clips cut together into one
four-shot video, and the same four as a batch of files. Each way is a whole `steadystyle stylize` command,
timed from start to finished files: frames/s, and the peak memory (VmHWM) of each worker process. On 2 cores
the gain is bounded (one process already uses both for its network), so the script also times each shot
alone on one core and says what N single-core workers would take for the four-shot video (the longest
schedule of its pieces over N workers, plus the measured planning and joining).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av

from footage import clip_frames
from readme_tables import BENCHMARKS_PAGE, docs_flag, load_results, rewrite_table, save_results

RESULTS, TABLE, PAGE = "batch", "batch-table", BENCHMARKS_PAGE
CLIPS = ("city", "cockatoo", "box", "vtest")
FRAMES, SIZE, STYLE, PORT = 100, (640, 360), "udnie", 6392  # at most FRAMES of each clip
# What the command line of a worker holds (one process: its own output path, filled in per run)
MARKERS = {"one process": "", "--workers 2": "spawn_main", "--ray (2 CPUs)": "_PieceMaker"}  # (run nothing else)


def write_video(path: Path, shots: list[list]) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"preset": "veryfast", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for i, image in enumerate(image for shot in shots for image in shot):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(*SIZE)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


class PeakMemory:
    """The largest VmHWM (peak resident memory) seen of any process whose command line holds `marker`."""

    def __init__(self, marker: str) -> None:
        self.marker, self.peak, self._stop = marker, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if self.marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                        status = Path(f"/proc/{pid}/status").read_text()
                        self.peak = max(self.peak, int(status.split("VmHWM:")[1].split()[0]) * 1024)
                except (OSError, IndexError, ValueError):
                    continue

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()


def timed(command: list[str], marker: str) -> tuple[float, float]:
    """Seconds, and the peak MB of the largest process whose command line holds `marker`."""
    t0 = time.perf_counter()
    with PeakMemory(marker) as peak:
        done = subprocess.run([*command, "-q"], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - t0, peak.peak / 2**20


@contextlib.contextmanager
def ray_cluster() -> Iterator[None]:
    """A local 2-CPU Ray cluster at normal priority, only while the Ray rows are measured."""
    env = dict(os.environ, RAY_worker_niceness="0")
    ray_command = [sys.executable, "-m", "ray.scripts.scripts"]  # the `ray` command, wherever pip put it
    subprocess.run([*ray_command, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(PORT),
                    "--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats"], check=True,
                   capture_output=True, env=env)
    try:
        yield
    finally:
        subprocess.run([*ray_command, "stop", "--force"], capture_output=True)


def makespan(pieces: list[float], workers: int) -> float:
    """The longest worker's total when pieces go, longest first, to the least busy worker."""
    loads = [0.0] * workers
    for t in sorted(pieces, reverse=True):
        loads[loads.index(min(loads))] += t
    return max(loads)


def measure(folder: Path) -> dict:
    shots = [clip_frames(name, FRAMES) for name in CLIPS]
    film = write_video(folder / "film.mp4", shots)
    batch = [write_video(folder / f"{name}.mp4", [shot]) for name, shot in zip(CLIPS, shots)]
    frames = sum(map(len, shots))
    base = [sys.executable, "-m", "steadystyle", "stylize"]
    ways = {"one process": [], "--workers 2": ["--workers", "2"], "--ray (2 CPUs)": ["--ray", f"127.0.0.1:{PORT}"]}
    rows = []
    for workload, inputs, out in (("four-shot video", [film], folder / "film-out.mp4"),
                                  ("batch of 4 clips", batch, folder / "batch-out")):
        for way, flags in ways.items():
            with ray_cluster() if way.startswith("--ray") else contextlib.nullcontext():
                seconds, peak = timed([*base, *map(str, inputs), "-s", STYLE, "-o", str(out), "--restart", *flags],
                                      MARKERS[way] or str(out))
            rows.append({"workload": workload, "way": way, "frames": frames, "seconds": seconds,
                         "fps": frames / seconds, "peak_mb": peak})
            print(f"{workload}, {way}: {frames / seconds:.1f} frames/s, {seconds:.1f} s, peak {peak:.0f} MB "
                  "per worker", flush=True)
    one_core = dict(os.environ, OMP_NUM_THREADS="1")
    shot_seconds = []
    for i, clip in enumerate(batch):
        t0 = time.perf_counter()
        subprocess.run([*base, str(clip), "-s", STYLE, "-o", str(folder / f"shot{i}.mp4"), "-q"], check=True,
                       env=one_core)
        shot_seconds.append(time.perf_counter() - t0)
    one = next(r["seconds"] for r in rows if r["way"] == "--workers 2" and r["workload"] == "four-shot video")
    overhead = max(0.0, one - makespan(shot_seconds, 2))  # planning, joining, process starts
    scaling = {n: sum(shot_seconds) / (makespan(shot_seconds, n) + overhead) for n in (2, 4, 8)}
    return {"rows": rows, "shot_seconds_one_core": shot_seconds, "overhead_seconds": overhead, "speedup": scaling}


def table_body() -> str:
    saved = load_results(RESULTS)
    lines = ["| workload | way | frames/s | seconds | peak memory per worker |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['workload']} | {r['way']} | {r['fps']:.1f} | {r['seconds']:.1f} | {r['peak_mb']:.0f} MB |"
              for r in saved["rows"]]
    shots = ", ".join(f"{s:.1f}" for s in saved["shot_seconds_one_core"])
    speedup = ", ".join(f"{n} workers {x:.1f}x" for n, x in saved["speedup"].items())
    return "\n".join(lines) + (
        f"\n\n{len(CLIPS)} clips of {saved['rows'][0]['frames'] // len(CLIPS)} frames at {SIZE[0]}x{SIZE[1]}, style "
        f"{STYLE}, stable mode. Each shot "
        f"alone on one core took {shots} s; with {saved['overhead_seconds']:.1f} s of planning, joining and "
        f"starting processes, single-core workers would make the four-shot video at: {speedup} (against one core). "
        f"Measured {saved['date']} with `{saved['command']}` on {saved['cpus']} CPU cores.")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if not args.docs:
        with tempfile.TemporaryDirectory(prefix="steadystyle-batch-") as tmp:
            save_results(RESULTS, "python benchmarks/bench_batch.py", measure(Path(tmp)))
    rewrite_table(PAGE, TABLE, table_body())
    print(table_body())


if __name__ == "__main__":
    main()
