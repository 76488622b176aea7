"""A report, end to end, written once: read the input, analyse, render, write.

Every way cruxfit makes a report goes through here: `cruxfit report` and `cruxfit compare`
(:func:`produce`, :func:`produce_compare`), the batch's render workers (:func:`render` and
:func:`write`) and `cruxfit serve` (:func:`render`). The command line only maps options onto
these calls and their outcomes onto exit statuses and messages.

- :func:`load_subject`: which kind of input a path is (a profile file or a form export).
- :func:`cruxfit.pipeline.run.run_any`: the analysis (sampling, decision, value of information).
- :func:`render`: the bytes of one format (JSON, HTML or PDF) of any result.
- :func:`write`: those bytes to a file, atomically, or to standard output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cruxfit.cruxes.csvinput import read_organisation
from cruxfit.cruxes.errors import InputError, Problem, check_interrupt
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import MAX_NAME, load_profile
from cruxfit.models.kinds import result_kind
from cruxfit.pipeline.render_worker import RenderWorker
from cruxfit.pipeline.render_worker import wanted as render_worker_wanted
from cruxfit.reports.files import (
    OutputPathError,
    check_output_path,
    free_name,
    safe_stem,
    write_atomic,
)
from cruxfit.reports.jsonout import to_json

FORMATS = ("pdf", "html", "json")
AUDIENCES = ("individual", "advisor", "grantmaker")
#: Suffixes read as form exports (one organisation, or applicants with --rows-are-applicants).
FORM_SUFFIXES = (".csv", ".xlsx")

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default progress callback: say nothing."""


# --------------------------------------------------------------------------- reading


def load_subject(library: Library, path: Path, form_layout: str = "auto", name: str | None = None):
    """A profile file (YAML/JSON, individual or organisation) or a form export (CSV, XLSX).

    ``name`` names an organisation read from a form export (by default it is named after the
    file); a YAML or JSON profile carries its own ``name`` and refuses this option.
    """
    is_form = Path(path).suffix.lower() in FORM_SUFFIXES
    if name is not None:
        if not is_form:
            raise InputError([Problem(str(path), "--name", "only names an organisation read "
                                      "from a CSV or XLSX form export; a YAML or JSON profile "
                                      "sets its own name:")])
        if not name.strip() or len(name) > MAX_NAME:
            raise InputError([Problem(str(path), "--name", f"must be text of 1 to {MAX_NAME} "
                                      "characters")])
    if is_form:
        return read_organisation(path, library, name=name.strip() if name else None,
                                 layout=form_layout)
    return load_profile(path, library)


def format_from_suffix(path: Path | None, default: str = "pdf") -> str:
    """The report format a file name asks for (.pdf, .html/.htm, .json), else the default."""
    if path is None:
        return default
    suffix = path.suffix.lower().lstrip(".")
    return {"htm": "html"}.get(suffix, suffix) if suffix in ("pdf", "html", "htm", "json") else default


# --------------------------------------------------------------------------- rendering and writing


def render(result: dict, fmt: str, audience: str = "individual", *, length: str = "full",
           appendix: bool = False) -> bytes:
    """The bytes of one report format for any result: individual, organisation or comparison."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    if fmt == "json":
        return to_json(result).encode("utf-8")
    from cruxfit.reports.render import render_document  # Jinja2 and the templates: only to render

    return render_document(result, fmt, audience, length=length, appendix=appendix)


def is_comparison(result: dict) -> bool:
    """Whether a result is a comparison of two profiles (it carries both results)."""
    return result_kind(result) == "compare"


def write(data: bytes, output: Path, fmt: str) -> None:
    """Write a report: atomically to a file, or to standard output for ``-``."""
    if str(output) == "-":
        if fmt == "pdf":
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
        return
    write_atomic(output, data)


# --------------------------------------------------------------------------- end to end


@dataclass
class Outcome:
    """What one report run produced: the result, where it went, and whether it converged."""

    result: dict
    output: Path
    analysis: object = None

    @property
    def to_stdout(self) -> bool:
        return str(self.output) == "-"

    @property
    def converged(self) -> bool:
        diagnostics = self.result["diagnostics"]
        if is_comparison(self.result):
            return all(d["converged"] for d in diagnostics.values())
        return bool(diagnostics["converged"])


def default_output(stem: str, fmt: str, *, note: Say = _quiet) -> Path:
    """A name cruxfit chooses itself never replaces an existing file: take the next free one."""
    path = Path(f"{safe_stem(stem)}.{fmt}")
    free = free_name(path)
    if free != path:
        note(f"{path} already exists and is left alone; writing {free} instead "
             f"(give -o {path} to replace it).")
    return free


def check_outputs(output: Path, save_posterior: Path | None = None) -> None:
    """Refuse outputs that cannot be written now, before any sampling."""
    if str(output) != "-":
        check_output_path(output)
    if save_posterior is not None:
        if str(save_posterior) == "-":
            raise OutputPathError("--save-posterior: give a file name; the posterior cannot go "
                                  "to standard output")
        check_output_path(save_posterior)


def _analyse_then_render(analyse: Callable[[], tuple[dict, object]], fmt: str,
                         audience: str = "individual", **options) -> tuple[dict, object, bytes]:
    """(result, analysis, bytes): ``analyse()`` gives the first two, then the result is
    rendered. PDF and HTML start a render worker first, so that the renderers are imported in
    a second process while this one samples (pipeline/render_worker.py); without a worker, or
    when it fails, the result is rendered here."""
    worker = RenderWorker() if fmt != "json" and render_worker_wanted() else None
    try:
        result, analysis = analyse()
        data = worker.render(result, fmt, audience, **options) if worker else None
    finally:
        if worker is not None:
            worker.close()
    if data is None:
        data = render(result, fmt, audience, **options)
    return result, analysis, data


def produce(library: Library, subject, output: Path, *, fmt: str = "pdf",
            audience: str = "individual", seed: int = 0, length: str = "full",
            appendix: bool = False, save_posterior: Path | None = None,
            say: Say = _quiet) -> Outcome:
    """Analyse one profile (individual or organisation) and write one report."""
    # The model (NumPy, SciPy, then PyMC): only when a report is made, never for light commands.
    from cruxfit.pipeline.run import run_any
    from cruxfit.pipeline.run import save_posterior as _save_posterior

    check_outputs(output, save_posterior)
    result, analysis, data = _analyse_then_render(
        lambda: run_any(library, subject, seed, say=say), fmt, audience, length=length,
        appendix=appendix)
    check_interrupt()  # a Ctrl-C swallowed in a C callback still means: write nothing
    write(data, output, fmt)
    if save_posterior is not None:
        _save_posterior(analysis, save_posterior)
    return Outcome(result, output, analysis)


def produce_compare(library: Library, subject_a, subject_b, output: Path, *, fmt: str = "pdf",
                    seed: int = 0, say: Say = _quiet) -> Outcome:
    """Analyse two profiles with one seed, compare them and write the comparison."""
    from cruxfit.pipeline.run import run_compare

    check_outputs(output)
    result, _, data = _analyse_then_render(
        lambda: (run_compare(library, subject_a, subject_b, seed, say=say), None), fmt)
    check_interrupt()
    write(data, output, fmt)
    return Outcome(result, output)
