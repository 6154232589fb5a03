"""What a stable network's gate keeps of its history when the frame changes only by a camera's nuisances (issue 32).

    python benchmarks/gate_probe.py [STYLE_OR_MODEL ...] [--frames 10]
    python benchmarks/gate_probe.py --docs   # only rewrite the table in docs/benchmarks.md

A photo (scikit-image's coffee, 320x240 of it) seen by a camera panning 4 px a frame, and standing still, with
each frame also changed as a camera changes it: nothing, sensor noise of std 1, 2 and 5/255, JPEG at quality 85
and 60, motion blur of 1-8 px, exposure varying by 3%. Nothing new enters the picture, so a steady network keeps
nearly all of its history (moved along the motion, as `stylize` moves it) at every pixel. Per network and case it
gives the mean share kept by the learned gate (the trunk's gate channel, gate.py), by the hold alone (`gate.still`), and by both together, over frames 1..N (frame 0 starts fresh) and
8 px inside the border.

Figures go to benchmarks/results/gate_probe.json, the table to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import replace

import numpy as np
import skimage.data
import torch
import torch.nn.functional as F
from PIL import Image

from readme_tables import BENCHMARKS_PAGE, docs_flag, load_results, rewrite_table, save_results
from steadystyle import load_model
from steadystyle.flow import sample_torch
from steadystyle.gate import still
from steadystyle.models import PER_FRAME_SUFFIX, shipped_styles
from steadystyle.motion import follow
from steadystyle.networks import Previous, TransformNet

RESULTS, TABLE, PAGE = "gate_probe", "gate-probe-table", BENCHMARKS_PAGE
SIZE, SPEED, INSET = (240, 320), 4.0, 8


def _jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    buffer = io.BytesIO()
    pixels = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return torch.from_numpy(np.array(Image.open(buffer))).permute(2, 0, 1)[None].float() / 255


def _blur(x: torch.Tensor, length: int) -> torch.Tensor:
    """Horizontal motion blur over `length` pixels."""
    kernel = torch.ones(3, 1, 1, length) / length
    return F.conv2d(F.pad(x, (length // 2, (length - 1) // 2, 0, 0), mode="replicate"), kernel, groups=3)


def nuisances(g: torch.Generator) -> dict:
    """Each case: a function of a clean frame that returns it as a camera would record it."""
    noise = lambda std: lambda x: (x + std * torch.randn(x.shape, generator=g)).clamp(0, 1)  # noqa: E731
    return {"clean": lambda x: x, "noise 1/255": noise(1 / 255), "noise 2/255": noise(2 / 255),
            "noise 5/255": noise(5 / 255), "JPEG 85": lambda x: _jpeg(x, 85), "JPEG 60": lambda x: _jpeg(x, 60),
            "motion blur 1-8 px": lambda x: _blur(x, int(torch.randint(1, 9, (), generator=g))),
            "exposure ±3%": lambda x: (x * (1 + 0.03 * torch.randn((), generator=g))).clamp(0, 1)}


def camera(photo: torch.Tensor, shift: float) -> torch.Tensor:
    """The view SIZE of `photo` (1, 3, H, W) from a camera moved `shift` px to the right, sampled exactly."""
    ys, xs = torch.meshgrid(*(torch.arange(n, dtype=torch.float32) for n in SIZE), indexing="ij")
    return sample_torch(photo, torch.stack([xs + 40 + shift, ys + 40], -1)[None]).clamp(0, 1)


@torch.no_grad()
def kept(net: TransformNet, frames: list[torch.Tensor]) -> dict[str, float]:
    """Mean share of the history kept by the learned gate, the hold and both, over frames 1.."""
    learned = TransformNet(replace(net.arch, hold=False)).eval()
    learned.load_state_dict(net.state_dict())
    inside = (..., slice(INSET, -INSET), slice(INSET, -INSET))
    sums, previous = np.zeros(3), None
    for x in frames:
        if previous is None:
            y = net(x).clamp(0, 1)
        else:
            shown = follow(previous, x)
            rgb, gate = learned.proposal(x, shown.frame, shown.output)
            hold = still(x, shown.frame, rgb, shown.output) if net.arch.hold else torch.zeros_like(gate)
            keep = 1 - (1 - gate) * (1 - hold)
            y = (rgb + keep * (shown.output - rgb)).clamp(0, 1)
            sums += [float(part[inside].mean()) for part in (gate, hold, keep)]
        previous = Previous(x, y)
    return dict(zip(("gate", "hold", "keep"), (sums / (len(frames) - 1)).tolist()))


def probe(spec: str, count: int) -> dict:
    net = load_model(spec).net.eval()
    photo = torch.from_numpy(skimage.data.coffee()).permute(2, 0, 1)[None].float() / 255
    rows = {}
    for motion, speed in (("pan", SPEED), ("still", 0.0)):
        for case, record in nuisances(torch.Generator().manual_seed(0)).items():
            frames = [record(camera(photo, speed * t)) for t in range(count)]
            rows[f"{motion}: {case}"] = kept(net, frames)
    return rows


def table_body() -> str:
    styles = load_results(RESULTS)["styles"]
    lines = ["| frames | " + " | ".join(styles) + " |", "| --- |" + " ---: |" * len(styles)]
    for case in next(iter(styles.values())):
        lines.append(f"| {case} | " + " | ".join(f"{rows[case]['keep']:.2f} ({rows[case]['gate']:.2f})"
                                                 for rows in styles.values()) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("styles", nargs="*", metavar="STYLE_OR_MODEL")
    p.add_argument("--frames", type=int, default=10)
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if args.docs:
        rewrite_table(PAGE, TABLE, table_body())
        return
    torch.set_num_threads(1)
    specs = args.styles or [s for s in shipped_styles() if not s.endswith(PER_FRAME_SUFFIX)]
    results = {}
    for spec in specs:
        results[spec] = probe(spec, args.frames)
        for case, row in results[spec].items():
            print(f"{spec:16} {case:28} gate {row['gate']:.2f}  hold {row['hold']:.2f}  both {row['keep']:.2f}",
                  flush=True)
    command = " ".join(["python benchmarks/gate_probe.py", *args.styles, "--frames", str(args.frames)])
    print(f"figures in {save_results(RESULTS, command, {'frames': args.frames, 'styles': results})}; "
          "`--docs` puts them in the docs")


if __name__ == "__main__":
    main()
