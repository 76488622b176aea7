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


@pytest.fixture(scope="session")
def pdf_figure_alts():
    """A function: PDF bytes -> (document catalogue, alt texts of every /Figure in its tag tree)."""
    import io

    from pypdf import PdfReader

    def read(pdf: bytes):
        root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
        alts = []

        def walk(node):
            node = node.get_object()
            if not hasattr(node, "get"):
                return
            if node.get("/S") == "/Figure":
                alts.append(node.get("/Alt"))
            kids = node.get("/K")
            for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
                if hasattr(kid, "get_object"):
                    walk(kid)

        if "/StructTreeRoot" in root:
            walk(root["/StructTreeRoot"])
        return root, alts

    return read


@pytest.fixture
def runner() -> CliRunner:
    """A click CliRunner on the bundled library; read `result.stdout` and `result.stderr` apart."""
    return CliRunner(env={"CRUXFIT_LIBRARY": None})
