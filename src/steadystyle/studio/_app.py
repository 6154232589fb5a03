"""`steadystyle studio`: the Python API in a web page (Gradio), for people who would rather not type commands.

Tabs: Stylize (a video or image, as a background job), Live (the browser's webcam), Train (a style from
a painting) and Measure (the stability of two results). Everything the studio makes lives in one folder
(`$STEADYSTYLE_STUDIO`, default ~/.cache/steadystyle/studio); of it, the page may download only job
results (`results/ID/NAME`) and what Gradio copied into its cache to show. Who may ask is `_guard`'s
business. Install with `pip install "steadystyle[studio]"`.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..images import IMAGE_SUFFIXES
from ..video import SAMPLE_CLIP, VIDEO_IN_SUFFIXES
from ._base import error_notice, readable_errors, studio_dir
from ._guard import Door, Guard
from ._jobs import Job, JobQueue
from ._live import live_tab
from ._measure import measure_tab
from ._styles import StyleLibrary
from ._stylize import MODE_CHOICES, StylizeRequest
from ._train import TrainingRuns, train_tab

INTRO = ("# steadystyle studio\nNeural style transfer for video that does not flicker. Stylize a clip or a "
         "picture, try a style live on your webcam, train a style from a painting, and measure how steady "
         "the results are.")
RESULTS_ROUTE = "results"
CSS = "#styles .caption-label {font-size: 0.9em} .job-table td {padding: 0.2em 0.6em}"
MAX_UPLOAD_MB = 2048  # a few minutes of phone video; bigger uploads are refused before they reach the disk


def build_app(root: Path, jobs: JobQueue) -> gr.Blocks:
    """The whole studio as a Gradio app over the studio folder `root`; `start` (or `serve`) launches it."""
    library = StyleLibrary(root)
    with gr.Blocks(title="steadystyle studio", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab("Stylize", id="stylize") as stylize:
                gallery, chosen = _stylize_tab(library, jobs)
            with gr.Tab("Live", id="live") as live:
                live_styles = live_tab(library)
            with gr.Tab("Train", id="train"):
                train_tab(TrainingRuns(library))
            with gr.Tab("Measure", id="measure"):
                measure_tab(root, jobs)
        # A style trained or added since the page opened shows up when its tab is opened again.
        show_gallery = readable_errors(lambda name: _gallery(library, name))
        show_names = readable_errors(lambda: gr.Dropdown(choices=list(library.styles())))
        for event in (app.load, stylize.select):
            event(show_gallery, inputs=chosen, outputs=gallery, show_progress="hidden")
        for event in (app.load, live.select):
            event(show_names, outputs=live_styles, show_progress="hidden")
    return app


def _gallery(library: StyleLibrary, chosen: str | None) -> gr.Gallery:
    """The gallery as it is now, with the session's style still highlighted."""
    names = list(library.styles())
    return gr.Gallery(value=library.gallery(), selected_index=names.index(chosen) if chosen in names else None)


def _stylize_tab(library: StyleLibrary, jobs: JobQueue) -> tuple[gr.Gallery, gr.State]:
    with gr.Row():
        with gr.Column():
            source = gr.File(label="Video or image", file_types=sorted(VIDEO_IN_SUFFIXES | IMAGE_SUFFIXES),
                             elem_id="source")
            sample = gr.Button("Use the sample clip (5 s, with sound)", size="sm")
            first = next(iter(library.styles()), None)
            gallery = gr.Gallery(library.gallery(), selected_index=0, label="Style (click to choose)", columns=5,
                                 height=250, allow_preview=False, object_fit="cover", elem_id="styles")
            chosen = gr.State(first)
            chosen_text = gr.Markdown(_chosen(first), elem_id="chosen-style")
            with gr.Accordion("Any picture as the style", open=False):
                picture = gr.File(label="A painting or any picture (no training: ready in a second)",
                                  file_types=sorted(IMAGE_SUFFIXES), elem_id="style-picture")
            with gr.Accordion("Add your own trained models", open=False):
                own = gr.File(label="Model files (.safetensors: NAME and NAME-per-frame)", file_count="multiple",
                              file_types=[".safetensors"], elem_id="own-models")
            mode = gr.Radio(MODE_CHOICES, value="stable", label="Network", elem_id="mode",
                            info="stable: the recurrent network, no flicker; per-frame: each frame on its own")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength", info="0 = the original, 1 = full style")
            with gr.Row():
                keep = gr.Checkbox(label="Preserve the original colours")
                seconds = gr.Number(0, label="Seconds of video to stylize (0: all)", minimum=0, elem_id="seconds")
            go = gr.Button("Stylize", variant="primary", elem_id="stylize-button")
        with gr.Column():
            status = gr.Markdown(elem_id="status")
            video = gr.Video(label="Result", interactive=False, elem_id="result-video")
            image = gr.Image(label="Result", interactive=False, visible=False, elem_id="result-image")
            downloads = gr.File(label="Download", file_count="multiple", interactive=False, elem_id="downloads")
    gr.Markdown("### Jobs\nJobs keep running when the page is closed; pick one here to see its result.")
    table = gr.HTML(_job_table(jobs.jobs()), elem_id="jobs")
    shown = gr.State(table.value)  # what this page shows, so that a tick sends only changes
    with gr.Row():
        job_id = gr.Dropdown([j.id for j in jobs.jobs()], value=None, label="Job", scale=3, elem_id="job-id")
        show = gr.Button("Show", scale=1)
        cancel = gr.Button("Cancel", scale=1, variant="stop")
    timer = gr.Timer(2)
    results = [status, video, image, downloads]

    def choose(evt: gr.SelectData):
        return evt.value["caption"], _chosen(evt.value["caption"]), gr.Gallery(selected_index=evt.index)

    @readable_errors
    def add_models(files: list[str] | None, chosen: str | None):
        names = library.add_models(files or [])
        gr.Info(f"added {', '.join(names)} to the gallery")
        return _gallery(library, chosen), None

    @readable_errors
    def add_picture(file: str | None):
        """The picture joins the gallery as a style, chosen at once."""
        name = library.add_picture(file)
        gr.Info(f"{name} is in the gallery: its style is ready to use")
        return name, _chosen(name), _gallery(library, name), None

    def result_view(job: Job) -> list:
        """The finished job in the result area: its main file to play or look at, and every file to download."""
        main = Path(job.results[0])
        is_video = main.suffix == ".mp4"
        return [f"Job {job.id}: **{job.title}**, done in {job.seconds:.0f} s",
                gr.Video(value=str(main) if is_video else None, visible=is_video),
                gr.Image(value=str(main) if not is_video else None, visible=not is_video), job.results]

    @readable_errors
    def follow(job_id: str | None, progress=gr.Progress()) -> list:
        """Progress until the job ends, then its result; a cancel the user asked for is no error."""
        job = jobs.wait(jobs.get(job_id).id, lambda j: progress(j.progress, desc=j.note or j.status))
        if job.status == "cancelled":
            return [f"Job {job.id} was cancelled.", None, None, None]
        if job.status != "done":
            raise error_notice(f"Job {job.id} {job.status}: {job.note}")
        return result_view(job)

    @readable_errors
    def stylize(file: str | None, style: str | None, mode: str, strength: float, keep: bool, seconds: float | None):
        """Submit the job and select it in the job list (so that Cancel means it); `follow` then shows it."""
        if not file:
            raise ValueError("upload a video or an image first (or use the sample clip)")
        request = StylizeRequest(Path(file), library.get(style), mode, strength, keep, seconds or None)
        request.check()
        job = jobs.submit(request.title, request.run, source_seconds=request.seconds)
        return gr.Dropdown(choices=[j.id for j in jobs.jobs()], value=job.id)

    @readable_errors
    def cancel_job(job_id: str | None):
        gr.Info(f"cancelling job {jobs.cancel(job_id).id}")

    def refresh(shown: str, selected: str | None):
        """Redraw the job list only when it changed, so the page does not flicker every tick."""
        current = jobs.jobs()
        fresh = _job_table(current)
        if fresh == shown:
            return gr.skip(), gr.skip(), shown
        return fresh, gr.Dropdown(choices=[j.id for j in current], value=selected), fresh

    sample.click(lambda: str(SAMPLE_CLIP), outputs=source)
    gallery.select(choose, outputs=[chosen, chosen_text, gallery])
    own.upload(add_models, inputs=[own, chosen], outputs=[gallery, own])
    picture.upload(add_picture, inputs=picture, outputs=[chosen, chosen_text, gallery, picture])
    go.click(stylize, inputs=[source, chosen, mode, strength, keep, seconds], outputs=job_id).success(
        follow, inputs=job_id, outputs=results, concurrency_limit=None)
    show.click(follow, inputs=job_id, outputs=results, concurrency_limit=None)
    cancel.click(cancel_job, inputs=job_id)
    timer.tick(refresh, inputs=[shown, job_id], outputs=[table, job_id, shown], show_progress="hidden")
    return gallery, chosen


def _chosen(style: str | None) -> str:
    return f"Style: **{style}**" if style else "Style: none yet; add one below or train one"


def _job_table(jobs: list[Job]) -> str:
    """The job list as HTML, with a download link for each result."""
    if not jobs:
        return "<p>No jobs yet.</p>"

    def links(job: Job) -> str:
        return " ".join(f'<a href="{RESULTS_ROUTE}/{quote(job.id)}/{quote(Path(r).name)}" download>'
                        f'{html.escape(Path(r).name)}</a>' for r in job.results)

    def state(job: Job) -> str:
        if job.status == "running":
            return f"running, {job.progress:.0%} ({html.escape(job.note)})"
        return html.escape(f"{job.status}: {job.note}" if job.note else job.status)

    rows = "".join(f"<tr><td>{j.id}</td><td>{html.escape(j.title)}</td><td>{state(j)}</td><td>{links(j)}</td></tr>"
                   for j in jobs)
    return f'<table class="job-table"><tr><th>id</th><th>job</th><th>status</th><th>result</th></tr>{rows}</table>'


def results_route(jobs: JobQueue) -> Route:
    """RESULTS_ROUTE/ID/NAME: a finished job's result file as a download, and nothing else of the folder."""
    def download(request: Request) -> Response:
        path = jobs.result_file(request.path_params["job_id"], request.path_params["name"])
        if path is None:
            return PlainTextResponse("No such result: it may have been deleted; see the job list.", 404)
        return FileResponse(path, filename=path.name)

    return Route(f"/{RESULTS_ROUTE}/{{job_id}}/{{name}}", download, methods=["GET", "HEAD"])


def start(host: str = "127.0.0.1", port: int = 7860, folder: str | Path | None = None,
          auth: tuple[str, str] | None = None, max_upload_mb: int = MAX_UPLOAD_MB) -> gr.Blocks:
    """Build the studio and serve it in background threads; returns the running app (`.close()` stops it).

    Requests must name `host`:`port` (see `_guard`); `auth` (user, password) asks every visitor for them.
    """
    root = studio_dir(folder)
    jobs = JobQueue(root)
    app = build_app(root, jobs)
    guard = Middleware(Guard, door=Door(host, port, auth))
    app.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, css=CSS, ssr_mode=False,
               allowed_paths=[str(root), str(SAMPLE_CLIP)], footer_links=["gradio"], enable_monitoring=False,
               run_history=False, max_file_size=max_upload_mb * 2**20,
               app_kwargs={"middleware": [guard], "routes": [results_route(jobs)]})
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
          max_upload_mb: int = MAX_UPLOAD_MB) -> None:
    """Serve the studio until Ctrl-C. Only this machine can reach it unless `host` is 0.0.0.0 (or another
    address of the machine): then anyone on the network can use it, upload files and start jobs here,
    unless `auth` asks for a user name and password."""
    try:
        app = start(host, port, auth=auth, max_upload_mb=max_upload_mb)
    except OSError as e:  # Gradio's message speaks of launch() and its own environment variable
        raise ValueError(f"cannot listen on {host}:{port}: the port is taken (another studio?) or the address "
                         "is not this machine's; choose another with --port or --host") from e
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"steadystyle studio: http://{shown}:{port}/ (Ctrl-C stops it)", flush=True)
    app.block_thread()
