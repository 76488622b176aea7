"""The house's layers: cli -> pipeline -> reports -> models -> cruxes.

The contract lives in pyproject.toml ([tool.importlinter]); import-linter reads every import of
the installed package, function-level ones included. A layer may import only layers below it,
and `models` may not import wording, rendering, files or orchestration at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contract_is_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    assert "2 kept, 0 broken" in report, report


def test_every_cruxfit_module_belongs_to_a_layer():
    """A new top-level folder would sit outside the contract: name it there first."""
    layers = {"cruxes", "models", "reports", "pipeline", "data"}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert packages <= layers, packages - layers
    modules = {p.stem for p in ROOT.glob("*.py")} - {"__init__", "conftest"}
    assert modules == {"cli"}, modules
