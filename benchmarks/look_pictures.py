"""The look benchmark's pictures: labelled sheets for people, unlabeled A/B pairs for a blind judge, and the
count of the judge's verdicts once the pairs are judged.

A judge who knows which result is ours judges the name, not the picture; so the pairs carry no method names,
their sides and order are shuffled with a fixed seed, and the key that undoes the shuffle is written outside
the folder the judge is given.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from steadystyle.images import resize_to, to_uint8

CONTENT = "photo"  # the label of the stylized picture itself, in sheets and pairs
GAP = 6  # px of white between tiles
SCORES = ("style", "content", "artifacts")  # what the judge scores 0-10 on each side; 10 is best
JUDGMENTS = "judgments.json"
# The instructions the judge reads beside the pairs (no method names: they would unblind the judge).
INSTRUCTIONS = """Each pair_NNN.png shows a painting and a photo on top, and below them two results of painting
the photo in the painting's style: A on the left, B on the right. For every pair, fill judgments.json:
  "winner": "A" or "B", the result you would rather have;
  for each of A and B, scores from 0 to 10 (10 is best):
    "style": how much it looks painted like the painting (colours, strokes, shapes),
    "content": how well the photo's subject stays recognisable,
    "artifacts": freedom from defects (grids, dots, stripes, hatching, halos, blotches unrelated to the photo).
Judge each pair on its own; look at the pictures at full size.
"""
Pair = tuple[str, str, torch.Tensor, torch.Tensor, torch.Tensor, str, torch.Tensor]  # see blind_pairs


def row_at_width(row: list[torch.Tensor], width: int) -> list[np.ndarray]:
    """The pictures of one row at `width` px across, all at the height of the first (the photo's shape)."""
    h, w = row[0].shape[-2:]
    return [to_uint8(resize_to(t, (round(h * width / w), width))) for t in row]


def label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int) -> None:
    """White text with a black outline: readable on any picture."""
    draw.text(xy, text, fill="white", stroke_width=2, stroke_fill="black", font=ImageFont.load_default(size=size))


def save_sheet(rows: list[list[torch.Tensor]], labels: list[str], path: Path, width: int | None = None) -> None:
    """Rows of pictures side by side, each column named once in a band on top; with `width` the sheet is
    scaled to that many pixels across (a compact picture for the docs), else the tiles keep the first one's width."""
    columns = len(labels)
    tile_width = (width - GAP * (columns - 1)) // columns if width else rows[0][0].shape[-1]
    tiles = [row_at_width(row, tile_width) for row in rows]
    size = max(20, tile_width // 25)  # the labels' font: readable on a wide tile too
    band = size + 10
    heights = [row[0].shape[0] for row in tiles]
    sheet = Image.new("RGB", (columns * (tile_width + GAP) - GAP, band + sum(heights) + GAP * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for col, text in enumerate(labels):
        draw.text((col * (tile_width + GAP) + 4, 4), text, fill="black", font=ImageFont.load_default(size=size))
    top = band
    for row, height in zip(tiles, heights):
        for col, tile in enumerate(row):
            sheet.paste(Image.fromarray(tile), (col * (tile_width + GAP), top))
        top += height + GAP
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=82 if width else 92)


def composite(painting: torch.Tensor, photo: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> Image.Image:
    """Painting and photo on top, A and B below, at the photo's size (the painting fitted into a grey cell)."""
    h, w = photo.shape[-2:]
    cell = Image.new("RGB", (w, h), (128, 128, 128))
    scale = min(h / painting.shape[-2], w / painting.shape[-1])
    fitted = to_uint8(resize_to(painting, (round(painting.shape[-2] * scale), round(painting.shape[-1] * scale))))
    cell.paste(Image.fromarray(fitted), ((w - fitted.shape[1]) // 2, (h - fitted.shape[0]) // 2))
    sheet = Image.new("RGB", (2 * w + GAP, 2 * h + GAP), "white")
    size = max(16, h // 20)
    draw = ImageDraw.Draw(sheet)
    for (x, y), picture, text in zip([(0, 0), (w + GAP, 0), (0, h + GAP), (w + GAP, h + GAP)],
                                     [cell, photo, a, b], ["painting", "photo", "A", "B"]):
        if isinstance(picture, torch.Tensor):
            picture = Image.fromarray(to_uint8(resize_to(picture, (h, w))))
        sheet.paste(picture, (x, y))
        label(draw, (x + 8, y + 6), text, size)
    return sheet


def default_key(folder: Path) -> Path:
    """Beside the judge's folder, not in it: key-NAME.json."""
    folder = folder.resolve()
    return folder.parent / f"key-{folder.name}.json"


def check_blind(folder: Path, key: Path) -> None:
    """Refuse, before any work, a key the judge would see and a folder whose old pairs would mix with new ones."""
    folder, key = folder.resolve(), key.resolve()
    if folder in key.parents:
        raise SystemExit(f"the key {key} would sit in {folder}, which the judge sees: give --key outside it")
    if any(folder.glob("pair_*.png")):
        raise SystemExit(f"{folder} already holds pairs: give an empty or new folder for --blind")


def blind_pairs(pairs: list[Pair], folder: Path, key: Path, seed: int) -> Path:
    """Write each (style, content, painting, photo, ours, opponent's name, opponent's result) as an unlabeled
    pair_NNN.png in `folder`, in shuffled order and sides, with the judge's instructions and an empty
    judgments.json; the key goes to `key`, which must lie outside `folder`."""
    check_blind(folder, key)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    order = rng.sample(range(len(pairs)), len(pairs))
    answers, template = {}, {}
    for number, index in enumerate(order, 1):
        style, content, painting, photo, ours, opponent, theirs = pairs[index]
        sides = [("ours", ours), (opponent, theirs)]
        rng.shuffle(sides)
        name = f"pair_{number:03d}"
        composite(painting, photo, sides[0][1], sides[1][1]).save(folder / f"{name}.png")
        answers[name] = {"style": style, "content": content, "A": sides[0][0], "B": sides[1][0]}
        template[name] = {"winner": "", **{side: {score: None for score in SCORES} for side in "AB"}}
    (folder / JUDGMENTS).write_text(json.dumps(template, indent=1) + "\n")
    (folder / "README.txt").write_text(INSTRUCTIONS)
    key.write_text(json.dumps({"seed": seed, "pairs": answers}, indent=1) + "\n")
    return key


def side_scores(verdict: dict, side: str, pair: str) -> list[float | None]:
    given = verdict.get(side) or {}
    values = [given.get(score) for score in SCORES]
    for score, value in zip(SCORES, values):
        if value is not None and not (isinstance(value, (int, float)) and 0 <= value <= 10):
            raise SystemExit(f"{pair}: {side}'s {score} is {value!r}; give a number from 0 to 10 (or null)")
    return values


def tally(judgments: Path, key: Path, ours: str) -> str:
    """Per opponent, per style and overall: the share of judged pairs ours won and the mean scores of both
    sides, as a Markdown table (`ours` names our side in the table)."""
    if not key.is_file():
        raise SystemExit(f"no key at {key}: give the --key that `look.py --blind` wrote")
    verdicts, answers = json.loads(judgments.read_text()), json.loads(key.read_text())["pairs"]
    groups: dict[tuple[str, str], list[tuple[bool, list, list]]] = defaultdict(list)
    for pair, answer in answers.items():
        verdict = verdicts.get(pair) or {}
        if verdict.get("winner") not in ("A", "B"):
            continue
        ours_side = "A" if answer["A"] == "ours" else "B"
        theirs_side = "B" if ours_side == "A" else "A"
        judged = (verdict["winner"] == ours_side, side_scores(verdict, ours_side, pair),
                  side_scores(verdict, theirs_side, pair))
        opponent = answer[theirs_side]
        groups[opponent, answer["style"]].append(judged)
        groups[opponent, "all styles"].append(judged)
    judged_pairs = sum(len(v) for (_, style), v in groups.items() if style == "all styles")
    lines = [f"| opponent | style | pairs judged | {ours} won | {ours}: style / content / artifacts | "
             "opponent: style / content / artifacts |", "| --- | --- | --- | --- | --- | --- |"]
    for (opponent, style), judged in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] == "all styles", g[0][1])):
        won = sum(w for w, _, _ in judged)
        lines.append(f"| {opponent} | {style} | {len(judged)} | {won} ({won / len(judged):.0%}) | "
                     f"{means([s for _, s, _ in judged])} | {means([s for _, _, s in judged])} |")
    return "\n".join(lines) + f"\n\n{judged_pairs} of {len(answers)} pairs judged."


def means(scores: list[list[float | None]]) -> str:
    """'style / content / artifacts' means over the judged sides that have each score."""
    columns = [[v for v in column if v is not None] for column in zip(*scores)]
    return " / ".join(f"{np.mean(c):.1f}" if c else "-" for c in columns)
