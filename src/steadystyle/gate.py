"""How much of its history a gated stable network keeps at each pixel: the trunk's gate channel, corrected by a
learned head that sees how much the frame and the painting changed (`GateHead`), and the hold (`still`), a rule.

The trunk normalises every channel over the frame (instance norm), so a change of 1/255 everywhere looks to it
like one of 50/255: its gate channel is blind to change. Shipped networks trained without the head keep on
average the same share of their history (starry_night 0.35, udnie 0.10) whether the frame is unchanged, moved,
noisy or has a new object in it; all their steadiness came from the hold, which lets go of a moving frame at
2/255 of sensor noise and at JPEG quality 85 (keep 0.69 and 0.57 on a 4 px/frame pan). The head works on
4x4-block means of those changes in log units, with no normalisation, at a sixteenth of the pixels.

The head is an option (`train video --gate-head N`), off by default: trained at the suggested temporal weight it
holds such frames (keep 0.91-0.95 on the pan with noise, JPEG or blur, benchmarks/gate_probe.py), yet on real
selection clips it kept as much of the flicker as the network without it (CHANGELOG.md, issue 32).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GATE_BIAS = -4.0  # a new recurrent net keeps ~2% of its previous output: nearly its image net, yet trainable
BLOCK = 4  # the hold and the head look at BLOCK x BLOCK means: sensor noise averages out, motion does not
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
# The head starts at zero (the trunk's gate unchanged) while the rest of the network starts trained: at stage 2's
# learning rate its logit would need tens of thousands of steps to move a few units, so it learns this much faster.
HEAD_LR_FACTOR = 30.0


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


def _change(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(1 + 255 |a - b|), per channel, as BLOCK x BLOCK means: noise of 1/255 reads 0.7, a new object 3-5."""
    return torch.log1p(255 * F.avg_pool2d((a.float() - b.float()).abs(), BLOCK, ceil_mode=True))


class GateHead(nn.Module):
    """A correction to the trunk's gate logit from how much the frame and the painting changed, learned in stage 2.

    It sees, per block: the change from the previous frame (moved along the motion) to this one, the change from
    the output shown to the network's new painting, and the trunk's logit. Its last layer starts at zero, so a
    new head leaves the gate as the trunk made it.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(7, channels, 3, padding=1, padding_mode="replicate"), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="replicate"), nn.ReLU(),
            nn.Conv2d(channels, 1, 1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, logit: torch.Tensor, x: torch.Tensor, frame: torch.Tensor, new: torch.Tensor,
                shown: torch.Tensor) -> torch.Tensor:
        """`logit` (N, 1, H, W), the trunk's, corrected; the painting `new` passes no gradient through here."""
        seen = torch.cat([_change(x, frame), _change(new.detach(), shown.detach()),
                          F.avg_pool2d(logit.float(), BLOCK, ceil_mode=True)], 1)
        return logit + _up(self.body(seen), BLOCK, logit.shape[-2:]).to(logit.dtype)
