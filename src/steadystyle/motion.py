"""Test-time motion: the stable network's history moved along with the camera and the subjects.

A recurrent network sees its previous frame and output where they were. Under a pan, a zoom or a hand-held
shake every stroke has moved, so the network repaints the texture at its new place, and that is flicker.
Warping the history by the optical flow from the current frame back to the previous one lines it up: the
network (trained so, see `VideoTrainConfig.motion`) and the hold can keep what merely moved. Without it the
shipped stable networks kept 14-18% of their per-frame networks' flicker on a synthetic pan with zoom and
roll; with it, untrained for it, 5-9% (docs/evaluation.md).

The flow is DIS at its ultrafast preset on grey frames shrunk to longer side FLOW_SIDE (480 px): about 2 ms per
640x360 frame. Where it is wrong (occlusions) the frames disagree, the gate and the hold let go and the network
paints afresh; where it is slightly off, the kept strokes jitter, and that is flicker too. On selection clips
starry_night kept 34%, 19% and 17% of its per-frame network's flicker (hand-held cockatoo, the waterski pan,
the city pan, scored by Farneback's flow) with the flow at 256 px, and 29%, 12% and 15% at 480 px, for 1.4 ms
more per frame; the medium preset gains a few points more for 30 ms (benchmarks/motion_flow.py).

Two forms of the same lookups: `follow` in torch, differentiable in the output, for training; and, for
`stylize`, `Lookup` with `warp_frame` and `warp_kept` in OpenCV (2-3x faster; equal to 1e-4 with OpenCV 5,
whose remap takes positions as given, to 1/32 px with OpenCV 4), split so that the flow and the frame's warp,
which need only the input, are prepared apart from the network (stylize._prepare).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .flow import DIS_PRESETS, lookup_points, sample_torch
from .networks import Previous

MOTIONS = ("flow", "none")  # "none": the history as it was, the paper's design
FLOW_SIDE = 480  # longer side of the frames the flow is estimated on
FLOW_PRESET = "ultrafast"


def flow_size(height: int, width: int) -> tuple[int, int]:
    """The size (h, w) the flow is estimated at for frames of this size: longer side FLOW_SIDE at most."""
    scale = min(1.0, FLOW_SIDE / max(height, width))
    return max(8, round(height * scale)), max(8, round(width * scale))


def grey(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 1], any dtype -> the (h, w) uint8 grey picture at `flow_size` that DIS takes."""
    h, w = flow_size(*x.shape[-2:])
    rgb = (x.float() * 255 + 0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (w, h), interpolation=cv2.INTER_AREA)


def _small_flows(x: torch.Tensor, frame: torch.Tensor) -> list[np.ndarray]:
    """Backward flows (h, w, 2) at `flow_size`, in its pixels, from each of frames `x` to the previous `frame`s
    (both (B, 3, H, W))."""
    dis = cv2.DISOpticalFlow_create(DIS_PRESETS[FLOW_PRESET])
    return [dis.calc(grey(a), grey(b), None) for a, b in zip(x, frame)]


def history_flow(x: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """Backward flow (B, 2, H, W) in pixels from frames `x` to the previous `frame`s (both (B, 3, H, W)):
    pixel p of x shows what `frame` showed at p + flow(p)."""
    h, w = x.shape[-2:]
    size = flow_size(h, w)
    flow = torch.stack([torch.from_numpy(f) for f in _small_flows(x, frame)]).permute(0, 3, 1, 2)
    flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
    return flow * flow.new_tensor([w / size[1], h / size[0]])[None, :, None, None]


def _extremes(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel, the largest and smallest value of the 2x2 block it is the top-left of (the edge repeated)."""
    padded = F.pad(images, (0, 1, 0, 1), mode="replicate")
    corners = [padded[..., :-1, :-1], padded[..., 1:, :-1], padded[..., :-1, 1:], padded[..., 1:, 1:]]
    high = torch.maximum(torch.maximum(corners[0], corners[1]), torch.maximum(corners[2], corners[3]))
    low = torch.minimum(torch.minimum(corners[0], corners[1]), torch.minimum(corners[2], corners[3]))
    return high, low


def _resample_kept(output: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """The output looked up at `points` without wearing it down over hundreds of frames.

    A kept output is resampled again every frame. Bilinear lookups blur it a little each time (starry_night's
    output lost a third of its sharpness over 150 frames of a slow pan), bicubic ones sharpen and ring (its
    sharpness grew 1.9x); bicubic clamped to the four pixels around each lookup does neither. (The frame needs
    none of this: it is the last input, looked up once.)
    """
    cubic = sample_torch(output, points, "border", "bicubic")
    high, low = _extremes(output)
    corner = points.floor()
    return cubic.clamp_(sample_torch(low, corner, "border", "nearest"), sample_torch(high, corner, "border", "nearest"))


def follow(previous: Previous, x: torch.Tensor) -> Previous:
    """The history `previous` moved onto the frames `x`: its frame and output warped by the flow from x back
    to its frame, in their own precision, dtype and memory layout. Differentiable in the output (training
    unrolls through it), not in the flow."""
    with torch.no_grad():
        points = lookup_points(history_flow(x, previous.frame).to(x.device))
    # Past the edge the history repeats its edge: black there would read as a dark history.
    frame = sample_torch(previous.frame.float(), points, "border")
    output = _resample_kept(previous.output.float(), points)
    layout = (torch.channels_last if previous.frame.is_contiguous(memory_format=torch.channels_last)
              and not previous.frame.is_contiguous() else torch.contiguous_format)
    return Previous(frame.to(previous.frame.dtype).contiguous(memory_format=layout),
                    output.to(previous.output.dtype).contiguous(memory_format=layout))


@dataclass(frozen=True)
class Lookup:
    """Where each pixel of a frame looks in the previous one: x and y as float32 (H, W) arrays, OpenCV's
    remap maps. Made from the frames alone, before the network runs."""

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def between(cls, now: np.ndarray, before: np.ndarray, height: int, width: int) -> Lookup:
        """From a frame of this size back to the previous one, given both as `grey` made them (each frame's
        grey serves twice: as now and, next time, as before)."""
        small = cv2.DISOpticalFlow_create(DIS_PRESETS[FLOW_PRESET]).calc(now, before, None)
        flow = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)  # F.interpolate's pixel centres
        xs, ys = _pixel_grid(height, width)
        return cls(xs + flow[..., 0] * (width / small.shape[1]), ys + flow[..., 1] * (height / small.shape[0]))


@functools.lru_cache(maxsize=4)
def _pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    xs.flags.writeable = ys.flags.writeable = False  # shared between calls
    return xs, ys


def _hwc(images: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in any dtype and layout -> (H, W, 3) float32, what OpenCV takes."""
    return images[0].permute(1, 2, 0).float().contiguous().cpu().numpy()


def _like(hwc: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """(H, W, 3) float32 -> (1, 3, H, W) in `like`'s dtype, device and memory layout."""
    layout = (torch.channels_last if like.is_contiguous(memory_format=torch.channels_last) and not like.is_contiguous()
              else torch.contiguous_format)
    return torch.from_numpy(hwc).permute(2, 0, 1)[None].to(like.device, like.dtype).contiguous(memory_format=layout)


def warp_frame(frame: torch.Tensor, lookup: Lookup) -> torch.Tensor:
    """The previous frame (1, 3, H, W) looked up bilinearly, its edge repeated beyond it: `follow`'s frame."""
    return _like(cv2.remap(_hwc(frame), lookup.x, lookup.y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), frame)


_BLOCK = np.ones((2, 2), np.uint8)


def warp_kept(output: torch.Tensor, lookup: Lookup) -> torch.Tensor:
    """The previous output (1, 3, H, W) looked up bicubically, clamped to the four pixels around each lookup:
    `follow`'s output (see `_resample_kept` for why)."""
    hwc = _hwc(output)
    cubic = cv2.remap(hwc, lookup.x, lookup.y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    corner = np.floor(lookup.x), np.floor(lookup.y)
    for extreme, bound in ((cv2.dilate, np.minimum), (cv2.erode, np.maximum)):
        block = extreme(hwc, _BLOCK, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)  # of the 2x2 block right-below
        bound(cubic, cv2.remap(block, *corner, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE), out=cubic)
    return _like(cubic, output)
