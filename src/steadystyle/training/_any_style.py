"""Stage 1 for any picture as a style: one per-frame network, conditioned on a code of the painting
(conditioning.py), trained on many paintings at once.

Each step pairs content crops with paintings drawn from a folder. The encoder sees a random square view of
each painting and conditions the network; the loss compares the result's Gram matrices with that painting's
whole picture at `style_size` (computed once per painting). The encoder learns with the network, from the
same loss, and with a `teacher` also from another network's codes: an ONNX style predictor taking a
(1, 256, 256, 3) view in [0, 1], such as Magenta's arbitrary-stylization predictor (Ghiasi et al. 2017,
Apache-2.0), learnt from ~80,000 paintings, so that codes of paintings never seen fall where similar ones
lie. Stage 2, the stable form, is the same with `VideoTrainer`'s unrolled sequences and temporal loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from ..conditioning import ENCODER_SIDE
from ..images import ImageError, list_images, load_rgb
from ..losses import PerceptualLoss, gram
from ..networks import ANY_STYLE_ARCH, TransformNet
from ..vgg import VGGWeights
from ._datasets import ContentImages, Items, _indices, item_generator
from ._train import ImageTrainer, TrainConfig, VideoTrainConfig
from ._video_train import VideoTrainer

PAINTINGS = 2  # the random stream of paintings (after CROPS and SEQUENCES)


@dataclass
class AnyStyleConfig(TrainConfig):
    """`style` is a folder of paintings; the content weight is TRAIN_WEIGHTS' unless set."""

    style: str = ""
    batch: int = 4  # four paintings a step: the encoder learns from their differences
    deep_steps: int = 0  # relu4_3's motif is one painting's network's problem; this one sees many paintings
    teacher: str = ""  # an ONNX style predictor whose codes the encoder also learns (see above)
    code_weight: float = 0.0  # x the mean squared difference from the teacher's codes


class Teacher:
    """An ONNX style predictor: (1, S, S, 3) RGB in [0, 1] -> a code of `dim` numbers, run one view at a time."""

    def __init__(self, path: str | Path, dim: int):
        import onnxruntime as ort  # training's extra

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # beside training's own threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        (given,), (taken,) = self.session.get_inputs(), self.session.get_outputs()
        if given.shape != [1, ENCODER_SIDE, ENCODER_SIDE, 3] or math.prod(taken.shape) != dim:
            raise ValueError(f"teacher {path}: takes {given.shape} and gives {taken.shape}; a style predictor "
                             f"taking [1, {ENCODER_SIDE}, {ENCODER_SIDE}, 3] and giving {dim} numbers is needed")
        self.name = given.name

    def codes(self, views: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) in [0, 1] -> (N, dim)."""
        pictures = views.permute(0, 2, 3, 1).float().cpu().numpy()
        return torch.cat([torch.from_numpy(self.session.run(None, {self.name: p[None]})[0]).reshape(1, -1)
                          for p in pictures])


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


class _Conditioned:
    """What both stages add for any picture: the paintings, and each step the network conditioned on its
    paintings' views with the loss aimed at their Gram matrices; then the stage's own step."""

    config: TrainConfig
    net: TransformNet

    def build_loss(self, weights: VGGWeights) -> PerceptualLoss:
        if self.config.deep_steps:
            raise ValueError("deep_steps trains one painting's network; the network for any picture does not take it")
        self.paintings = Paintings(self.config.style, self.config.style_size, self.config.seed)
        first = load_rgb(self.paintings.paths[0], self.config.style_size)
        self.sample_view = self.paintings.views.crop_of(0, torch.Generator().manual_seed(0)).float()[None] / 255
        return PerceptualLoss.build(weights, first[None], self.config.weights)

    def train_step(self) -> dict[str, float]:
        if not hasattr(self, "one_loss"):
            self.one_loss = self.loss  # against the first painting: the network and layers every step uses
            teacher = getattr(self.config, "teacher", "")
            self.teacher = Teacher(teacher, self.net.arch.style_dim) if teacher else None
        indices, views = self.paintings.batch(self.step, self.items)
        targets = [self.paintings.grams(i, self.one_loss, self.device) for i in indices]
        self.loss = replace(self.one_loss, target_grams={k: torch.cat([t[k] for t in targets]) for k in targets[0]})
        codes = self.net.style.encoder(views.to(self.device))
        self.net.style.condition(codes)
        self.code_term = None if self.teacher is None else self.config.code_weight * F.mse_loss(
            codes, self.teacher.codes(views).to(self.device))
        return super().train_step()

    def _update(self, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        """The stage's terms, plus the distance from the teacher's codes when there is one."""
        if self.code_term is not None:
            terms = {**terms, "code": self.code_term, "total": terms["total"] + self.code_term}
        return super()._update(terms)

    def write_sample(self) -> None:
        """The sample in the style of the first painting (a view of it, as in training)."""
        with torch.no_grad():
            self.net.style.condition(self.net.style.encoder(self.sample_view.to(self.device)))
        super().write_sample()


class AnyStyleTrainer(_Conditioned, ImageTrainer):
    """Stage 1 of a network that takes the style as an input: from scratch (ANY_STYLE_ARCH) or `start`."""

    stage = "any-style image"

    def build_net(self) -> TransformNet:
        if (started := self.started_net(recurrent=False)) is not None:
            if started.style is None:
                raise ValueError(f"start model {self.config.start}: paints one style; give a network for any picture")
            return started
        return TransformNet(ANY_STYLE_ARCH)


class AnyStyleVideoTrainer(_Conditioned, VideoTrainer):
    """Stage 2: the recurrent form of stage 1's network (`init`), each sequence in one painting's style."""

    stage = "any-style video"

    def __init__(self, config: VideoTrainConfig, *args, **kwargs):
        if config.temporal_weight is None:
            raise ValueError("a network for any picture needs a --temporal-weight: the suggestion is one painting's")
        super().__init__(config, *args, **kwargs)
