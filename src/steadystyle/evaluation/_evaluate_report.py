"""The report of an evaluation: a table (terminal, Markdown, HTML), the per-frame plot, a frame strip and
an animation of the methods side by side, written from what `evaluate.evaluate_videos` returns.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..atomic import atomic_output
from ..losses import NETWORK_WEIGHTS
from ..reports import markdown_table, new_figure, prepare_folder, save_figure, write_text
from ._evaluate import ARTIFACT_FRAMES, Evaluation

REPORT_MD, REPORT_HTML = "report.md", "report.html"
PLOT_NAME, STRIP_NAME, GIF_NAME = "warping_error.png", "frames.png", "methods.gif"
REPORT_FILES = (REPORT_MD, REPORT_HTML, PLOT_NAME, STRIP_NAME, GIF_NAME)


def _number(value: float | None, unknown: str = "-") -> str:
    return unknown if value is None else f"{value:.4g}"


def table_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table, shared by the terminal, Markdown and HTML."""
    header = ["method", "E_warp (mean)", "style loss", "content loss", "artifacts", "FPS when made", "made with"]
    rows = [[m.name, _number(m.warping_error), _number(m.style_loss), _number(m.content_loss),
             f"{m.artifacts:.3f}", _number(m.fps, "unknown"),
             " ".join(str(m.made_with.get(k)) for k in ("command", "model", "mode") if m.made_with.get(k))
             if m.made_with else "-"] for m in evaluation.methods]
    rows.append(["source (reference)", _number(evaluation.source_warping_error), "-", "-",
                 f"{evaluation.source_artifacts:.3f}", "-", "-"])
    return header, rows


def settings_note(evaluation: Evaluation) -> str:
    """How the numbers were taken, so that two reports can be compared (or seen not to be comparable)."""
    w = NETWORK_WEIGHTS
    h, w_px = evaluation.size
    style_side = evaluation.settings["style_size"] or evaluation.settings["size"]
    style = f"against {evaluation.style} at longer side {style_side} px" if evaluation.style else "not measured (no --painting)"
    return (f"{evaluation.frames} frames of {evaluation.source}, scored at {w_px}x{h} px. E_warp: mean over frames 2.. "
            f"of the masked squared difference to the previous frame warped onto it (RGB in [0, 1]); flow: "
            f"{evaluation.flow}. The source's own E_warp is the reference: what following the motion exactly "
            f"scores. Style loss ({style}) and content loss (against the source frame): means over frames of the "
            f"VGG-16 ({evaluation.vgg}) terms the networks are trained on (style {w.style:g} x relative Gram "
            f"error on {', '.join(w.style_layers)}; content {w.content:g} on {', '.join(w.content_layers)}). Artifacts: "
            f"mean over up to {ARTIFACT_FRAMES} frames spread over the clip, at each video's own size, of the share "
            f"of fine (2-8 px) luminance energy in narrow spectral peaks, a grid or hatch; photos and paintings "
            f"score about 0.07-0.12. FPS: the speed recorded in the video's sidecar when "
            f"it was made, decoding and encoding included.")


def flicker_note(evaluation: Evaluation) -> str | None:
    """The flicker kept, in words, when two videos were scored (the first read as stable, the second as
    per-frame); None otherwise."""
    if len(evaluation.methods) != 2 or evaluation.frames < 2:
        return None
    stable, per_frame = (m.name for m in evaluation.methods)
    formula = f"(E_warp {stable} - source) / (E_warp {per_frame} - source); 0% is all of it removed"
    if evaluation.flicker_kept is None:
        return f"Flicker kept: undefined, {per_frame}'s E_warp is not above the source's ({formula})."
    return f"Flicker kept: {stable} keeps {evaluation.flicker_kept:.0%} of {per_frame}'s flicker ({formula})."


def results_table(evaluation: Evaluation) -> str:
    """The comparison table as Markdown (readable as plain text)."""
    return markdown_table(*table_rows(evaluation))


def plot_warping_error(evaluation: Evaluation, path: Path) -> Path:
    """Per-frame E_warp of every method (and the source, dashed), written atomically as PNG."""
    from matplotlib.ticker import MaxNLocator

    ax = (fig := new_figure(7, 4)).add_subplot()
    frames = range(2, evaluation.frames + 1)
    for m in evaluation.methods:
        ax.plot(frames, m.warping_error_per_frame, marker=".", label=m.name)
    ax.plot(frames, evaluation.source_warping_error_per_frame, "k--", label="source (reference)")
    values = [v for m in evaluation.methods for v in m.warping_error_per_frame]
    if values and min(values + evaluation.source_warping_error_per_frame) > 0:
        ax.set_yscale("log")
    ax.set(xlabel="frame", ylabel="warping error (MSE, RGB in [0, 1])", title="Temporal stability: lower is steadier")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _grid(rows: list[list[np.ndarray]], labels: list[str]) -> Image.Image:
    """Panels side by side (one row per entry of `rows`) under a header that names each column."""
    h, w = rows[0][0].shape[:2]
    gap, header = 4, 14
    sheet = Image.new("RGB", (len(labels) * (w + gap) - gap, header + len(rows) * (h + gap) - gap), "white")
    draw = ImageDraw.Draw(sheet)
    for col, label in enumerate(labels):
        draw.text((col * (w + gap) + 2, 1), label, fill="black")
        for row, panels in enumerate(rows):
            sheet.paste(Image.fromarray(panels[col]), (col * (w + gap), header + row * (h + gap)))
    return sheet


def write_report(evaluation: Evaluation, folder: str | Path) -> Path:
    """report.md and report.html with the table, the per-frame plot, a frame strip and an animation; returns
    report.md. Needs an evaluation made with `previews=True`."""
    if evaluation.previews is None:
        raise ValueError("write_report needs the frames kept by evaluate_videos(..., previews=True)")
    folder = prepare_folder(folder, REPORT_MD)
    plot_warping_error(evaluation, folder / PLOT_NAME)
    labels = ["source", *(m.name for m in evaluation.methods)]
    with atomic_output(folder / STRIP_NAME) as tmp:
        _grid(evaluation.previews.strip, labels).save(tmp, format="PNG")
    gif = [_grid([panels], labels) for panels in evaluation.previews.gif]
    with atomic_output(folder / GIF_NAME) as tmp:
        gif[0].save(tmp, format="GIF", save_all=True, append_images=gif[1:], loop=0,
                    duration=max(20, round(1000 / evaluation.fps)))
    strip_rows = ", ".join(str(i + 1) for i in evaluation.previews.strip_at if i < evaluation.frames)
    images = [(PLOT_NAME, "per-frame warping error of every method"),
              (STRIP_NAME, f"frames {strip_rows}: source and methods side by side"),
              (GIF_NAME, f"the first {len(gif)} frames, animated")]
    title, note, kept = "Stylized video comparison", settings_note(evaluation), flicker_note(evaluation)
    write_text(folder / REPORT_MD, "\n\n".join([f"# {title}", results_table(evaluation), *([kept] if kept else []),
                                                 *(f"![{alt}]({name})" for name, alt in images),
                                                 "## How it was measured", note]) + "\n")
    header, rows = table_rows(evaluation)
    cells = "\n".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    figures = "\n".join(f'<figure><img src="{name}" alt="{html.escape(alt)}"><figcaption>{html.escape(alt)}'
                        f"</figcaption></figure>" for name, alt in images)
    page = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>\n'
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:.2em .6em;text-align:right}td:first-child{text-align:left}"
            "img{max-width:100%}</style></head><body>\n"
            f"<h1>{title}</h1>\n<table><tr>{''.join(f'<th>{html.escape(c)}</th>' for c in header)}</tr>\n"
            f"{cells}</table>\n{f'<p>{html.escape(kept)}</p>' if kept else ''}\n"
            f"{figures}\n<h2>How it was measured</h2>\n<p>{html.escape(note)}</p>\n</body></html>\n")
    write_text(folder / REPORT_HTML, page)
    return folder / REPORT_MD
