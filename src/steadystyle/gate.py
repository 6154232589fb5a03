"""How much of its history a gated stable network keeps at each pixel: the trunk's gate channel, and the hold
(`still`), a rule.

The trunk normalises every channel over the frame (instance norm), so a change of 1/255 everywhere looks to it
like one of 50/255: its gate channel is blind to change. Shipped networks keep on average the same share of
their history (starry_night 0.24, udnie 0.10) whether the frame is unchanged, moved, noisy or has a new object
in it (benchmarks/gate_probe.py); their steadiness on a still shot comes from the hold, and under motion from
the history warped along the flow (motion.py) and the temporal loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

GATE_BIAS = -4.0  # a new recurrent net keeps ~2% of its previous output: nearly its image net, yet trainable
BLOCK = 4  # the hold looks at BLOCK x BLOCK means: sensor noise averages out, motion does not
# The hold: sigmoid(HOLD_BIAS - HOLD_SLOPE * c), c the 4x4-block mean change in 1/255. Half held at 2.5/255,
# 98% at 1.5 and 2% at 3.5: sensor noise of a still scene is held, motion passes. Gentler constants (4, 1)
# held many pixels partly, which averages noisy outputs over time: washed texture and ghost trails.
HOLD_BIAS, HOLD_SLOPE = 10.0, 4.0
# ... times sigmoid(NEAR_STEEP (1 - g / NEAR_HALF)), g the change of the 16x16-block mean colour from the output
# shown to the network's new one: half held at 10/255, 98% at 6, 2% at 14. A style network's shimmer moves
# texture, which the block mean averages out; the trail of something that has left a still background is a
# colour, and is let go (without this the hold kept such trails for good). Mean absolute differences cannot
# tell the two apart: on a dark, noisy board composition_vii's shimmer exceeds 10/255.
NEAR_BLOCK, NEAR_HALF, NEAR_STEEP = 16, 10 / 255, 10.0


def _up(blocks: torch.Tensor, factor: int, size: torch.Size) -> torch.Tensor:
    """Bilinear upsampling of a map of pooled blocks by the block size, cropped to `size`: each block stays on
    the pixels it pooled (resizing to a size that is no multiple of the block would shift them, by up to 8 px)."""
    return F.interpolate(blocks, scale_factor=factor, mode="bilinear", align_corners=False)[..., :size[0], :size[1]]


def still(x: torch.Tensor, frame: torch.Tensor, new: torch.Tensor, shown: torch.Tensor) -> torch.Tensor:
    """Per pixel, (N, 1, H, W) in float32: how surely the output `shown` for `frame` should stay for `x`, where
    the network proposes `new`: nothing but noise changed in the frame, and `new` keeps `shown`'s colours.

    A rule with no weights, needing no flow and passing no gradient, for the trunk's blind gate (see above).
    Differences are taken in the frames' own precision and pooled before the conversion: in bf16 that is a
    fifth of the time of converting first.
    """
    change = F.avg_pool2d((x - frame).abs_(), BLOCK, ceil_mode=True).float().mean(1, keepdim=True)
    gap = F.avg_pool2d(new.detach() - shown.detach().to(new.dtype), NEAR_BLOCK, ceil_mode=True).float()
    near = torch.sigmoid(NEAR_STEEP * (1 - gap.abs_().mean(1, keepdim=True) / NEAR_HALF))
    held = torch.sigmoid(HOLD_BIAS - HOLD_SLOPE * 255 * change) * _up(near, NEAR_BLOCK // BLOCK, change.shape[-2:])
    return _up(held, BLOCK, x.shape[-2:])
