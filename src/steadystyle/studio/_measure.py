"""The Measure tab: how steady two stylized versions of one clip are (`evaluate_videos`), frame by frame.

Any two results of the same source can be compared; a "both" job of the Stylize tab fills the three
inputs in one click, and is measured over the part of its source that it stylized.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..evaluation import PLOT_NAME, evaluate_videos, flicker_note, plot_warping_error, settings_note, table_rows
from ..video import VIDEO_IN_SUFFIXES, open_video
from ._base import readable_errors, subfolder, without_paths
from ._jobs import JobQueue

VIDEO_TYPES = sorted(VIDEO_IN_SUFFIXES)
UNKNOWN = ("unknown", "-")  # how the score table writes a value it does not have


@dataclass(frozen=True)
class JobFiles:
    """A "both" job's source and its stable and per-frame results, and the part of the source they cover."""
    source: Path
    a: Path
    b: Path
    seconds: float | None = None

    @property
    def names(self) -> list[str]:
        return [p.name for p in (self.source, self.a, self.b)]


def method_names(first: Path, second: Path) -> tuple[str, str]:
    """What the table and plot call the two results: A and B, each with the part of its file name that
    tells it from the other first (long shared beginnings would be cut off alike in the table)."""
    a, b = first.stem, second.stem
    if a != b:
        shared = len(os.path.commonprefix([a, b]))
        cut = max(a.rfind(c, 0, shared) for c in "-_ ") + 1  # at a word: "walk-udnie-" of "walk-udnie-stable"
        a, b = a[cut:], b[cut:]
    return f"A: {a}", f"B: {b}"


def comparable_jobs(jobs: JobQueue) -> dict[str, JobFiles]:
    """Finished video jobs with two single-network results, by the label the list shows."""
    found = {}
    for job in jobs.jobs():
        results = [Path(r) for r in job.results]
        source = next((jobs.root / job.id).glob("source.*"), None)
        if (job.status == "done" and len(results) == 3 and results[0].suffix == ".mp4" and source
                and all(p.exists() for p in results)):
            found[f"{job.id}: {job.title}"] = JobFiles(source, *results[1:], seconds=job.source_seconds)
    return found


def check_frames(source: Path, a: Path, b: Path) -> None:
    """Refuse, in the user's terms, results that do not cover the source frame for frame."""
    counts = [open_video(p).frame_count for p in (source, a, b)]
    if None in counts or len(set(counts)) == 1:
        return  # unknown counts are compared frame by frame as the videos are read
    raise ValueError(f"the source has {counts[0]} frames, A has {counts[1]} and B {counts[2]}: both results must "
                     "be made from the whole source clip. Upload the part of the clip that was stylized, or take "
                     "a job's files from the list above")


def known_columns(header: list[str], rows: list[list[str]], methods: int) -> tuple[list[str], list[list[str]]]:
    """The table without columns that no method has a value in (the speed and origin of an upload)."""
    keep = [i for i in range(len(header)) if any(row[i] not in UNKNOWN for row in rows[:methods])]
    return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]


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
    originals = gr.State(None)  # a job's own files (beside their sidecars: how fast they were made), as JobFiles
    go = gr.Button("Measure", variant="primary", elem_id="measure-button")
    plot = gr.Image(label="Warping error per frame", interactive=False, elem_id="measure-plot")
    table = gr.Dataframe(label="Scores", interactive=False, visible=False, elem_id="measure-table")
    note = gr.Markdown()

    @readable_errors
    def measure(source: str | None, first: str | None, second: str | None, painting: str | None,
                originals: JobFiles | None, progress=gr.Progress(track_tqdm=True)):
        if not (source and first and second):
            raise ValueError("upload the source clip and two stylized results of it")
        given = JobFiles(Path(source), Path(first), Path(second))
        job_files = originals is not None and given.names == originals.names  # still the job's files, not uploads
        chosen = originals if job_files else given
        if not job_files:
            check_frames(chosen.source, chosen.a, chosen.b)
        evaluation = evaluate_videos(chosen.source, dict(zip(method_names(chosen.a, chosen.b), (chosen.a, chosen.b))),
                                     style=painting, duration=chosen.seconds)
        folder = subfolder(root, f"measure/{time.strftime('%Y%m%d-%H%M%S')}")
        header, rows = known_columns(*table_rows(evaluation), methods=2)
        plot = plot_warping_error(evaluation, folder / PLOT_NAME)
        # A job's files are its stable and per-frame results, in that order; uploads could be any two.
        kept = flicker_note(evaluation) if job_files else None
        note = without_paths("\n\n".join(part for part in (kept, settings_note(evaluation)) if part))
        return str(plot), gr.Dataframe(rows, headers=header, visible=True), note

    @readable_errors
    def take(label: str | None):
        files = comparable_jobs(jobs).get(label or "")
        if not files:
            raise ValueError("that job's files are gone; upload the files instead")
        return str(files.source), str(files.a), str(files.b), files

    go.click(measure, [source, first, second, painting, originals], [plot, table, note])
    from_job.focus(lambda: gr.Dropdown(choices=list(comparable_jobs(jobs))), outputs=from_job)
    from_job.input(take, from_job, [source, first, second, originals])
