"""Transform networks: Johnson et al. 2016 with today's fixes, and its recurrent form (Gupta et al. 2017).

Reflection padding avoids border artefacts, instance norm makes the look independent of the frame's
contrast, and nearest-neighbour upsampling + conv avoids the checkerboard of transposed convolutions.
The recurrent network is the same trunk with three more input channels for the previous stylized
frame, so it can start from a trained image network and improve only stability.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Arch:
    """What a model file must record to rebuild its network."""

    width: int = 32  # channels after the first conv; Johnson et al. use 32
    res_blocks: int = 5
    recurrent: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Arch(32, 5)
SLIM = Arch(16, 3)
PRESETS = {"full": FULL, "slim": SLIM}


class ConvLayer(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: bool = False, norm_relu: bool = True):
        layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
        layers += [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm_relu:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    """Image -> stylized image, both RGB in [0, 1] of any size (sizes not divisible by 4 are padded).

    A recurrent net takes the current frame and the previous stylized frame, concatenated (6 channels).
    """

    def __init__(self, arch: Arch = FULL):
        super().__init__()
        self.arch = arch
        w = arch.width
        cin = 6 if arch.recurrent else 3
        self.encoder = nn.Sequential(ConvLayer(cin, w, 9), ConvLayer(w, 2 * w, 3, 2), ConvLayer(2 * w, 4 * w, 3, 2))
        self.residual = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(arch.res_blocks)])
        self.decoder = nn.Sequential(
            ConvLayer(4 * w, 2 * w, 3, upsample=True), ConvLayer(2 * w, w, 3, upsample=True),
            ConvLayer(w, 3, 9, norm_relu=False),
        )

    def forward(self, x: torch.Tensor, previous: torch.Tensor | None = None) -> torch.Tensor:
        if self.arch.recurrent:
            if previous is None:
                raise ValueError("a recurrent network needs the previous stylized frame")
            x = torch.cat([x, previous], dim=1)
        elif previous is not None:
            raise ValueError("this is a per-frame (image) network; it takes no previous frame")
        h, w = x.shape[-2:]
        ph, pw = -h % 4, -w % 4  # two stride-2 convs and two 2x upsamplings need sizes divisible by 4
        if ph or pw:
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        y = self.decoder(self.residual(self.encoder(x)))
        return y[..., :h, :w]


def recurrent_from_image(image_net: TransformNet) -> TransformNet:
    """A recurrent net that reproduces `image_net` exactly: the previous-frame input weights start at zero."""
    if image_net.arch.recurrent:
        raise ValueError("already a recurrent network")
    net = TransformNet(Arch(image_net.arch.width, image_net.arch.res_blocks, recurrent=True))
    state = image_net.state_dict()
    first = "encoder.0.1.weight"
    w = state[first]
    state[first] = torch.cat([w, torch.zeros_like(w)], dim=1)
    net.load_state_dict(state)
    return net
