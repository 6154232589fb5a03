"""Training a style: the per-frame image network (Johnson et al. 2016), stage 1 of a stable style.

A run lives in a work folder: `checkpoint.pt` (model, optimiser, step; written atomically every
`checkpoint_every` steps and on Ctrl-C), `log.jsonl` (one line of loss terms per logged step) and
`samples/` (a fixed image stylized now and then, to watch the style arrive). `resume=True` picks the
run up exactly where the checkpoint left it.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from .atomic import atomic_output, check_writable
from .datasets import ContentImages
from .images import load_rgb, save_image
from .losses import LossWeights, PerceptualLoss
from .models import save_model
from .networks import PRESETS, Arch, TransformNet
from .vgg import cached_weights


@dataclass
class TrainConfig:
    """Every setting of a run; stored in checkpoints and model cards. Defaults: ~1 h on 2 CPU cores."""

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


def autocast(enabled: bool):
    """bf16 on the CPU speeds convs 1.4-3x; Gram matrices and loss sums stay fp32 (see losses.py)."""
    return torch.autocast("cpu", torch.bfloat16) if enabled else contextlib.nullcontext()


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


class ImageTrainer:
    """One training run of a per-frame network; `run()` trains to `config.steps` and writes the model."""

    def __init__(self, config: TrainConfig, out: str | Path, work_dir: str | Path | None = None,
                 vgg_weights: str | Path | None = None, resume: bool = False, progress: bool = True):
        self.config, self.out = config, check_writable(out)
        self.work = Path(work_dir) if work_dir else self.out.with_name(self.out.stem + "-train")
        self.work.mkdir(parents=True, exist_ok=True)
        self.progress = progress
        torch.manual_seed(config.seed)
        arch = PRESETS.get(config.arch)
        if arch is None:
            raise ValueError(f"unknown architecture {config.arch!r}; choose from {sorted(PRESETS)}")
        self.net = TransformNet(Arch(arch.width, arch.res_blocks))
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        style = load_rgb(config.style, config.style_size)
        self.loss = PerceptualLoss.build(cached_weights(vgg_weights), style[None], config.weights)
        self.data = ContentImages(config.content, config.size, config.seed)
        self.sample = self.data.images[0].float()[None] / 255.0
        self.step, self.seconds = 0, 0.0
        if resume:
            self._resume()

    @property
    def checkpoint_path(self) -> Path:
        return self.work / "checkpoint.pt"

    def _resume(self) -> None:
        if not self.checkpoint_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {self.checkpoint_path}; start without --resume")
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        saved = TrainConfig.from_dict(state["config"])
        if {**saved.as_dict(), "steps": 0} != {**self.config.as_dict(), "steps": 0}:
            raise ValueError(f"--resume: {self.checkpoint_path} was made with other settings; "
                             f"use the same ones (only --steps may change) or another work folder")
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.step, self.seconds = state["step"], state["seconds"]

    def checkpoint(self) -> None:
        save_checkpoint(self.checkpoint_path, {
            "config": self.config.as_dict(), "net": self.net.state_dict(), "opt": self.opt.state_dict(),
            "step": self.step, "seconds": self.seconds})

    def train_step(self) -> dict[str, float]:
        content = self.data.batch(self.step, self.config.batch)
        with autocast(self.config.bf16):
            targets = self.loss.content_targets(content)
            terms = self.loss(self.net(content), targets)
        self.opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        self.opt.step()
        self.step += 1
        return {k: v.item() for k, v in terms.items()}

    def write_sample(self) -> None:
        self.net.eval()
        with torch.no_grad(), autocast(self.config.bf16):
            y = self.net(self.sample).float()
        self.net.train()
        (self.work / "samples").mkdir(exist_ok=True)
        save_image(y[0], self.work / "samples" / f"step_{self.step:06d}.jpg")

    def run(self) -> Path:
        cfg = self.config
        log = (self.work / "log.jsonl").open("a")
        bar = tqdm(total=cfg.steps, initial=self.step, desc="training", unit="step", disable=not self.progress)
        terms: dict[str, float] = {}
        try:
            while self.step < cfg.steps:
                t0 = time.perf_counter()
                terms = self.train_step()
                self.seconds += time.perf_counter() - t0
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items()}, refresh=False)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    log.write(json.dumps({"step": self.step, "seconds": round(self.seconds, 2), **terms}) + "\n")
                    log.flush()
                if self.step % cfg.checkpoint_every == 0:
                    self.checkpoint()
                if self.step % cfg.sample_every == 0:
                    self.write_sample()
        except KeyboardInterrupt:
            self.checkpoint()
            bar.close()
            raise
        finally:
            log.close()
        bar.close()
        self.checkpoint()
        self.write_sample()
        training = {"stage": "image", **cfg.as_dict(), "steps_done": self.step,
                    "cpu_seconds": round(self.seconds, 1), "final_losses": terms,
                    "vgg": self.loss.vgg.source}
        return save_model(self.net, self.out, Path(cfg.style).stem, training)
