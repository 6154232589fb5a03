"""Speed of the two networks a user can train, "fast" (the default) and "full" (Johnson et al.'s), on this machine;
and fast without its 9x9 head (what the head costs).

    python benchmarks/bench_arch.py         # measures, keeps results/arch_speed.json, rewrites the docs table
    python benchmarks/bench_arch.py --docs  # only rewrites the table in docs/benchmarks.md from that file

For each: the stable (recurrent) network's frame rate at 640x360 and 1280x720 on the default stylize
path (no flags: bf16 where the CPU has it), and the seconds of a stage-1 and a stage-2 training step
with the default configs. Weights are freshly initialised: the speed of a network does not depend on
them. All are measured in one run, so their ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from bench_image import timed
from readme_tables import BENCHMARKS_PAGE, docs_flag, load_results, rewrite_table, save_results
from steadystyle.models import Model, save_model
from steadystyle.networks import FAST, PRESETS, Arch, TransformNet, holding
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.training import ImageTrainer, TrainConfig, VideoTrainConfig, VideoTrainer

ARCHS = ("fast", "full")
NO_HEAD = "fast without head"  # the fast layout with head=0 (what the head costs)
RESULTS, TABLE, PAGE = "arch_speed", "arch-table", BENCHMARKS_PAGE  # results/arch_speed.json, the page's markers


def stylize_fps(arch: Arch, width: int, height: int, frames: int) -> float:
    """Stable mode: every frame after the first goes through the recurrent path, as in a video."""
    model = Model(TransformNet(holding(replace(arch, recurrent=True))).eval(), arch.layout)
    clip = [torch.rand(3, height, width) for _ in range(frames)]
    list(stylize_frames(clip[:2], model, StylizeOptions()))
    return frames / timed(lambda: list(stylize_frames(clip, model, StylizeOptions())), 3)


def step_seconds(name: str, arch: Arch, steps: int, tmp: Path) -> tuple[float, float]:
    """Stage 1 from a fresh network of `arch`, then stage 2 from a per-frame network of the same architecture."""
    style = str(painting_path("starry_night"))
    fresh = save_model(TransformNet(arch), tmp / f"{name}-fresh.safetensors", name)  # training starts in its architecture
    image = ImageTrainer(TrainConfig(style=style, start=str(fresh)), tmp / f"{name}-image.safetensors",
                         work_dir=tmp / f"{name}-image", progress=False)
    image.train_step()
    first = timed(image.train_step, steps)
    init = save_model(image.net, tmp / f"{name}-per-frame.safetensors", name)
    video = VideoTrainer(VideoTrainConfig(style=style, init=str(init), temporal_weight=3e8),
                         tmp / f"{name}.safetensors", work_dir=tmp / f"{name}-video", progress=False)
    video.train_step()
    return first, timed(video.train_step, steps)


def table(rows: dict[str, dict[str, float]]) -> str:
    """Markdown: each figure for every network, and how many times slower `full` is than `fast`."""
    lines = [f"| figure | fast | full | full is | {NO_HEAD} |", "| --- | --- | --- | --- | --- |"]
    for key, fast in rows["fast"].items():
        full = rows["full"][key]
        slower = fast / full if key.startswith("stable") else full / fast
        lines.append(f"| {key} | {fast:.2f} | {full:.2f} | {slower:.1f}x slower | {rows[NO_HEAD][key]:.2f} |")
    return "\n".join(lines)


def table_body() -> str:
    saved = load_results(RESULTS)
    return f"{table(saved['rows'])}\n\nMeasured {saved['date']} with `{saved['command']}` on {saved['cpus']} CPU cores."


def write_table() -> None:
    rewrite_table(PAGE, TABLE, table_body())


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    torch.set_num_threads(2)
    networks = {arch: PRESETS[arch] for arch in ARCHS} | {NO_HEAD: replace(FAST, head=0)}
    rows: dict[str, dict[str, float]] = {name: {} for name in networks}
    for name, arch in networks.items():
        for size in args.sizes:
            rows[name][f"stable network frames/s, {size}"] = stylize_fps(arch, *map(int, size.split("x")), args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        for name, arch in networks.items():
            rows[name]["stage-1 step s"], rows[name]["stage-2 step s"] = step_seconds(name, arch, args.steps, Path(tmp))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"], help="frame sizes WxH")
    p.add_argument("--frames", type=int, default=20, help="frames per stylize timing")
    p.add_argument("--steps", type=int, default=5, help="training steps per timing")
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if not args.docs:
        rows = measure(args)
        print(table(rows))
        save_results(RESULTS, "python benchmarks/bench_arch.py", {"rows": rows})
    write_table()


if __name__ == "__main__":
    main()
