"""The look of the networks a user can train, stage 1 of one painting each, against the shipped styles' (#15, #11).

    python benchmarks/arch_look.py NETWORK=PER_FRAME.safetensors [...]   # measures, writes the picture
    python benchmarks/arch_look.py --docs                                # only rewrites the docs table

Each per-frame network (the look is stage 1's; stage 2 keeps it within the shipped styles' 1.2x bar) and,
in the same run, the shipped per-frame network of the same painting ("shipped": the painting's shipped
per-frame network; in results/arch_look.json that is the fast layout without its 9x9 head) stylize the
same pictures no training saw: three scikit-image photos and a frame of the held-out cup clip, each
scaled to 360 and to 720 px on the long side. The table gives the style loss
against the painting at the picture's size and the content loss against the picture (`evaluate`'s loss
network), each the mean over the pictures, and their ratio to the shipped network's; networks measured
earlier keep their rows (and their date). docs/images/arch_look.jpg shows picture | shipped | each network
at 720 px. bench_arch.py has the speeds.
"""

from __future__ import annotations

import argparse
import datetime

import numpy as np
import torch
from PIL import Image

from footage import clip_frames
from readme_tables import BENCHMARKS_PAGE, DOCS, docs_flag, load_results, rewrite_table, save_results
from real_footage import painting
from steadystyle.evaluation import scoring_loss  # the evaluate command's own loss network
from steadystyle.images import load_rgb, resize_to, to_uint8
from steadystyle.models import PER_FRAME_SUFFIX, Model, load_model
from steadystyle.stylize import StylizeOptions, as_tensor, stylize_image
from steadystyle.vgg import cached_weights

RESULTS, TABLE, PAGE = "arch_look", "arch-look-table", BENCHMARKS_PAGE
SHIPPED = "shipped"  # the painting's shipped per-frame network, measured in every run
PHOTOS = ("astronaut", "coffee", "chelsea")  # scikit-image's, public domain or CC0
SIDES = (360, 720)


def pictures(side: int) -> dict[str, torch.Tensor]:
    """The pictures scaled (up or down) to a long side of `side`: the networks' strokes have a fixed size in
    pixels, so the size of the frame decides how they look."""
    import skimage.data

    found = {name: as_tensor(getattr(skimage.data, name)()) for name in PHOTOS}
    found["cup, frame 48"] = as_tensor(clip_frames("cup", 49)[-1])
    return {name: resize_to(x, fit_long_side(*x.shape[-2:], side)) for name, x in found.items()}


def fit_long_side(h: int, w: int, side: int) -> tuple[int, int]:
    return round(h * side / max(h, w)), round(w * side / max(h, w))


def measure(models: dict[str, str], loaded: dict[str, Model], style: str) -> tuple[list[dict], list[torch.Tensor]]:
    """A row per network and size: mean style and content loss over the pictures; and the 720 px strips.
    `models` names each network's file for the results, `loaded` holds the networks themselves."""
    vgg = cached_weights()
    rows, strips = [], []
    for side in SIDES:
        shots = pictures(side)
        loss = scoring_loss(vgg, load_rgb(painting(style), side))  # the painting at the pictures' long side
        out = {arch: [stylize_image(model, x, StylizeOptions(mode="per-frame")) for x in shots.values()]
               for arch, model in loaded.items()}
        for arch, ys in out.items():
            terms = []
            for x, y in zip(shots.values(), ys):
                with torch.no_grad():
                    t = loss(y[None].clamp(0, 1), loss.content_targets(x[None]))
                terms.append((float(t["style"]), float(t["content"])))
            style_loss, content_loss = np.mean(terms, axis=0)
            rows.append({"network": arch, "side": side, "model": models[arch], "style_loss": float(style_loss),
                         "content_loss": float(content_loss), "pictures": list(shots)})
            print(f"{arch} at {side} px: style {style_loss:.3g}, content {content_loss:.3g}", flush=True)
        if side == max(SIDES):
            strips = [torch.cat([x, *(out[arch][i] for arch in loaded)], -1) for i, x in enumerate(shots.values())]
    return rows, strips


def table_body() -> str:
    saved = load_results(RESULTS)
    lines = ["| long side | network | style loss | content loss | / shipped (same run) | measured |",
             "| --- | --- | --- | --- | --- | --- |"]
    for side in SIDES:
        base = next(r for r in saved["rows"] if r["network"] == SHIPPED and r["side"] == side)
        lines.append(f"| {side} px | {SHIPPED} | {base['style_loss']:.3g} | {base['content_loss']:.3g} | | "
                     f"{base['date']} |")
        for r in saved["rows"]:
            if r["side"] == side and r["network"] != SHIPPED:
                ratio = f"style {r['style_ratio']:.2f}x, content {r['content_ratio']:.2f}x"
                lines.append(f"| {side} px | {r['network']} | {r['style_loss']:.3g} | {r['content_loss']:.3g} | "
                             f"{ratio} | {r['date']} |")
    return "\n".join(lines) + f"\n\n{saved['style']}, stage 1 of each, with `{saved['command']}`."


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", metavar="NETWORK=MODEL", help="a name for the table and a per-frame model file")
    docs_flag(p, PAGE, f"only rewrite the table from results/{RESULTS}.json")
    args = p.parse_args()
    if not args.docs:
        if not args.models or not all("=" in m for m in args.models):
            p.error("give NETWORK=PER_FRAME.safetensors for each network to measure (or --docs)")
        given = dict(m.split("=", 1) for m in args.models)
        loaded = {name: load_model(spec) for name, spec in given.items()}
        style = next(iter(loaded.values())).style
        shipped = style + PER_FRAME_SUFFIX
        rows, strips = measure({SHIPPED: shipped, **given}, {SHIPPED: load_model(shipped), **loaded}, style)
        today = datetime.date.today().isoformat()
        base = {r["side"]: r for r in rows if r["network"] == SHIPPED}
        for r in rows:
            r["date"] = today
            r["style_ratio"] = r["style_loss"] / base[r["side"]]["style_loss"]
            r["content_ratio"] = r["content_loss"] / base[r["side"]]["content_loss"]
        earlier = load_results(RESULTS)
        kept = [r for r in earlier["rows"] if r["network"] not in {SHIPPED, *given} and earlier["style"] == style]
        width = max(s.shape[-1] for s in strips)
        sheet = torch.cat([resize_to(s, (round(s.shape[-2] * width / s.shape[-1]), width)) for s in strips], -2)
        sheet = resize_to(sheet, (round(sheet.shape[-2] * 1200 / width), 1200))
        Image.fromarray(to_uint8(sheet)).save(DOCS / "arch_look.jpg", quality=88)
        save_results(RESULTS, "python benchmarks/arch_look.py NETWORK=PER_FRAME.safetensors ...",
                     {"style": style, "rows": [*rows, *kept]})
    rewrite_table(PAGE, TABLE, table_body())
    print(table_body())


if __name__ == "__main__":
    main()
