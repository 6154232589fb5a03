"""Long work runs in a background thread, apart from any page: closing the browser does not stop a job,
and any page can pick it up again by its id.

Jobs run one at a time, in order (the CPU is the limit, two at once would each take twice as long).
Each job's record (`job.json`) and results live in the studio's `jobs/ID/` folder, so the list
outlives a restart; a job that a restart cut short is listed as interrupted.
"""

from __future__ import annotations

import json
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import atomic_output
from ._base import page_error, subfolder

FINISHED = ("done", "failed", "cancelled", "interrupted")
Report = Callable[[float, str], None]  # (fraction done, what is happening now)
Work = Callable[[Path, Report], list[Path]]  # (the job's folder, report) -> result files, the main one first


class JobCancelled(Exception):
    """Raised from a job's report callback once the user has cancelled it; the work stops there."""


@dataclass
class Job:
    id: str
    title: str
    status: str = "queued"  # then running, and one of FINISHED
    progress: float = 0.0
    note: str = ""  # what it is doing, or why it stopped
    results: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    seconds: float = 0.0
    source_seconds: float | None = None  # the results cover only the source's first seconds (None: all of it)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class JobQueue:
    """Submitted work, run in order by one background thread; records are saved at every change of status."""

    def __init__(self, root: Path):
        self.root = subfolder(root, "jobs")
        self._lock = threading.Lock()
        self._jobs = {job.id: job for job in map(self._load, sorted(self.root.glob("*/job.json")))}
        self._todo: queue.Queue[tuple[Job, Work]] = queue.Queue()
        self._cancelled: set[str] = set()
        threading.Thread(target=self._serve, name="studio-jobs", daemon=True).start()

    def _load(self, record: Path) -> Job:
        job = Job(**json.loads(record.read_text()))
        if not job.finished:
            job.status, job.note = "interrupted", "the studio stopped before it finished; start it again"
            self._save(job)
        return job

    def _save(self, job: Job) -> None:
        with atomic_output(self.root / job.id / "job.json") as tmp:
            tmp.write_text(json.dumps(asdict(job)))

    def submit(self, title: str, work: Work, source_seconds: float | None = None) -> Job:
        job = Job(f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}", title,
                  note="waiting for the jobs before it to finish", source_seconds=source_seconds)
        (self.root / job.id).mkdir()
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
        self._todo.put((job, work))
        return job

    def get(self, job_id: str | None) -> Job:
        if not job_id:
            raise ValueError("pick a job in the list first")
        job = self._jobs.get(job_id)
        if job is None:
            raise ValueError(f"there is no job {job_id}; pick one in the list")
        return job

    def result_file(self, job_id: str, name: str) -> Path | None:
        """The result `name` of the finished job `job_id`, if it has one by that name: the only files of the
        studio's folder that a page may download."""
        job = self._jobs.get(job_id)
        files = [Path(r) for r in job.results] if job and job.status == "done" else []
        return next((f for f in files if f.name == name and f.is_file()), None)

    def jobs(self) -> list[Job]:
        """Newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if not job.finished:
            self._cancelled.add(job.id)
        return job

    def wait(self, job_id: str, poll: Callable[[Job], None], every: float = 0.5) -> Job:
        """Block until the job finishes, calling `poll` with it meanwhile (to show progress)."""
        while not (job := self.get(job_id)).finished:
            poll(job)
            time.sleep(every)
        return job

    def _serve(self) -> None:
        while True:
            self._run(*self._todo.get())

    def _run(self, job: Job, work: Work) -> None:
        def report(fraction: float, note: str) -> None:
            if job.id in self._cancelled:
                raise JobCancelled
            job.progress, job.note = fraction, note

        if job.id in self._cancelled:
            self._set(job, "cancelled", "cancelled before it started")
        else:
            self._set(job, "running", "starting")
            t0 = time.perf_counter()
            try:
                job.results = [str(p) for p in work(self.root / job.id, report)]
                job.progress, status, note = 1.0, "done", ""
            except JobCancelled:
                self._clear(job)
                status, note = "cancelled", "cancelled; nothing was written"
            except Exception as e:  # the job fails, the studio goes on
                status, note = "failed", page_error(e).message
            job.seconds = time.perf_counter() - t0
            self._set(job, status, note)
        self._cancelled.discard(job.id)

    def _clear(self, job: Job) -> None:
        """Delete what a cancelled job wrote (finished results of a first pass, the checkpoints of an unfinished
        video): the studio cannot resume a job, so they would only fill the disk. Its record stays."""
        for path in (self.root / job.id).iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            elif path.name != "job.json":
                path.unlink()

    def _set(self, job: Job, status: str, note: str) -> None:
        with self._lock:
            job.status, job.note = status, note
            self._save(job)
