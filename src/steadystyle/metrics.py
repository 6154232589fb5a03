"""Temporal-consistency scores for stylised videos: how much a result flickers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import NamedTuple

import cv2
import numpy as np
import torch

from .flow import DEFAULT_PRESET, flow_and_mask, inside_image, warp_numpy

# Frames, flows and masks: torch tensors are channels-first ((3, H, W), (2, H, W), (1, H, W)),
# numpy arrays channels-last ((H, W, 3), (H, W, 2), (H, W)); uint8 arrays are scaled from 0..255.
Array = torch.Tensor | np.ndarray


class WarpingError(NamedTuple):
    mean: float
    per_frame: list[float]  # one value per frame t >= 1


def _channels_last(x: Array) -> np.ndarray:
    """Any accepted frame, flow or mask -> float32 numpy, channels last, so one warp serves them all."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        x = (x.permute(1, 2, 0) if x.ndim == 3 else x).numpy()
    x = np.asarray(x)
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32, copy=False)


def _motion(
    source: Iterable[Array] | None,
    flows: Iterable[Array] | None,
    masks: Iterable[Array] | None,
    method: str,
    preset: str,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(backward flow, mask) for frames 1.. : the ground truth when given, else estimated on the source."""
    if flows is None:
        for prev, cur in pairwise(map(_channels_last, source)):
            yield flow_and_mask(cur, prev, method, preset)
    elif masks is None:  # without masks, at least ignore lookups that leave the image
        yield from ((flow, inside_image(flow)) for flow in map(_channels_last, flows))
    else:
        yield from zip(map(_channels_last, flows), map(_channels_last, masks), strict=True)


def warping_error(
    stylized: Iterable[Array],
    source: Iterable[Array] | None = None,
    flows: Iterable[Array] | None = None,
    masks: Iterable[Array] | None = None,
    method: str = "dis",
    preset: str = DEFAULT_PRESET,
) -> WarpingError:
    """E_warp: mean over t >= 1 of the masked squared difference between y_t and y_{t-1} warped onto t.

    Frame t's term is sum(mask * (y_t - warp(y_{t-1}))^2) / (H * W * C) with RGB in [0, 1]: pixels
    that are masked out (occluded, unreliable flow) count as 0 but stay in the denominator, so the
    score of one video does not depend on how many pixels its mask keeps. Motion comes from the
    ground-truth backward `flows` (T-1 of them, see `flow` for the convention) and their `masks` when
    given (no masks: only lookups outside the image are ignored), else from DIS flow and the
    consistency mask computed on the `source` frames, never on the stylised ones, whose flicker would
    corrupt the flow. Inputs may be iterators: only two frames are held at a time.
    """
    if flows is None and source is None:
        raise ValueError("warping_error needs the source frames (to estimate flow) or ground-truth flows")
    if masks is not None and flows is None:
        raise ValueError("masks were given without the flows they belong to")
    per_frame = []
    steps = zip(pairwise(map(_channels_last, stylized)), _motion(source, flows, masks, method, preset), strict=True)
    for (prev, cur), (flow, mask) in steps:
        if cur.shape[:2] != flow.shape[:2]:
            raise ValueError(f"frame {len(per_frame) + 1} is {cur.shape[:2]} but its flow is {flow.shape[:2]}")
        diff = (cur - warp_numpy(prev, flow)).reshape(*flow.shape[:2], -1)
        per_frame.append(float(np.sum(mask.reshape(*flow.shape[:2], 1) * diff**2) / diff.size))
    if not per_frame:
        raise ValueError("warping_error needs at least two frames")
    return WarpingError(float(np.mean(per_frame)), per_frame)


def _local_energy(diff: np.ndarray, window: int) -> np.ndarray:
    """Squared difference summed over channels, averaged over `window` x `window` pixels."""
    return cv2.boxFilter((diff ** 2).reshape(*diff.shape[:2], -1).sum(-1), -1, (window, window))


def still_camera_motion(
    source: Iterable[Array], motion: Iterable[tuple[np.ndarray, np.ndarray]], window: int = 15, factor: float = 2.0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The motion of a shot from a camera that does not move: zero flow, inside the estimated `motion`'s
    (flow, mask) mask, on the pixels where standing still explains the source within `factor` of how
    well that flow does; the moving subjects are masked out.

    Why: on flat, noisy regions DIS returns sub-pixel noise for flow, and warping a textured stylized frame
    by it blurs the texture, so E_warp scores even a frozen output as flicker. The errors are compared as
    local means over `window` x `window` pixels; the factor covers bilinear warping averaging up to four
    noisy pixels, which alone can make a noise flow look up to 1.6x better than none.
    """
    still = []
    for (prev, cur), (flow, mask) in zip(pairwise(map(_channels_last, source)), motion, strict=True):
        keep = _local_energy(cur - prev, window) <= factor * _local_energy(cur - warp_numpy(prev, flow), window)
        still.append((np.zeros_like(flow), mask * keep))
    return still


def flicker_kept(stable: float, per_frame: float, source: float) -> float | None:
    """The share of the per-frame network's flicker that the stable one keeps, from the three E_warp values:
    (stable - source) / (per_frame - source); 0 is all flicker removed, 1 none.

    The source's own E_warp is subtracted because it is what following the motion exactly scores (occlusions,
    lighting), which no method can remove. None when the per-frame network is not above the source: there is
    then no flicker to keep, and the ratio would be noise or a division by zero.
    """
    gap = per_frame - source
    return (stable - source) / gap if gap > 0 else None
