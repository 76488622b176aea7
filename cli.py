"""The `cruxfit` command line: options in, a pipeline call, errors mapped to exit codes.

The top layer of the house (cli -> pipeline -> reports -> models -> cruxes). Reading inputs,
analysing, rendering and writing happen in :mod:`cruxfit.pipeline.report`; this module only
turns options into those calls, their outcomes into messages, and domain errors into exit
statuses (here and nowhere else).

Four imports stay inside the commands that need them, because they are heavy and the light
commands (`--help`, `questions`, `approaches`, `validate`, `template`, `schema`, `form`) never
use them: the model (`models.inference`, `pipeline.run`: NumPy, SciPy, then PyMC, ~0.55 s
before PyMC itself), NumPy for validate's sparse-profile warning (`models.decision`, ~0.25 s),
the batch's process pool and the web app (`pipeline.batch`, `pipeline.serve`: Starlette,
~0.5 s). tests/test_cli_foundation.py checks that the light commands do not import PyMC.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

import cruxfit.cruxes
from cruxfit.cruxes.errors import (
    CruxfitError,
    InputError,
    note_interrupt,
    terminal_safe,
)
from cruxfit.cruxes.forms import LAYOUT_CHOICES
from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.profile import parse_profile
from cruxfit.cruxes.schema import profile_schema, profile_template
from cruxfit.cruxes.version import cruxfit_version
from cruxfit.pipeline.environment import FAMILIES, prepare_environment
from cruxfit.pipeline.questionnaire import AssessInterrupted, run_assess
from cruxfit.pipeline.report import (
    AUDIENCES,
    FORMATS,
    check_outputs,
    default_output,
    format_from_suffix,
    load_subject,
    produce,
    produce_compare,
)
from cruxfit.reports.files import OutputPathError, check_output_path, safe_stem, write_new_text
from cruxfit.reports.formspec import describe_placement, form_apps_script, form_csv, form_markdown
from cruxfit.reports.numbers import probability, shown_difference, shown_points_difference

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def _print_problems(exc: InputError) -> None:
    for problem in exc.problems:
        click.echo(f"Error: {terminal_safe(str(problem))}", err=True)


#: Exit status after a signal: 128 + its number, as shells report it (README: Exit status).
SIGNAL_EXIT = {"SIGINT": 130, "SIGHUP": 129, "SIGTERM": 143}
_stopped_by = {"signal": None}


def interrupt_status() -> tuple[str, int]:
    """How the last interruption came ("Ctrl-C", "SIGTERM", "SIGHUP") and its exit status."""
    name = _stopped_by["signal"] or "SIGINT"
    return ("Ctrl-C" if name == "SIGINT" else name), SIGNAL_EXIT[name]


def _stop_on_signals():
    """Make SIGTERM and SIGHUP stop cruxfit the way Ctrl-C does; return a function undoing it.

    The handler calls whatever handles SIGINT at that moment (the sampler's guard records the
    interruption there) and raises KeyboardInterrupt, so every clean-up written for Ctrl-C -
    temporary files removed, render workers stopped, progress saved - runs for them too.
    """
    _stopped_by["signal"] = None
    note_interrupt(False)
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        _stopped_by["signal"] = signal.Signals(signum).name
        note_interrupt()  # remembered even if the KeyboardInterrupt below is swallowed
        current = signal.getsignal(signal.SIGINT)
        if callable(current) and current is not handler:
            current(signal.SIGINT, frame)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler)
                for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}

    def undo():
        for sig, old in previous.items():
            signal.signal(sig, old)

    return undo


def _stdout_failed(exc: OSError) -> bool:
    """An OSError with no file name that a full or closed pipe gives: standard output failed.

    Files cruxfit writes go through reports.files, which names them; what is left is writing
    to standard output (click.echo flushes after every line).
    """
    return exc.filename is None and exc.errno in (
        errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EBADF)


def _silence_stdout() -> None:
    # Point the descriptor at /dev/null so that the flush at exit does not fail a second time
    # with Python's own "Exception ignored" message.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def handle_errors(func):
    """Turn cruxfit's domain errors into one line each and an exit status."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        undo = _stop_on_signals()
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            _print_problems(exc)
            sys.exit(exc.exit_code)
        except CruxfitError as exc:
            click.echo(f"Error: {terminal_safe(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            how, code = interrupt_status()
            click.echo(f"Interrupted ({how}); no output was written." if how != "Ctrl-C"
                       else "Interrupted; no output was written.", err=True)
            sys.exit(code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except OSError as exc:
            if not _stdout_failed(exc) or os.environ.get("CRUXFIT_DEBUG"):
                return _unexpected(exc)
            _silence_stdout()
            if exc.errno != errno.EPIPE:  # a reader that stopped early (| head) needs no line
                click.echo(f"Error: standard output: cannot write ({exc.strerror or exc}); "
                           "nothing more was written there", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback
            if os.environ.get("CRUXFIT_DEBUG"):
                raise
            return _unexpected(exc)
        finally:
            undo()

    return wrapper


def _unexpected(exc: Exception):
    if os.environ.get("CRUXFIT_DEBUG"):
        raise exc
    click.echo(f"Error: unexpected failure ({type(exc).__name__}: {terminal_safe(str(exc), 300)}). "
               "This is a bug in cruxfit; set CRUXFIT_DEBUG=1 to see the details and please "
               "report it.", err=True)
    sys.exit(EXIT_ERROR)


def _library(ctx: click.Context):
    return load_library(ctx.obj.get("library"))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(cruxfit_version(), "--version", prog_name="cruxfit")
@click.option(
    "--library",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CRUXFIT_LIBRARY",
    help="Folder of a crux library to use instead of the bundled one (env: CRUXFIT_LIBRARY).",
)
@click.pass_context
def main(ctx: click.Context, library: Path | None) -> None:
    """Is AI-assisted alignment a good fit for you, compared with the other approaches?

    cruxfit turns your answers to a set of statements into a Bayesian model of your beliefs
    about the approach's three cruxes (is it safe, will it scale, is human understanding
    lost) and the wider world, then ranks fourteen alignment approaches and writes a report.

    \b
    Start here:
      cruxfit questions            the statements you will be asked
      cruxfit template > me.yaml   a profile to fill in
      cruxfit validate me.yaml     check it
      cruxfit report me.yaml       the report (PDF)
    """
    ctx.ensure_object(dict)
    ctx.obj["library"] = library


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.pass_context
@handle_errors
def questions(ctx: click.Context, as_json: bool) -> None:
    """List every statement: id, text, scale, belief variable and what agreeing favours.

    `favours` is 1 when agreeing (or a higher probability) makes AI-assisted alignment a
    better fit relative to the alternatives, and -1 when it makes it a worse one.
    """
    lib = _library(ctx)
    rows = [
        {
            "id": s.id,
            "text": s.text,
            "scale": s.scale,
            "variable": s.variable,
            "loads": [{"variable": ld.variable, "sign": ld.sign, "weight": ld.weight} for ld in s.loads],
            "favours": s.favours,
        }
        for s in lib.statements
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    import textwrap

    for row in rows:
        scale = "1-7" if row["scale"] == "agree7" else "0-1"
        fav = "+AI-assisted" if row["favours"] > 0 else "-AI-assisted"
        click.echo(f"{row['id']}  [{scale}]  variable: {row['variable']}  agreeing: {fav}")
        for line in textwrap.wrap(row["text"], 90):
            click.echo(f"    {line}")
    click.echo(f"\n{len(rows)} statements. Answer 1-7 (7 = strongly agree), 0-1 for probabilities, or 'unsure'.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@handle_errors
def approaches(ctx: click.Context, as_json: bool) -> None:
    """List the comparison set of approaches with their four ratings."""
    lib = _library(ctx)
    rows = [
        {
            "slug": a.slug,
            "name": a.name,
            "ratings": dict(a.ratings),
            "ranked": a.ranked,
            "crux_topics": list(a.crux_topics),
            **({"unranked_reason": a.unranked_reason} if not a.ranked else {}),
        }
        for a in lib.approaches
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    click.echo(f"{'slug':<20} {'tractability':<13} {'if hard':<8} {'if easy':<9} {'neglected':<10} name")
    for r in rows:
        t = r["ratings"]
        mark = "" if r["ranked"] else "  (not ranked)"
        click.echo(
            f"{r['slug']:<20} {t['tractability']:<13} {t['hard']:<8} {t['easy']:<9} "
            f"{t['neglectedness']:<10} {r['name']}{mark}"
        )


def _warn_if_sparse(lib, profile, path) -> None:
    """validate's warning (exit status unchanged) when a profile is too sparse for a verdict."""
    from cruxfit.models.decision import evidence_status  # NumPy: only for a profile that parsed

    ev = evidence_status(lib, profile.answers)
    if ev["enough"]:
        return
    titles = {c.id: c.title for c in lib.seed.cruxes}
    counts = ", ".join(f"{titles[c]} {n}" for c, n in ev["crux_answers"].items())
    missing = "; none on " + ", ".join(titles[c] for c in ev["missing"]) if ev["missing"] else ""
    click.echo(f"Warning: {path}: too few answers on the three cruxes for a verdict "
               f"({counts}{missing}); a report would say \"{lib.settings.evidence.label}\". "
               f"A verdict needs at least {ev['min_crux_answers']} in all and "
               f"{ev['min_each_crux']} on each crux.", err=True)


def _form_layout_option(func):
    return click.option(
        "--form-layout", type=click.Choice(LAYOUT_CHOICES), default="auto", show_default=True,
        help="Layout of a form export (CSV or XLSX): detected from the file unless given.")(func)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@_form_layout_option
@click.pass_context
@handle_errors
def validate(ctx: click.Context, files: tuple[Path, ...], quiet: bool, form_layout: str) -> None:
    """Check profile files (YAML, JSON, or a form export in CSV or XLSX); print every problem.

    For a form export it also says which layout it detected (Google Forms, Typeform,
    SurveyMonkey, Qualtrics, Microsoft Forms or plain) and which columns it matched to
    statements, ignored, or could not place. Exits 0 when every file is valid and 2 when any
    has a problem.
    """
    lib = _library(ctx)
    failed = 0
    for path in files:
        try:
            profile = load_subject(lib, path, form_layout)
        except InputError as exc:
            failed += 1
            _print_problems(exc)
            continue
        for warning in getattr(profile, "warnings", ()):
            click.echo(f"Warning: {terminal_safe(warning)}", err=True)
        if quiet:
            continue
        shown = terminal_safe(f"{path}: ok ({profile.name}")
        if profile.kind == "organisation":
            n = sum(len(m.answers) for m in profile.respondents)
            click.echo(f"{shown}: organisation of {len(profile.respondents)} respondents, {n} answers)")
            if getattr(profile, "form", None):
                for line in describe_placement(profile.form):
                    click.echo(f"  {terminal_safe(line)}")
        else:
            n = len(profile.answers)
            click.echo(f"{shown}: {n} of {len(lib.statements)} statements answered)")
            _warn_if_sparse(lib, profile, path)
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) have problems.", err=True)
        sys.exit(EXIT_INPUT)


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output (refuses to overwrite).")
@click.pass_context
@handle_errors
def template(ctx: click.Context, output: Path | None) -> None:
    """Print a profile with every statement explained in comments, ready to fill in."""
    text = profile_template(_library(ctx))
    if output is None:
        click.echo(text, nl=False)
        return

    write_new_text(output, text)
    click.echo(f"Wrote {output}", err=True)


@main.command()
@click.option("--report", "report", is_flag=True,
              help="Print the schema of the report JSON (report/compare -f json) instead.")
@click.pass_context
@handle_errors
def schema(ctx: click.Context, report: bool) -> None:
    """Print the JSON Schema of the profile format (or, with --report, of the report JSON)."""
    if report:
        from cruxfit.reports.jsonout import report_schema

        click.echo(json.dumps(report_schema(), indent=2, ensure_ascii=False))
        return
    click.echo(json.dumps(profile_schema(_library(ctx), cruxfit_version()), indent=2, ensure_ascii=False))


def _say(quiet: bool):
    def say(message: str) -> None:
        if not quiet:
            click.echo(terminal_safe(message), err=True)

    return say


def _example_profile_path() -> Path:
    # data/ is a folder of example inputs, not a Python package (so that `cruxfit validate
    # data/*` sees only profiles); it sits beside cruxes/ both in the source tree and when
    # installed as package data.
    return Path(cruxfit.cruxes.__file__).resolve().parent.parent / "data" / "example.yaml"


def _load_profile_arg(lib, profile: Path | None, form_layout: str = "auto",
                      name: str | None = None):
    path = profile if profile is not None else _example_profile_path()
    subject = load_subject(lib, path, form_layout, name)
    for warning in getattr(subject, "warnings", ()):
        click.echo(f"Warning: {terminal_safe(warning)}", err=True)
    return subject, path


def _free_default(stem: str, fmt: str) -> Path:
    """The output name cruxfit chooses itself: never an existing file (see pipeline.report)."""
    return default_output(stem, fmt, note=lambda m: click.echo(f"Note: {terminal_safe(m)}", err=True))


def _warn_if_cold(say, family: str) -> None:
    for note in prepare_environment(family=family):
        click.echo(f"Note: {terminal_safe(note)}", err=True)
    from cruxfit.models.inference import compile_dir_is_warm  # the model's side of the house

    if not compile_dir_is_warm():
        say("First run on this machine: compiling the model to C (about 20-40 s, once); "
            "later runs take a few seconds.")


@main.command()
@click.argument("profile", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output file ('-' for standard output). Default: the profile's name, made "
                   "safe for a file name, in the current folder.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Report format: pdf, html or json. Default: from the output file's suffix, else pdf.")
@click.option("--audience", type=click.Choice(AUDIENCES), default="individual", show_default=True,
              help="Who reads it: individual (the full report), advisor (session plan and "
                   "questions from the client's answers, then the full report), grantmaker "
                   "(a one-page memo). Never changes a number.")
@click.option("--length", type=click.Choice(("full", "short")), default="full", show_default=True,
              help="short: the two-page handout (individual and advisor; an advisor's adds the "
                   "session plan). Organisations always get their full edition.")
@click.option("--appendix", is_flag=True,
              help="Grantmaker memo: add the full report after it.")
@click.option("--name", "org_name", default=None,
              help="Name of an organisation read from a CSV (default: the file's name).")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True,
              help="Random seed; the same seed gives the same numbers.")
@click.option("--allow-unconverged", is_flag=True,
              help="Exit 0 even when sampling did not converge (the verdict stays 'inconclusive').")
@click.option("--save-posterior", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the posterior (ArviZ InferenceData, NetCDF) to this file.")
@_form_layout_option
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@click.pass_context
@handle_errors
def report(ctx, profile, output, fmt, audience, length, appendix, org_name, seed,
           allow_unconverged, save_posterior, quiet, form_layout="auto"):
    """Analyse a profile and write the report (PDF by default; also HTML or JSON).

    With no PROFILE, the bundled example profile is used. Exit status: 0 done, 2 bad input,
    3 sampling did not converge (the report says 'inconclusive'), 1 anything else; 130, 143
    or 129 when stopped by Ctrl-C, SIGTERM or SIGHUP (nothing is written). Without -o, an
    existing file is never replaced: the next free name (name-2.pdf, ...) is used.
    """
    say = _say(quiet)
    lib = _library(ctx)
    prof, _ = _load_profile_arg(lib, profile, form_layout, org_name)
    fmt = fmt or format_from_suffix(output)
    code = produce_report(lib, prof, output, fmt=fmt, audience=audience, seed=seed,
                          save_posterior=save_posterior, say=say, length=length,
                          appendix=appendix)
    if code == EXIT_INCONCLUSIVE and allow_unconverged:
        code = EXIT_OK
    if code:
        sys.exit(code)


def produce_report(lib, prof, output: Path | None, *, fmt: str = "pdf", audience: str = "individual",
                   seed: int = 0, save_posterior: Path | None = None, say=None,
                   length: str = "full", appendix: bool = False) -> int:
    """Analyse one profile and write one report; return the exit status it deserves.

    Raises InputError / OutputError before any sampling if the output cannot be written.
    """
    say = say or (lambda m: None)
    if output is None:
        output = _free_default(prof.name, fmt)
    check_outputs(output, save_posterior)
    if prof.kind == "organisation":
        say(f"Analysing {prof.name} ({len(prof.respondents)} respondents pooled, seed {seed})...")
    else:
        say(f"Analysing {prof.name} ({len(prof.answers)} of {len(lib.statements)} statements answered, seed {seed})...")
    _warn_if_cold(say, "organisation" if prof.kind == "organisation" else "individual")
    outcome = produce(lib, prof, output, fmt=fmt, audience=audience, seed=seed, length=length,
                      appendix=appendix, save_posterior=save_posterior, say=say)
    result, to_stdout = outcome.result, outcome.to_stdout
    verdict = result["verdict"]
    if not to_stdout:
        say(f"Wrote {output}: {verdict['label']} (AI-assisted alignment ranks first with "
            f"probability {probability(verdict['p_best'])}, top three "
            f"{probability(verdict['p_top3'])}).")
    if not verdict["converged"]:
        click.echo("Warning: sampling did not converge; no verdict is given. "
                   + "; ".join(result["diagnostics"]["reasons"]), err=True)
        return EXIT_INCONCLUSIVE
    return EXIT_OK


@main.command()
@click.argument("profile_a", type=click.Path(path_type=Path))
@click.argument("profile_b", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output file ('-' for standard output). Default: compare-<A>-<B>.<format>.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="pdf, html or json. Default: from the output file's suffix, else pdf.")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True,
              help="Random seed used for both profiles.")
@click.option("--allow-unconverged", is_flag=True, help="Exit 0 even when a run did not converge.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
@click.pass_context
@handle_errors
def compare(ctx, profile_a, profile_b, output, fmt, seed, allow_unconverged, quiet):
    """Compare two profiles: what changed, and which beliefs explain the change.

    For a person before and after advice, or a person and their organisation (a profile or a
    form-style CSV). The difference in AI-assisted alignment's chance of ranking first, of
    being in the top three, and in its margin over the best alternative is split exactly
    among the beliefs (a Shapley decomposition); the parts add up to the total.
    """
    say = _say(quiet)
    lib = _library(ctx)
    a, _ = _load_profile_arg(lib, profile_a)
    b, _ = _load_profile_arg(lib, profile_b)
    fmt = fmt or format_from_suffix(output)
    if output is None:
        output = _free_default(f"compare-{safe_stem(a.name)}-{safe_stem(b.name)}", fmt)
    check_outputs(output)
    to_stdout = str(output) == "-"
    say(f"Comparing {a.name} with {b.name} (seed {seed})...")
    _warn_if_cold(say, "organisation" if "organisation" in (a.kind, b.kind) else "individual")
    result = produce_compare(lib, a, b, output, fmt=fmt, seed=seed, say=say).result
    change = result["verdict_change"]
    if not to_stdout:
        # The same words and numbers as the comparison's PDF (reports/numbers.py).
        a_, b_ = result["a"], result["b"]
        say(f"Wrote {output}: verdict {change['from']} -> {change['to']}; chance of ranking first "
            f"{shown_points_difference(a_['p_best'], b_['p_best'])}, margin "
            f"{shown_difference(b_['margin'], a_['margin'])}.")
    unconverged = [k for k, d in result["diagnostics"].items() if not d["converged"]]
    if unconverged:
        click.echo("Warning: sampling did not converge for profile "
                   + " and ".join(k.upper() for k in unconverged) + "; no verdict is given for it.", err=True)
        if not allow_unconverged:
            sys.exit(EXIT_INCONCLUSIVE)


def _formats(value: str) -> tuple[str, ...]:
    parts = tuple(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    bad = [p for p in parts if p not in FORMATS]
    if bad or not parts:
        raise click.BadParameter(f"{', '.join(bad) or value!r} is not a format; use a comma-separated "
                                 f"list of {', '.join(FORMATS)}", param_hint="'--format'")
    return parts


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports and the summary (created if missing).")
@click.option("-j", "--jobs", type=click.IntRange(min=1, max=64), default=None,
              help="Rendering processes (default: the number of cores).")
@click.option("-f", "--format", "formats", default="pdf,json", show_default=True,
              help="Comma-separated formats for each report: pdf, json, html.")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True,
              help="Random seed for every analysis.")
@click.option("--audience", type=click.Choice(AUDIENCES), default="grantmaker", show_default=True,
              help="Emphasis of each report.")
@click.option("--force", is_flag=True, help="Redo reports even when they are up to date.")
@click.option("--rows-are-applicants", is_flag=True,
              help="Treat each row of a CSV input as one individual (default: a CSV is one organisation).")
@_form_layout_option
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
@handle_errors
def batch(ctx, inputs, outdir, jobs, formats, seed, audience, force, rows_are_applicants, quiet,
          form_layout="auto"):
    """Reports for many profiles at once, plus summary.pdf, summary.csv and summary.json.

    INPUTS are profile files, folders of them (searched recursively), or form-style CSVs.
    A bad input is reported and skipped; the rest are produced. Reports that are up to date
    (same input, options, crux library and cruxfit version) are skipped unless --force.
    Exit status: 0 all done, 2 some inputs failed, 3 some runs did not converge; 130, 143 or
    129 when stopped by Ctrl-C, SIGTERM or SIGHUP (finished reports stay recorded; re-run to
    finish). Symbolic links inside folders are reported, not followed.
    """
    formats = _formats(formats)
    lib = _library(ctx)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})") from None
    from cruxfit.pipeline.batch import BatchInterrupted, check_outdir, run_batch  # process pool

    check_outdir(outdir)

    say = _say(quiet)
    interactive = not quiet and sys.stderr.isatty()
    state = {"n": 0, "total": None, "bar": None, "start": time.monotonic()}

    def progress(job) -> None:
        state["n"] += 1
        if quiet:
            # Problems are reported even when quiet: a skipped input must never go unnoticed.
            for problem in job.problems:
                click.echo(f"Error: {terminal_safe(str(problem))}", err=True)
            return
        what = {"done": job.row.get("verdict") if job.row else "done", "skipped": "up to date, skipped",
                "failed": "FAILED", "inconclusive": "INCONCLUSIVE (did not converge)"}.get(job.status, job.status)
        name = terminal_safe(job.name, 200)
        if interactive:
            click.echo(f"\r[{state['n']}] {name[:40]}: {what}".ljust(78), err=True, nl=False)
        else:
            click.echo(f"[{state['n']}] {name}: {what}", err=True)
        for problem in job.problems:
            click.echo(("\n" if interactive else "") + f"Error: {terminal_safe(str(problem))}", err=True)

    say(f"cruxfit batch: reading inputs, then sampling and rendering into {outdir} ...")
    _warn_if_cold(say, "batch")
    import datetime as _dt

    def count(jobs) -> dict:
        return {k: sum(1 for j in jobs if j.status == k) for k in ("done", "skipped", "failed", "inconclusive")}

    def summary_meta(jobs, seconds: float, render_cpu: float) -> dict:
        return {"total": len(jobs), **count(jobs), "seed": seed, "audience": audience,
                "formats": list(formats), "library_sha256": lib.sha256,
                "cruxfit_version": cruxfit_version(),
                "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
                "seconds": round(seconds, 2), "render_cpu_seconds": round(render_cpu, 2)}

    try:
        outcome = run_batch(lib, inputs, outdir, formats=formats, seed=seed, audience=audience,
                            jobs_n=jobs, force=force, rows_are_applicants=rows_are_applicants,
                            form_layout=form_layout, progress=progress, say=say,
                            summary_meta=summary_meta)
    except BatchInterrupted as stop:
        how, code = interrupt_status()
        click.echo(("\n" if interactive else "") + f"Interrupted ({how}): the render workers are "
                   f"stopped; {stop.recorded} of {stop.total} report(s) finished and recorded in "
                   f"{terminal_safe(str(outdir / '.cruxfit-batch.json'))}; run the same command "
                   "again to do the rest.", err=True)
        sys.exit(code)
    if interactive:
        click.echo("", err=True)
    for w in outcome.warnings:
        click.echo(f"Warning: {terminal_safe(w)}", err=True)
    counts = count(outcome.jobs)
    say(f"Done in {outcome.seconds:.1f} s: {counts['done']} reported, {counts['skipped']} up to date, "
        f"{counts['inconclusive']} inconclusive, {counts['failed']} failed. Summary: {outdir / 'summary.pdf'}")
    if counts["failed"]:
        sys.exit(EXIT_INPUT)
    if counts["inconclusive"]:
        sys.exit(EXIT_INCONCLUSIVE)


@main.command()
@click.option("--family", type=click.Choice(FAMILIES), hidden=True,
              help="Compile one family only, in this process (warmup runs one per family).")
@click.pass_context
@handle_errors
def warmup(ctx, family):
    """Compile the models ahead of time (the first run on a machine otherwise does it).

    PyTensor caches compiled C code per machine; this fills the cache for the individual,
    stacked (batch) and organisation models and says how long it took.
    """
    t0 = time.monotonic()
    if family is None:
        for note in prepare_environment():
            click.echo(f"Note: {terminal_safe(note)}", err=True)
        click.echo("Compiling the models (the first time on a machine takes 20-60 s)...", err=True)
        # Each family compiles into a folder of its own (pipeline/environment.py), and PyTensor
        # fixes its folder when it is imported: one process per family.
        library = ctx.obj.get("library")
        for each in FAMILIES:
            child = subprocess.run(
                [sys.executable, "-c", "from cruxfit.cli import entry; entry()",
                 *(["--library", str(library)] if library else []), "warmup", "--family", each],
                stdin=subprocess.DEVNULL, check=False)
            if child.returncode:
                sys.exit(child.returncode)
        import cruxfit.reports.render  # noqa: F401 - warms imports of the renderer too

        click.echo(f"Ready: models compiled and cached in {time.monotonic() - t0:.1f} s.", err=True)
        return
    prepare_environment(family=family)
    from cruxfit.models.inference import sample  # PyMC: only now that the folder is chosen

    lib = _library(ctx)
    one = parse_profile({"name": "warmup", "answers": {lib.statements[0].id: 4}}, lib)
    two = parse_profile({"name": "warmup2", "answers": {lib.statements[1].id: 3}}, lib)
    if family == "individual":
        sample(lib, [one], 0, draws=100, tune=100, retry=False)
    elif family == "batch":
        sample(lib, [one, two], 0, draws=100, tune=100, retry=False, diagnose=False, cores=2)
    else:
        sample(lib, [one, two], 0, draws=100, tune=100, retry=False, hierarchical=True)


@main.command()
@click.option("-f", "--format", "fmt", type=click.Choice(("markdown", "csv")), default="markdown",
              show_default=True, help="Markdown to read, or CSV with one row per question.")
@click.option("--google-apps-script", "apps_script", is_flag=True,
              help="Print a Google Apps Script that creates the whole Google Form instead.")
@click.option("--no-fit", is_flag=True, help="Leave out the optional personal-fit part.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output (refuses to overwrite).")
@click.pass_context
@handle_errors
def form(ctx, fmt, apps_script, no_fit, output):
    """Print the questionnaire for building it in a web-form tool.

    \b
    The questions come in the order `cruxfit assess` asks them, each with its
    answer scale and labels, then the optional personal-fit part. Title each
    question in the form exactly as printed: an export of that form (CSV or
    XLSX) then reads back with every column matched (`cruxfit validate` shows it).
      cruxfit form > questions.md
      cruxfit form --format csv > questions.csv
      cruxfit form --google-apps-script > make-form.gs
    Paste the script into a new project at script.google.com and run
    createCruxfitForm: it creates the Google Form and logs its links.
    """
    lib = _library(ctx)
    if apps_script:
        text = form_apps_script(lib, fit=not no_fit, version=cruxfit_version())
    elif fmt == "csv":
        text = form_csv(lib, fit=not no_fit)
    else:
        text = form_markdown(lib, fit=not no_fit)
    if output is None:
        click.echo(text, nl=False)
        return

    write_new_text(output, text)
    click.echo(f"Wrote {output}", err=True)


# ---------------------------------------------------------------- assess (owned by the
# questionnaire work: pipeline/questionnaire.py holds the logic; keep this command thin)


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("profile.yaml"), show_default=True,
              help="Where to write the finished profile (YAML; JSON if it ends in .json). "
                   "Refuses to replace an existing file unless --force is given.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report here when done (format from the suffix: .pdf, .html, .json).")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted session from its progress file, at the first "
                   "unanswered question.")
@click.option("--force", is_flag=True,
              help="Replace the output file if it already exists (only once the questionnaire "
                   "is finished).")
@click.option("--audience", type=click.Choice(AUDIENCES), default="individual", show_default=True,
              help="Emphasis of the report written with --report.")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True,
              help="Random seed for the report.")
@click.pass_context
@handle_errors
def assess(ctx, output, report_file, resume, force, audience, seed):
    """Answer the statements in the terminal and get a profile (and, with --report, a report).

    \b
    The statements come grouped by crux, then the beliefs about who the
    approach suits, then the wider world, then an optional section on your
    skills and situation (personal fit). At each question:
      1-7            your answer (a probability 0-1 or a percentage such as
                     70% where the question asks for one)
      Enter or s     unsure: counts as no answer, never as the middle
      ?              explain what the statement is evidence about
      b              back one question
      q              quit; your answers so far are kept

    \b
    Progress is saved after every answer to OUTPUT.progress.yaml beside the
    output (for example profile.yaml.progress.yaml). After Ctrl-C, q or the
    end of piped input, run the same command with --resume to continue; a new
    session refuses to start while that file exists (delete it to start over).
    The progress file is removed once the profile is written.

    \b
    Answers can be piped in, one per line, starting with the name (an empty
    line gives "Me"): printf 'Ada\\n5\\n3\\n...' | cruxfit assess -o ada.yaml
    The questionnaire goes to standard output, problems to standard error. If
    the input ends before the questions do, progress is saved and the exit
    status is 2. Exit status: 0 done or quit with q, 2 bad input, 130 Ctrl-C.
    """
    lib = _library(ctx)
    if report_file is not None:
        check_output_path(report_file)  # fail before the questions, not after them
    try:
        prof = run_assess(lib, output=output, resume=resume, force=force,
                          announce_next=report_file is None)
    except AssessInterrupted:
        sys.exit(interrupt_status()[1])  # progress is saved and the message printed by run_assess
    if prof is None:
        return
    if report_file is not None:
        try:
            code = produce_report(lib, prof, report_file, fmt=format_from_suffix(report_file),
                                  audience=audience, seed=seed, say=_say(False))
        except KeyboardInterrupt:
            click.echo(f"Interrupted; the profile {output} is written; run `cruxfit report "
                       f"{output} -o {report_file}` for the report.", err=True)
            sys.exit(130)
        if code:
            sys.exit(code)


# ---------------------------------------------------------------- serve (pipeline/serve.py)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address lets other machines "
                   "reach your answers; cruxfit warns when you do that.")
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8765, show_default=True,
              help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in your web browser.")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True,
              help="Random seed of every report.")
@click.pass_context
@handle_errors
def serve(ctx, host, port, open_browser, seed):
    """The questionnaire and the report in your browser (a local web app).

    Answer the statements page by page (progress survives a reload), get the report with a
    what-if panel, and download the PDF, the JSON and your profile. Advisors can upload a
    profile or a form CSV instead. Ctrl-C stops the server.
    """
    import ipaddress

    from cruxfit.pipeline.serve import port_problem  # Starlette, uvicorn
    from cruxfit.pipeline.serve import serve as run_server

    lib = _library(ctx)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        click.echo(f"Warning: listening on {host}, not on 127.0.0.1: other machines that can "
                   "reach this address can use the questionnaire and see its reports.", err=True)
    problem = port_problem(host, port)
    if problem:
        raise click.UsageError(f"{problem}; choose another with --port or --host.")
    run_server(lib, host=host, port=port, open_browser=open_browser, seed=seed,
               say=lambda m: click.echo(m, err=True))


def entry() -> None:
    """The ``cruxfit`` command: :func:`main`, then an exit that skips the interpreter's
    teardown.

    With PyMC loaded, Python's own finalisation (clearing thousands of modules and objects)
    takes about 0.4 s after the work is done: 6.2 s against 6.7 s for the example's JSON
    report (three alternating runs). By then every file is written atomically and closed,
    so the exit handlers are run, the logs and standard streams are flushed, and the process
    ends. Tests call :func:`main` in-process and are unaffected.
    """
    import atexit
    import logging

    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            click.echo(str(stop.code), err=True)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
