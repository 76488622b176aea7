"""The promise of `make test-fast` - it samples nothing - is kept by tests/conftest.py: a test
not marked slow that reaches MCMC fails, in this process or in a cruxfit child process, even
when the code under test swallows the error. These tests run such a test and watch it fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUARD_SAYS = "*tried to sample (MCMC) but is not marked slow*"


@pytest.fixture
def suite(pytester):
    """A throw-away test folder with this suite's conftest (and so its guard)."""
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text(encoding="utf-8"))
    return pytester


def test_sampling_in_process_fails_a_test_not_marked_slow(suite):
    suite.makepyfile(test_samples="""
        from cruxfit.cruxes.profile import parse_profile
        from cruxfit.models.analysis import analyse

        def test_it(library):
            prof = parse_profile({"name": "t", "kind": "individual", "answers": {}}, library)
            try:
                analyse(library, prof, seed=0)
            except Exception:
                pass  # swallowed, as a CLI maps errors to exit codes: still caught
    """)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([GUARD_SAYS])


def test_sampling_a_stored_compiled_model_fails_a_test_not_marked_slow(suite, tmp_path):
    suite.makepyfile(test_samples=f"""
        from cruxfit.cruxes.profile import parse_profile
        from cruxfit.models.analysis import analyse
        from cruxfit.pipeline.compiled_store import CompiledStore

        def test_it(library):
            prof = parse_profile({{"name": "t", "kind": "individual", "answers": {{}}}}, library)
            try:
                analyse(library, prof, seed=0, store=CompiledStore({str(tmp_path / "c")!r}))
            except Exception:
                pass
    """)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([GUARD_SAYS])


def test_sampling_in_a_cruxfit_child_process_fails_a_test_not_marked_slow(suite, tmp_path):
    suite.makepyfile(test_samples=f"""
        import subprocess, sys

        def test_it():
            subprocess.run([sys.executable, "-c", "from cruxfit.cli import entry; entry()", "report",
                            {str(ROOT / "data" / "mixed.yaml")!r}, "-f", "json", "-q",
                            "-o", {str(tmp_path / "r.json")!r}], capture_output=True)
    """)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([GUARD_SAYS])
    assert not (tmp_path / "r.json").exists()
