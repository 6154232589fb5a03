"""Loss terms on hand-made tensors, where the right answer can be worked out on paper."""

from __future__ import annotations

import torch

from steadystyle.losses import content_loss, gram, style_loss, temporal_loss, tv_loss


def test_gram_is_normalised_by_c_h_w():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # B=1, C=2, H=1, W=2
    expected = torch.tensor([[1 + 4, 3 + 8], [3 + 8, 9 + 16]]) / (2 * 1 * 2)
    assert torch.allclose(gram(f)[0], expected)


def test_gram_is_fp32_under_bf16():
    f = torch.rand(1, 4, 8, 8).to(torch.bfloat16)
    assert gram(f).dtype == torch.float32


def test_content_and_style_losses():
    a = {"x": torch.zeros(1, 2, 2, 2)}
    b = {"x": torch.ones(1, 2, 2, 2)}
    assert content_loss(a, b, ["x"]).item() == 1.0
    assert style_loss(b, {"x": gram(b["x"])}, ["x"]).item() == 0.0
    # Gram of ones is 4/8 = 0.5 everywhere; against zeros the MSE is 0.25.
    assert torch.isclose(style_loss(b, {"x": torch.zeros(1, 2, 2)}, ["x"]), torch.tensor(0.25))


def test_style_loss_ignores_spatial_arrangement():
    f = torch.rand(1, 3, 4, 4)
    shuffled = f.flatten(2)[..., torch.randperm(16)].view(1, 3, 4, 4)
    assert style_loss({"x": shuffled}, {"x": gram(f)}, ["x"]).item() < 1e-10


def test_tv_loss():
    assert tv_loss(torch.full((1, 3, 5, 5), 0.3)).item() == 0.0
    stripes = torch.zeros(1, 1, 4, 4)
    stripes[..., ::2] = 1.0  # vertical stripes: every horizontal neighbour differs by 1
    assert torch.isclose(tv_loss(stripes), torch.tensor(1.0))


def test_temporal_loss_counts_only_reliable_pixels():
    y = torch.zeros(1, 3, 2, 2)
    prev = torch.ones(1, 3, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert torch.isclose(temporal_loss(y, prev, mask), torch.tensor(0.25))
    assert temporal_loss(y, prev, torch.zeros_like(mask)).item() == 0.0
