"""Stage 2's trainer: the recurrent network unrolled over short sequences, with the temporal loss.

Each frame of a sequence sees the previous frame and the network's own output for it (moved along the motion
first with `motion="flow"`, as `stylize` shows them); the run, its work folder and checkpoints are `Trainer`'s.
"""

from __future__ import annotations

from dataclasses import replace

from ..flow import warp_torch
from ..losses import temporal_loss
from ..models import load_model
from ..motion import MOTIONS, follow
from ..networks import Previous, TransformNet, holding, recurrent_from_image
from ._datasets import SequenceBatches
from ._train import Trainer, VideoTrainConfig


class VideoTrainer(Trainer):
    """Stage 2: the recurrent network, unrolled over short sequences with the temporal loss."""

    stage = "video"
    config: VideoTrainConfig

    def __init__(self, config: VideoTrainConfig, *args, **kwargs):
        if config.motion not in (*MOTIONS, None):
            raise ValueError(f"unknown motion {config.motion!r}; use one of {MOTIONS}")
        super().__init__(config, *args, **kwargs)
        if self.config.motion is None:  # left open and not resumed: a fresh run's default
            self.config = replace(self.config, motion=VideoTrainConfig.motion)
        clips = None if config.clips == "none" else config.clips
        with self.cluster.local_main_first():  # one process per machine computes the clips' flow (cached)
            self.sequences = SequenceBatches(clips, self.stills, config.size, config.seq_len, config.synthetic,
                                             config.seed, config.flow_method, config.flow_preset,
                                             self.progress and self.cluster.main, nuisance_fraction=config.nuisance)
        if config.carry_on and self.step == 0:  # not resumed: count on from the model's steps and time
            self.step, self.seconds = self.carried["steps_done"], self.carried["cpu_seconds"]

    def build_net(self) -> TransformNet:
        if self.config.carry_on:  # its own weights, with the hold that every new stable net has
            trained = load_model(self.config.carry_on)
            self.carried = trained.meta["training"]  # where it stopped: __init__ counts on from there
            net = TransformNet(holding(trained.net.arch))
            net.load_state_dict(trained.net.state_dict())
            return net
        image = load_model(self.config.init)
        if image.recurrent:
            raise ValueError(f"--init {self.config.init}: already a recurrent model; give the stage-1 image model")
        # Fine-tuning: the new style's image net, with the start model's recurrent inputs and gate.
        return recurrent_from_image(image.net, template=self.started_net(recurrent=True))

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        seq = self.sequences.batch(self.step, self.items).to(self.device)
        frame_terms, temporal = [], []
        previous: Previous | None = None  # the first frame starts fresh, as at test time
        with self.precision.autocast():
            for t in range(cfg.seq_len):
                x = seq.frames[:, t]
                # The network sees its history moved along the estimated motion; the temporal loss below
                # warps the history as it was by the sequence's own (exact or careful) flow.
                shown = follow(previous, x) if previous is not None and cfg.motion == "flow" else previous
                y = self.train_net(x, shown).float()
                if t in (0, cfg.seq_len - 1):
                    frame_terms.append(self.loss(y, self.loss.content_targets(seq.clean[:, t])))
                if previous is not None:
                    warped = warp_torch(previous.output, seq.flows[:, t - 1])
                    temporal.append(temporal_loss(y, warped, seq.masks[:, t - 1]))
                previous = Previous(x, y.clamp(0, 1))
        # Image terms are averaged over the frames scored, the temporal term over consecutive pairs.
        totals = {k: sum(terms[k] for terms in frame_terms) / len(frame_terms) for k in frame_terms[0]}
        totals["temporal"] = cfg.temporal_weight * sum(temporal) / len(temporal)
        totals["total"] = totals["total"] + totals["temporal"]
        return self._update(totals)
