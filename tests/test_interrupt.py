"""A Ctrl-C whose KeyboardInterrupt was swallowed (inside a C callback, as LLVM's compile
hooks do) still stops the report before anything is written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cruxfit.cli import main
from cruxfit.cruxes.errors import note_interrupt

ROOT = Path(__file__).resolve().parents[1]


def test_a_swallowed_interrupt_still_writes_nothing(tmp_path, monkeypatch):
    import cruxfit.pipeline.run as run

    calls = []

    def swallowed(lib, prof, seed, say=None):
        # What the signal handler does before its KeyboardInterrupt is lost in a callback.
        note_interrupt()
        calls.append(prof.name)
        return {"verdict": {"label": "mixed", "p_best": 0.1, "p_top3": 0.3,
                            "converged": True}}, None

    monkeypatch.setattr(run, "run_any", swallowed)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(main, ["report", str(ROOT / "data/mixed.yaml"), "-f", "json",
                                    "-o", str(out)])
    assert calls, "the analysis ran"
    assert res.exit_code == 130, res.output
    assert "Interrupted; no output was written." in res.stderr
    assert list(tmp_path.iterdir()) == []
    # The next command starts with a clean slate.
    res = CliRunner().invoke(main, ["validate", str(ROOT / "data/mixed.yaml")])
    assert res.exit_code == 0, res.stderr
