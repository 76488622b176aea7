"""One analysis at a time: the job queue of `cruxfit serve`.

A single worker thread runs the analyses in the order they were submitted (the sampler
uses both cores, so two at once would only slow each other down) and keeps each job's stage
messages for the progress page. The worker calls the same functions as `cruxfit report`
(:func:`cruxfit.pipeline.run.run_any`, :func:`cruxfit.pipeline.report.render`).
"""

from __future__ import annotations

import collections
import queue
import secrets
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from cruxfit.cruxes.profile import parse_profile
from cruxfit.pipeline.report import render

#: Finished jobs kept in memory (oldest dropped first).
KEEP_FINISHED = 50
#: Jobs waiting at most; beyond this a submission is refused with a message.
MAX_QUEUED = 20


@dataclass
class Job:
    id: str
    owner: str
    subject: Any
    label: str
    audience: str
    seed: int
    input_name: str
    input_bytes: bytes
    input_type: str
    status: str = "queued"  # queued, running, done, failed
    stage: str = "Waiting for the analysis before it to finish."
    messages: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: dict | None = None
    html: str | None = None
    pdf: bytes | None = None
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


class QueueFull(Exception):
    pass


def default_analyse(library, subject, seed: int, say: Callable[[str], None]) -> dict:
    from cruxfit.pipeline.run import run_any

    result, _ = run_any(library, subject, seed, say=say)
    return result


def default_render(result: dict, audience: str) -> str:
    return render(result, "html", audience).decode("utf-8")


class Worker:
    """The queue and the one thread that empties it."""

    def __init__(self, library, analyse: Callable | None = None,
                 render: Callable | None = None, warm: bool = True):
        self.library = library
        self.analyse = analyse or default_analyse
        self.render = render or default_render
        self.jobs: dict[str, Job] = {}
        self.order: collections.deque[str] = collections.deque()
        self.waiting: list[str] = []
        self.lock = threading.Lock()
        self.pdf_lock = threading.Lock()
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.warm = warm
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cruxfit-analysis", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.queue.put(None)

    # ------------------------------------------------------------------ submit / look up
    def submit(self, owner: str, subject, *, label: str, audience: str, seed: int,
               input_name: str, input_bytes: bytes, input_type: str) -> Job:
        with self.lock:
            if len(self.waiting) >= MAX_QUEUED:
                raise QueueFull(f"{len(self.waiting)} analyses are already waiting; try again "
                                "in a minute")
            job = Job(secrets.token_urlsafe(16), owner, subject, label, audience, seed,
                      input_name, input_bytes, input_type)
            self.jobs[job.id] = job
            self.order.append(job.id)
            self.waiting.append(job.id)
            self._forget_old()
        self.queue.put(job.id)
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        with self.lock:
            job = self.jobs.get(job_id)
        return job if job is not None and secrets.compare_digest(job.owner, owner) else None

    def position(self, job: Job) -> int:
        """How many analyses run or wait before this one (0 when it is running)."""
        with self.lock:
            if job.id not in self.waiting:
                return 0
            busy = 1 if any(j.status == "running" for j in self.jobs.values()) else 0
            return self.waiting.index(job.id) + busy

    def _forget_old(self) -> None:
        finished = [j for j in self.order if self.jobs[j].status in ("done", "failed")]
        while len(finished) > KEEP_FINISHED:
            old = finished.pop(0)
            self.order.remove(old)
            del self.jobs[old]

    # ------------------------------------------------------------------ the thread
    def _warm_up(self) -> None:
        from cruxfit.models.inference import sample

        lib = self.library
        one = parse_profile({"name": "warmup", "answers": {lib.statements[0].id: 4}}, lib)
        sample(lib, [one], 0, draws=50, tune=50, retry=False)
        import cruxfit.reports.render  # noqa: F401 - the renderer's imports, once

    def _run(self) -> None:
        if self.warm:
            try:
                self._warm_up()
            except Exception:  # noqa: BLE001 - a failed warm-up only costs time later
                traceback.print_exc(file=sys.stderr)
        self.ready.set()
        while True:
            job_id = self.queue.get()
            if job_id is None:
                return
            with self.lock:
                job = self.jobs.get(job_id)
                if job is None:
                    continue
                self.waiting.remove(job_id)
                job.status, job.started = "running", time.time()
                job.stage = "Starting the analysis."

            def say(message: str, job: Job = job) -> None:
                job.messages.append(message)
                job.stage = message

            try:
                t0 = time.perf_counter()
                job.stage = "Sampling your beliefs (a few seconds)."
                result = self.analyse(self.library, job.subject, job.seed, say)
                t1 = time.perf_counter()
                job.stage = "Writing the report."
                html = self.render(result, job.audience)
                t2 = time.perf_counter()
                job.result, job.html = result, html
                job.seconds = {"analysis": t1 - t0, "render": t2 - t1}
                job.status = "done"
            except Exception as exc:  # noqa: BLE001 - shown as a message, logged in full
                traceback.print_exc(file=sys.stderr)
                job.error = (f"The analysis failed ({type(exc).__name__}). The details are in "
                             "the terminal that runs cruxfit serve.")
                job.status = "failed"
            finally:
                job.finished = time.time()
                job.subject = None

    def pdf(self, job: Job, render_pdf: Callable | None = None) -> bytes:
        """The job's PDF, rendered on first request (WeasyPrint one at a time)."""
        with self.pdf_lock:
            if job.pdf is None:
                job.pdf = (render(job.result, "pdf", job.audience) if render_pdf is None
                           else render_pdf(job.result, audience=job.audience))
            return job.pdf
