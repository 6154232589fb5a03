"""A style as an input: one network paints any picture's style (conditional instance norm, Dumoulin et al.
2017; its code predicted from the picture, Ghiasi et al. 2017).

A style network's instance norms set each feature's scale and shift; much of a style lives in those
numbers. A conditioned network keeps its convolutions for every style and moves the norms' scales and
shifts by a linear function of a style code, which a small encoder computes from the picture once. The
move starts at zero: a new conditioned network paints as the network it was made from.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

ENCODER_SIDE = 256  # shorter side of a style picture as the encoder sees it (training's views are squares of it)


class StyleNorm(nn.GroupNorm):
    """Instance norm (a group norm with one channel per group: see networks._instance_norm) whose scale and
    shift a style code may move: `shift` (N, 2C) holds the move of the scales and then of the shifts."""

    def __init__(self, channels: int):
        super().__init__(channels, channels)
        self.shift: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift is None:
            return super().forward(x)
        scale, bias = self.shift.to(x.device, x.dtype).chunk(2, dim=1)
        y = F.group_norm(x, self.num_groups, None, None, self.eps)
        return y * (self.weight.to(x.dtype) + scale)[..., None, None] + (self.bias.to(x.dtype) + bias)[..., None, None]


class StyleEncoder(nn.Module):
    """A picture -> its style code. Strided convs take it to 1/32 scale; the mean and spread of each feature
    over the whole picture (a style is a texture's statistics, wherever they sit in the picture) go through
    a linear layer. About 0.5 GMAC at ENCODER_SIDE square: a few hundredths of a second on a CPU."""

    def __init__(self, dim: int, width: int = 24):
        super().__init__()
        widths = [width, 2 * width, 4 * width, 8 * width, 8 * width]
        layers: list[nn.Module] = []
        for cin, cout in zip([3, *widths], widths):
            layers += [nn.Conv2d(cin, cout, 3, 2, 1), nn.ReLU(inplace=True),
                       nn.Conv2d(cout, cout, 3, 1, 1), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(2 * widths[-1], dim)

    def forward(self, pictures: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) RGB in [0, 1], shorter side about ENCODER_SIDE -> (N, dim)."""
        h = self.features(pictures).float().flatten(2)
        return self.out(torch.cat([h.mean(2), h.std(2)], dim=1))


class StyleInput(nn.Module):
    """The encoder, and the linear map from a code to every StyleNorm's move (zero at first)."""

    def __init__(self, dim: int, norms: Iterable[StyleNorm]):
        super().__init__()
        self._norms = list(norms)  # a plain list: they are the trunk's modules, saved there
        self._sizes = [2 * n.num_channels for n in self._norms]
        self.encoder = StyleEncoder(dim)
        self.project = nn.Linear(dim, sum(self._sizes))
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)
        self.code: torch.Tensor | None = None

    def condition(self, code: torch.Tensor) -> None:
        """Paint in the style of `code` (N, dim), N 1 or the batch's size, until conditioned again."""
        self.code = code
        for norm, shift in zip(self._norms, self.project(code.float()).split(self._sizes, dim=1)):
            norm.shift = shift


def encoder_view(picture: torch.Tensor) -> torch.Tensor:
    """(3, H, W) in [0, 1] -> (1, 3, h, w) float, its shorter side ENCODER_SIDE (area-shrunk), as training's square
    views of the paintings are: the strokes at the scale the encoder learnt them."""
    h, w = picture.shape[-2:]
    scale = ENCODER_SIDE / min(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(picture[None].float(), size=size, mode="area" if scale < 1 else "bilinear")


def encode(encoder: StyleEncoder, picture: torch.Tensor) -> torch.Tensor:
    """The code (1, dim) of one (3, H, W) picture in [0, 1]."""
    return encoder(encoder_view(picture))
