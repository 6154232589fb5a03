"""The learned gate head: a new one leaves the gate as it was; it sees the frame's change block by block
(its training, saving and export: test_train.py)."""

from __future__ import annotations

import pytest
import skimage.data
import torch

from steadystyle.gate import BLOCK, GateHead
from steadystyle.networks import FAST, Previous, TransformNet, recurrent_from_image


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    return torch.from_numpy(skimage.data.coffee()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255  # 100x150


def _stable(gate_head: int) -> TransformNet:
    torch.manual_seed(0)
    return recurrent_from_image(TransformNet(FAST), gate_head=gate_head).eval()


def test_a_new_gate_head_leaves_the_gate_as_the_trunk_made_it(photo):
    with_head, without = _stable(16), _stable(0)
    assert with_head.arch.gate_head == 16 and without.gate_head is None
    history = Previous(photo.roll(3, -1), torch.rand_like(photo))
    with torch.no_grad():
        assert torch.equal(with_head(photo, history), without(photo, history))


def test_the_gate_head_sees_how_much_the_frame_changed_block_by_block(photo):
    """A head set to let go by the frame's change keeps the history where the frame is as it was up to a noise of
    1/255 and lets go on the blocks where something new appeared (the head alone: the hold would keep the noise)."""
    head = GateHead(4)
    with torch.no_grad():
        for layer in head.body:
            if isinstance(layer, torch.nn.Conv2d):
                layer.weight.zero_(), layer.bias.zero_()
        head.body[0].weight[0, :3, 1, 1] = 1.0  # the frame's change, per channel, at the block itself
        head.body[2].weight[0, 0, 1, 1] = 1.0
        head.body[4].weight[0, 0] = -4.0
        head.body[4].bias[0] = 12.0  # logit 12 - 4 x the summed log change
        g = torch.Generator().manual_seed(0)
        x = (photo + torch.randn(photo.shape, generator=g) / 255).clamp(0, 1)
        x[..., 40:64, 60:100] = 1 - x[..., 40:64, 60:100]  # something new, on whole blocks
        logit = torch.zeros_like(photo[:, :1])
        keep = torch.sigmoid(head(logit, x, photo, photo, photo))
        unchanged = torch.sigmoid(head(logit, photo, photo, photo, photo))
    assert keep.shape == logit.shape and torch.allclose(unchanged, torch.sigmoid(torch.tensor(12.0)).expand_as(keep))
    assert keep[..., 40 + BLOCK:64 - BLOCK, 60 + BLOCK:100 - BLOCK].max() < 0.01
    assert keep[..., :32, :].min() > 0.9 and keep[..., 72:, :].min() > 0.9
