"""The report of `analyze`: the per-style table, the rank correlations, the rotation demo and the plot of
instability against Gram trace, written from the dict `analyze` returns.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..reports import markdown_table, new_figure, prepare_folder, save_figure, write_text

ANALYSIS_PLOT, ANALYSIS_JSON, REPORT_NAME = "instability_vs_trace.png", "analysis.json", "report.md"
ANALYSIS_FILES = (REPORT_NAME, ANALYSIS_PLOT, ANALYSIS_JSON)


def protocol_note(result: dict) -> str:
    """What was measured and how it departs from the paper, for the report and the terminal."""
    s = result["settings"]
    change = (f"Gaussian noise of std {s['noise_std']:g} added" if s["perturb"] == "noise"
              else "the frame, and its noise start, moved by 1 px (compared after undoing the shift)")
    return (f"Gram traces: VGG-16 ({s['vgg']}), each painting at longer side {s['trace_size']} px, trace of the "
            f"Gram matrix normalised by C*H*W (the mean squared activation) per layer and summed.\n\n"
            f"Instability: mean squared difference (RGB in [0, 1]) between two Gatys et al. optimisations "
            f"({s['iters']} L-BFGS iterations, frames of {s['content_shape'][1]}x{s['content_shape'][0]} px from "
            f"{Path(s['content']).name}) started from the same noise image: one of the photo, one of the photo with "
            f"{change}. The paper trains a feed-forward network per style and measures how much its outputs change "
            f"between nearly identical inputs; per-frame optimisation reaches minimisers of the same loss, so it "
            f"stands in for a network for any painting, at minutes rather than an hour of training.\n\n"
            f"Networks (paintings with a trained model: a shipped style of the same name, or --network): the paper's "
            f"measure, the mean squared difference between a network's outputs for the same two frames. A stable "
            f"(recurrent) network sees them as consecutive video frames, the second with the first's output as "
            f"history. Absolute numbers are not comparable with the paper's.")


def _network_cell(row: dict, kind: str) -> str:
    return f"{row['networks'][kind]:.4g}" if kind in row["networks"] else "-"


def _rho_text(rho: float | None) -> str:
    return "undefined (needs 2+ styles with distinct values)" if rho is None else f"{rho:.3f}"


def markdown_tables(result: dict) -> str:
    """The per-style table, the rank correlations and the rotation demo, as Markdown (readable as plain text)."""
    layers = result["settings"]["trace_layers"]
    kinds = list(result["network_spearman"])
    header = ["style", "size (HxW)", *(f"trace {k}" for k in layers), "total trace", "instability (MSE)",
              *(f"{k} network (MSE)" for k in kinds)]
    suggested = "temporal_weight" in result
    header += ["suggested temporal weight"] if suggested else []
    rows = [[r["name"], f"{r['size'][0]}x{r['size'][1]}", *(f"{r['traces'][k]:.4g}" for k in [*layers, "total"]),
             f"{r['instability']:.4g}", *(_network_cell(r, k) for k in kinds),
             *([f"{r['temporal_weight']:g}"] if suggested else [])] for r in result["styles"]]
    demo = result["theory"]
    demo_rows = [[f"{r['scale']:g}", f"{r['trace']:.4g}", f"{r['max_style_loss']:.2g}", f"{r['rms_distance']:.4g}",
                  f"{r['distance_over_sqrt_trace']:.3f}"] for r in demo["rows"]]
    lines = [markdown_table(header, rows), "", f"Input frames differ by MSE {result['styles'][0]['input_mse']:.3g} (after undoing any shift). "
                  f"Spearman rank correlation with the total Gram trace: optimisation instability "
                  f"{_rho_text(result['spearman'])} (n = {len(result['styles'])})"
                  + "".join(f"; {k} networks {_rho_text(rho)} (n = {sum(k in r['networks'] for r in result['styles'])})"
                            for k, rho in result["network_spearman"].items()) + ".", "",
              f"Rotation demo: a random {demo['channels']} x {demo['positions']} feature matrix F scaled by s, and "
              f"{demo['minimisers']} minimisers sF R of its Gram loss (R random orthogonal):", "",
              markdown_table(["scale", "trace", "max style loss", "mean RMS distance", "distance / sqrt(trace)"],
                             demo_rows)]
    if suggested:
        fit = result["temporal_weight"]
        shipped = ", ".join(f"{e['style']} {e['temporal_weight']:g}" for e in fit["evidence"])
        lines += ["", f"Suggested temporal weight (what `train style` uses on the default network, "
                      f"`--arch {fit['arch']}`, unless given `--temporal-weight`): {fit['constant']:.3g} / total trace, "
                      f"the constant fitted on the weights of {shipped} (training/_weighting.py: each layout on its own)."]
    return "\n".join(lines)


def _scatter(ax, result: dict, key, label: str, marker: str = "o") -> None:
    """One labelled point per style that has a value for `key(row)`."""
    points = [(r["name"], r["traces"]["total"], key(r)) for r in result["styles"] if key(r) is not None]
    ax.scatter([p[1] for p in points], [p[2] for p in points], marker=marker, label=label)
    for i, (name, x, y) in enumerate(sorted(points, key=lambda p: p[1])):  # neighbours' labels above, below
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4 if i % 2 == 0 else -12), fontsize=8)


def plot_instability(result: dict, path: Path) -> Path:
    """Instability against total Gram trace, one labelled point per style (a second panel for networks), atomically."""
    kinds = list(result["network_spearman"])
    fig = new_figure(11 if kinds else 6, 4.5)
    axes = fig.subplots(1, 2 if kinds else 1, squeeze=False)[0]
    xlabel = f"total Gram trace (painting at {result['settings']['trace_size']} px)"
    rho = result["spearman"]
    _scatter(axes[0], result, lambda r: r["instability"], "optimisation")
    axes[0].set(xlabel=xlabel, ylabel="instability: MSE between the two results",
                title="Per-frame optimisation" + ("" if rho is None else f" (Spearman rho = {rho:.2f})"))
    if kinds:
        for kind, marker in zip(kinds, "ox"):
            rho = result["network_spearman"][kind]
            _scatter(axes[1], result, lambda r, k=kind: r["networks"].get(k),
                     f"{kind} network" + ("" if rho is None else f" (rho = {rho:.2f})"), marker)
        axes[1].set(xlabel=xlabel, ylabel="MSE between the two outputs", yscale="log", title="Trained networks")
        axes[1].legend(fontsize=8)
    for ax in axes:
        ax.margins(0.15)  # room for the labels
    return save_figure(fig, path)


def write_analysis_report(result: dict, folder: str | Path) -> Path:
    """Write the plot, analysis.json and report.md (which links the plot) into `folder`; returns report.md."""
    folder = prepare_folder(folder, REPORT_NAME)
    plot_instability(result, folder / ANALYSIS_PLOT)
    write_text(folder / ANALYSIS_JSON, json.dumps(result, indent=2) + "\n")
    return write_text(folder / REPORT_NAME, f"# Style instability and Gram trace\n\n{markdown_tables(result)}\n\n"
                      f"![instability against Gram trace]({ANALYSIS_PLOT})\n\n## Protocol\n\n{protocol_note(result)}\n")
