"""Why some styles flicker: Gram traces, a measured instability per style, and the theory behind them.

Gupta et al. (2017, Sec. 3) argue that the style loss fixes only the Gram matrix G ~ F F^T of a
layer's features F (C x N): every F R with R an orthogonal N x N matrix has the same Gram matrix, so
the minimisers form a wide set whose size grows with ||F||, i.e. with sqrt(trace G). A method that
lands on a different minimiser for a nearly identical frame flickers, and does so more for styles
with a large trace. This module measures the three pieces: the traces of each painting, how far two
optimisations on nearly identical frames land apart (and, for paintings with trained networks, how far
those networks' outputs move: the paper's own measure), and the rotation argument on random matrices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .atomic import atomic_output, check_writable
from .images import load_rgb
from .losses import STYLE_LAYERS, LossWeights, PerceptualLoss, gram, style_loss
from .models import Model
from .optimize import OptimizeSettings, initial_image, minimise
from .vgg import VGGFeatures, VGGWeights

# relu4_3 is not in the default style loss, but the paper's argument holds for every layer.
TRACE_LAYERS = (*STYLE_LAYERS, "relu4_3")
# Beside the repository in a development checkout; elsewhere the user passes --content.
DEFAULT_CONTENT = Path(__file__).resolve().parents[3] / "shared" / "data" / "content" / "chicago.jpg"
PERTURBATIONS = ("noise", "shift")
PLOT_NAME, JSON_NAME, REPORT_NAME = "instability_vs_trace.png", "analysis.json", "report.md"
NETWORK_KINDS = ("per-frame", "stable")


@dataclass
class AnalysisSettings:
    """What the study depends on; stored with every result so numbers can be compared across runs."""

    trace_size: int = 384  # longer side of each painting, for its traces and as the optimisation's target
    content_size: int = 128  # longer side of the two frames that are stylized
    iters: int = 100  # L-BFGS loss evaluations per frame
    perturb: str = "noise"  # "noise": Gaussian noise on the second frame; "shift": the second frame moved 1 px
    noise_std: float = 0.01  # in RGB [0, 1] units
    seed: int = 0  # of the shared noise initialisation and of the perturbation
    loss: LossWeights = field(default_factory=LossWeights)


def gram_traces(image: torch.Tensor, vgg: VGGFeatures) -> dict[str, float]:
    """Trace of the Gram matrix of (3, H, W) `image` at each of `vgg`'s layers, plus their sum as 'total'.

    With `gram`'s C*H*W normalisation the trace is the mean squared activation, so paintings of
    different sizes are comparable (the size still matters: it sets the scale of the strokes).
    """
    with torch.no_grad():
        feats = vgg(image[None])
    traces = {k: float(torch.diagonal(gram(feats[k])[0]).sum()) for k in vgg.layers}
    traces["total"] = sum(traces.values())
    return traces


def pan(x: torch.Tensor, shift: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two crops of x, the second `shift` pixels to the right: a camera pan with no made-up border column."""
    return (x, x) if shift == 0 else (x[..., :-shift], x[..., shift:])


def perturbed_pair(content: torch.Tensor, settings: AnalysisSettings) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Two nearly identical (3, H, W) frames and the horizontal shift between them (0 for noise)."""
    if settings.perturb == "noise":
        g = torch.Generator().manual_seed(settings.seed + 1)
        noisy = content + settings.noise_std * torch.randn(content.shape, generator=g)
        return content, noisy.clamp(0, 1), 0
    if settings.perturb == "shift":
        return *pan(content, 1), 1
    raise ValueError(f"unknown perturbation {settings.perturb!r}; use one of {', '.join(PERTURBATIONS)}")


def aligned_mse(a: torch.Tensor, b: torch.Tensor, shift: int) -> float:
    """Mean squared difference of a and b after undoing a horizontal shift of b by `shift` pixels."""
    width = a.shape[-1] - shift
    return float((a[..., shift:] - b[..., :width]).pow(2).mean())


def instability(style: torch.Tensor, content: torch.Tensor, weights: VGGWeights,
                settings: AnalysisSettings | None = None, progress: bool = True, desc: str = "") -> dict[str, float]:
    """How far apart Gatys optimisations on two nearly identical frames land from one noise init (panned with a shift).

    The paper measures this on networks trained per style; an optimiser is another way to reach a
    minimiser of the same loss, so its sensitivity to a tiny input change shows the same effect at a
    cost this machine can pay. Returns 'instability' (output MSE, RGB in [0, 1]), the 'input_mse'
    between the two frames and the final weighted losses of the first frame's optimisation.
    """
    settings = settings or AnalysisSettings()
    first, second, shift = perturbed_pair(content, settings)
    loss = PerceptualLoss.build(weights, style[None], settings.loss)
    opt = OptimizeSettings(iters=settings.iters, method="lbfgs", init="noise", seed=settings.seed)
    inits = pan(initial_image(content[None], opt), shift)  # the noise moves with the scene, as a network's input would
    runs = []
    for i, (frame, init) in enumerate(zip((first, second), inits)):
        targets = loss.content_targets(frame[None])
        runs.append(minimise(init, lambda img, t=targets: loss(img, t), opt, desc=f"{desc} frame {i + 1}".strip(),
                             progress=progress))
    (out1, terms), (out2, _) = runs
    return {"instability": aligned_mse(out1[0], out2[0], shift), "input_mse": aligned_mse(first, second, shift),
            **{f"final_{k}": v for k, v in terms.items()}}


def network_instability(model: Model, content: torch.Tensor, settings: AnalysisSettings | None = None) -> float:
    """The paper's measure: how far a trained network's outputs for the two nearly identical frames lie apart.

    A recurrent network meets them as consecutive video frames: the first starts fresh (its own frame
    as history, as `stylize` does), the second sees the first's output.
    """
    first, second, shift = perturbed_pair(content, settings or AnalysisSettings())
    with torch.no_grad():
        if model.recurrent:
            y1 = model.net(first[None], first[None]).clamp(0, 1)
            y2 = model.net(second[None], y1).clamp(0, 1)
        else:
            y1, y2 = (model.net(f[None]).clamp(0, 1) for f in (first, second))
    return aligned_mse(y1[0], y2[0], shift)


def random_rotation(n: int, generator: torch.Generator) -> torch.Tensor:
    """A Haar-random n x n orthogonal matrix (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def rotation_demo(channels: int = 16, positions: int = 64, scales: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
                  minimisers: int = 8, seed: int = 0) -> dict:
    """The paper's argument in numbers: for F (C x N) scaled by s, every F R_k is an exact Gram-loss minimiser.

    One row per scale: the trace of gram(sF) (grows as s^2), the largest style loss of the minimisers
    against sF (~0), and their mean pairwise RMS distance (grows as s, i.e. ~sqrt(2 trace) for random
    rotations): the larger the trace, the further apart equally good solutions lie.
    """
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(1, channels, 1, positions, generator=g, dtype=torch.float64)  # (B, C, H, W) as gram wants
    rotations = [random_rotation(positions, g) for _ in range(minimisers)]
    rows = []
    for s in scales:
        f = s * base
        target = {"f": gram(f)}
        solutions = [f @ r for r in rotations]  # mixes the N positions, never the C channels
        losses = [float(style_loss({"f": x}, target, ["f"])) for x in solutions]
        distance = float(np.mean([(a - b).pow(2).mean().sqrt() for a, b in combinations(solutions, 2)]))
        trace = float(torch.diagonal(target["f"][0]).sum())
        rows.append({"scale": s, "trace": trace, "max_style_loss": max(losses), "rms_distance": distance,
                     "distance_over_sqrt_trace": distance / math.sqrt(trace)})
    return {"channels": channels, "positions": positions, "minimisers": minimisers, "rows": rows}


def ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their ranks (as Spearman's rho needs)."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    r[order] = np.arange(1, len(v) + 1)
    _, groups = np.unique(v, return_inverse=True)
    return (np.bincount(groups, weights=r) / np.bincount(groups))[groups]


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation; None when it is undefined (fewer than 2 points, or all tied)."""
    rx, ry = ranks(x), ranks(y)
    if len(rx) < 2 or rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def resolve_content(content: str | Path | None) -> Path:
    """The content photo to perturb: the one given, else the shared chicago.jpg when it is here."""
    if content is not None:
        return Path(content)
    if DEFAULT_CONTENT.is_file():
        return DEFAULT_CONTENT
    raise FileNotFoundError(f"no content photo: the default {DEFAULT_CONTENT} is not here; pass --content PHOTO")


def analyze(paintings: Sequence[str | Path], weights: VGGWeights, content: str | Path | None = None,
            settings: AnalysisSettings | None = None, networks: Mapping[str, Mapping[str, Model]] | None = None,
            progress: bool = True) -> dict:
    """Traces, instability and their rank correlation for each painting, plus the rotation demo, as one dict.

    `networks` maps a painting's file stem to its trained models by kind ("per-frame", "stable");
    each is measured with `network_instability` and correlated with the traces per kind.
    Every image is read before any optimisation starts, so a bad path fails at once.
    """
    settings = settings or AnalysisSettings()
    networks = networks or {}
    content_path = resolve_content(content)
    photo = load_rgb(content_path, settings.content_size)
    styles = [(Path(p), load_rgb(p, settings.trace_size)) for p in paintings]
    vgg = VGGFeatures(weights, list(TRACE_LAYERS))
    rows = []
    for path, style in tqdm(styles, desc="styles", unit="style", disable=not progress):
        nets = {kind: network_instability(model, photo, settings) for kind, model in networks.get(path.stem, {}).items()}
        rows.append({"name": path.stem, "path": str(path), "size": list(style.shape[-2:]),
                     "traces": gram_traces(style, vgg), "networks": nets,
                     **instability(style, photo, weights, settings, progress=progress, desc=path.stem)})

    def rho_of(kind: str) -> float | None:
        measured = [r for r in rows if kind in r["networks"]]
        return spearman([r["traces"]["total"] for r in measured], [r["networks"][kind] for r in measured])

    return {
        "settings": {**asdict(settings), "content": str(content_path), "content_shape": list(photo.shape[-2:]),
                     "trace_layers": list(TRACE_LAYERS), "vgg": weights.source},
        "styles": rows,
        "spearman": spearman([r["traces"]["total"] for r in rows], [r["instability"] for r in rows]),
        "network_spearman": {kind: rho_of(kind) for kind in NETWORK_KINDS if any(kind in r["networks"] for r in rows)},
        "theory": rotation_demo(seed=settings.seed),
    }


def protocol_note(result: dict) -> str:
    """What was measured and how it departs from the paper, for the report and the terminal."""
    s = result["settings"]
    change = (f"Gaussian noise of std {s['noise_std']:g} added" if s["perturb"] == "noise"
              else "the frame, and its noise start, moved by 1 px (compared after undoing the shift)")
    return (f"Gram traces: VGG-16 ({s['vgg']}), each painting at longer side {s['trace_size']} px, trace of the "
            f"Gram matrix normalised by C*H*W (the mean squared activation) per layer and summed.\n\n"
            f"Instability: mean squared difference (RGB in [0, 1]) between two Gatys et al. optimisations "
            f"({s['iters']} L-BFGS iterations, frames of {s['content_shape'][1]}x{s['content_shape'][0]} px from "
            f"{Path(s['content']).name}) started from the same noise image: one of the photo, one of the photo with "
            f"{change}. The paper trains a feed-forward network per style and measures how much its outputs change "
            f"between nearly identical inputs; per-frame optimisation reaches minimisers of the same loss, so it "
            f"stands in for a network for any painting, at minutes rather than an hour of training.\n\n"
            f"Networks (paintings with a trained model: a shipped style of the same name, or --network): the paper's "
            f"measure, the mean squared difference between a network's outputs for the same two frames. A stable "
            f"(recurrent) network sees them as consecutive video frames, the second with the first's output as "
            f"history. Absolute numbers are not comparable with the paper's.")


def _network_cell(row: dict, kind: str) -> str:
    return f"{row['networks'][kind]:.4g}" if kind in row["networks"] else "-"


def _rho_text(rho: float | None) -> str:
    return "undefined (needs 2+ styles with distinct values)" if rho is None else f"{rho:.3f}"


def markdown_tables(result: dict) -> str:
    """The per-style table, the rank correlations and the rotation demo, as Markdown (readable as plain text)."""
    layers = result["settings"]["trace_layers"]
    kinds = list(result["network_spearman"])
    header = ["style", "size (HxW)", *(f"trace {k}" for k in layers), "total trace", "instability (MSE)",
              *(f"{k} network (MSE)" for k in kinds)]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for r in result["styles"]:
        t = r["traces"]
        lines.append(" | ".join([f"| {r['name']}", f"{r['size'][0]}x{r['size'][1]}", *(f"{t[k]:.4g}" for k in layers),
                                 f"{t['total']:.4g}", f"{r['instability']:.4g}",
                                 *(_network_cell(r, k) for k in kinds)]) + " |")
    demo = result["theory"]
    lines += ["", f"Input frames differ by MSE {result['styles'][0]['input_mse']:.3g} (after undoing any shift). "
                  f"Spearman rank correlation with the total Gram trace: optimisation instability "
                  f"{_rho_text(result['spearman'])} (n = {len(result['styles'])})"
                  + "".join(f"; {k} networks {_rho_text(rho)} (n = {sum(k in r['networks'] for r in result['styles'])})"
                            for k, rho in result["network_spearman"].items()) + ".", "",
              f"Rotation demo: a random {demo['channels']} x {demo['positions']} feature matrix F scaled by s, and "
              f"{demo['minimisers']} minimisers sF R of its Gram loss (R random orthogonal):", "",
              "| scale | trace | max style loss | mean RMS distance | distance / sqrt(trace) |",
              "|---|---|---|---|---|"]
    lines += [f"| {r['scale']:g} | {r['trace']:.4g} | {r['max_style_loss']:.2g} | {r['rms_distance']:.4g} | "
              f"{r['distance_over_sqrt_trace']:.3f} |" for r in demo["rows"]]
    return "\n".join(lines)


def _scatter(ax, result: dict, key, label: str, marker: str = "o") -> None:
    """One labelled point per style that has a value for `key(row)`."""
    points = [(r["name"], r["traces"]["total"], key(r)) for r in result["styles"] if key(r) is not None]
    ax.scatter([p[1] for p in points], [p[2] for p in points], marker=marker, label=label)
    for i, (name, x, y) in enumerate(sorted(points, key=lambda p: p[1])):  # neighbours' labels above, below
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4 if i % 2 == 0 else -12), fontsize=8)


def plot_instability(result: dict, path: Path) -> Path:
    """Instability against total Gram trace, one labelled point per style (a second panel for networks), atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kinds = list(result["network_spearman"])
    fig = Figure(figsize=(11 if kinds else 6, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2 if kinds else 1, squeeze=False)[0]
    xlabel = f"total Gram trace (painting at {result['settings']['trace_size']} px)"
    rho = result["spearman"]
    _scatter(axes[0], result, lambda r: r["instability"], "optimisation")
    axes[0].set(xlabel=xlabel, ylabel="instability: MSE between the two results",
                title="Per-frame optimisation" + ("" if rho is None else f" (Spearman rho = {rho:.2f})"))
    if kinds:
        for kind, marker in zip(kinds, "ox"):
            rho = result["network_spearman"][kind]
            _scatter(axes[1], result, lambda r, k=kind: r["networks"].get(k),
                     f"{kind} network" + ("" if rho is None else f" (rho = {rho:.2f})"), marker)
        axes[1].set(xlabel=xlabel, ylabel="MSE between the two outputs", yscale="log", title="Trained networks")
        axes[1].legend(fontsize=8)
    for ax in axes:
        ax.margins(0.15)  # room for the labels
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_report(result: dict, folder: str | Path) -> Path:
    """Write the plot, analysis.json and report.md (which links the plot) into `folder`; returns report.md."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    check_writable(folder / REPORT_NAME)
    plot_instability(result, folder / PLOT_NAME)
    with atomic_output(folder / JSON_NAME) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    text = (f"# Style instability and Gram trace\n\n{markdown_tables(result)}\n\n"
            f"![instability against Gram trace]({PLOT_NAME})\n\n## Protocol\n\n{protocol_note(result)}\n")
    with atomic_output(folder / REPORT_NAME) as tmp:
        tmp.write_text(text)
    return folder / REPORT_NAME
