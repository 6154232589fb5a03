"""Gatys optimisation with the real VGG-16 at small sizes."""

from __future__ import annotations

import pytest
import torch

from steadystyle.images import load_rgb, rgb_to_yiq
from steadystyle.losses import LossWeights, PerceptualLoss
from steadystyle.optimize import OptimizeSettings, optimize_image
from steadystyle.paintings import painting_path
from steadystyle.vgg import VGGWeights


@pytest.fixture(scope="module")
def pair(content_photo):
    return load_rgb(content_photo, 96), load_rgb(painting_path("starry_night"), 96)


def _style_loss(weights: VGGWeights, image: torch.Tensor, style: torch.Tensor) -> float:
    loss = PerceptualLoss.build(weights, style[None])
    return loss(image[None], None)["style"].item()


@pytest.mark.slow
def test_optimisation_lowers_the_style_loss_by_a_large_factor(vgg_weights, pair):
    content, style = pair
    before = _style_loss(vgg_weights, content, style)
    image, terms = optimize_image(content, style, vgg_weights, settings=OptimizeSettings(iters=40), progress=False)
    assert image.shape == content.shape and 0 <= image.min() and image.max() <= 1
    after = _style_loss(vgg_weights, image, style)
    assert after < before / 20
    assert terms["content"] > 0


@pytest.mark.slow
def test_real_weights_transfer_style_that_random_weights_do_not(vgg_weights, pair):
    """Random VGG weights give only a tint: their result is far from the style in the real network's eyes."""
    content, style = pair
    g = torch.Generator().manual_seed(0)
    random = VGGWeights({k: torch.randn(v.shape, generator=g) * (2 / (v[0].numel() if v.ndim == 4 else 1)) ** 0.5
                         if v.ndim == 4 else torch.zeros_like(v) for k, v in vgg_weights.tensors.items()},
                        vgg_weights.norm, "random", vgg_weights.path)
    settings = OptimizeSettings(iters=40)
    real_img, _ = optimize_image(content, style, vgg_weights, settings=settings, progress=False)
    rand_img, _ = optimize_image(content, style, random, settings=settings, progress=False)
    assert _style_loss(vgg_weights, real_img, style) * 5 < _style_loss(vgg_weights, rand_img, style)


@pytest.mark.slow
def test_adam_from_noise_and_preserve_color(vgg_weights, pair):
    content, style = pair
    image, _ = optimize_image(content, style, vgg_weights, LossWeights(tv=0),
                              OptimizeSettings(iters=15, method="adam", init="noise"), progress=False)
    assert torch.isfinite(image).all()
    settings = OptimizeSettings(iters=15)
    kept, _ = optimize_image(content, style, vgg_weights, settings=settings, preserve_color=True, progress=False)
    plain, _ = optimize_image(content, style, vgg_weights, settings=settings, progress=False)

    def chroma_change(img: torch.Tensor) -> float:
        return (rgb_to_yiq(img)[1:] - rgb_to_yiq(content)[1:]).abs().mean().item()

    # Luminance-only transfer: the chroma is the content's own (up to clipping to the RGB gamut).
    assert chroma_change(kept) < 0.005 < chroma_change(plain) / 4
