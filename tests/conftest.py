"""Fixtures shared by the whole test suite.

Keep this file small and generic: fixtures that only one test module needs live in that module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cruxfit.cruxes.library import Library, default_library_dir, load_library


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled crux library, loaded once per test session."""
    return load_library()


@pytest.fixture
def tmp_library(tmp_path: Path) -> Path:
    """A writable copy of the bundled library folder (YAML files only) for a test to break."""
    target = tmp_path / "library"
    shutil.copytree(
        default_library_dir(), target, ignore=shutil.ignore_patterns("*.py", "*.pyc", "__pycache__")
    )
    return target


@pytest.fixture
def runner() -> CliRunner:
    """A click CliRunner on the bundled library; read `result.stdout` and `result.stderr` apart."""
    return CliRunner(env={"CRUXFIT_LIBRARY": None})
