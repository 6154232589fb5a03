"""Training clips made from still images, with exact optical flow and occlusion masks.

Why: the temporal loss should learn from true correspondences, not from a flow estimator's mistakes,
and still images are plentiful. A clip is a smoothly moving camera (an affine map per frame:
translation, zoom, rotation) over one image, plus a rectangular patch (cut from elsewhere in the image
or from another image) that slides over it with its own velocity and hides what lies behind. Every
frame is rendered by sampling the source at known coordinates with grid_sample, so the backward flow
(see `flow` for the convention) and each pixel's visibility in the previous frame follow exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..flow import sample_torch, warp_torch
from ..images import resize_to

# A pixel counts as visible in frame t-1 when the bilinear lookup there takes at most this weight
# from the wrong layer or from outside the image (float32 round-off stays far below it).
_MIX_TOLERANCE = 1e-3


@dataclass
class SyntheticSequence:
    """frames (T, 3, H, W) in [0, 1]; flows (T-1, 2, H, W), the backward flows of frames 1..T-1;
    masks (T-1, 1, H, W), 1 where the pixel of frame t is visible in frame t-1, else 0."""

    frames: torch.Tensor
    flows: torch.Tensor
    masks: torch.Tensor


def _uniform(generator: torch.Generator, low: float, high: float, shape: tuple[int, ...] = ()) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def _drift(generator: torch.Generator, seq_len: int, max_speed: float, dims: int) -> torch.Tensor:
    """(T, dims) path starting at 0 whose velocity glides linearly between two random ones: smooth motion."""
    v0, v1 = _uniform(generator, -max_speed, max_speed, (2, dims))
    s = torch.linspace(0, 1, seq_len, dtype=torch.float64)[1:, None]
    steps = v0 + (v1 - v0) * s
    return torch.cat([torch.zeros(1, dims, dtype=torch.float64), steps.cumsum(0)])


def _camera(
    generator: torch.Generator,
    seq_len: int,
    out_hw: tuple[int, int],
    src_hw: tuple[int, int],
    max_shift: float,
    max_rotation: float,
    max_zoom: float,
) -> torch.Tensor:
    """(T, 3, 3) affines mapping output pixels (x, y, 1) to source pixels, every window inside the source."""
    h, w = out_hw
    half_diag = math.hypot(h - 1, w - 1) / 2  # the window's circumscribed radius, whatever its rotation
    zoom = _drift(generator, seq_len, max_zoom, 1)[:, 0].exp()
    zoom = zoom * ((min(src_hw) - 1) / (2 * half_diag) * _uniform(generator, 0.6, 0.95) / zoom.max())
    angle = _drift(generator, seq_len, math.radians(max_rotation), 1)[:, 0]
    offset = _drift(generator, seq_len, max_shift, 2) * zoom[:, None]
    radius = (zoom * half_diag)[:, None]
    limit = torch.tensor([src_hw[1] - 1, src_hw[0] - 1], dtype=torch.float64)
    while True:  # halve a path too long for the source; with no travel, the window fits by the zoom's choice
        low, high = (radius - offset).amax(0), (limit - radius - offset).amin(0)
        if (low <= high).all():
            break
        offset = offset / 2
    centre = low + (high - low) * _uniform(generator, 0, 1, (2,)) + offset
    cos, sin = zoom * angle.cos(), zoom * angle.sin()
    linear = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    cams = torch.eye(3, dtype=torch.float64).repeat(seq_len, 1, 1)
    cams[:, :2, :2] = linear
    cams[:, :2, 2] = centre - linear @ torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=torch.float64)
    return cams


def _pasted_object(
    generator: torch.Generator,
    seq_len: int,
    pixels: torch.Tensor,
    patch_size: tuple[int, int],
    zoom: float,
    object_speed: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A rectangle sliding at constant velocity: (on_object (T, H, W), patch positions of its pixels
    (T, H, W, 2) in the patch source, top-left corner per frame (T, 2)). pixels is (H, W, 2) as (x, y)."""
    h, w = pixels.shape[:2]
    size = (torch.tensor([w, h], dtype=torch.float64) * _uniform(generator, 0.2, 0.4, (2,))).round().clamp_min(2)
    patch_limit = torch.tensor(patch_size[::-1], dtype=torch.float64) - 1  # (x, y) of the last pixel
    zoom = min(zoom, (patch_limit / (size - 1)).min().item())  # as the background's scale, if the patch fits
    corner = (patch_limit - zoom * (size - 1)) * _uniform(generator, 0, 1, (2,))
    heading = _uniform(generator, 0, 2 * math.pi)
    velocity = object_speed * _uniform(generator, 0.5, 1) * torch.stack([heading.cos(), heading.sin()])
    start = (torch.tensor([w, h], dtype=torch.float64) - size) * _uniform(generator, 0, 1, (2,))
    position = start + torch.arange(seq_len, dtype=torch.float64)[:, None] * velocity
    local = pixels - position[:, None, None]
    on_object = ((local >= 0) & (local < size)).all(-1)
    return on_object, corner + zoom * local, position


def synthetic_sequence(
    image: torch.Tensor,
    size: int | tuple[int, int],
    seq_len: int,
    generator: torch.Generator,
    object_image: torch.Tensor | None = None,
    max_shift: float = 6.0,
    max_rotation: float = 1.0,
    max_zoom: float = 0.02,
    object_speed: float = 8.0,
) -> SyntheticSequence:
    """A seq_len-frame clip of size (H, W) (an int is square) from image (3, H0, W0) in [0, 1].

    The camera moves up to about max_shift pixels, max_rotation degrees and max_zoom (relative) per
    frame; the pasted object moves 0.5-1 x object_speed pixels per frame in a random direction. The
    object is cut from object_image when given, else from a random place of image. Deterministic for
    a given generator state. Masks are 0 where frame t shows what frame t-1 did not (disoccluded by
    the object, or outside frame t-1), and also on the one-pixel seam where a bilinear lookup in frame
    t-1 would blend the object with the background, so warping frame t-1 is right wherever mask is 1
    (up to the blur of resampling the source twice: mean absolute error ~0.003 on photos).
    """
    h, w = (size, size) if isinstance(size, int) else size
    if seq_len < 2:
        raise ValueError(f"seq_len must be at least 2 to have motion, got {seq_len}")
    source = image.float()
    diag = math.hypot(h - 1, w - 1)
    src_h, src_w = source.shape[-2:]
    if min(src_h, src_w) - 1 > diag:  # shrink (antialiased) so the camera never minifies: no aliasing
        factor = diag / (min(src_h, src_w) - 1)
        source = resize_to(source, (round(src_h * factor), round(src_w * factor)))
    patch_source = source if object_image is None else object_image.float()

    cams = _camera(generator, seq_len, (h, w), tuple(source.shape[-2:]), max_shift, max_rotation, max_zoom)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    pixels = torch.stack([xs, ys, torch.ones_like(xs)], -1)  # (H, W, 3) homogeneous
    background = torch.einsum("tij,hwj->thwi", cams[:, :2], pixels)  # source position of every pixel
    # Where frame t's background pixel sat in frame t-1: the inverse camera t-1 after camera t.
    to_prev = torch.linalg.solve(cams[:-1], cams[1:])
    background_flow = torch.einsum("tij,hwj->thwi", to_prev[:, :2], pixels) - pixels[..., :2]
    zoom = cams[0, :2, :2].det().sqrt().item()
    on_object, patch_points, position = _pasted_object(
        generator, seq_len, pixels[..., :2], tuple(patch_source.shape[-2:]), zoom, object_speed
    )

    frames = torch.where(
        on_object[:, None],
        sample_torch(patch_source.expand(seq_len, -1, -1, -1), patch_points.float()),
        sample_torch(source.expand(seq_len, -1, -1, -1), background.float()),
    ).clamp(0, 1)
    flows = torch.where(on_object[1:, ..., None], (position[:-1] - position[1:])[:, None, None], background_flow)
    flows = flows.permute(0, 3, 1, 2).float().contiguous()

    # Look up [object indicator, ones] of frame t-1 the way warping will: any blend with the other
    # layer, or with the zeros outside the image, marks the pixel as not visible.
    probe = torch.stack([on_object[:-1].float(), torch.ones(seq_len - 1, h, w)], 1)
    seen = warp_torch(probe, flows)
    visible = (seen[:, 1] > 1 - _MIX_TOLERANCE) & ((seen[:, 0] - on_object[1:].float()).abs() < _MIX_TOLERANCE)
    return SyntheticSequence(frames, flows, visible[:, None].float())
