"""Why some styles flicker: Gram traces, a measured instability per style, and the theory behind them.

Gupta et al. (2017, Sec. 3) argue that the style loss fixes only the Gram matrix G ~ F F^T of a
layer's features F (C x N): every F R with R an orthogonal N x N matrix has the same Gram matrix, so
the minimisers form a wide set whose size grows with ||F||, i.e. with sqrt(trace G). A method that
lands on a different minimiser for a nearly identical frame flickers, and does so more for styles
with a large trace. This module measures the three pieces: the traces of each painting, how far two
optimisations on nearly identical frames land apart (and, for paintings with trained networks, how far
those networks' outputs move: the paper's own measure), and the rotation argument on random matrices.
The report (tables, plot) is written by _analysis_report.py from the dict `analyze` returns.
"""

from __future__ import annotations

import importlib.resources
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..images import load_rgb
from ..losses import TRACE_LAYERS, TRACE_SIZE, LossWeights, PerceptualLoss, gram, gram_traces, style_loss
from ..models import Model
from ..optimize import OptimizeSettings, initial_image, minimise
from ..stylize import StylizeOptions, stylize_frames
from ..vgg import VGGFeatures, VGGWeights, cached_weights

PERTURBATIONS = ("noise", "shift")
NETWORK_KINDS = ("per-frame", "stable")


@dataclass
class AnalysisSettings:
    """What the study depends on; stored with every result so numbers can be compared across runs."""

    trace_size: int = TRACE_SIZE  # longer side of each painting, for its traces and as the optimisation's target
    content_size: int = 128  # longer side of the two frames that are stylized
    iters: int = 100  # L-BFGS loss evaluations per frame
    perturb: str = "noise"  # "noise": Gaussian noise on the second frame; "shift": the second frame moved 1 px
    noise_std: float = 0.01  # in RGB [0, 1] units
    seed: int = 0  # of the shared noise initialisation and of the perturbation
    loss: LossWeights = field(default_factory=LossWeights)


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

    A recurrent network meets them as consecutive video frames: the first starts fresh, the second
    sees the first and its output, as in `stylize`.
    """
    first, second, shift = perturbed_pair(content, settings or AnalysisSettings())
    y1, y2 = stylize_frames([first, second], model, StylizeOptions(cut_threshold=None, precision="fp32"))
    return aligned_mse(y1, y2, shift)


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


def default_content() -> Path:
    """scikit-learn's china.jpg (a temple among trees, 640x427): a real photograph that every installation
    with the train extra has, so `analyze` runs on a fresh clone without --content."""
    try:
        return Path(str(importlib.resources.files("sklearn.datasets.images").joinpath("china.jpg")))
    except ModuleNotFoundError:
        raise FileNotFoundError("no content photo: the default, scikit-learn's china.jpg, is not installed; pass "
                                "--content PHOTO or pip install 'steadystyle[train]'") from None


def analyze(paintings: Sequence[str | Path], weights: VGGWeights | None = None, content: str | Path | None = None,
            settings: AnalysisSettings | None = None, networks: Mapping[str, Mapping[str, Model]] | None = None,
            progress: bool = True) -> dict:
    """Traces, instability and their rank correlation for each painting, plus the rotation demo, as one dict.

    `networks` maps a painting's file stem to its trained models by kind ("per-frame", "stable");
    each is measured with `network_instability` and correlated with the traces per kind.
    `weights`: the VGG-16 weights (default: found as `steadystyle weights` finds them); `content`: the photo
    to perturb (default: `default_content()`). Every image is read before any optimisation starts, so a
    bad path fails at once.
    """
    settings = settings or AnalysisSettings()
    weights = weights or cached_weights()
    networks = networks or {}
    content_path = Path(content) if content is not None else default_content()
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
