"""The Train tab: a style from a painting, trained in a background thread with `train_style`.

A run is NAME in the studio: its painting in `paintings/`, its models (NAME-per-frame, then NAME) and
their work folders (checkpoint, log, samples) in `models/`. Stopping saves a checkpoint, and so does
the trainer every few minutes, so a run stopped or cut short by a restart continues where it was.
One run trains at a time: two would each take twice as long.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr

from ..images import load_rgb
from ..models import PER_FRAME_SUFFIX
from ..reports import new_figure
from ..training import Cancelled, TrainConfig, Trainer, VideoTrainConfig, train_style, work_dir_of
from ._base import page_error, readable_errors
from ._styles import StyleLibrary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STAGES = ("per-frame network", "stable network")
SAMPLES_SHOWN = 8
CURVE_POINTS = 2  # a loss curve needs two logged steps; before that the tab says when it will come


@dataclass
class Run:
    name: str
    stage: int = 0
    step: int = 0
    steps: int = 0
    status: str = "starting"  # then training, stopping, and done, stopped or failed
    note: str = ""  # how it ended
    stop: threading.Event = field(default_factory=threading.Event)
    clock: tuple[float, int] | None = None  # (time, step) when this stage's first step of this session ended

    @property
    def active(self) -> bool:
        return self.status in ("starting", "training", "stopping")

    def time_left(self) -> str:
        """The stage's remaining time at the pace of its steps so far, in words; empty until there is a pace."""
        if self.clock is None or self.step - self.clock[1] < 2:
            return ""
        per_step = (time.monotonic() - self.clock[0]) / (self.step - self.clock[1])
        minutes = round(per_step * (self.steps - self.step) / 60)
        left = f"about {minutes} min left" if minutes else "less than a minute left"
        return f"; {left} in this stage" + (" (stage 2 follows, slower per step)" if self.stage == 1 else "")


class TrainingRuns:
    """The studio's runs, finished or not, and the one training now."""

    def __init__(self, library: StyleLibrary):
        self.library = library
        self.current: Run | None = None

    def model(self, name: str, stage: int = 2) -> Path:
        return self.library.models / f"{name}{PER_FRAME_SUFFIX if stage == 1 else ''}.safetensors"

    def names(self) -> list[str]:
        """Every run started here, by name."""
        return sorted(p.stem for p in self.library.paintings.iterdir() if not p.name.startswith("."))

    def start(self, painting: str | None, name: str, image_steps: int, video_steps: int) -> str:
        """Begin a new run from an uploaded painting."""
        if not painting:
            raise ValueError("upload a painting first")
        load_rgb(painting)  # not an image: fail here, with the reason
        default = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(painting).stem).strip("_-")
        name = self.library.check_new_name(name.strip() or default)  # first: the name is used as a glob pattern
        if self.library.own_painting(name):
            raise ValueError(f"a run named {name} exists already: pick it below to continue it, or choose another name")
        self._check_idle()
        shutil.copyfile(painting, self.library.paintings / f"{name}{Path(painting).suffix.lower()}")
        return self._launch(name, image_steps, video_steps)

    def resume(self, name: str | None, image_steps: int, video_steps: int) -> str:
        if not name or not self.library.own_painting(name):
            raise ValueError("pick a run to continue")
        if self.model(name).exists():
            raise ValueError(f"{name} is finished; it is in the Stylize gallery")
        self._check_idle()
        return self._launch(name, image_steps, video_steps)

    def stop(self) -> str:
        run = self.current
        if run is None or not run.active:
            raise ValueError("no run is training")
        run.stop.set()
        run.status = "stopping"
        return run.name

    def _check_idle(self) -> None:
        if self.current is not None and self.current.active:
            raise ValueError(f"{self.current.name} is training; stop it first (it keeps a checkpoint and can "
                             "continue later)")

    def _launch(self, name: str, image_steps: int, video_steps: int) -> str:
        run = self.current = Run(name)
        painting = str(self.library.own_painting(name))
        configs = (TrainConfig(style=painting, steps=int(image_steps)),
                   VideoTrainConfig(style=painting, steps=int(video_steps)))
        threading.Thread(target=self._train, args=(run, painting, *configs), name=f"train-{name}", daemon=True).start()
        return name

    def _train(self, run: Run, painting: str, image: TrainConfig, video: VideoTrainConfig) -> None:
        def on_stage(number: int, model: Path, state: str) -> None:
            run.stage, run.step, run.steps, run.clock = number, 0, 0, None

        def on_step(trainer: Trainer, terms: dict[str, float]) -> None:
            run.step, run.steps = trainer.step, trainer.config.steps
            run.clock = run.clock or (time.monotonic(), trainer.step)
            if run.stop.is_set():
                raise Cancelled
            run.status = "training"

        try:
            train_style(painting, self.model(run.name), image, video, progress=False, on_step=on_step,
                        on_stage=on_stage)
            run.status, run.note = "done", "finished: the style is in the Stylize gallery"
        except Cancelled:
            run.status, run.note = "stopped", (f"stopped at stage {run.stage}, step {run.step}, with a checkpoint; "
                                               "Continue picks it up")
        except Exception as e:  # the run fails, the studio goes on
            run.status, run.note = "failed", f"failed: {page_error(e).message}"

    def _run_of(self, name: str) -> Run | None:
        """The run of `name` started since the studio started, if any."""
        return self.current if self.current and self.current.name == name else None

    def describe(self, name: str) -> str:
        run = self._run_of(name)
        if run and run.active:
            stage = f"stage {run.stage} of 2 ({STAGES[run.stage - 1]})" if run.stage else "starting"
            step = (f"step {run.step} of {run.steps}{run.time_left()}" if run.steps
                    else "preparing the painting and training pictures")
            return f"**{name}**: {run.status}, {stage}, {step}"
        if run:
            return f"**{name}**: {run.note}"
        if self.model(name).exists():
            return f"**{name}**: finished; the style is in the Stylize gallery"
        return f"**{name}**: unfinished; Continue picks it up from its last checkpoint"

    def work(self, name: str, stage: int) -> Path:
        return work_dir_of(self.model(name, stage))

    def losses(self, name: str) -> Figure | None:
        """The loss terms of both stages against the step, or None before stage 1 has a curve to draw."""
        logs = [read_log(self.work(name, stage) / "log.jsonl") for stage in (1, 2)]
        if len(logs[0]) < CURVE_POINTS:
            return None
        fig = new_figure(8, 3.2)
        for stage, rows in enumerate(logs, 1):
            ax = fig.add_subplot(1, 2, stage)
            ax.set(title=f"stage {stage}: {STAGES[stage - 1]}", xlabel="step")
            if not rows:
                ax.text(0.5, 0.5, "not started yet", ha="center", va="center", transform=ax.transAxes)
                ax.set(xticks=[], yticks=[])
                continue
            for term in ("total", "style", "content", "temporal"):
                points = [(s, r[term]) for s, r in rows.items() if term in r]
                if points:
                    ax.plot(*zip(*points), label=term, linewidth=2 if term == "total" else 1)
            ax.set(yscale="log")
            ax.legend(fontsize=7)
        fig.tight_layout()
        return fig

    def samples(self, name: str) -> list[tuple[str, str]]:
        """The latest sample pictures, as gr.Gallery takes them."""
        found = [(str(p), f"stage {stage}, step {int(p.stem.rpartition('_')[2])}") for stage in (1, 2)
                 for p in sorted((self.work(name, stage) / "samples").glob("step_*.jpg"))]
        return found[-SAMPLES_SHOWN:]

    def signature(self, name: str | None) -> tuple:
        """Changes whenever what the page shows for `name` would change."""
        if not name:
            return ()
        files = [self.work(name, s) / "log.jsonl" for s in (1, 2)] + [self.model(name, s) for s in (1, 2)]
        run = self._run_of(name)
        return (name, (run.status, run.stage, run.step) if run else None, len(self.samples(name)),
                *(f.stat().st_mtime if f.exists() else 0 for f in files))


def read_log(path: Path) -> dict[int, dict]:
    """Logged loss terms by step; a step logged twice (a run continued from an older checkpoint) as last logged."""
    rows: dict[int, dict] = {}
    for line in path.read_text().splitlines() if path.is_file() else []:
        row = json.loads(line)
        if "total" in row:
            rows[row["step"]] = row
    return rows


def train_tab(runs: TrainingRuns) -> None:
    gr.Markdown("Train a stable style from any painting: about an hour on two cores. Training goes on "
                "when the page is closed; a stopped run continues from its last checkpoint.")
    with gr.Row():
        with gr.Column():
            painting = gr.Image(type="filepath", sources=["upload"], label="Painting", height=320, elem_id="painting")
            name = gr.Textbox(label="Style name", placeholder="default: the painting's file name")
            with gr.Accordion("Training length", open=False):
                image_steps = gr.Number(TrainConfig.steps, label="Stage 1 steps (per-frame network)", precision=0,
                                        minimum=1)
                video_steps = gr.Number(VideoTrainConfig.steps, label="Stage 2 steps (stable network)",
                                        precision=0, minimum=1)
            begin = gr.Button("Start training", variant="primary")
        with gr.Column():
            chosen = gr.Dropdown(runs.names(), value=None, label="Run", elem_id="run")
            with gr.Row():
                resume = gr.Button("Continue")
                stop = gr.Button("Stop (keeps a checkpoint)", variant="stop")
            status = gr.Markdown(elem_id="train-status")
    plot = gr.Plot(label="Loss", elem_id="loss", visible=False)
    samples = gr.Gallery(label="Samples (newest last)", columns=SAMPLES_SHOWN, fit_columns=False, height=200)
    shown = gr.State(())
    timer = gr.Timer(3)

    @readable_errors
    def view(name: str | None, last: tuple):
        """Status, loss curve and samples of a run; nothing is sent when nothing changed."""
        now = runs.signature(name)
        if now == last:
            return gr.skip(), gr.skip(), gr.skip(), last
        if not name:
            return "", gr.Plot(None, visible=False), [], now
        curve = runs.losses(name)
        status = runs.describe(name)
        if curve is None:
            every = TrainConfig.log_every
            status += (f"\n\nThe loss curve appears at step {every * CURVE_POINTS} (the loss is logged every "
                       f"{every} steps).")
        return status, gr.Plot(curve, visible=curve is not None), runs.samples(name), now

    def listed(name: str) -> gr.Dropdown:
        return gr.Dropdown(choices=runs.names(), value=name)

    outputs = [status, plot, samples, shown]
    begin.click(readable_errors(lambda *a: listed(runs.start(*a))), [painting, name, image_steps, video_steps],
                chosen)
    resume.click(readable_errors(lambda *a: listed(runs.resume(*a))), [chosen, image_steps, video_steps], chosen)
    stop.click(readable_errors(lambda: gr.Info(f"stopping {runs.stop()} at the next step")))
    chosen.change(lambda n: view(n, ("forced",)), chosen, outputs)
    timer.tick(view, [chosen, shown], outputs, show_progress="hidden")
