"""Speed of the image pipeline on this machine: training step, stylize FPS, Gatys optimisation.

    python benchmarks/bench_image.py            # all three
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python benchmarks/bench_image.py

Prints one table and keeps it in results/image_speed.json; figures are medians of a few repetitions
after warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from readme_tables import save_results
from steadystyle.images import load_rgb, resize_max_side
from steadystyle.losses import LossWeights
from steadystyle.models import Model
from steadystyle.networks import PRESETS, TransformNet
from steadystyle.optimize import OptimizeSettings, optimize_image
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.training import ImageTrainer, TrainConfig
from steadystyle.vgg import cached_weights

RESULTS = "image_speed"


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_training(style: Path, steps: int) -> dict[str, float]:
    import skimage.data

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("astronaut", "coffee", "chelsea", "rocket"):
            Image.fromarray(getattr(skimage.data, name)()).save(Path(tmp) / f"{name}.jpg")
        config = TrainConfig(style=str(style), content=tmp)
        trainer = ImageTrainer(config, Path(tmp) / "m.safetensors", progress=False)
        trainer.train_step()
        sec = timed(trainer.train_step, steps)
        return {f"train step ({config.arch}, {config.size}px, batch {config.batch}, bf16) ms": sec * 1000,
                "train steps per hour": 3600 / sec}


def bench_stylize(width: int, height: int, frames: int) -> dict[str, float]:
    """Network-only frame rate; with torch.compile the first (compiling) call is timed apart."""
    out = {}
    x = torch.rand(3, height, width)
    for name, arch in PRESETS.items():
        model = Model(TransformNet(arch).eval(), name)
        for compiled in (False, True):
            for precision in ("fp32", "bf16"):
                opts = StylizeOptions(mode="per-frame", precision=precision, compile=compiled)
                label = f"stylize {name} {width}x{height} {precision}{' compiled' if compiled else ''}"
                warm_up = timed(lambda: list(stylize_frames([x, x], model, opts)), 1)
                if compiled:
                    out[f"{label} compile s"] = warm_up
                sec = timed(lambda: list(stylize_frames([x] * frames, model, opts)), 3) / frames
                out[f"{label} FPS"] = 1 / sec
    return out


def bench_optimize(style: Path, content: Path | None, size: int) -> dict[str, float]:
    if content is None:
        import skimage.data
        c = resize_max_side(torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float() / 255, size)
    else:
        c = load_rgb(content, size)
    s = load_rgb(style, size)
    weights = cached_weights()
    sec = timed(lambda: optimize_image(c, s, weights, LossWeights(), OptimizeSettings(iters=100), progress=False), 1)
    return {f"Gatys L-BFGS {size}px s/100 iterations": sec}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", type=Path, default=painting_path("starry_night"))
    p.add_argument("--content", type=Path, help="photo for the optimisation (default: scikit-image's astronaut)")
    p.add_argument("--train-steps", type=int, default=10)
    p.add_argument("--frames", type=int, default=10)
    p.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"], help="frame sizes WxH for stylize")
    args = p.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # compile times from an empty cache
        rows = bench_training(args.style, args.train_steps)
        for size in args.sizes:
            rows.update(bench_stylize(*map(int, size.split("x")), args.frames))
        rows.update(bench_optimize(args.style, args.content, 256))
    width = max(map(len, rows))
    for k, v in rows.items():
        print(f"{k:{width}}  {v:10.2f}")
    command = " ".join(["python benchmarks/bench_image.py", *sys.argv[1:]])
    print(f"kept in {save_results(RESULTS, command, {'rows': rows})}")


def table_cell(results: dict) -> str:
    """The per-frame networks at the first size measured, bf16 (the default here) with fp32 and compiled beside."""
    rows = results["rows"]
    size = next(k.split()[2] for k in rows if k.startswith("stylize "))
    fps = {name: rows[f"stylize {name} {size} bf16 FPS"] for name in PRESETS}
    compiled = {name: rows[f"stylize {name} {size} bf16 compiled FPS"] for name in PRESETS}
    step = next(k for k in rows if k.startswith("train step"))
    gatys = next(k for k in rows if k.startswith("Gatys"))
    networks = ", ".join(f"{name} {fps[name]:.1f} (compiled {compiled[name]:.1f})" for name in PRESETS)
    return (f"`{results['command']}`: per-frame network frames/s at {size}, bf16: {networks}; fp32 fast "
            f"{rows[f'stylize fast {size} fp32 FPS']:.1f}; a stage-1 training {step.removeprefix('train ').removesuffix(' ms')} "
            f"{rows[step]:.0f} ms; {gatys.replace(' s/100 iterations', '')}: {rows[gatys]:.1f} s per 100 iterations")


if __name__ == "__main__":
    main()
