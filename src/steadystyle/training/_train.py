"""Training a style in two stages: a per-frame image network (Johnson et al. 2016), then its recurrent
form trained for stability with a temporal loss on optical flow (Gupta et al. 2017).

A run lives in a work folder: `checkpoint.pt` (model, optimiser, step, as plain data that cannot run code:
see _checkpoint.py; written atomically every `checkpoint_every` steps and on Ctrl-C), `log.jsonl` (a "start" line per run with where it runs, then
one line of loss terms per logged step) and `samples/` (a fixed image stylized now and then, to watch
the style arrive). `resume=True` picks the run up exactly where the checkpoint left it, on any device
and any number of processes (torchrun; see _distributed.py). A second run on the same work folder is
refused at once by an OS file lock beside it (see locks.py), which a crashed run's end releases.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from ..atomic import OutputError, check_free_space, check_writable, disk_full
from ..device import training_precision
from ..errors import interrupt
from ..flow import DEFAULT_PRESET
from ..images import load_rgb, save_image
from ..locks import Lock
from ..losses import DEEP_LAYER, TRAIN_WEIGHTS, LossWeights, PerceptualLoss, loss_on
from ..models import load_model, save_model
from ..networks import DEFAULT_ARCH, EARLIER_FAST, FAST, PRESETS, TransformNet
from ..vgg import VGGWeights, cached_weights
from ._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ._datasets import ContentImages
from ._distributed import join
from ._weighting import with_temporal_weight


@dataclass
class TrainConfig:
    """Every setting of a run; stored in checkpoints and model cards. Defaults: ~28 min on 2 CPU cores
    (0.50 s/step with nothing else running; benchmarks/bench_arch.py); the style is recognisable after ~1500 steps."""

    style: str
    content: str = "builtin"
    size: int = 192  # square training crops
    style_size: int = 512  # longer side of the style image: sets the size of the strokes, in output pixels
    batch: int = 2  # the global batch: shared among the processes when there are several
    steps: int = 3300
    lr: float = 1e-3
    arch: str = DEFAULT_ARCH
    start: str = ""  # fine-tuning: a model (file or shipped style) whose network this run starts from
    weights: LossWeights = field(default_factory=lambda: replace(TRAIN_WEIGHTS))
    # Stage 1: the first `deep_steps` steps count relu4_3 in the style loss as well. It teaches the painting's
    # large strokes; kept to the end, a 16-channel network stamps one motif everywhere (docs/training.md).
    # None: the same share of `steps` (deep_steps_for), fixed when the run starts (a resumed run keeps its own).
    deep_steps: int | None = 2500
    seed: int = 0
    # mixed precision: bf16 on CPUs that compute it (else fp32); on a GPU bf16, or fp16 where bf16 is not computed
    bf16: bool = True
    device: str = "auto"  # see device.resolve_device
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

    Sequences of `seq_len` frames are unrolled, each frame seeing the previous frame and the net's own
    output for it. The loss is `temporal_weight` x the masked squared difference between y_t and y_{t-1}
    warped by the flow, on every pair, plus the image objective on the first and last frame (the fresh
    start and the longest continuation; the frames between cost a VGG pass each and add little).
    `synthetic` is the share of sequences with synthetic motion (exact flow; tripod, hand-held or pan);
    the rest come from `clips` with DIS flow and consistency masks. `nuisance` is the share whose frames
    get a camera's noise, compression and exposure flicker (see _nuisance.py), with clean content targets.
    """

    init: str = ""
    deep_steps: int = 0  # stage 2 counts the per-frame network's final layers only
    clips: str = "builtin"
    seq_len: int = 4
    # None: the painting's suggestion from its Gram trace (_weighting.py; a multiple of it when `start` fine-tunes),
    # fixed when the run starts
    temporal_weight: float | None = None
    # "flow": the network sees its history warped along the motion (`motion.follow`), as `stylize` shows it;
    # None: a resumed run's own
    motion: str | None = "flow"
    synthetic: float = 0.75
    nuisance: float = 0.75
    flow_method: str = "dis"
    flow_preset: str = DEFAULT_PRESET
    # 1600 rather than 800: the second 800 lower flicker and style loss (starry_night, wave, composition_vii)
    steps: int = 1600
    lr: float = 1e-4  # a fresh Adam at 1e-3 knocks a trained network far off its style in a few steps
    carry_on: str = ""  # a stable model whose whole network trains on from its recorded steps (`train more`)

    @classmethod
    def from_dict(cls, d: dict) -> "VideoTrainConfig":
        """Runs recorded before `motion` existed saw their history as it was."""
        return super().from_dict({"motion": "none", **d})


# How long to train, how often to save, log and sample, and where: a resumed run may change these, not the
# rest (a run checkpointed on the CPU may continue on a GPU).
BOOKKEEPING = ("steps", "checkpoint_every", "checkpoint_minutes", "log_every", "sample_every", "device")


def deep_steps_for(steps: int) -> int:
    """The default deep steps of a stage 1 of `steps`: the same share as the defaults' (2500 of 3300), rounded
    down, so that the last steps are always without relu4_3."""
    return steps * TrainConfig.deep_steps // TrainConfig.steps


def _learning_settings(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in BOOKKEEPING}


class Trainer:
    """A training run: `run()` trains to `config.steps`, checkpointing and logging, and writes the model."""

    stage = ""

    def __init__(self, config: TrainConfig, out: str | Path, work_dir: str | Path | None = None,
                 vgg_weights: str | Path | None = None, resume: bool = False, progress: bool = True,
                 on_step: StepCallback | None = None):
        self.config, self.out = config, check_writable(out)
        self.work = Path(work_dir) if work_dir else work_dir_of(self.out)
        self.cluster = join(config.device)
        self._lock: Lock | None = None
        if self.cluster.main:  # one run per work folder; the other processes of this run share it
            self.work.parent.mkdir(parents=True, exist_ok=True)
            self._lock = Lock(self.work, f"training in {self.work}")
        try:
            self._setup(vgg_weights, resume, progress, on_step)
        except BaseException:
            self.release()
            raise

    def _setup(self, vgg_weights: str | Path | None, resume: bool, progress: bool,
               on_step: StepCallback | None) -> None:
        config = self.config
        if not resume and self.checkpoint_path.is_file():  # a fresh start would overwrite that run's checkpoint
            raise OutputError(f"{self.checkpoint_path} holds an earlier run: add --resume to continue it (or to "
                              f"train it on with more --steps), or {self._afresh}")
        self.progress, self.on_step = progress, on_step
        self.device, self.items = self.cluster.device, self.cluster.shard(config.batch)
        self.precision = training_precision(self.device, config.bf16)
        torch.manual_seed(config.seed)
        self.net = self.build_net().to(self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.scaler = self.precision.scaler()
        self.loss = loss_on(self.build_loss(cached_weights(vgg_weights)), self.device)
        with self.cluster.local_main_first():  # the first use of the built-in images writes their cache
            self.stills = ContentImages(config.content, config.size, config.seed)
        # The samples show the most detailed content image (the first one may be a dark title frame).
        self.sample = max((self.stills.image(i) for i in range(min(len(self.stills), 64))),
                          key=lambda im: im.float().std()).float()[None] / 255.0
        self.step, self.seconds = 0, 0.0
        # A checkpoint (the weights and Adam's two moments, in float32) beside the one it replaces, and the model.
        params = sum(p.numel() for p in self.net.parameters())
        check_free_space(self.checkpoint_path, 4 * params * (2 * 3 + 1), "training's checkpoints and model")
        self.work.mkdir(parents=True, exist_ok=True)
        if resume:
            self._resume()
        self.config = with_temporal_weight(self.config, self.net.arch.head, vgg_weights)  # a fresh run's open weight
        if self.config.deep_steps is None:  # a fresh run's open share
            self.config = replace(self.config, deep_steps=deep_steps_for(self.config.steps))
        self.train_net = self.cluster.wrap(self.net)  # what training steps call (in DDP across processes)

    def build_net(self) -> TransformNet:
        raise NotImplementedError

    def build_loss(self, weights: VGGWeights) -> PerceptualLoss:
        """The perceptual loss against the painting `config.style`, on the CPU."""
        style = load_rgb(self.config.style, self.config.style_size)
        return PerceptualLoss.build(weights, style[None], self.config.weights)

    def started_net(self, recurrent: bool) -> TransformNet | None:
        """The network of `config.start` (fine-tuning), in its own architecture whatever `arch` says: stage 1
        trains it on; stage 2 takes its recurrent inputs and gate."""
        if not self.config.start:
            return None
        start = load_model(self.config.start)
        if start.recurrent != recurrent:
            kind = "recurrent (stable)" if recurrent else "per-frame (image)"
            raise ValueError(f"start model {self.config.start}: stage {self.stage!r} fine-tunes a {kind} model")
        return start.net

    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    @property
    def checkpoint_path(self) -> Path:
        return self.work / "checkpoint.pt"

    def _resume(self) -> None:
        if not self.checkpoint_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.checkpoint_path}; start without --resume")
        state = load_checkpoint(self.checkpoint_path, f"To start afresh, {self._afresh}.")
        try:
            saved = type(self.config).from_dict(state["config"]).as_dict()  # settings added since take their defaults
        except (KeyError, TypeError, AttributeError) as e:
            raise CheckpointError(f"--resume: {self.checkpoint_path} holds settings this version does not know "
                                  f"({type(e).__name__}: {e}); {self._afresh}") from None
        # Settings left open take the run's own, whatever the default now.
        for open_setting in ("temporal_weight", "motion", "deep_steps"):
            if getattr(self.config, open_setting, 0.0) is None:
                self.config = replace(self.config, **{open_setting: saved[open_setting]})
        was, now = _learning_settings(saved), _learning_settings(self.config.as_dict())
        if state.get("stage") != self.stage or was != now:
            differ = ", ".join(sorted(k for k in {*was, *now} if was.get(k) != now.get(k))) or "the stage"
            raise ValueError(f"--resume: {self.checkpoint_path} was made with other settings ({differ}); use the same "
                             f"ones (only --steps, --device and how often to checkpoint, log or sample may change) "
                             f"or another work folder")
        try:
            self.net.load_state_dict(state["net"])
        except RuntimeError as e:
            if not self._rebuild_as_earlier_fast(state["net"]):
                raise ValueError(f"--resume: {self.checkpoint_path} holds another network than this version builds "
                                 f"for these settings; finish it with the version that started it, or start again "
                                 f"in another work folder") from e
        try:
            self.opt.load_state_dict(state["opt"])  # moves the moments to the parameters' device
            if self.scaler.is_enabled() and state["scaler"]:
                self.scaler.load_state_dict(state["scaler"])
        except (KeyError, ValueError, TypeError, RuntimeError) as e:
            raise CheckpointError(f"--resume: {self.checkpoint_path} holds a damaged optimiser state "
                                  f"({type(e).__name__}: {e}); {self._afresh}") from None
        self.step, self.seconds = state["step"], state["seconds"]

    def _rebuild_as_earlier_fast(self, weights: dict) -> bool:
        """A `--arch fast` run begun when that preset built the earlier fast layout goes on with that network."""
        if self.config.arch != "fast" or self.net.arch.layout != FAST.layout:
            return False
        net = TransformNet(replace(EARLIER_FAST, recurrent=self.net.arch.recurrent, hold=self.net.arch.hold))
        try:
            net.load_state_dict(weights)
        except RuntimeError:
            return False
        self.net = net.to(self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr)
        return True

    @property
    def _afresh(self) -> str:
        return f"delete {self.work} (or give another --work-dir) to start afresh"

    def release(self) -> None:
        """Give up the work folder's lock: `run` does at its end; a trainer that never runs holds it until this
        or until its process ends (the OS releases it then, whatever the way; see locks.py)."""
        if self._lock is not None:
            self._lock.release()

    def checkpoint(self, wait: bool = True) -> None:
        """Rank 0 writes; with `wait` the others wait for it (not on an interrupt, when they may never come)."""
        if self.cluster.main:
            save_checkpoint(self.checkpoint_path, self.stage, self.config.as_dict(), self.net.state_dict(),
                            self.opt.state_dict(), self.scaler.state_dict(), self.step, self.seconds)
        if wait:
            self.cluster.barrier()

    def _update(self, terms: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimiser step on this process's share of the global batch; returns the global batch's terms."""
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(terms["total"] * self.cluster.loss_scale(self.config.batch)).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.step += 1
        return self.cluster.global_mean(terms, self.config.batch)

    def run_info(self) -> dict:
        """Where this run computes, for the log and the model's metadata."""
        return {"device": self.device.type, "world_size": self.cluster.world_size, "backend": self.cluster.backend,
                "global_batch": self.config.batch}

    def write_sample(self) -> None:
        self.net.eval()
        with torch.no_grad(), self.precision.autocast():
            y = self.net(self.sample.to(self.device)).float().cpu()
        self.net.train()
        (self.work / "samples").mkdir(exist_ok=True)
        save_image(y[0], self.work / "samples" / f"step_{self.step:06d}.jpg")

    def run(self) -> Path:
        """Train to `config.steps` and write the model; the work folder's lock is released however it ends."""
        try:
            return self._run()
        except OSError as e:  # the log or a sample on a full disk (checkpoints and the model report their own)
            raise disk_full(e, self.work) or e
        finally:
            self.release()

    def _run(self) -> Path:
        cfg, main = self.config, self.cluster.main
        log_path = self.work / "log.jsonl"
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"training ({self.stage})", unit="step",
                   disable=not (self.progress and main))
        main_thread = threading.current_thread() is threading.main_thread()  # only it may handle signals
        previous_term = signal.signal(signal.SIGTERM, interrupt) if main_thread else None  # `kill` saves too
        saved = time.monotonic()
        try:
            # Rank 0 logs the global batch's terms; the other processes log to nowhere.
            with log_path.open("a") if main else open(os.devnull, "w") as log:
                log.write(json.dumps({"event": "start", "step": self.step, **self.run_info()}) + "\n")
                while self.step < cfg.steps:
                    t0 = time.perf_counter()
                    terms = self.train_step()
                    self.seconds += time.perf_counter() - t0
                    bar.update(1)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items()}, refresh=False)
                    if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                        log.write(json.dumps({"step": self.step, "seconds": round(self.seconds, 2), **terms}) + "\n")
                        log.flush()
                    # Every process must take part in a checkpoint, so rank 0's clock decides for all.
                    if self.step % cfg.checkpoint_every == 0 or self.cluster.agree(
                            time.monotonic() - saved >= 60 * cfg.checkpoint_minutes):
                        self.checkpoint()
                        saved = time.monotonic()
                    if self.step % cfg.sample_every == 0 and main:
                        self.write_sample()
                    if self.on_step:
                        self.on_step(self, terms)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM or a front end's Cancelled
            self.checkpoint(wait=False)
            raise
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous_term)
            bar.close()
        self.checkpoint()
        if main:
            self.write_sample()
            training = {"stage": self.stage, **cfg.as_dict(), **self.run_info(), "steps_done": self.step,
                        "cpu_seconds": round(self.seconds, 1), "final_losses": final_losses(log_path, self.step),
                        "vgg": self.loss.vgg.source}
            save_model(self.net, self.out, Path(cfg.style).stem, training)
        self.cluster.barrier()  # the model is there for every process (stage 2 starts from stage 1's)
        return self.out


class Cancelled(KeyboardInterrupt):
    """Raised by an `on_step` callback to stop a run: it is checkpointed like Ctrl-C, ready to resume."""


StepCallback = Callable[["Trainer", dict[str, float]], None]


def work_dir_of(model: Path) -> Path:
    """A run's folder (checkpoint, log, samples) beside its model: NAME-train."""
    return model.with_name(model.stem + "-train")


def final_losses(log: Path, step: int, window: int = 500) -> dict[str, float]:
    """Mean loss terms over the last `window` steps up to `step`, read from the log so that resumed runs
    count too (single steps are noisy). A step logged twice (a run resumed from an older checkpoint) counts
    once, as last logged."""
    rows: dict[int, dict] = {}
    for line in log.read_text().splitlines() if log.is_file() else []:
        row = json.loads(line)
        if "event" not in row and step - window < row["step"] <= step:
            rows[row["step"]] = row
    if not rows:
        return {}
    keys = [k for k in next(iter(rows.values())) if k not in ("step", "seconds")]
    return {k: statistics.fmean(r[k] for r in rows.values()) for k in keys}


class ImageTrainer(Trainer):
    """Stage 1: a per-frame network on random crops of still images."""

    stage = "image"

    def build_net(self) -> TransformNet:
        if (started := self.started_net(recurrent=False)) is not None:
            return started
        arch = PRESETS.get(self.config.arch)
        if arch is None:
            raise ValueError(f"unknown architecture {self.config.arch!r}; choose from {sorted(PRESETS)}")
        return TransformNet(arch)

    def build_loss(self, weights: VGGWeights) -> PerceptualLoss:
        """With `deep_steps`, the loss counts relu4_3 too, until `train_step` drops it."""
        self.vgg_weights = weights
        w = self.config.weights
        if self.config.deep_steps != 0 and DEEP_LAYER not in w.style_layers:  # None: not settled yet, maybe
            w = replace(w, style_layers=(*w.style_layers, DEEP_LAYER))
        return PerceptualLoss.build(weights, load_rgb(self.config.style, self.config.style_size)[None], w)

    def train_step(self) -> dict[str, float]:
        if self.step >= self.config.deep_steps and self.loss.weights != self.config.weights:
            self.loss = loss_on(super().build_loss(self.vgg_weights), self.device)  # relu4_3's steps are over
        content = self.stills.batch(self.step, self.items).to(self.device)
        with self.precision.autocast():
            terms = self.loss(self.train_net(content), self.loss.content_targets(content))
        return self._update(terms)
