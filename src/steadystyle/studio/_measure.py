"""The Measure tab: how steady two stylized versions of one clip are (`evaluate_videos`), frame by frame.

Any two results of the same source can be compared; a "both" job of the Stylize tab fills the three
inputs in one click.
"""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from ..evaluation import PLOT_NAME, evaluate_videos, flicker_note, plot_warping_error, settings_note, table_rows
from ..video import VIDEO_IN_SUFFIXES
from ._base import readable_errors, subfolder, without_upload_paths
from ._jobs import JobQueue

VIDEO_TYPES = sorted(VIDEO_IN_SUFFIXES)


def method_names(first: Path, second: Path) -> tuple[str, str]:
    """What the table and plot call the two results: their file names, told apart when they are the same."""
    a, b = first.stem, second.stem
    return (a, b) if a != b else (f"A: {a}", f"B: {b}")


def comparable_jobs(jobs: JobQueue) -> dict[str, list[Path]]:
    """Finished video jobs with two single-network results: {label: [source, stable, per-frame]}."""
    found = {}
    for job in jobs.jobs():
        results = [Path(r) for r in job.results]
        source = next((jobs.root / job.id).glob("source.*"), None)
        if (job.status == "done" and len(results) == 3 and results[0].suffix == ".mp4" and source
                and all(p.exists() for p in results)):
            found[f"{job.id}: {job.title}"] = [source, *results[1:]]
    return found


def measure_tab(root: Path, jobs: JobQueue) -> None:
    gr.Markdown("Upload a clip and two stylized versions of it (e.g. the stable and the per-frame network). "
                "The warping error is how much each frame differs from the previous one moved along the "
                "motion of the source: lower is steadier; the source's own is the floor.")
    from_job = gr.Dropdown(list(comparable_jobs(jobs)), value=None, label="Take the files of a 'both' job",
                           elem_id="measure-job")
    with gr.Row():
        source = gr.File(label="Source clip", file_types=VIDEO_TYPES, elem_id="measure-source")
        first = gr.File(label="Stylized result A", file_types=VIDEO_TYPES, elem_id="measure-a")
        second = gr.File(label="Stylized result B", file_types=VIDEO_TYPES, elem_id="measure-b")
        painting = gr.File(label="Painting (optional: adds the style loss)", file_types=["image"])
    originals = gr.State([])  # a job's own files, beside their sidecars (how fast they were made)
    go = gr.Button("Measure", variant="primary", elem_id="measure-button")
    plot = gr.Image(label="Warping error per frame", interactive=False, elem_id="measure-plot")
    table = gr.Dataframe(label="Scores", interactive=False, visible=False, elem_id="measure-table")
    note = gr.Markdown()

    @readable_errors
    def measure(source: str | None, first: str | None, second: str | None, painting: str | None,
                originals: list[Path], progress=gr.Progress(track_tqdm=True)):
        if not (source and first and second):
            raise ValueError("upload the source clip and two stylized results of it")
        given = [Path(source), Path(first), Path(second)]
        job_files = [p.name for p in given] == [p.name for p in originals]  # still the job's files, not new uploads
        source, a, b = originals if job_files else given
        evaluation = evaluate_videos(source, dict(zip(method_names(a, b), (a, b))), style=painting)
        folder = subfolder(root, f"measure/{time.strftime('%Y%m%d-%H%M%S')}")
        header, rows = table_rows(evaluation)
        plot = plot_warping_error(evaluation, folder / PLOT_NAME)
        # A job's files are its stable and per-frame results, in that order; uploads could be any two.
        kept = flicker_note(evaluation) if job_files else None
        note = without_upload_paths("\n\n".join(part for part in (kept, settings_note(evaluation)) if part))
        return str(plot), gr.Dataframe(rows, headers=header, visible=True), note

    @readable_errors
    def take(label: str | None):
        files = comparable_jobs(jobs).get(label or "")
        if not files:
            raise ValueError("that job's files are gone; upload the files instead")
        return *(str(f) for f in files), files

    go.click(measure, [source, first, second, painting, originals], [plot, table, note])
    from_job.focus(lambda: gr.Dropdown(choices=list(comparable_jobs(jobs))), outputs=from_job)
    from_job.input(take, from_job, [source, first, second, originals])
