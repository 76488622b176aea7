"""Fixtures shared by the whole test suite.

Keep this file small and generic: fixtures that only one test module needs live in that module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cruxfit.cruxes.library import Library, default_library_dir, load_library

# pytester runs a test under this conftest to show that the sampling guard below bites.
pytest_plugins = ("pytester",)


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled crux library, loaded once per test session."""
    return load_library()


@pytest.fixture(scope="session")
def example_analysis(library):
    """data/example.yaml sampled with seed 0 (real MCMC, so for slow tests only), once per session:
    tests that only read this posterior share it instead of sampling it again."""
    from cruxfit.cruxes.profile import load_profile
    from cruxfit.models.analysis import analyse

    root = Path(__file__).resolve().parents[1]
    return analyse(library, load_profile(root / "data" / "example.yaml", library), seed=0)


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


# --------------------------------------------------------------------------- no sampling unless slow
#
# MCMC is what makes the suite slow, so only tests marked `slow` may run it: `make test-fast`
# (`-m "not slow"`) then samples nothing. This is checked, not hoped for. While a test that is
# not marked slow runs (its fixtures included), CRUXFIT_TEST_FORBID_SAMPLING is set, and
# `pymc.sample` - the one call every analysis goes through, whichever cruxfit module asks -
# refuses to run: it raises and writes a line to a log. The log catches attempts that the
# code under test swallows (a CLI maps errors to exit codes) and attempts in child processes:
# `python -c "...cruxfit..."` commands get the same guard put in front of their code.
# A test that tries is then reported as failed, with the remedy.

_GUARD = r'''
def _cruxfit_test_guard():
    import importlib.machinery, os, sys

    def guarded(real, name):
        def sample(*args, **kwargs):
            if os.environ.get("CRUXFIT_TEST_FORBID_SAMPLING") != "1":
                return real(*args, **kwargs)
            log = os.environ.get("CRUXFIT_TEST_SAMPLING_LOG")
            if log:
                with open(log, "a", encoding="utf-8") as fh:
                    fh.write(f"pid {os.getpid()}: {os.environ.get('PYTEST_CURRENT_TEST', '?')}\n")
            raise RuntimeError(f"{name} called by a test not marked slow")

        sample.cruxfit_guard = True
        return sample

    def arm(pymc):
        if getattr(pymc.sample, "cruxfit_guard", False):
            return
        pymc.sample = guarded(pymc.sample, "pymc.sample")
        # The chain loops themselves: models/compiled.py samples through them without
        # pymc.sample (a compiled model kept between processes).
        import pymc.sampling.mcmc as mcmc

        for name in ("_sample_many", "_mp_sample"):
            setattr(mcmc, name, guarded(getattr(mcmc, name), f"pymc.sampling.mcmc.{name}"))
        # ... and stopped before it compiles the sampler's log density (seconds of work that
        # only a sampling test needs), not only when the chains start.
        model = pymc.Model
        model.logp_dlogp_function = guarded(model.logp_dlogp_function,
                                            "pymc.Model.logp_dlogp_function")

    if "pymc" in sys.modules:
        arm(sys.modules["pymc"])
        return

    class ArmPymcOnImport:
        def find_spec(self, name, path=None, target=None):
            if name != "pymc":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None and spec.loader is not None:
                load = spec.loader.exec_module

                def exec_module(module):
                    load(module)
                    arm(module)

                spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, ArmPymcOnImport())


_cruxfit_test_guard()
'''
_FORBID = "CRUXFIT_TEST_FORBID_SAMPLING"
_LOG = "CRUXFIT_TEST_SAMPLING_LOG"


def _guarded_command(args):
    """`python -c CODE ...` running cruxfit, with the guard in front of CODE; others unchanged."""
    if (isinstance(args, (list, tuple)) and len(args) >= 3 and str(args[0]) == sys.executable
            and args[1] == "-c" and "cruxfit" in args[2] and "_cruxfit_test_guard" not in args[2]):
        return [args[0], "-c", _GUARD + args[2], *args[3:]]
    return args


def pytest_configure(config):
    exec(compile(_GUARD, "<cruxfit test guard>", "exec"), {})
    fd, log = tempfile.mkstemp(prefix="cruxfit-sampling-", suffix=".log")
    os.close(fd)
    os.environ[_LOG] = log
    popen_init = subprocess.Popen.__init__

    def init(self, args, *rest, **kwargs):
        env = kwargs.get("env")
        if env is not None and _FORBID in os.environ:  # a test's own environment keeps the guard
            kwargs["env"] = {**env, _FORBID: os.environ[_FORBID], _LOG: log}
        popen_init(self, _guarded_command(args), *rest, **kwargs)

    subprocess.Popen.__init__ = init


def pytest_unconfigure(config):
    log = os.environ.pop(_LOG, None)
    if log:
        Path(log).unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if item.get_closest_marker("slow") is None:
        os.environ[_FORBID] = "1"
    try:
        return (yield)
    finally:
        os.environ.pop(_FORBID, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    log = Path(os.environ.get(_LOG, ""))
    if log.is_file() and log.stat().st_size:
        attempts = log.read_text(encoding="utf-8")
        log.write_text("", encoding="utf-8")
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} tried to sample (MCMC) but is not marked slow:\n{attempts}"
            "Mark it @pytest.mark.slow, or give it a stored result instead of a fresh analysis "
            "(tests/golden/*_result.json).")
    return report
