"""The transform networks: shapes, the recurrent form's start from its image net, the gate and the hold."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import skimage.data
import torch
import torch.nn.functional as F
from torch import nn

from steadystyle.fusion import _UpConv, fused

from steadystyle.gate import GATE_BIAS, still
from steadystyle.networks import FAST, FULL, SLIM, Previous, SubPixelUp, TransformNet, recurrent_from_image


@pytest.fixture(scope="module")
def frames() -> tuple[torch.Tensor, torch.Tensor]:
    import skimage.data

    photo = torch.from_numpy(skimage.data.astronaut()[::8, ::8].copy()).permute(2, 0, 1)[None].float() / 255
    return photo, photo.roll(1, -1)


@pytest.mark.parametrize("arch", [FAST, SLIM, FULL], ids=["fast", "slim", "full"])
@pytest.mark.parametrize("size", [(64, 64), (37, 50), (17, 23)])
def test_any_frame_size_keeps_its_size(arch, size):
    net = TransformNet(arch).eval()
    with torch.no_grad():
        assert net(torch.rand(1, 3, *size)).shape == (1, 3, *size)


@pytest.mark.slow
def test_recurrent_net_starts_as_its_image_net(frames):
    """History weights start at zero and the gate nearly shut: a fresh start is the image net exactly; a
    continuation keeps sigmoid(GATE_BIAS) of the previous output, plus what the hold keeps, and nothing else
    of the history."""
    torch.manual_seed(0)
    image = TransformNet(FAST).eval()
    stable = recurrent_from_image(image).eval()
    first, second = frames
    previous = torch.rand_like(first)
    with torch.no_grad():
        held = still(second, first, image(second), previous)
    keep = 1 - (1 - torch.sigmoid(torch.tensor(GATE_BIAS))) * (1 - held)
    with torch.no_grad():
        assert torch.equal(stable(first), image(first))
        expected = image(second) + keep * (previous - image(second))
        assert torch.allclose(stable(second, Previous(first, previous)), expected, atol=1e-6)


def _gate_bias(net: TransformNet) -> torch.Tensor:
    """The bias of the gate's logits in the last conv: its 4th output channel (with a sub-pixel output, the
    4th group of four, channels 12-15)."""
    if net.arch.head:
        return net.trunk.out[-1].bias[3:]
    return net.trunk.out[0].bias[12:]


def test_an_open_gate_keeps_the_previous_output(frames):
    """The gate is a per-pixel blend: fully open, the output is the previous output whatever the frame."""
    net = recurrent_from_image(TransformNet(FAST)).eval()
    with torch.no_grad():
        _gate_bias(net)[:] = 100.0
        first, second = frames
        previous = torch.rand_like(first)
        assert torch.allclose(net(second, Previous(first, previous)), previous, atol=1e-6)
        assert not torch.allclose(net(second), previous, atol=0.1)  # a fresh start ignores the gate


def test_networks_refuse_the_wrong_inputs(frames):
    first, _ = frames
    with pytest.raises(ValueError, match="per-frame"):
        TransformNet(FAST)(first, Previous(first, first))
    with pytest.raises(ValueError, match="already"):
        recurrent_from_image(recurrent_from_image(TransformNet(FAST)))
    with pytest.raises(ValueError, match="head"):
        TransformNet(replace(FULL, head=8))


def _noisy(photo: torch.Tensor, seed: int, std: float = 1 / 255) -> torch.Tensor:
    return (photo + std * torch.randn(photo.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def _photo() -> torch.Tensor:
    import skimage.data

    return torch.from_numpy(skimage.data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255


def test_the_hold_keeps_a_still_scene_and_lets_motion_through():
    """Two noisy takes of a still photo are held; where a 4 px shift changes the picture, nothing is held
    (the network's output held as it is, so only the frames decide)."""
    photo = _photo()
    output = torch.zeros_like(photo)
    assert still(_noisy(photo, 1), _noisy(photo, 0), output, output).mean() > 0.95
    shifted = photo.roll(4, -1)
    moved = torch.nn.functional.avg_pool2d((shifted - photo).abs(), 4).mean(1, keepdim=True) > 8 / 255
    assert moved.float().mean() > 0.2  # the test sees real motion
    held = torch.nn.functional.avg_pool2d(still(shifted, photo, output, output), 4)[moved]
    assert held.mean() < 0.02  # (a moved block beside a still one blends a little: up to 0.2)


def test_the_hold_keeps_shimmer_but_not_a_new_colour():
    """On a still frame, a new output whose fine texture boils (the network's shimmer) is held; one whose
    colours changed (a stale trail the network no longer draws) is not."""
    photo = _photo()

    def painted(seed: int) -> torch.Tensor:  # the photo's colours under a fresh fine texture of +-0.15
        texture = torch.randn(photo.shape, generator=torch.Generator().manual_seed(seed)).sign()
        return (photo + 0.15 * texture).clamp(0, 1)

    shown, shimmer = painted(0), painted(1)
    recoloured = (shown + 0.1).clamp(0, 1)
    assert (shimmer - shown).abs().mean() > 0.1  # the shimmer moves pixels by far more than 10/255
    assert still(photo, photo, shimmer, shown).mean() > 0.9
    assert still(photo, photo, recoloured, shown).mean() < 0.02


def test_a_holding_net_keeps_its_output_on_sensor_noise(frames):
    """The same weights with and without the hold, on a still photo with fresh noise: the hold keeps the
    previous output, so the output changes far less than without it."""
    torch.manual_seed(0)
    holding = recurrent_from_image(TransformNet(FAST)).eval()
    plain = TransformNet(replace(holding.arch, hold=False)).eval()
    plain.load_state_dict(holding.state_dict())
    photo, _ = frames
    first, second = _noisy(photo, 0), _noisy(photo, 1)
    with torch.no_grad():
        y = holding(first)
        change = {name: (net(second, Previous(first, y)) - y).abs().mean().item()
                  for name, net in (("holding", holding), ("plain", plain))}
    assert holding.arch.hold and change["holding"] < 0.2 * change["plain"]


@pytest.mark.parametrize("height", [360, 270])
def test_the_hold_lets_go_where_the_colour_changed_and_passes_no_gradient(height):
    """A 16-row block near the bottom of a frame whose height is no multiple of 16 changes colour: exactly its
    rows are let go (a resize of the block map would shift them by up to 8 px); and training cannot reach
    the rule through either output."""
    x = torch.zeros(1, 3, height, 48)
    new, shown = torch.zeros_like(x, requires_grad=True), torch.zeros_like(x, requires_grad=True)
    top = height // 16 * 16 - 32
    with torch.no_grad():
        shown[..., top:top + 16, :] = 0.5
    held = still(x, x, new, shown)
    assert not held.requires_grad
    let_go = (held[0, 0, :, 24] < 0.5).nonzero().flatten()
    assert (let_go.min(), let_go.max()) == (top, top + 15)


@pytest.mark.slow
def test_a_trail_left_on_a_still_background_fades():
    """A dark square leaves a still, noisy background, and the gate (opened to keep half) leaves its trail in
    the output. The background then stands still, but the network's output there has other colours than the
    trail, so the hold lets the trail's colour go instead of keeping it for good. (Textures may still differ:
    each run holds its own.)"""
    torch.manual_seed(0)
    net = recurrent_from_image(TransformNet(FAST)).eval()
    photo = _photo()
    square = photo.clone()
    square[..., 40:80, 40:80] = 0.0

    def colour(difference: torch.Tensor) -> torch.Tensor:  # of the square, mean over its pixels
        return difference[..., 40:80, 40:80].mean((-2, -1)).abs().mean()

    with torch.no_grad():
        _gate_bias(net)[:] = -GATE_BIAS  # the gate keeps half of the previous output
        background = [_noisy(photo, seed) for seed in range(1, 13)]
        runs = {}
        for name, first in (("trail", _noisy(square, 0)), ("clean", _noisy(photo, 0))):
            y = net(first)
            frame = first
            for x in background:
                y, frame = net(x, Previous(frame, y)), x
            runs[name] = y
        start = colour(net(_noisy(square, 0)) - net(_noisy(photo, 0)))
        left = colour(runs["trail"] - runs["clean"])
    assert left < 0.2 * start  # 8% is left; without the check of the colours, 53% stays for good


def test_the_sub_pixel_norm_runs_before_the_shuffle_with_the_same_numbers():
    torch.manual_seed(0)
    up = SubPixelUp(16, 8)
    with torch.no_grad():  # an affine the norm could get wrong: distinct scales and shifts per channel
        up[2].weight.uniform_(0.5, 2.0)
        up[2].bias.uniform_(-1.0, 1.0)
    x = torch.randn(2, 16, 23, 31)
    as_listed = nn.Sequential.forward(up, x)  # conv, depth-to-space, norm, ReLU in their stored order
    assert up(x).shape == (2, 8, 46, 62)
    torch.testing.assert_close(up(x), as_listed, atol=1e-4, rtol=1e-4)


def test_fusing_upsampling_and_conv_computes_the_same_function():
    """stylize runs fast2 with each bilinear upsampling and the conv after it as one conv and a depth-to-space."""
    conv = torch.nn.Conv2d(5, 3, 3, padding=1)
    x = torch.rand(1, 5, 12, 16)
    reference = conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
    inner = (..., slice(2, -2), slice(2, -2))  # the two outermost pixels differ (see fusion.py)
    assert torch.allclose(_UpConv(conv)(x)[inner], reference[inner], atol=1e-5)
    torch.manual_seed(0)
    net = TransformNet(replace(FAST, recurrent=True, hold=True)).eval()
    photo = torch.from_numpy(skimage.data.astronaut()[::2, ::2].copy()).permute(2, 0, 1).float()[None] / 255
    previous = Previous(photo.roll(2, -1), photo.flip(-1))
    in_bf16 = copy.deepcopy(net).to(torch.bfloat16)
    with torch.no_grad():
        for history in (None, previous):
            exact = net(photo, history)
            bf16 = in_bf16(photo.bfloat16(), history and Previous(*(t.bfloat16() for t in history))).float()
            # the norms' statistics see the differing edges: less change than running in bf16 makes
            assert (fused(net)(photo, history) - exact).abs().mean() < (bf16 - exact).abs().mean()
    assert fused(TransformNet(FULL)).trunk.__class__.__name__ == "ClassicTrunk"  # nothing to fuse there
