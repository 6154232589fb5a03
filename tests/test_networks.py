"""The transform networks: shapes, the recurrent form's start from its image net, and the gate."""

from __future__ import annotations

import pytest
import torch

from steadystyle.networks import FAST, FULL, GATE_BIAS, SLIM, Previous, TransformNet, recurrent_from_image


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


def test_recurrent_net_starts_as_its_image_net(frames):
    """History weights start at zero and the gate nearly shut: a fresh start is the image net exactly; a
    continuation keeps sigmoid(GATE_BIAS) of the previous output and nothing else of the history."""
    torch.manual_seed(0)
    image = TransformNet(FAST).eval()
    stable = recurrent_from_image(image).eval()
    first, second = frames
    previous = torch.rand_like(first)
    keep = torch.sigmoid(torch.tensor(GATE_BIAS))
    with torch.no_grad():
        assert torch.equal(stable(first), image(first))
        expected = image(second) + keep * (previous - image(second))
        assert torch.allclose(stable(second, Previous(first, previous)), expected, atol=1e-6)


def test_an_open_gate_keeps_the_previous_output(frames):
    """The gate is a per-pixel blend: fully open, the output is the previous output whatever the frame."""
    net = recurrent_from_image(TransformNet(FAST)).eval()
    with torch.no_grad():
        net.trunk.out[0].bias[12:] = 100.0  # the gate's logits (channels 12-15 of the last conv)
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
