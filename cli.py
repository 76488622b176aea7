"""The `cruxfit` command line.

Heavy libraries (PyMC, ArviZ, WeasyPrint) are imported inside the commands that need them,
so that `--help`, `questions`, `approaches`, `validate`, `template` and `schema` start fast.
Domain errors from the core are turned into messages and exit codes here and nowhere else.
"""

from __future__ import annotations

import functools
import json
import sys
from importlib.metadata import PackageNotFoundError, version as _pkg_version
from pathlib import Path

import click

from cruxfit.cruxes.errors import CruxfitError, InputError

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3


def cruxfit_version() -> str:
    try:
        return _pkg_version("cruxfit")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0+unknown"


def _print_problems(exc: InputError) -> None:
    for problem in exc.problems:
        click.echo(f"Error: {problem}", err=True)


def handle_errors(func):
    """Turn cruxfit's domain errors into one line each and an exit status."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            _print_problems(exc)
            sys.exit(exc.exit_code)
        except CruxfitError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _library(ctx: click.Context):
    from cruxfit.cruxes.library import load_library

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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
@click.pass_context
@handle_errors
def validate(ctx: click.Context, files: tuple[Path, ...], quiet: bool) -> None:
    """Check profile files; print every problem, one line each.

    Exits 0 when every file is valid and 2 when any has a problem.
    """
    from cruxfit.models.profile import load_profile

    lib = _library(ctx)
    failed = 0
    for path in files:
        try:
            profile = load_profile(path, lib)
        except InputError as exc:
            failed += 1
            _print_problems(exc)
            continue
        if not quiet:
            n = len(profile.answers)
            click.echo(f"{path}: ok ({profile.name}: {n} of {len(lib.statements)} statements answered)")
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
    from cruxfit.cruxes.schema import profile_template

    text = profile_template(_library(ctx))
    if output is None:
        click.echo(text, nl=False)
        return
    from cruxfit.reports.files import write_new_text

    write_new_text(output, text)
    click.echo(f"Wrote {output}", err=True)


@main.command()
@click.pass_context
@handle_errors
def schema(ctx: click.Context) -> None:
    """Print the JSON Schema of the profile format."""
    from cruxfit.cruxes.schema import profile_schema

    click.echo(json.dumps(profile_schema(_library(ctx), cruxfit_version()), indent=2, ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    main()
