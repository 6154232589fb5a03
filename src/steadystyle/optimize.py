"""Optimisation baselines: Gatys et al. (image) and Ruder et al. 2016 (video) — slow, but the quality
and stability references for every network."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import tee
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from .device import resolve_device
from .flow import DEFAULT_PRESET, flow_and_mask, warp_torch
from .images import keep_colours, luminance, match_luminance, resize_max_side, to_uint8
from .losses import LossWeights, PerceptualLoss, loss_on, temporal_loss
from .networks import Previous
from .stylize import VideoSummary, as_tensor
from .vgg import VGGWeights
from .video import (CHECKPOINT_EVERY, Encoding, file_identity, open_job, open_video, restored_state, saved_state,
                    tensors_identity, write_sidecar)

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
    # Contiguous: L-BFGS flattens the gradient with view(), which fails on channels-last strides.
    image = init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
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
        g = torch.Generator().manual_seed(settings.seed)  # on the CPU: the same noise on every device
        return torch.rand(content.shape, generator=g).to(content.device)
    raise ValueError(f"unknown init {settings.init!r}; use 'content' or 'noise'")


def optimize_image(content: torch.Tensor, style: torch.Tensor, vgg: VGGWeights,
                   weights: LossWeights | None = None, settings: OptimizeSettings | None = None,
                   preserve_color: bool = False, progress: bool = True,
                   device: str = "auto") -> tuple[torch.Tensor, dict[str, float]]:
    """Gatys et al. 2016 neural style: (3, H, W) content and style in, (3, H, W) image and final losses out.

    With `preserve_color`, the transfer runs on luminance only and the content's colours are put back
    (Gatys et al. 2017), so the painting's strokes arrive without its palette. The optimisation runs on
    `device` (see device.resolve_device); the image comes back on the CPU.
    """
    settings = settings or OptimizeSettings()
    if preserve_color:
        style, content_in = match_luminance(style, content), luminance(content)
    else:
        content_in = content
    target = resolve_device(device)
    loss = loss_on(PerceptualLoss.build(vgg, style[None], weights), target)
    content_in = content_in[None].to(target)
    targets = loss.content_targets(content_in)
    image, terms = minimise(initial_image(content_in, settings), lambda img: loss(img, targets), settings,
                            progress=progress)
    image = image[0].cpu()
    if preserve_color:
        image = keep_colours(image, content)
    return image, terms


# --- video: Ruder et al. 2016 ----------------------------------------------------------------------------

# Weight of temporal_loss (a mean over pixels*channels of squared differences, RGB in [0, 1]) against the
# default LossWeights, whose terms are O(1e5). Measured on frames 1-2 of the peer's marple8 clip at 96 px
# (starry_night at 96 px, caffe VGG, L-BFGS, frame 1: 100 iterations from content, frame 2: 50 from the
# warped frame 1), scored with E_warp under DIS flow; frame 2's style term after optimisation:
#   weight:  per-frame  0        1e6      1e7      3e7      1e8      3e8
#   E_warp:  4.0e-3     1.65e-3  1.31e-3  4.4e-4   1.6e-4   8.3e-5   5.7e-5
#   style:   1.04e5     9.39e4   9.47e4   9.72e4   1.00e5   1.03e5   1.08e5
# (content ~2.1e5 throughout; "per-frame": --no-temporal, 100 iterations from content.) The source itself
# scores 1.6e-4: at 3e7 the result is exactly as steady as the footage, 25x steadier than per-frame
# optimisation, for 7% more style loss than the unconstrained warped start; heavier weights smooth beyond
# the footage's own change and cost style faster.
DEFAULT_TEMPORAL_WEIGHT = 3e7
LATER_INITS = ("warped", "content")


@dataclass
class VideoOptimizeSettings(OptimizeSettings):
    """Per-frame optimisation settings plus what ties consecutive frames together (Ruder et al. 2016).

    `init` and `first_iters` apply to frames started from scratch: the first one, every frame with
    `temporal` off (plain per-frame optimisation, the unstable reference) or with `later_init` "content".
    Frames started from the warped previous result are near a solution already and get `iters`.
    """

    iters: int = 100  # per frame started from the warped previous result
    first_iters: int | None = None  # None: 2 x iters
    temporal: bool = True
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    later_init: str = "warped"  # or "content": how frames after the first start when temporal is on
    flow_method: str = "dis"
    flow_preset: str = DEFAULT_PRESET


class OptimizedFrame(NamedTuple):
    image: torch.Tensor  # (3, H, W) in [0, 1]
    history: list[dict[str, float]]  # weighted loss terms at every evaluation of the objective, in order
    seconds: float


def _hwc(frame: torch.Tensor) -> np.ndarray:
    """(3, H, W) tensor -> (H, W, 3) float array, the layout the flow estimators take."""
    return frame.permute(1, 2, 0).numpy()


def _warped_previous(x: torch.Tensor, prev_x: torch.Tensor, prev_y: torch.Tensor,
                     settings: VideoOptimizeSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """The previous result moved onto frame x by the source's backward flow, and its consistency mask, on
    prev_y's device (the flow is estimated on the CPU, from x and prev_x there)."""
    flow, mask = flow_and_mask(_hwc(x), _hwc(prev_x), settings.flow_method, settings.flow_preset)
    warped = warp_torch(prev_y[None], torch.from_numpy(flow).permute(2, 0, 1)[None].to(prev_y.device))
    return warped, torch.from_numpy(mask)[None, None].to(prev_y.device)


def _recording_objective(loss: PerceptualLoss, targets: dict[str, torch.Tensor], warped: torch.Tensor | None,
                         mask: torch.Tensor | None, temporal_weight: float,
                         history: list[dict[str, float]]) -> Objective:
    """The image objective, plus the temporal term when there is a previous result; appends every
    evaluation's terms to `history`, which is how callers see the optimisation converge."""
    def objective(image: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = loss(image, targets)
        if warped is not None:
            terms["temporal"] = temporal_weight * temporal_loss(image, warped, mask)
            terms["total"] = terms["total"] + terms["temporal"]
        history.append({k: v.item() for k, v in terms.items()})
        return terms

    return objective


def optimize_frames(frames: Iterable[torch.Tensor], style: torch.Tensor, vgg: VGGWeights,
                    weights: LossWeights | None = None, settings: VideoOptimizeSettings | None = None,
                    progress: bool = True, device: str = "auto", previous: Previous | None = None,
                    on_state: Callable[[Previous], None] | None = None) -> Iterator[OptimizedFrame]:
    """Ruder et al. 2016 (short-term temporal loss): (3, H, W) frames in, one OptimizedFrame out per frame.

    Each frame is a Gatys optimisation plus `temporal_weight` x the masked squared difference to the
    previous result warped by the *source's* backward flow (DIS or Farneback, with the consistency mask),
    and starts from that warped result: reliable pixels from it, occluded ones from the content frame.
    Lazy: one frame in, one result out, so a long video never sits in memory. Frames go in and results
    come out on the CPU; the optimisation runs on `device`. `previous` (the last source frame and result)
    continues where an earlier run stopped; `on_state` sees it after each frame, which is what a checkpoint saves.
    """
    settings = settings or VideoOptimizeSettings()
    if settings.later_init not in LATER_INITS:
        raise ValueError(f"unknown later_init {settings.later_init!r}; use one of {', '.join(LATER_INITS)}")
    scratch = replace(settings, iters=settings.first_iters or 2 * settings.iters)
    target = resolve_device(device)
    loss = loss_on(PerceptualLoss.build(vgg, style[None], weights), target)
    prev_x, prev_y = (previous.frame, previous.output.to(target)) if previous is not None else (None, None)
    for index, x in enumerate(frames):
        t0 = time.perf_counter()
        x_on = x[None].to(target)
        targets = loss.content_targets(x_on)
        warped = mask = None
        if settings.temporal and prev_y is not None:
            warped, mask = _warped_previous(x, prev_x, prev_y, settings)
        history: list[dict[str, float]] = []
        objective = _recording_objective(loss, targets, warped, mask, settings.temporal_weight, history)
        if warped is None or settings.later_init == "content":
            init, run = initial_image(x_on, settings), scratch
        else:
            init, run = mask * warped + (1 - mask) * x_on, settings
        image, _ = minimise(init, objective, run, desc=f"frame {index + 1}", progress=progress)
        prev_x, prev_y = x, image[0]
        if on_state is not None:
            on_state(Previous(prev_x, prev_y))
        yield OptimizedFrame(image[0].cpu(), history, time.perf_counter() - t0)


def optimize_video(source: str | Path, style: torch.Tensor, vgg: VGGWeights, output: str | Path,
                   weights: LossWeights | None = None, settings: VideoOptimizeSettings | None = None, *,
                   size: int = 256, start: float | None = None, duration: float | None = None,
                   encoding: Encoding = Encoding(),
                   style_name: str | None = None, progress: bool = True, device: str = "auto",
                   resume: bool = False, restart: bool = False,
                   checkpoint_every: float = CHECKPOINT_EVERY) -> VideoSummary:
    """`optimize_frames` on a video (frames shrunk to longer side `size`), written with its timing and audio.

    A video file is written as a resumable job, as `stylize_video` does (see video/_resume.py): at most
    `checkpoint_every` seconds, about one frame here, are lost to an interruption; `resume` continues it.
    Also writes the sidecar OUTPUT.json (see `evaluate.write_sidecar`) with the speed and settings.
    """
    settings = settings or VideoOptimizeSettings()
    weights = weights or LossWeights()
    reader = open_video(source, start, duration)
    fingerprint = {"input": file_identity(source), "painting": tensors_identity({"painting": style}),
                   "settings": str(vars(settings)), "loss weights": str(weights), "--size": str(size),
                   "--start": str(start), "--duration": str(duration)}
    job = open_job(output, reader, fingerprint, encoding=encoding, resume=resume, restart=restart,
                   every=checkpoint_every)
    decoded, timed = tee(f for f in reader if not job.is_done(f.time))  # one pass; tee holds the frame in flight
    previous = [restored_state(job.state)]  # after the latest frame, as on_state sees it
    results = optimize_frames((resize_max_side(as_tensor(f.image), size) for f in decoded), style, vgg, weights,
                              settings, progress, device, previous[0], lambda state: previous.__setitem__(0, state))
    with job, tqdm(total=reader.frame_count, initial=job.frames, desc="optimising video", unit="frame",
                   disable=not progress) as bar:
        for frame, result in zip(timed, results):
            job.add(to_uint8(result.image), frame.time, saved_state(previous[0]) if job.due() else None)
            bar.update(1)
            bar.set_postfix({"s/frame": f"{result.seconds:.1f}"})
        job.finish()
        summary = VideoSummary(job.frames, job.seconds, Path(output))
        mode = "ruder" if settings.temporal else "per-frame-optimisation"
        write_sidecar(output, {"command": "optimize video", "model": style_name, "mode": mode, "fps": summary.fps,
                               "frames": summary.frames, "seconds": summary.seconds, "size": size,
                               "settings": vars(settings)})
    return summary
