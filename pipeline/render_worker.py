"""Rendering in a second process that starts before the analysis (issue 18, start-up).

A PDF or HTML report needs WeasyPrint, Matplotlib and the templates (about a second of
imports) only after the analysis, which itself spends seconds importing PyMC and sampling
on one core. :class:`RenderWorker` starts ``python -m cruxfit.pipeline.render_worker`` at
the start of a report, so those imports happen on the machine's other core meanwhile; once
the result exists it is handed over (pickled, through the child's standard input: a private
pipe between two processes of the same program) and the report's bytes come back on the
child's standard output. The parent still writes the file, atomically, as before.

Nothing depends on the worker: when it cannot start, fails or dies, :meth:`RenderWorker.render`
returns None and the caller renders in its own process, which then reports any error the usual
way. The worker ignores Ctrl-C (the parent decides, and stops it); it exits as soon as its
standard input closes, so it never outlives the parent for longer than its imports take.
``CRUXFIT_RENDER_WORKER=0`` turns it off and ``=1`` on (the benchmark measures both); by
default it starts only when a core is idle (:func:`wanted`), since otherwise its imports
would only compete with the analysis.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys

ENV_OFF = "CRUXFIT_RENDER_WORKER"


def wanted() -> bool:
    """Whether a report should start a render worker: only when a core is idle.

    The worker's imports are only free on a core nobody else wants. With the other core
    busy, measured on the 2-core development machine while a test suite ran beside it, a PDF
    report took 13.0 s with the worker against 11.7 s without (bench_report.py, medians of
    3): the two processes then share one core and the worker's own start costs 1.5 CPU
    seconds. So it starts only when fewer processes are runnable right now than there are
    cores (Linux's count in /proc/loadavg, which includes this one). The load average is no
    guide: on the development machine it stays near 1.0 with every core idle.

    ``CRUXFIT_RENDER_WORKER=0`` never starts it, ``=1`` always does (for benchmarks).
    """
    setting = os.environ.get(ENV_OFF, "").strip().lower()
    if setting in ("0", "no", "false", "off"):
        return False
    if setting in ("1", "yes", "true", "on"):
        return True
    cores = os.cpu_count() or 1
    if cores < 2:
        return False
    running = runnable()
    return running is not None and running < cores


def runnable() -> int | None:
    """Processes runnable at this moment, this one included (None where unknown)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


class RenderWorker:
    """A child process that imports the renderers now and renders one report later."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cruxfit.pipeline.render_worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        except OSError:
            self.proc = None

    def render(self, result: dict, fmt: str, audience: str = "individual", *,
               length: str = "full", appendix: bool = False) -> bytes | None:
        """The report's bytes, or None if the worker could not make them (render here then)."""
        if self.proc is None:
            return None
        request = pickle.dumps((result, fmt, audience, length, appendix),
                               protocol=pickle.HIGHEST_PROTOCOL)
        try:
            data, _ = self.proc.communicate(request)
        except (OSError, ValueError):
            self.close()
            return None
        if self.proc.returncode != 0 or not data:
            return None
        return data

    def close(self) -> None:
        """Stop the worker if it is still running (an interrupted or failed analysis)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a killed process always ends
            pass
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


def _serve() -> int:
    """The child: import, wait for one request, render it, write the bytes, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The report goes out on a copy of standard output; anything a library prints from here
    # on goes to standard error instead, so it can never end up inside the PDF.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        import weasyprint  # noqa: F401 - the point: imported while the parent samples

        from cruxfit.reports.render import render_document, warm_up

        try:
            warm_up()  # first-use costs (templates, fonts, Matplotlib) while the parent samples
        except Exception:  # noqa: BLE001 - only an optimisation: the render itself decides
            pass
        request = sys.stdin.buffer.read()
        if not request:
            return 0  # the parent stopped before the result: nothing to do
        result, fmt, audience, length, appendix = pickle.loads(request)
        data = render_document(result, fmt, audience, length=length, appendix=appendix)
        out.write(data)
        out.close()  # the parent reads to the end of this stream: it has the report now
        return 0
    except BaseException:  # noqa: BLE001 - the parent renders again and reports any error itself
        return 1


if __name__ == "__main__":
    # Without Python's teardown (0.2-0.3 s with WeasyPrint and Matplotlib loaded): the parent
    # waits for this process to end before it writes the report.
    code = _serve()
    sys.stderr.flush()
    os._exit(code)
