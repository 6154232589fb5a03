"""Stage 1 for any picture as a style: one per-frame network, conditioned on a code of the painting
(conditioning.py), trained on many paintings at once.

Each step pairs content crops with paintings drawn from a folder. The encoder sees a random square view of
each painting and conditions the network; the loss compares the result's Gram matrices with that painting's
whole picture at `style_size` (computed once per painting). The encoder learns with the network, from the
same loss. Stage 2 (the stable form) is `VideoTrainer` on the result, as for one style.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..conditioning import ENCODER_SIDE
from ..images import ImageError, list_images, load_rgb
from ..losses import PerceptualLoss, gram
from ..networks import ANY_STYLE_ARCH, TransformNet
from ..vgg import VGGWeights
from ._datasets import ContentImages, Items, _indices, item_generator
from ._train import ImageTrainer, TrainConfig

PAINTINGS = 2  # the random stream of paintings (after CROPS and SEQUENCES)


@dataclass
class AnyStyleConfig(TrainConfig):
    """`style` is a folder of paintings; the content weight is TRAIN_WEIGHTS' unless set."""

    style: str = ""
    batch: int = 4  # four paintings a step: the encoder learns from their differences


class Paintings:
    """The training paintings: each one's Gram matrices at `style_size` (the style targets) and random square
    views of it for the encoder."""

    def __init__(self, folder: str | Path, style_size: int, seed: int):
        self.paths = list_images(folder)
        if len(self.paths) < 2:
            raise ImageError(f"{folder}: {len(self.paths)} painting(s); a network for any picture learns from "
                             "several (a folder of .jpg/.png paintings)")
        self.style_size, self.seed = style_size, seed
        self.views = ContentImages(folder, ENCODER_SIDE, seed)  # the same sorted files, so the same indices
        self._grams: dict[int, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def grams(self, index: int, loss: PerceptualLoss, device: torch.device) -> dict[str, torch.Tensor]:
        """Painting `index`'s Gram matrices (1, C, C) on `loss`'s network and layers, on `device` (the loss's)."""
        if index not in self._grams:
            picture = load_rgb(self.paths[index], self.style_size)[None].to(device)
            with torch.no_grad():
                features = loss.vgg(picture)
            self._grams[index] = {k: gram(features[k]) for k in loss.weights.style_layers}
        return self._grams[index]

    def batch(self, step: int, items: Items) -> tuple[list[int], torch.Tensor]:
        """Which paintings step `step`'s items get, and their views (N, 3, S, S) in [0, 1]."""
        indices, views = [], []
        for i in _indices(items):
            g = item_generator(self.seed, PAINTINGS, step, i)
            index = int(torch.randint(len(self), (1,), generator=g))
            indices.append(index)
            views.append(self.views.crop_of(index, g))
        return indices, torch.stack(views).float() / 255.0


class AnyStyleTrainer(ImageTrainer):
    """Stage 1 of a network that takes the style as an input."""

    stage = "any-style image"

    def build_net(self) -> TransformNet:
        if (started := self.started_net(recurrent=False)) is not None:
            if started.style is None:
                raise ValueError(f"start model {self.config.start}: paints one style; give a network for any picture")
            return started
        return TransformNet(ANY_STYLE_ARCH)

    def build_loss(self, weights: VGGWeights) -> PerceptualLoss:
        self.paintings = Paintings(self.config.style, self.config.style_size, self.config.seed)
        first = load_rgb(self.paintings.paths[0], self.config.style_size)
        self.sample_view = self.paintings.views.crop_of(0, torch.Generator().manual_seed(0)).float()[None] / 255
        return PerceptualLoss.build(weights, first[None], self.config.weights)

    def train_step(self) -> dict[str, float]:
        content = self.stills.batch(self.step, self.items).to(self.device)
        indices, views = self.paintings.batch(self.step, self.items)
        targets = [self.paintings.grams(i, self.loss, self.device) for i in indices]
        grams = {k: torch.cat([t[k] for t in targets]) for k in targets[0]}
        with self.precision.autocast():
            self.net.style.condition(self.net.style.encoder(views.to(self.device)))
            terms = replace(self.loss, target_grams=grams)(self.train_net(content), self.loss.content_targets(content))
        return self._update(terms)

    def write_sample(self) -> None:
        """The sample in the style of the first painting (a view of it, as in training)."""
        with torch.no_grad():
            self.net.style.condition(self.net.style.encoder(self.sample_view.to(self.device)))
        super().write_sample()
