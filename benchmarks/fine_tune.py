"""How far fine-tuning (`train style --from`) gets in half, one and twice its schedule, against a full run.

    python benchmarks/fine_tune.py --style woman_with_a_hat --from the_scream --work runs/fine_tune \\
        [--full runs/woman_with_a_hat.safetensors]

Each schedule scales FINE_TUNE_STEPS (the default: ~15 minutes on 2 cores from a head network, ~11
without) by 0.5, 1 and 2 and trains with `train_style(..., start_from=...)` into WORK/scaleN.safetensors
(a finished one is reused; an interrupted one continues). Every model is then scored on the held-out
real clips (real_footage.py, 48 frames each): the worst share of its per-frame network's flicker the
stable one keeps (the bar: 1/3), the worst plain ratio of their warping errors (the source's own error
not taken off) and the worst style loss stable / per-frame (the bar: 1.2), beside the stage-1 style loss
at the end of training. Every schedule trains stage 2 with the painting's suggested temporal weight for
fine-tuning (steadystyle.training's FINE_TUNE_FACTOR x a full run's), worked out once at the start. Minutes are
each model's own training time (both stages, from its metadata, so resumed runs count whole); on a
shared machine they run long. `--full` adds a from-scratch run of the same painting for comparison.

The table is kept in results/fine_tune.json and written into docs/benchmarks.md (`--docs` rewrites only
that); docs/images/fine_tune.jpg shows the painting, a held-out frame and each model's stable output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bench_arch import NO_HEAD
from footage import CLIPS, clip_frames
from readme_tables import BENCHMARKS_PAGE, DOCS, docs_flag, load_results, rewrite_table, save_results
from real_footage import run_clips
from steadystyle.images import load_rgb, resize_to, to_uint8
from steadystyle.models import load_model
from steadystyle.paintings import painting_path
from steadystyle.stylize import StylizeOptions, as_tensor, stylize_frames
from steadystyle.training import (FINE_TUNE_STEPS, TrainConfig, VideoTrainConfig, per_frame_twin,
                                  suggest_temporal_weight, train_style)

SCALES = (0.5, 1.0, 2.0)
RESULTS, TABLE, PAGE = "fine_tune", "fine-tune-table", BENCHMARKS_PAGE  # results/fine_tune.json, the page's markers
PICTURE = DOCS / "fine_tune.jpg"


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


def score(models: dict[str, str], max_frames: int) -> list[dict]:
    """One row per model: the worst of each figure over the held-out clips."""
    scores = run_clips(list(CLIPS), list(models), max_frames, style_every=4)
    rows = []
    for spec, label in models.items():
        per_clip = [entry["styles"][spec] for entry in scores.values()]
        stage1, stage2 = (load_model(m).meta["training"] for m in (per_frame_twin(spec), spec))
        rows.append({
            "schedule": label, "minutes": (stage1["cpu_seconds"] + stage2["cpu_seconds"]) / 60,
            "steps": [stage1["steps_done"], stage2["steps_done"]],
            "stage1_style_loss": stage1.get("final_losses", {}).get("style"),
            "kept_flicker": max(r["kept_flicker"] for r in per_clip if r["kept_flicker"] is not None),
            "e_warp_ratio": max(r["stable"]["warping_error"] / r["per-frame"]["warping_error"] for r in per_clip),
            "style_ratio": max(r["style_ratio"] for r in per_clip if r["style_ratio"] is not None)})
    return rows


def minutes_alone(steps: list[int], network: str) -> float:
    """What the steps take on this machine with nothing else running: bench_arch's quiet seconds per step
    for `network`, the start style's layout (a row of results/arch_speed.json)."""
    row = load_results("arch_speed")["rows"][network]
    return (steps[0] * row["stage-1 step s"] + steps[1] * row["stage-2 step s"]) / 60


def table(rows: list[dict], network: str) -> str:
    lines = ["| schedule | minutes alone (steps x quiet step time) | minutes here, shared | stage-1 style loss "
             "| flicker kept (worst) | E_warp ratio (worst) | style ratio (worst) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['schedule']} | {minutes_alone(r['steps'], network):.0f} | {r['minutes']:.0f} | "
                     f"{r['stage1_style_loss'] or float('nan'):.3g} | {100 * r['kept_flicker']:.0f}% | "
                     f"{r['e_warp_ratio']:.2f} | {r['style_ratio']:.2f} |")
    return "\n".join(lines)


def table_body() -> str:
    saved = load_results(RESULTS)
    return (f"{table(saved['rows'], saved['network'])}\n\n{saved['style']} from {saved['from']} (the "
            f"`{saved['network']}` network), stage-2 temporal weight "
            f"{saved['temporal_weight']:g}; worst of the {saved['clips']} held-out clips ({saved['max_frames']} frames "
            f"each). Measured {saved['date']} with `{saved['command']}` on {saved['cpus']} CPU cores, beside other "
            "jobs, so the minutes here run long; the minutes alone use the step times in results/arch_speed.json "
            f"(measured {load_results('arch_speed')['date']}, perhaps on another CPU: machines change between sessions).")


def write_table() -> None:
    rewrite_table(PAGE, TABLE, table_body())


def picture(style: str, models: dict[str, str], clip: str = "cup", index: int = 48) -> None:
    """The painting, frame `index` of a held-out clip, and each model's stable output after the clip so far."""
    frames = clip_frames(clip, index + 1, max_side=480)
    source = as_tensor(frames[-1])
    size = tuple(source.shape[-2:])
    tiles = {"painting": resize_to(load_rgb(painting_path(style)), size), "held-out frame": source}
    for spec, label in models.items():
        *_, tiles[label] = stylize_frames(frames, load_model(spec), StylizeOptions(mode="stable", cut_threshold=None))
    images = [Image.fromarray(to_uint8(t)) for t in tiles.values()]
    columns = 3
    sheet = Image.new("RGB", (columns * images[0].width, -(-len(images) // columns) * images[0].height))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default(size=24)
    for i, (label, image) in enumerate(zip(tiles, images)):
        x, y = i % columns * image.width, i // columns * image.height
        sheet.paste(image, (x, y))
        draw.text((x + 8, y + 6), label, fill="white", stroke_width=2, stroke_fill="black", font=font)
    sheet.save(PICTURE, quality=88)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--style", default="woman_with_a_hat", help="a bundled painting's name")
    p.add_argument("--from", dest="start", default="the_scream", help="the trained style to start from")
    p.add_argument("--work", type=Path, help="folder for the models (required unless --docs)")
    p.add_argument("--full", help="a from-scratch stable model of the same painting, for comparison")
    p.add_argument("--max-frames", type=int, default=48)
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if args.docs:
        return write_table()
    if args.work is None:
        p.error("--work is required: the folder where the fine-tuned models are trained or found")
    args.work.mkdir(parents=True, exist_ok=True)
    head = load_model(args.start).net.arch.head
    network = "fast" if head else NO_HEAD  # the layout fine-tuning trains: the start's
    suggestion = suggest_temporal_weight(args.style, head, fine_tune=True)
    print(f"{args.style}: Gram trace {suggestion.trace:.3g}, "
          f"fine-tuning temporal weight {suggestion.temporal_weight:g}", flush=True)
    models = {}
    for scale in SCALES:
        out = args.work / f"scale{scale:g}.safetensors"
        train(args.style, args.start, out, scale, suggestion.temporal_weight)
        models[str(out)] = "{:g}x: {} + {} steps".format(scale, *(round(scale * s) for s in FINE_TUNE_STEPS))
    if args.full:
        models[args.full] = "from scratch"
    rows = score(models, args.max_frames)
    print(table(rows, network))
    save_results(RESULTS, "python benchmarks/fine_tune.py --work DIR" + (" --full MODEL" if args.full else ""),
                 {"style": args.style, "from": args.start, "network": network,
                  "temporal_weight": suggestion.temporal_weight,
                  "clips": len(CLIPS), "max_frames": args.max_frames, "rows": rows})
    write_table()
    picture(args.style, models)
    print(f"kept in results/{RESULTS}.json, table in {PAGE} rewritten, wrote {PICTURE}")


if __name__ == "__main__":
    main()
