"""The look against Johnson et al.'s published models, on their standard content image (research only).

    python benchmarks/compare_johnson.py [--out DIR]   # needs ../shared/data (not shipped with the project)

For each shipped style with a published counterpart in ../shared/data/reference/johnson/ (their
models applied to content/chicago.jpg, 712x474), our per-frame and stable networks stylize the same
photo at the same size. The table gives each result's style loss against our painting and content loss
against the photo (the loss `evaluate` reports); DIR/NAME.jpg shows Johnson | per-frame | stable side
by side. Neither the photo nor the published results may be redistributed, so DIR defaults to a
temporary folder outside the project; look at the pictures, do not commit them.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image

from readme_tables import save_results
from real_footage import painting
from steadystyle.evaluation import scoring_loss  # the evaluate command's own loss network
from steadystyle.images import load_rgb, resize_to, to_uint8
from steadystyle.models import PER_FRAME_SUFFIX, load_model
from steadystyle.stylize import StylizeOptions, stylize_image
from steadystyle.vgg import cached_weights

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PUBLISHED = {"starry_night": "chicago_starry_night.jpg", "composition_vii": "chicago_composition_vii.jpg",
             "the_scream": "chicago_scream_instnorm.jpg", "udnie": "chicago_udnie_instnorm.jpg",
             "wave": "chicago_wave.jpg"}
THEIRS, OURS, STABLE = "Johnson et al. (published)", "ours, per-frame", "ours, stable"
RESULTS = "compare_johnson"
# What the figures cannot say, from looking at the pictures of the last run (rewrite it after looking again).
LOOK = ("by eye, the stable networks: starry_night has Van Gogh's yellow dabs and moons over a recognisable "
        "skyline, though not their sweeping swirls and crisp buildings, and a fine diagonal texture; udnie has "
        "Picabia's grey-blue planes and black curved facets on the buildings, but a flat sky where theirs is faceted "
        "throughout, in orange and green as well; the_scream has Munch's orange sky in long bands, flatter than "
        "their swirls, and buildings dark in blue-black strokes; composition_vii has Kandinsky's yellow and red "
        "blots in the sky and blue-orange strokes on the buildings, softer and smaller than their bold shards; "
        "wave has Hokusai's cream and Prussian blue, the buildings covered in rows of small wave crests and foam "
        "dots, but a plain sky where theirs rolls with big crests (its per-frame network lays horizontal stripes on "
        "that sky). Theirs have crisper edges throughout, and larger structures")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "steadystyle-johnson")
    args = p.parse_args()
    photo_path = DATA / "content" / "chicago.jpg"
    if not photo_path.is_file():
        raise SystemExit(f"{photo_path} is missing: this benchmark needs ../shared/data beside the project")
    args.out.mkdir(parents=True, exist_ok=True)
    photo, vgg = load_rgb(photo_path), cached_weights()
    print("| style | result | style loss | content loss |\n| --- | --- | --- | --- |")
    rows = []
    for style, published in PUBLISHED.items():
        theirs = load_rgb(DATA / "reference" / "johnson" / published)
        size = tuple(theirs.shape[-2:])
        x = resize_to(photo, size)
        loss = scoring_loss(vgg, load_rgb(painting(style), max(size)))
        results = {THEIRS: theirs, OURS: stylize_image(load_model(style + PER_FRAME_SUFFIX), x),
                   STABLE: stylize_image(load_model(style), x, StylizeOptions(mode="stable"))}
        for name, y in results.items():
            with torch.no_grad():
                terms = loss(y[None].clamp(0, 1), loss.content_targets(x[None]))
            print(f"| {style} | {name} | {float(terms['style']):.3g} | {float(terms['content']):.3g} |", flush=True)
            rows.append({"style": style, "result": name, "style_loss": float(terms["style"]),
                         "content_loss": float(terms["content"])})
        strip = torch.cat(list(results.values()), -1)
        Image.fromarray(to_uint8(strip)).save(args.out / f"{style}.jpg", quality=90)
    print(f"\npictures (Johnson | per-frame | stable): {args.out}")
    save_results(RESULTS, "python benchmarks/compare_johnson.py", {"rows": rows})


def table_cell(results: dict) -> str:
    loss = {(r["style"], r["result"]): r["style_loss"] for r in results["rows"]}
    ratios = ", ".join(f"{style} {loss[style, OURS] / loss[style, THEIRS]:.2g}x" for style in PUBLISHED)
    return (f"style loss of our per-frame networks over theirs: {ratios} (the loss is against our reproductions of "
            f"the paintings, not theirs); {LOOK}")


if __name__ == "__main__":
    main()
