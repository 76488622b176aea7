"""The render worker (pipeline/render_worker.py): the same bytes as rendering in-process, a
fallback whenever it fails, and no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cruxfit.cli import main
from cruxfit.pipeline import render_worker as W
from cruxfit.pipeline.report import render

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"


def _result(name: str = "example_result.json") -> dict:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (ended, not yet reaped by a dead parent's reaper) counts as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.heavy
@pytest.mark.parametrize("fmt,name,audience", [
    ("pdf", "example_result.json", "individual"),
    ("html", "org_result.json", "advisor"),
    ("pdf", "compare_result.json", "individual"),
])
def test_the_worker_renders_the_same_bytes_as_this_process(fmt, name, audience):
    result = _result(name)
    worker = W.RenderWorker()
    try:
        pid = worker.proc.pid
        data = worker.render(result, fmt, audience)
    finally:
        worker.close()
    assert data is not None, "the worker rendered nothing"
    assert data == render(result, fmt, audience)
    assert not _alive(pid)


def test_a_worker_that_died_leaves_the_rendering_to_the_caller():
    worker = W.RenderWorker()
    worker.proc.kill()
    worker.proc.wait()
    assert worker.render(_result(), "html") is None
    worker.close()


def test_a_worker_given_an_unrenderable_result_fails_quietly(capfd):
    worker = W.RenderWorker()
    assert worker.render({"not": "a result"}, "html") is None
    assert worker.proc.returncode == 1
    worker.close()
    assert "Traceback" not in capfd.readouterr().err  # the caller reports errors, once


def test_the_worker_goes_when_its_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c",
         ("import time\n"
          "from cruxfit.pipeline.render_worker import RenderWorker\n"
          "w = RenderWorker()\n"
          "print(w.proc.pid, flush=True)\n"
          "time.sleep(600)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(child), "the render worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()


@pytest.mark.parametrize("setting,cores,running,expected", [
    ("0", 4, 1, False),        # turned off
    ("1", 2, 5, True),         # turned on, whatever the machine is doing
    ("", 1, 1, False),         # no second core
    ("", 2, 1, True),          # only this process runs: a core is idle
    ("", 2, 2, False),         # something else runs beside it
    ("", 8, 6, True),
    ("", 2, None, False),      # unknown: the safe choice
])
def test_the_worker_starts_only_when_a_core_is_idle(monkeypatch, setting, cores, running, expected):
    monkeypatch.setenv(W.ENV_OFF, setting)
    monkeypatch.setattr(W.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(W, "runnable", lambda: running)
    assert W.wanted() is expected


def test_this_process_counts_as_runnable():
    assert W.runnable() >= 1


@pytest.mark.parametrize("fmt,used", [("html", True), ("json", False)])
def test_a_report_renders_in_the_worker_and_the_parent_writes_it(tmp_path, monkeypatch, fmt, used):
    from cruxfit.pipeline import run

    monkeypatch.setenv(W.ENV_OFF, "1")
    result = _result()
    monkeypatch.setattr(run, "run_any", lambda lib, prof, seed, say=None: (result, None))
    calls = []
    real = W.RenderWorker.render

    def spy(self, *args, **kwargs):
        calls.append(self.proc.pid)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(W.RenderWorker, "render", spy)
    out = tmp_path / f"r.{fmt}"
    res = CliRunner().invoke(main, ["report", str(ROOT / "data/example.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert bool(calls) == used
    assert out.read_bytes() == render(result, fmt)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_failed_worker_does_not_fail_the_report(tmp_path, monkeypatch):
    from cruxfit.pipeline import run

    monkeypatch.setenv(W.ENV_OFF, "1")
    result = _result()
    monkeypatch.setattr(run, "run_any", lambda lib, prof, seed, say=None: (result, None))

    def dies(self, *args, **kwargs):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return W.RenderWorker.__dict__["_real_render"](self, *args, **kwargs)

    monkeypatch.setattr(W.RenderWorker, "_real_render", W.RenderWorker.render, raising=False)
    monkeypatch.setattr(W.RenderWorker, "render", dies)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(ROOT / "data/example.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == render(result, "html")
