"""How a style is trained, on top of the trainers: both stages one after the other (`train_style`), fine-tuning
from a trained style (`start_from`), and a stable model trained on for more steps (`carried_on`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

from ..models import PER_FRAME_SUFFIX, Model, per_frame_file
from ._distributed import join
from ._train import ImageTrainer, StepCallback, TrainConfig, VideoTrainConfig, work_dir_of
from ._video_train import VideoTrainer


def train_style(style: str | Path, out: str | Path, image: TrainConfig | None = None,
                video: VideoTrainConfig | None = None, *, vgg_weights: str | Path | None = None,
                progress: bool = True, on_step: StepCallback | None = None,
                on_stage: Callable[[int, Path, str], None] | None = None, start_from: str | None = None) -> Path:
    """Both stages for one painting: NAME-per-frame beside `out`, then the stable `out` from it.

    A stage whose model file exists is done; one with a checkpoint continues from it, so calling this
    again after an interruption picks up where it stopped. Stage 2 takes stage 1's painting, scale and
    loss weights. `on_stage(number, model, "done" | "continuing" | "training")` reports each stage (in
    the first process only, when there are several).

    `start_from` (a shipped style, or a stable model file with its NAME-per-frame beside it) fine-tunes
    instead: stage 1 starts from its per-frame network; stage 2 from the result, with the stable network's
    weights for the previous frame and output and its gate (it already knows how to be steady); both
    for FINE_TUNE_STEPS unless the configs say otherwise, stage 2 with an open temporal weight at
    weighting.FINE_TUNE_FACTOR x the painting's suggestion.
    """
    out = Path(out)
    per_frame = per_frame_file(out)
    image_steps, video_steps = FINE_TUNE_STEPS if start_from else (TrainConfig.steps, VideoTrainConfig.steps)
    image = replace(image or TrainConfig(style=str(style), steps=image_steps), style=str(style))
    video = replace(video or VideoTrainConfig(style=str(style), device=image.device, steps=video_steps),
                    style=str(style), style_size=image.style_size, arch=image.arch, weights=image.weights,
                    init=str(per_frame))
    if start_from:  # a trained network has its large strokes: relu4_3 would only bring the motif back
        image = replace(image, start=per_frame_twin(start_from), deep_steps=0)
        video = replace(video, start=start_from)
    report = on_stage if join(image.device).main else None
    for number, (model, config, trainer) in enumerate(((per_frame, image, ImageTrainer), (out, video, VideoTrainer)), 1):
        resume = (work_dir_of(model) / "checkpoint.pt").is_file()
        if report:
            report(number, model, "done" if model.exists() else "continuing" if resume else "training")
        if model.exists():
            continue
        trainer(config, model, vgg_weights=vgg_weights, resume=resume, progress=progress, on_step=on_step).run()
    return out


# Fine-tuning from a shipped style (`train style --from`): stage 1 and stage 2 steps, about 15 minutes on
# 2 CPU cores from a network with the head (bench_arch's step times; about 11 from one without it).
# A short stage 1 leaves a per-frame network the stable one can follow: on the selection clips, from a start
# without the head, stage 2 at the full suggested weight after 400 stage-1 steps loses the look (style loss
# 1.2-1.5x the per-frame network's) and after 200 keeps it (1.04x and 0.84x). From the_scream, with the head,
# this schedule keeps at most 16% of the flicker on the held-out clips at style 0.89x (docs/training.md).
FINE_TUNE_STEPS = (200, 600)


def carried_on(model: Model, steps: int) -> VideoTrainConfig:
    """The settings to train a stable model's stage 2 on to `steps` (`train more`): the ones it recorded.

    The batches follow the step number, so the new steps see what the same run trained longer would have
    seen; only Adam starts afresh. The painting is the recorded file: check it is here (`replace` it if not).
    """
    recorded = model.meta.get("training", {})
    if not model.recurrent or recorded.get("stage") != "video":
        raise ValueError(f"{model.path}: not a stable model with a record of its stage-2 training; only a stable "
                         f"model trained by steadystyle can train on")
    if steps <= recorded["steps_done"]:
        raise ValueError(f"--steps {steps}: {model.path} has had {recorded['steps_done']} stage-2 steps already; "
                         f"ask for more")
    known = {f.name: recorded[f.name] for f in fields(VideoTrainConfig) if f.name in recorded}
    return VideoTrainConfig.from_dict({**known, "steps": steps, "carry_on": str(model.path)})


def per_frame_twin(spec: str) -> str:
    """The per-frame model that goes with a stable one: NAME-per-frame, by style name or beside the file."""
    path = Path(spec)
    if path.suffix == ".safetensors":
        return str(per_frame_file(path))
    return spec + PER_FRAME_SUFFIX
