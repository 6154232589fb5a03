"""The evidence for the suggested temporal weight (steadystyle.training.suggest_temporal_weight): shipped weights against Gram traces.

    python benchmarks/weight_evidence.py [--docs] [--also woman_with_a_hat]

For each shipped style: its network's layout (with or without the 9x9 head, fitted apart), its painting's
total Gram trace, the temporal weight it was trained with (its model card says how it was chosen), weight
x trace, the weight the fit of the *other* shipped styles suggests for its layout
(leave one out: how well the mapping predicts a painting it has not seen), and the style's worst flicker
kept and style ratio from styles/NAME.json. `--also` adds paintings without a shipped style, with their
suggestion for the default network. Draws docs/images/temporal_weight_vs_trace.png;
`--docs` also rewrites the table between the weight-table markers of docs/training.md.
"""

from __future__ import annotations

import argparse

from readme_tables import DOCS, TRAINING_PAGE, docs_flag, rewrite_table
from steadystyle.evaluation import AnalysisSettings
from steadystyle.networks import DEFAULT_ARCH, PRESETS
from steadystyle.reports import markdown_table, new_figure, save_figure
from steadystyle.training import layout_fit, round2, shipped_evidence, suggest_temporal_weight
from style_cards import held_out, load_evaluation

PLOT = DOCS / "temporal_weight_vs_trace.png"
TABLE, PAGE = "weight-table", TRAINING_PAGE


def worst(name: str, key: str) -> float:
    ev = load_evaluation(name)
    return max(ev["clips"][c][key] for c in held_out(ev) if ev["clips"][c][key] is not None)


def layout(head: int) -> str:
    return "head" if head else "no head"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--also", nargs="*", default=["woman_with_a_hat"], help="paintings without a shipped style")
    docs_flag(p, PAGE, "also rewrite the table")
    args = p.parse_args()
    evidence = sorted(shipped_evidence(), key=lambda e: (e.head, e.style))
    heads = sorted({0, PRESETS[DEFAULT_ARCH].head})
    fits = {h: layout_fit(evidence, h)[0] for h in heads}
    rows = [[f"`{e.style}`", layout(e.head), f"{e.trace:.3g}", f"{e.temporal_weight:g}",
             f"{e.temporal_weight * e.trace:.2g}",
             f"{round2(layout_fit([o for o in evidence if o is not e], e.head)[0] / e.trace):g}",
             f"{worst(e.style, 'kept_flicker'):.0%}", f"{worst(e.style, 'style_ratio'):.2f}"] for e in evidence]
    others = [suggest_temporal_weight(name, PRESETS[DEFAULT_ARCH].head, evidence=evidence) for name in args.also]
    rows += [[f"{name} (not shipped)", layout(PRESETS[DEFAULT_ARCH].head), f"{s.trace:.3g}", "-", "-",
              f"{s.temporal_weight:g}", "-", "-"] for name, s in zip(args.also, others)]
    table = markdown_table(["style", "network", "Gram trace", "temporal weight shipped", "weight x trace",
                            "suggested by the others", "flicker kept (worst)", "style ratio (worst)"], rows)
    print(table + "\n\n" + "; ".join(f"fit {layout(h)}: weight = {fits[h]:.3g} / trace" for h in heads))

    fig = new_figure(6, 4)
    ax = fig.subplots()
    for i, h in enumerate(heads):
        mine = [e for e in evidence if bool(e.head) == bool(h)]
        if mine:  # a layout with no shipped style of its own is only a line (the other's through HEAD_RATIO)
            ax.scatter([e.trace for e in mine], [e.temporal_weight for e in mine], color=f"C{i}",
                       label=f"shipped, {layout(h)}")
    for e in evidence:
        ax.annotate(e.style, (e.trace, e.temporal_weight), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.scatter([s.trace for s in others], [s.temporal_weight for s in others], marker="x", color="C2",
               label=f"suggested ({DEFAULT_ARCH})")
    for name, s in zip(args.also, others):
        ax.annotate(name, (s.trace, s.temporal_weight), textcoords="offset points", xytext=(4, -12), fontsize=8)
    lo, hi = 0.8 * min(e.trace for e in evidence), 1.2 * max(e.trace for e in evidence)
    for i, h in enumerate(heads):
        borrowed = "" if any(bool(e.head) == bool(h) for e in evidence) else " (from the other, HEAD_RATIO)"
        ax.plot([lo, hi], [fits[h] / lo, fits[h] / hi], "--", color=f"C{i}",
                label=f"{layout(h)}: {fits[h]:.2g} / trace{borrowed}")
    ax.axhline(3e8, color="grey", lw=0.8, label="a fixed weight, 3e8")
    ax.set(xscale="log", yscale="log", xlabel=f"total Gram trace of the painting (longer side {AnalysisSettings().trace_size} px)",
           ylabel="temporal weight", title="Temporal weight against Gram trace")
    ax.legend(fontsize=7, loc="lower left")
    print(f"wrote {save_figure(fig, PLOT)}")
    if args.docs:
        rewrite_table(PAGE, TABLE, table)
        print(f"rewrote the weight table in {PAGE}")


if __name__ == "__main__":
    main()
