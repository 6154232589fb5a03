"""The evidence for the suggested temporal weight (weighting.py): shipped weights against Gram traces.

    python benchmarks/weight_evidence.py [--readme] [--also woman_with_a_hat]

For each shipped style: its painting's total Gram trace, the temporal weight it was trained with (chosen
by measurement on real clips; its model card says how), weight x trace, the weight the fit of the
*other* shipped styles suggests (leave one out: how well the mapping predicts a painting it has not
seen), and the style's worst flicker kept and style ratio from styles/NAME.json. `--also` adds paintings
without a shipped style, with their suggestion. Draws docs/images/temporal_weight_vs_trace.png;
`--readme` also rewrites the README's table between its weight-table markers.
"""

from __future__ import annotations

import argparse

from readme_tables import DOCS, README, rewrite_table
from steadystyle.analysis import AnalysisSettings
from steadystyle.reports import markdown_table, new_figure, save_figure
from steadystyle.style_cards import load_evaluation
from steadystyle.weighting import fit, round2, shipped_evidence, suggest_temporal_weight

PLOT = DOCS / "temporal_weight_vs_trace.png"


def worst(name: str, key: str) -> float:
    ev = load_evaluation(name)
    return max(ev["clips"][c][key] for c in ev["held_out"] if ev["clips"][c][key] is not None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--also", nargs="*", default=["woman_with_a_hat"], help="paintings without a shipped style")
    p.add_argument("--readme", action="store_true")
    args = p.parse_args()
    evidence = shipped_evidence()
    c = fit(evidence)
    rows = [[f"`{e.style}`", f"{e.trace:.3g}", f"{e.temporal_weight:g}", f"{e.temporal_weight * e.trace:.2g}",
             f"{round2(fit([o for o in evidence if o is not e]) / e.trace):g}", f"{worst(e.style, 'kept_flicker'):.0%}",
             f"{worst(e.style, 'style_ratio'):.2f}"] for e in evidence]
    others = [suggest_temporal_weight(name, evidence=evidence) for name in args.also]
    rows += [[f"{name} (not shipped)", f"{s.trace:.3g}", "-", "-", f"{s.temporal_weight:g} (all {len(evidence)})", "-", "-"]
             for name, s in zip(args.also, others)]
    table = markdown_table(["style", "Gram trace", "temporal weight shipped", "weight x trace",
                            "suggested by the others", "flicker kept (worst)", "style ratio (worst)"], rows)
    print(f"{table}\n\nfit: weight = {c:.3g} / trace")

    fig = new_figure(6, 4)
    ax = fig.subplots()
    ax.scatter([e.trace for e in evidence], [e.temporal_weight for e in evidence], label="shipped styles")
    for e in evidence:
        ax.annotate(e.style, (e.trace, e.temporal_weight), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.scatter([s.trace for s in others], [s.temporal_weight for s in others], marker="x", label="suggested")
    for name, s in zip(args.also, others):
        ax.annotate(name, (s.trace, s.temporal_weight), textcoords="offset points", xytext=(4, -12), fontsize=8)
    lo, hi = 0.8 * min(e.trace for e in evidence), 1.2 * max(e.trace for e in evidence)
    ax.plot([lo, hi], [c / lo, c / hi], "--", label=f"{c:.2g} / trace")
    ax.axhline(3e8, color="grey", lw=0.8, label="the old fixed default, 3e8")
    ax.set(xscale="log", yscale="log", xlabel=f"total Gram trace of the painting (longer side {AnalysisSettings().trace_size} px)",
           ylabel="temporal weight", title="Temporal weight against Gram trace")
    ax.legend(fontsize=8)
    print(f"wrote {save_figure(fig, PLOT)}")
    if args.readme:
        rewrite_table("weight-table", table)
        print(f"rewrote the weight table in {README}")


if __name__ == "__main__":
    main()
