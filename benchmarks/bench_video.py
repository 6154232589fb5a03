"""End-to-end video speed (decode + network + encode) and memory, per-frame vs recurrent.

    python benchmarks/bench_video.py                      # FPS at 640x360 and 1280x720, both modes
    python benchmarks/bench_video.py --memory             # also peak RSS for a 10 s and a 60 s clip
    python benchmarks/bench_video.py --compile            # also stable bf16 with --compile (twice: cold, warm cache)

Clips are generated (a real photo panning, 25 fps) so the figures do not depend on files elsewhere.
Memory is measured in a child process per run, as its peak resident set size: it should not grow with
the clip's length, since frames are streamed.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from steadystyle.models import save_model
from steadystyle.networks import SLIM, TransformNet, recurrent_from_image
from steadystyle.stylize import StylizeOptions, stylize_video
from steadystyle.video import VideoWriter


def make_clip(path: Path, width: int, height: int, seconds: float, fps: int = 25) -> Path:
    import skimage.data

    photo = np.asarray(torch.nn.functional.interpolate(
        torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1)[None].float(),
        size=(height + 64, width + 256), mode="bilinear")[0].permute(1, 2, 0).clamp(0, 255).byte())
    frames = int(seconds * fps)
    with VideoWriter(path, fps, preset="ultrafast") as w:
        for i in range(frames):
            x = int(256 * i / max(1, frames - 1))
            w.write(np.ascontiguousarray(photo[32:32 + height, x:x + width]))
    return path


def models(folder: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    image = TransformNet(SLIM).eval()
    return {"per-frame": save_model(image, folder / "image.safetensors", "bench"),
            "stable": save_model(recurrent_from_image(image), folder / "stable.safetensors", "bench")}


def fps(clip: Path, model_path: Path, bf16: bool, compile: bool = False) -> float:
    """Frames over wall time of the whole run, compilation included."""
    from steadystyle.models import load_model

    out = clip.with_name(clip.stem + "-out.mp4")
    summary = stylize_video(clip, load_model(model_path), out, StylizeOptions(bf16=bf16, compile=compile),
                            progress=False)
    return summary.fps


def peak_rss_mb(clip: Path, model_path: Path) -> float:
    """Peak RSS of a child process that stylizes the clip with the CLI."""
    out = clip.with_name(clip.stem + "-mem.mp4")
    subprocess.run([sys.executable, "-m", "steadystyle", "stylize", str(clip), "-s", str(model_path), "-o", str(out),
                    "-q"], check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=4.0, help="length of the speed clips")
    p.add_argument("--memory", action="store_true")
    p.add_argument("--compile", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(tmp / "inductor")  # so that "cold" really compiles
        paths = models(tmp)
        for w, h in ((640, 360), (1280, 720)):
            clip = make_clip(tmp / f"clip{w}.mp4", w, h, args.seconds)
            for mode, path in paths.items():
                for bf16 in (False, True):
                    print(f"{w}x{h} {mode:9} {'bf16' if bf16 else 'fp32'}: {fps(clip, path, bf16):6.2f} frames/s end to end")
            if args.compile:
                for run in ("cold", "warm"):
                    print(f"{w}x{h} stable    bf16 compiled ({run} cache): "
                          f"{fps(clip, paths['stable'], True, compile=True):6.2f} frames/s end to end")
        if args.memory:
            # ru_maxrss of children is the max over all children so far: measure the short clip first.
            for seconds in (10, 60):
                clip = make_clip(tmp / f"mem{seconds}.mp4", 640, 360, seconds)
                print(f"640x360 {seconds:3d} s clip, stable: peak RSS {peak_rss_mb(clip, paths['stable']):7.1f} MB")


if __name__ == "__main__":
    main()
