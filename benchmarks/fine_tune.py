"""How far fine-tuning (`train style --from`) gets in about 4, 9 and 17 minutes, against a full run.

    python benchmarks/fine_tune.py --style woman_with_a_hat --from the_scream --work runs/fine_tune \\
        [--full runs/woman_with_a_hat.safetensors]

Each schedule scales FINE_TUNE_STEPS (the default, ~9 minutes on 2 cores) by 0.5, 1 and 2 and trains
with `train_style(..., start_from=...)` into WORK/scaleN.safetensors (a finished one is reused; an
interrupted one continues). Every model is then scored on the held-out real clips (real_footage.py, 48
frames each): the worst share of its per-frame network's flicker the stable one keeps (the bar: 1/3),
the worst plain ratio of their warping errors (the source's own error not taken off)
and the worst style loss stable / per-frame (the bar: 1.2), beside the stage-1 style loss at the end of
training. Every schedule trains stage 2 with the painting's suggested temporal weight for fine-tuning
(weighting.py: FINE_TUNE_FACTOR x a full run's), worked out once at the start. Minutes are each model's
own training time (both stages, from its metadata, so resumed runs count whole); on a shared machine
they run long. `--full` adds a from-scratch run of the same painting for comparison.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from footage import CLIPS
from real_footage import run_clips
from steadystyle.models import load_model
from steadystyle.paintings import painting_path
from steadystyle.train import FINE_TUNE_STEPS, TrainConfig, VideoTrainConfig, per_frame_twin, train_style
from steadystyle.weighting import suggest_temporal_weight

SCALES = (0.5, 1.0, 2.0)


def train(style: str, start: str, out: Path, scale: float, temporal_weight: float) -> None:
    """Train one schedule, unless its model is there already (from the same schedule and weight)."""
    image, video = (round(scale * s) for s in FINE_TUNE_STEPS)
    if out.exists():
        trained = load_model(out).meta["training"]
        if (trained["steps"], trained["temporal_weight"]) != (video, temporal_weight):
            raise SystemExit(f"{out} was trained with {trained['steps']} stage-2 steps at temporal weight "
                             f"{trained['temporal_weight']:g}, not {video} at {temporal_weight:g}: move it away")
        return
    train_style(painting_path(style), out, TrainConfig(style="", steps=image),
                VideoTrainConfig(style="", steps=video, temporal_weight=temporal_weight), start_from=start,
                progress=False)


def training_minutes(model: str) -> float:
    """Both stages' training time, as recorded in the model files."""
    return sum(load_model(m).meta["training"]["cpu_seconds"] for m in (model, per_frame_twin(model))) / 60


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", default="woman_with_a_hat", help="a bundled painting's name")
    p.add_argument("--from", dest="start", default="the_scream", help="the trained style to start from")
    p.add_argument("--work", type=Path, required=True, help="folder for the models")
    p.add_argument("--full", help="a from-scratch stable model of the same painting, for comparison")
    p.add_argument("--max-frames", type=int, default=48)
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    suggestion = suggest_temporal_weight(args.style, fine_tune=True)
    print(f"{args.style}: Gram trace {suggestion.trace:.3g}, "
          f"fine-tuning temporal weight {suggestion.temporal_weight:g}", flush=True)
    models = {}
    for scale in SCALES:
        out = args.work / f"scale{scale:g}.safetensors"
        train(args.style, args.start, out, scale, suggestion.temporal_weight)
        models[str(out)] = f"{scale:g} x {FINE_TUNE_STEPS}"
    if args.full:
        models[args.full] = "from scratch"
    scores = run_clips(list(CLIPS), list(models), args.max_frames, style_every=4)
    print("| schedule | training minutes | stage-1 style loss | flicker kept (worst) | E_warp ratio (worst) "
          "| style ratio (worst) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for spec, label in models.items():
        rows = [entry["styles"][spec] for entry in scores.values()]
        kept = max(r["kept_flicker"] for r in rows if r["kept_flicker"] is not None)
        e_warp = max(r["stable"]["warping_error"] / r["per-frame"]["warping_error"] for r in rows)
        ratio = max(r["style_ratio"] for r in rows if r["style_ratio"] is not None)
        trained = load_model(per_frame_twin(spec)).meta.get("training", {})
        style_loss = trained.get("final_losses", {}).get("style", float("nan"))
        print(f"| {label} | {training_minutes(spec):.1f} | {style_loss:.3g} | {kept:.2f} | {e_warp:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
