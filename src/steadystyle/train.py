"""Training a style in two stages: a per-frame image network (Johnson et al. 2016), then its recurrent
form trained for stability with a temporal loss on optical flow (Gupta et al. 2017).

A run lives in a work folder: `checkpoint.pt` (model, optimiser, step; written atomically every
`checkpoint_every` steps and on Ctrl-C), `log.jsonl` (one line of loss terms per logged step) and
`samples/` (a fixed image stylized now and then, to watch the style arrive). `resume=True` picks the
run up exactly where the checkpoint left it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from .atomic import atomic_output, check_writable
from .datasets import ContentImages, SequenceBatches
from .flow import DEFAULT_PRESET, warp_torch
from .images import load_rgb, save_image
from .losses import LossWeights, PerceptualLoss, temporal_loss
from .models import load_model, save_model
from .networks import PRESETS, TransformNet, recurrent_from_image
from .vgg import cached_weights


@dataclass
class TrainConfig:
    """Every setting of a run; stored in checkpoints and model cards. Defaults: ~30 min on 2 CPU cores
    (219 ms/step measured with tcmalloc); the style is recognisable after ~1500 steps."""

    style: str
    content: str = "builtin"
    size: int = 192  # square training crops
    style_size: int = 384  # longer side of the style image: sets the scale of the strokes
    batch: int = 2
    steps: int = 8000
    lr: float = 1e-3
    arch: str = "slim"
    weights: LossWeights = field(default_factory=lambda: LossWeights(content=1.0, style=30.0, tv=1e3))
    seed: int = 0
    bf16: bool = True
    checkpoint_every: int = 250
    checkpoint_minutes: float = 5.0  # also save this often: a killed process (no signal handler runs) loses no more
    log_every: int = 10
    sample_every: int = 500

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        w = d.pop("weights")
        w["style_layers"], w["content_layers"] = tuple(w["style_layers"]), tuple(w["content_layers"])
        return cls(weights=LossWeights(**w), **d)


@dataclass
class VideoTrainConfig(TrainConfig):
    """Stage 2: the recurrent net, initialised from a stage-1 image model (`init`), learns stability.

    Sequences of `seq_len` frames are unrolled, each frame seeing the net's own previous output; the loss
    is the image objective on every frame plus `temporal_weight` x the masked squared difference between
    y_t and y_{t-1} warped by the flow. `synthetic` is the share of sequences with synthetic motion (exact
    flow); the rest come from `clips` with DIS flow and consistency masks.
    """

    init: str = ""
    clips: str = "builtin"
    seq_len: int = 2
    temporal_weight: float = 3e8  # starts ~3x the style term (raw ~1e-2 for a per-frame net), ends below it
    synthetic: float = 0.5
    flow_method: str = "dis"
    flow_preset: str = DEFAULT_PRESET
    steps: int = 2500
    lr: float = 1e-4  # a fresh Adam at 1e-3 knocks a trained network far off its style in a few steps


def autocast(enabled: bool):
    """bf16 on the CPU speeds convs 1.4-3x; Gram matrices and loss sums stay fp32 (see losses.py)."""
    return torch.autocast("cpu", torch.bfloat16) if enabled else contextlib.nullcontext()


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


# How long to train and how often to save, log and sample: a resumed run may change these, not the rest.
BOOKKEEPING = ("steps", "checkpoint_every", "checkpoint_minutes", "log_every", "sample_every")


def _learning_settings(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in BOOKKEEPING}


class Trainer:
    """A training run: `run()` trains to `config.steps`, checkpointing and logging, and writes the model."""

    stage = ""

    def __init__(self, config: TrainConfig, out: str | Path, work_dir: str | Path | None = None,
                 vgg_weights: str | Path | None = None, resume: bool = False, progress: bool = True):
        self.config, self.out = config, check_writable(out)
        self.work = Path(work_dir) if work_dir else self.out.with_name(self.out.stem + "-train")
        self.progress = progress
        torch.manual_seed(config.seed)
        self.net = self.build_net()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        style = load_rgb(config.style, config.style_size)
        self.loss = PerceptualLoss.build(cached_weights(vgg_weights), style[None], config.weights)
        self.stills = ContentImages(config.content, config.size, config.seed)
        # The samples show the most detailed content image (the first one may be a dark title frame).
        self.sample = max(self.stills.images, key=lambda im: im.float().std()).float()[None] / 255.0
        self.step, self.seconds = 0, 0.0
        self.work.mkdir(parents=True, exist_ok=True)
        if resume:
            self._resume()

    def build_net(self) -> TransformNet:
        raise NotImplementedError

    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    @property
    def checkpoint_path(self) -> Path:
        return self.work / "checkpoint.pt"

    def _resume(self) -> None:
        if not self.checkpoint_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.checkpoint_path}; start without --resume")
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        if (state.get("stage") != self.stage
                or _learning_settings(state["config"]) != _learning_settings(self.config.as_dict())):
            raise ValueError(f"--resume: {self.checkpoint_path} was made with other settings; use the same ones "
                             f"(only --steps and how often to checkpoint, log or sample may change) or another "
                             f"work folder")
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.seconds = state["step"], state["seconds"]

    def checkpoint(self) -> None:
        save_checkpoint(self.checkpoint_path, {
            "stage": self.stage, "config": self.config.as_dict(), "net": self.net.state_dict(),
            "opt": self.opt.state_dict(), "step": self.step, "seconds": self.seconds})

    def _update(self, total: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        self.step += 1

    def write_sample(self) -> None:
        self.net.eval()
        with torch.no_grad(), autocast(self.config.bf16):
            y = self.net(self.sample, self.sample if self.net.arch.recurrent else None).float()
        self.net.train()
        (self.work / "samples").mkdir(exist_ok=True)
        save_image(y[0], self.work / "samples" / f"step_{self.step:06d}.jpg")

    def run(self) -> Path:
        cfg = self.config
        log_path = self.work / "log.jsonl"
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"training ({self.stage})", unit="step",
                   disable=not self.progress)
        previous_term = signal.signal(signal.SIGTERM, _interrupt)  # `kill` saves a checkpoint like Ctrl-C
        saved = time.monotonic()
        try:
            with log_path.open("a") as log:
                while self.step < cfg.steps:
                    t0 = time.perf_counter()
                    terms = self.train_step()
                    self.seconds += time.perf_counter() - t0
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items()}, refresh=False)
                    if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                        log.write(json.dumps({"step": self.step, "seconds": round(self.seconds, 2), **terms}) + "\n")
                        log.flush()
                    if self.step % cfg.checkpoint_every == 0 or time.monotonic() - saved >= 60 * cfg.checkpoint_minutes:
                        self.checkpoint()
                        saved = time.monotonic()
                    if self.step % cfg.sample_every == 0:
                        self.write_sample()
        except KeyboardInterrupt:
            self.checkpoint()
            raise
        finally:
            signal.signal(signal.SIGTERM, previous_term)
            bar.close()
        self.checkpoint()
        self.write_sample()
        training = {"stage": self.stage, **cfg.as_dict(), "steps_done": self.step,
                    "cpu_seconds": round(self.seconds, 1), "final_losses": final_losses(log_path, self.step),
                    "vgg": self.loss.vgg.source}
        return save_model(self.net, self.out, Path(cfg.style).stem, training)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def final_losses(log: Path, step: int, window: int = 500) -> dict[str, float]:
    """Mean loss terms over the last `window` steps up to `step`, read from the log so that resumed runs
    count too (single steps are noisy). A step logged twice (a run resumed from an older checkpoint) counts
    once, as last logged."""
    rows: dict[int, dict] = {}
    for line in log.read_text().splitlines() if log.is_file() else []:
        row = json.loads(line)
        if step - window < row["step"] <= step:
            rows[row["step"]] = row
    if not rows:
        return {}
    keys = [k for k in next(iter(rows.values())) if k not in ("step", "seconds")]
    return {k: statistics.fmean(r[k] for r in rows.values()) for k in keys}


class ImageTrainer(Trainer):
    """Stage 1: a per-frame network on random crops of still images."""

    stage = "image"

    def build_net(self) -> TransformNet:
        arch = PRESETS.get(self.config.arch)
        if arch is None:
            raise ValueError(f"unknown architecture {self.config.arch!r}; choose from {sorted(PRESETS)}")
        return TransformNet(arch)

    def train_step(self) -> dict[str, float]:
        content = self.stills.batch(self.step, self.config.batch)
        with autocast(self.config.bf16):
            terms = self.loss(self.net(content), self.loss.content_targets(content))
        self._update(terms["total"])
        return {k: v.item() for k, v in terms.items()}


class VideoTrainer(Trainer):
    """Stage 2: the recurrent network, unrolled over short sequences with the temporal loss."""

    stage = "video"
    config: VideoTrainConfig

    def __init__(self, config: VideoTrainConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        clips = None if config.clips == "none" else config.clips
        self.sequences = SequenceBatches(clips, self.stills, config.size, config.seq_len, config.synthetic,
                                         config.seed, config.flow_method, config.flow_preset, self.progress)

    def build_net(self) -> TransformNet:
        image = load_model(self.config.init)
        if image.recurrent:
            raise ValueError(f"--init {self.config.init}: already a recurrent model; give the stage-1 image model")
        return recurrent_from_image(image.net)

    def train_step(self) -> dict[str, float]:
        cfg = self.config
        seq = self.sequences.batch(self.step, cfg.batch)
        frame_terms, temporal = [], []
        previous = None
        with autocast(cfg.bf16):
            for t in range(cfg.seq_len):
                x = seq.frames[:, t]
                # First frame: the content frame stands in for the previous output, as at test time.
                y = self.net(x, x if previous is None else previous.clamp(0, 1)).float()
                frame_terms.append(self.loss(y, self.loss.content_targets(x)))
                if previous is not None:
                    warped = warp_torch(previous, seq.flows[:, t - 1])
                    temporal.append(temporal_loss(y, warped, seq.masks[:, t - 1]))
                previous = y
        # Image terms are averaged over frames, the temporal term over consecutive pairs.
        totals = {k: sum(terms[k] for terms in frame_terms) / cfg.seq_len for k in frame_terms[0]}
        totals["temporal"] = cfg.temporal_weight * sum(temporal) / len(temporal)
        totals["total"] = totals["total"] + totals["temporal"]
        self._update(totals["total"])
        return {k: v.item() for k, v in totals.items()}
