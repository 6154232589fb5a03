"""Transform networks: Johnson et al. 2016 ("classic", the `full` preset) and a faster, steadier layout
("fast2", the `fast` preset; "fast" is its predecessor, kept so that its model files load), each with a
recurrent form (Gupta et al. 2017) that also sees the previous frame and its stylized output.

All use instance norm (a look independent of the frame's contrast) and resize + conv upsampling rather than
transposed convolutions (no checkerboard).

The fast layouts run their trunk below full resolution: a stride-2 conv in, the residual blocks at 1/8 scale
(a receptive field wide enough for large brush structures) and encoder-to-decoder skips (so people and
objects stay recognisable), then back to full size. "fast2" upsamples bilinearly everywhere, ending in a conv
at 1/2 scale into `Arch.head` channels, bilinear to full size and a 3x3 conv there: nearest-neighbour and
sub-pixel upsampling (the "fast" layout) leave a regular grid or hatch 2-4 px apart over the whole frame that
every viewer sees (benchmarks/look.py, `steadystyle.artifacts`), and a 3x3 conv at full size costs a third of
the 9x9 one "fast" ended in. Their recurrent form ends in a per-pixel gate that blends the new output with the
previous one: where the scene has not changed (the network sees the previous frame too), it can keep what it
showed, so sensor noise does not boil flat regions. A fresh start (first frame, shot cut) closes the gate.
New recurrent fast networks also hold (`Arch.hold`, `still`): where the frame is unchanged up to sensor noise
they keep their output whatever the trained gate says (gate.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .conditioning import StyleInput, StyleNorm
from .gate import GATE_BIAS, still


@dataclass(frozen=True)
class Arch:
    """What a model file must record to rebuild its network (files without `layout` are "classic")."""

    width: int = 32  # channels after the first conv; Johnson et al. use 32
    res_blocks: int = 5
    recurrent: bool = False
    layout: str = "classic"
    hold: bool = False  # gated nets only: also keep the previous output where the frame is still (False where a file does not record it)
    head: int = 0  # fast layouts only: channels of the last full-resolution conv (0 where a file does not record it)
    style_dim: int = 0  # a style code's size for a network that takes the style as an input (conditioning.py); 0: one style

    def __post_init__(self) -> None:
        """Refuse what no network here needs before anything is allocated: a model file's metadata is
        untrusted, and a width of 10^6 or 4000 blocks would take gigabytes before any other check."""
        for name, (low, high) in ARCH_BOUNDS.items():
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        for name in ("recurrent", "hold"):
            if type(getattr(self, name)) is not bool:
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown network layout {self.layout!r}; choose from {', '.join(LAYOUTS)}")
        if self.head and self.layout not in GATED:
            raise ValueError(f"a head (head={self.head}) exists only for the fast layouts, not {self.layout!r}")
        if self.layout == "fast2" and not self.head:
            raise ValueError("the fast2 layout needs head channels (head > 0)")
        if self.style_dim and self.layout != "fast2":
            raise ValueError(f"a style input (style_dim={self.style_dim}) exists only for the fast2 layout")

    def as_dict(self) -> dict:
        return asdict(self)


LAYOUTS = ("classic", "fast", "fast2")
GATED = ("fast", "fast2")  # the layouts whose recurrent form ends in a gate (and may hold)
# Eight times what the presets use: room for larger networks, none for a file that would exhaust memory.
ARCH_BOUNDS = {"width": (1, 256), "res_blocks": (0, 40), "head": (0, 64), "style_dim": (0, 1024)}


FULL = Arch(32, 5)
SLIM = Arch(16, 3)
FAST = Arch(16, 5, layout="fast2", head=8)
EARLIER_FAST = Arch(16, 5, layout="fast", head=8)  # what the fast preset built before fast2: its runs still resume
# Any picture as a style: 1.5x wider than FAST (5.8 GMAC at 640x360 against 2.6) for the many styles it paints.
ANY_STYLE_ARCH = Arch(24, 5, layout="fast2", head=12, style_dim=100)
PRESETS = {"fast": FAST, "full": FULL, "slim": SLIM}
DEFAULT_ARCH = "fast"  # what training builds unless told otherwise
class Previous(NamedTuple):
    """What a recurrent network remembers: the previous input frame and its stylized output."""

    frame: torch.Tensor
    output: torch.Tensor


class ConvLayer(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: bool = False, norm_relu: bool = True):
        layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
        layers += [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm_relu:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)


def _instance_norm(channels: int) -> StyleNorm:
    """Instance norm as a group norm with one channel per group: the same arithmetic and parameter names,
    but it keeps bf16 channels-last tensors in that layout (InstanceNorm2d returns them contiguous, and
    converting back costs more than the norm: the fast net ran 1.6x faster with this). A style code may
    move its scale and shift (conditioning.py); unmoved, it is a plain group norm."""
    return StyleNorm(channels)


def _conv(cin: int, cout: int, kernel: int = 3, stride: int = 1, norm_relu: bool = True) -> nn.Sequential:
    """Zero-padded conv (+ instance norm and ReLU): a separate reflection pad costs ~10% of a fast net's time."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, padding=(kernel - stride + 1) // 2)]
    if norm_relu:
        layers += [_instance_norm(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, reflect: bool = True):
        super().__init__()
        if reflect:
            self.body = nn.Sequential(
                ConvLayer(channels, channels, 3),
                nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True),
            )
        else:
            self.body = nn.Sequential(_conv(channels, channels), _conv(channels, channels, norm_relu=False),
                                      _instance_norm(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Mirror-pad the bottom and right up to a multiple; unconditional, so exported graphs keep any size."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="reflect")


class ClassicTrunk(nn.Module):
    """Johnson et al.: 9x9 conv, two stride-2 convs, residual blocks at 1/4 scale, two upsamplings, 9x9 conv."""

    multiple, margin = 4, 0

    def __init__(self, arch: Arch, cin: int, cout: int):
        super().__init__()
        w = arch.width
        self.encoder = nn.Sequential(ConvLayer(cin, w, 9), ConvLayer(w, 2 * w, 3, 2), ConvLayer(2 * w, 4 * w, 3, 2))
        self.residual = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(arch.res_blocks)])
        self.decoder = nn.Sequential(
            ConvLayer(4 * w, 2 * w, 3, upsample=True), ConvLayer(2 * w, w, 3, upsample=True),
            ConvLayer(w, cout, 9, norm_relu=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.residual(self.encoder(x)))


class SubPixelUp(nn.Sequential):
    """2x upsampling as a conv at the low resolution into 4x the channels, then depth-to-space: the same
    arithmetic as upsample + conv, without its full-size copies; used for the output only. ICNR init
    (the four sub-pixels start alike) avoids the checkerboard that sub-pixel convs are known for."""

    def __init__(self, cin: int, cout: int, norm_relu: bool = True):
        conv = nn.Conv2d(cin, 4 * cout, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(conv.weight[::4].repeat_interleave(4, 0))
            conv.bias.copy_(conv.bias[::4].repeat_interleave(4, 0))
        layers: list[nn.Module] = [conv, nn.PixelShuffle(2)]
        if norm_relu:
            layers += [_instance_norm(cout), nn.ReLU(inplace=True)]
        super().__init__(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The norm and ReLU run before the depth-to-space, as a group norm over each output channel's four
        sub-pixel channels: the same numbers, and 3x faster for the head at 640x360 (bf16 on 2 cores)."""
        conv, shuffle, *norm_relu = self
        y = conv(x)
        if norm_relu:
            norm = norm_relu[0]
            y = F.relu(F.group_norm(y, norm.num_groups, norm.weight.repeat_interleave(4),
                                    norm.bias.repeat_interleave(4), norm.eps))
        return shuffle(y)


class FastTrunk(nn.Module):
    """A 4x4 stride-2 conv to 1/2 scale, down to 1/8, residual blocks there, back up with skips, and out
    through a sub-pixel conv; with `head`, a 9x9 conv at full resolution last (3/4 the time of the rest: bench_arch)."""

    multiple, margin = 8, 24  # a mirrored band this wide hides the zero-padded convs' border marks

    def __init__(self, arch: Arch, cin: int, cout: int):
        super().__init__()
        w = arch.width
        self.enc = nn.ModuleList([_conv(cin, w, 4, 2), _conv(w, 2 * w, 3, 2), _conv(2 * w, 4 * w, 3, 2)])
        self.residual = nn.Sequential(*[ResidualBlock(4 * w, reflect=False) for _ in range(arch.res_blocks)])
        # Resize-convolutions inside (sub-pixel ones there grew a checkerboard within a few hundred steps).
        self.dec = nn.ModuleList([nn.Sequential(nn.Upsample(scale_factor=2), _conv(4 * w, 2 * w)),
                                  nn.Sequential(nn.Upsample(scale_factor=2), _conv(2 * w, w))])
        self.out = (nn.Sequential(SubPixelUp(w, arch.head), nn.Conv2d(arch.head, cout, 9, padding=4)) if arch.head
                    else SubPixelUp(w, cout, norm_relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.enc[0](x)
        quarter = self.enc[1](half)
        h = self.residual(self.enc[2](quarter))
        h = self.dec[0](h) + quarter
        h = self.dec[1](h) + half
        return self.out(h)


class _Bilinear(nn.Module):
    """2x bilinear upsampling: unlike nearest-neighbour or sub-pixel, it cannot make a 2-px pattern."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class Fast2Trunk(FastTrunk):
    """The fast trunk with a 3x3 stride-2 conv in (a 4x4 one samples the frame unevenly), bilinear resize-convs
    back up, and out through a conv at 1/2 scale, bilinear 2x and a 3x3 conv at full resolution."""

    def __init__(self, arch: Arch, cin: int, cout: int):
        super().__init__(arch, cin, cout)
        w = arch.width
        self.enc[0] = _conv(cin, w, 3, 2)
        self.dec = nn.ModuleList([nn.Sequential(_Bilinear(), _conv(4 * w, 2 * w)),
                                  nn.Sequential(_Bilinear(), _conv(2 * w, w))])
        self.out = nn.Sequential(_conv(w, arch.head), _Bilinear(), nn.Conv2d(arch.head, cout, 3, padding=1))


TRUNKS = {"classic": ClassicTrunk, "fast": FastTrunk, "fast2": Fast2Trunk}


class TransformNet(nn.Module):
    """Image -> stylized image, both RGB in [0, 1] of any size (padded inside to the trunk's multiple).

    A recurrent net also takes `Previous` (frame and output of the last step); None means a fresh start.
    "classic" recurrent nets see only the previous output, with no gate.
    """

    def __init__(self, arch: Arch = FAST):
        super().__init__()
        self.arch = arch  # checked when it was made (Arch.__post_init__)
        self.gated = arch.recurrent and arch.layout in GATED
        cin = 3 + (3 if arch.recurrent else 0) + (3 if self.gated else 0)
        self.trunk = TRUNKS[arch.layout](arch, cin, 4 if self.gated else 3)
        norms = [m for m in self.trunk.modules() if isinstance(m, StyleNorm)]
        self.style = StyleInput(arch.style_dim, norms) if arch.style_dim else None

    def forward(self, x: torch.Tensor, previous: Previous | None = None) -> torch.Tensor:
        if not self.arch.recurrent:
            if previous is not None:
                raise ValueError("this is a per-frame (image) network; it takes no previous frame")
            return self._run(x)
        if previous is None:  # a fresh start sees its own frame as history, with the gate shut
            return self.step(x, x, x, 0.0)
        return self.step(x, previous.frame, previous.output, 1.0)

    def step(self, x: torch.Tensor, frame: torch.Tensor, output: torch.Tensor,
             history: torch.Tensor | float) -> torch.Tensor:
        """One recurrent step with the fresh-start switch as a number (0: fresh start, 1: continue), the
        form that exports to ONNX as one graph."""
        if not self.gated:
            return self._run(torch.cat([x, output], dim=1))
        rgb, keep = self.proposal(x, frame, output)
        return rgb + history * keep * (output.to(rgb.dtype).contiguous() - rgb)

    def proposal(self, x: torch.Tensor, frame: torch.Tensor, output: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """A gated network's own painting of `x`, and the share of its history (`frame`, `output`) it keeps at
        each pixel (the trained gate combined with the hold): the two that `step` blends."""
        # The blend runs on plain (NCHW) tensors: on channels-last slices the same ops are 3x slower,
        # a tenth of a 720p frame's time in bf16.
        y = self._run(torch.cat([x, frame, output], dim=1)).contiguous()
        rgb, keep = y[:, :3], torch.sigmoid(y[:, 3:] + GATE_BIAS)
        if self.arch.hold:
            keep = 1 - (1 - keep) * (1 - still(x, frame, rgb, output).to(keep.dtype))
        return rgb, keep

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        if self.style is not None and self.style.code is None:
            raise ValueError("this network paints any picture's style: give it one first (style.condition)")
        h, w = x.shape[-2:]
        m, k = self.trunk.margin, self.trunk.multiple
        if not m:
            return self.trunk(_pad_to(x, k))[..., :h, :w]
        # One pad: a mirrored margin that the zero-padded convs may mark (cropped away again), plus what
        # makes the size a multiple of k. Frames too small to mirror that far (under 32 px) repeat their edge.
        mode = "reflect" if min(h, w) > m + k else "replicate"
        x = F.pad(x, (m, m + (-(w + 2 * m)) % k, m, m + (-(h + 2 * m)) % k), mode=mode)
        return self.trunk(x)[..., m:m + h, m:m + w]


def holding(arch: Arch) -> Arch:
    """`arch` with the hold where it applies (gated nets): every stable net trained from now on has it."""
    return replace(arch, hold=arch.recurrent and arch.layout in GATED)


def recurrent_from_image(image_net: TransformNet, template: TransformNet | None = None) -> TransformNet:
    """A recurrent net that starts as `image_net`: weights on the new inputs start at zero (and, for the
    gated layout, the gate nearly shut), so training begins from the per-frame look.

    With `template`, a trained recurrent net of the same architecture, those weights come from it instead:
    its learned use of the previous frame and output, and its gate. Fine-tuning a new style starts so.
    A new gated net holds (`still`), with or without a template.
    """
    if image_net.arch.recurrent:
        raise ValueError("already a recurrent network")
    arch = holding(replace(image_net.arch, recurrent=True))
    if template is not None and replace(template.arch, hold=arch.hold) != arch:
        raise ValueError(f"the recurrent template's architecture {template.arch} is not {arch}")
    net = TransformNet(arch)
    target = {k: v.clone() for k, v in (template or net).state_dict().items()}
    for key, value in image_net.state_dict().items():
        new = target[key]
        if new.shape == value.shape:
            target[key] = value
            continue
        # First conv: more input channels (the current frame's first). Last conv of the gated net: one more
        # output channel, the gate.
        if template is None:
            new.zero_()
        new[tuple(slice(0, n) for n in value.shape)] = value
    net.load_state_dict(target)
    return net
