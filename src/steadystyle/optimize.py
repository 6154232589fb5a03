"""Optimisation baselines: Gatys et al. (image) — slow, but the quality reference for every network."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm

from .images import keep_colours, luminance, match_luminance
from .losses import LossWeights, PerceptualLoss
from .vgg import VGGWeights

Objective = Callable[[torch.Tensor], dict[str, torch.Tensor]]


@dataclass
class OptimizeSettings:
    iters: int = 300
    method: str = "lbfgs"  # or "adam"
    lr: float | None = None  # Adam's step in [0, 1] pixel units; L-BFGS uses its own line search
    init: str = "content"  # or "noise"
    seed: int = 0


def minimise(init: torch.Tensor, objective: Objective, settings: OptimizeSettings, desc: str = "optimising",
             progress: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
    """Optimise the pixels of `init` (B, 3, H, W) against `objective`, keeping them in [0, 1].

    L-BFGS (Gatys et al.) converges in a few hundred iterations; Adam is slower but steadier on noise.
    Returns the image and the last loss terms as floats.
    """
    if settings.method not in ("lbfgs", "adam"):
        raise ValueError(f"unknown optimiser {settings.method!r}; use 'lbfgs' or 'adam'")
    image = init.detach().clone().requires_grad_(True)
    last: dict[str, float] = {}
    bar = tqdm(total=settings.iters, desc=desc, disable=not progress, leave=False, unit="it")

    def closure() -> torch.Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)
        opt.zero_grad(set_to_none=True)
        terms = objective(image)
        terms["total"].backward()
        last.update({k: v.item() for k, v in terms.items()})
        bar.update(1)
        bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()}, refresh=False)
        return terms["total"]

    if settings.method == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=settings.lr or 1.0, max_iter=settings.iters, max_eval=settings.iters,
                                tolerance_grad=0.0, tolerance_change=0.0, history_size=50, line_search_fn="strong_wolfe")
        opt.step(closure)
    else:
        opt = torch.optim.Adam([image], lr=settings.lr or 0.02)
        for _ in range(settings.iters):
            opt.step(closure)
    bar.close()
    return image.detach().clamp(0, 1), last


def initial_image(content: torch.Tensor, settings: OptimizeSettings) -> torch.Tensor:
    if settings.init == "content":
        return content.clone()
    if settings.init == "noise":
        g = torch.Generator().manual_seed(settings.seed)
        return torch.rand(content.shape, generator=g)
    raise ValueError(f"unknown init {settings.init!r}; use 'content' or 'noise'")


def optimize_image(content: torch.Tensor, style: torch.Tensor, vgg: VGGWeights,
                   weights: LossWeights | None = None, settings: OptimizeSettings | None = None,
                   preserve_color: bool = False, progress: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
    """Gatys et al. 2016 neural style: (3, H, W) content and style in, (3, H, W) image and final losses out.

    With `preserve_color`, the transfer runs on luminance only and the content's colours are put back
    (Gatys et al. 2017), so the painting's strokes arrive without its palette.
    """
    settings = settings or OptimizeSettings()
    if preserve_color:
        style, content_in = match_luminance(style, content), luminance(content)
    else:
        content_in = content
    loss = PerceptualLoss.build(vgg, style[None], weights)
    targets = loss.content_targets(content_in[None])
    image, terms = minimise(initial_image(content_in[None], settings), lambda img: loss(img, targets), settings,
                            progress=progress)
    image = image[0]
    if preserve_color:
        image = keep_colours(image, content)
    return image, terms
