"""The foundation commands: help, version, questions, approaches, validate, template, schema.

Errors are checked as the exact `Error: <file>: <field>: <message>` lines a user sees on
standard error, with no traceback, and the exit status the command documents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from cruxfit.cli import main
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.library import LEVELS
from cruxfit.cruxes.loading import load_document
from cruxfit.cruxes.profile import load_profile, parse_profile_text

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA = REPO_ROOT / "data"
EXAMPLES = sorted(DATA.glob("*.yaml"))
A7 = 'allowed: a whole number from 1 (strongly disagree) to 7 (strongly agree), or "unsure"'
KEYS = '"name", "kind", "answers", "fit", "notes", "overrides" or "plan"'
MEMBER_KEYS = '"name", "role", "answers", "fit" or "notes"'
ORG_KEYS = '"name", "kind", "respondents", "notes" or "overrides"'
HEAVY = ("pymc", "pytensor", "arviz", "weasyprint", "matplotlib")


def _json(result) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --------------------------------------------------------------------------- help and version


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(runner, command, flag):
    args = [command, flag] if command else [flag]
    result = runner.invoke(main, args, prog_name="cruxfit")
    assert result.exit_code == 0, result.output
    usage = f"Usage: cruxfit {command} " if command else "Usage: cruxfit [OPTIONS] COMMAND"
    assert result.stdout.startswith(usage)
    if command:
        summary = main.commands[command].help.splitlines()[0]
        assert summary.split(":")[0].split(";")[0] in " ".join(result.stdout.split())
    else:
        for name in main.commands:
            assert f"  {name}  " in result.stdout


def test_every_command_has_a_docstring():
    for name, command in main.commands.items():
        assert command.help and command.help.strip(), name


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"cruxfit, version {version('cruxfit')}\n"


# --------------------------------------------------------------------------- listing commands


def test_questions_json_lists_every_statement(runner, library):
    rows = _json(runner.invoke(main, ["questions", "--json"]))
    assert [r["id"] for r in rows] == list(library.statement_ids)
    for row in rows:
        s = library.statement(row["id"])
        assert row["text"] == s.text
        assert row["scale"] in {"agree7", "probability"} and row["scale"] == s.scale
        assert row["variable"] in library.variable_ids and row["variable"] == s.variable
        assert row["favours"] in {1, -1} and row["favours"] == s.favours
        assert [(ld["variable"], ld["sign"], ld["weight"]) for ld in row["loads"]] == [
            (ld.variable, ld.sign, ld.weight) for ld in s.loads
        ]


def test_questions_table(runner, library):
    result = runner.invoke(main, ["questions"])
    assert result.exit_code == 0
    starts = [line.split("  ")[0] for line in result.stdout.splitlines() if line and line[0] != " "]
    assert starts[: len(library.statements)] == list(library.statement_ids)
    assert f"\n{len(library.statements)} statements." in result.stdout


def test_approaches_json(runner, library):
    rows = _json(runner.invoke(main, ["approaches", "--json"]))
    assert [r["slug"] for r in rows] == [a.slug for a in library.approaches]
    assert len(rows) == 14
    for row in rows:
        a = library.approach(row["slug"])
        assert row["name"] == a.name
        assert row["ratings"] == dict(a.ratings)
        assert row["ranked"] is a.ranked
        assert row["crux_topics"] == list(a.crux_topics)
        if a.ranked:
            assert "unranked_reason" not in row
            assert set(row["ratings"].values()) <= set(LEVELS)
        else:
            assert row["unranked_reason"] == a.unranked_reason
    assert [r["slug"] for r in rows if not r["ranked"]] == ["open-source"]


def test_approaches_table(runner, library):
    result = runner.invoke(main, ["approaches"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "slug", "tractability", "if", "hard", "if", "easy", "neglected", "name"]
    assert [line.split()[0] for line in lines[1:]] == [a.slug for a in library.approaches]
    assert lines[-1].endswith("(not ranked)") and lines[-1].startswith("open-source ")


# --------------------------------------------------------------------------- validate


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_PROFILE = "name: Ada\nanswers:\n  safety-sabotage: 9\nnotez: hi\n"


def _bad_lines(path: Path) -> list[str]:
    return [
        f'Error: {path}: notez: is not a profile key (did you mean "notes"?); allowed: {KEYS}',
        f"Error: {path}: answers.safety-sabotage: 9 is off the 1-7 scale; {A7}",
    ]


def test_validate_examples(runner, library):
    result = runner.invoke(main, ["validate", *map(str, EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == len(EXAMPLES) >= 4
    for path, line in zip(EXAMPLES, lines):
        assert line.startswith(f"{path}: ok (")
        assert line.endswith(f" of {len(library.statements)} statements answered)")


def test_validate_quiet_prints_nothing_when_valid(runner):
    result = runner.invoke(main, ["validate", "-q", *map(str, EXAMPLES)])
    assert result.exit_code == 0
    assert result.output == ""


def test_validate_bad_file(runner, tmp_path):
    bad = _write(tmp_path / "bad.yaml", BAD_PROFILE)
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [*_bad_lines(bad), "1 of 1 file(s) have problems."]
    _no_traceback(result)


def test_validate_good_and_bad_reports_only_the_bad(runner, tmp_path, library):
    good, bad = EXAMPLES[0], _write(tmp_path / "bad.yaml", BAD_PROFILE)
    profile = load_profile(good, library)
    result = runner.invoke(main, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{good}: ok ({profile.name}: {len(profile.answers)} of {len(library.statements)} "
        "statements answered)"
    ]
    assert result.stderr.splitlines() == [*_bad_lines(bad), "1 of 2 file(s) have problems."]
    _no_traceback(result)


def test_validate_yaml_syntax_error(runner, tmp_path):
    bad = _write(tmp_path / "broken.yaml", "name: Ada\nanswers:\n  safety-sabotage: [3\n")
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {bad}: line 4: not valid YAML: while parsing a flow sequence, expected ',' or "
        "']', but got '<stream end>'",
        "1 of 1 file(s) have problems.",
    ]
    _no_traceback(result)


def test_validate_missing_file_and_folder(runner, tmp_path):
    missing = tmp_path / "nobody.yaml"
    result = runner.invoke(main, ["validate", str(missing), str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {missing}: no such file",
        f"Error: {tmp_path}: is a folder, not a file",
        "2 of 2 file(s) have problems.",
    ]
    _no_traceback(result)


def test_validate_needs_a_file(runner):
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "Error: Missing argument 'FILES...'." in result.stderr


def test_broken_library_option_reports_problems(runner, tmp_library):
    path = tmp_library / "model.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("chains: 2", "chains: 1"),
                    encoding="utf-8")
    result = runner.invoke(main, ["--library", str(tmp_library), "questions"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {path}: sampling.chains: 1 is too small; at least 2 (R-hat needs two chains or "
        "more)"
    ]
    _no_traceback(result)


def test_library_from_environment(runner, tmp_library):
    (tmp_library / "seed.yaml").unlink()
    result = runner.invoke(main, ["questions"], env={"CRUXFIT_LIBRARY": str(tmp_library)})
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_library / 'seed.yaml'}: no such file\n"


# --------------------------------------------------------------------------- template


def test_template_is_a_valid_all_unsure_profile(runner, library):
    result = runner.invoke(main, ["template"])
    assert result.exit_code == 0
    text = result.stdout
    data = yaml.safe_load(text)
    assert list(data["answers"]) == list(library.statement_ids)
    profile = parse_profile_text(text, "template.yaml", library)
    assert profile.answers == {}
    assert profile.unsure == library.statement_ids
    for sid in library.statement_ids:
        assert f"\n  {sid}: unsure\n" in text
        assert library.statement(sid).text.split()[0] in text


def test_template_to_a_new_file(runner, tmp_path, library):
    out = tmp_path / "me.yaml"
    result = runner.invoke(main, ["template", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"Wrote {out}\n"
    assert out.read_text(encoding="utf-8") == runner.invoke(main, ["template"]).stdout
    written = parse_profile_text(out.read_text(encoding="utf-8"), str(out), library)
    assert written.name == "Your name"


def test_template_refuses_to_overwrite(runner, tmp_path):
    out = _write(tmp_path / "mine.yaml", "precious\n")
    result = runner.invoke(main, ["template", "-o", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {out}: already exists; choose another name or remove it\n"
    assert out.read_text(encoding="utf-8") == "precious\n"
    _no_traceback(result)


# --------------------------------------------------------------------------- schema


@pytest.fixture(scope="module")
def profile_schema() -> dict:
    from click.testing import CliRunner

    return _json(CliRunner(env={"CRUXFIT_LIBRARY": None}).invoke(main, ["schema"]))


def test_schema_matches_the_library(profile_schema, library):
    assert profile_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = profile_schema["$defs"]
    assert profile_schema["anyOf"] == [{"$ref": "#/$defs/Individual"},
                                       {"$ref": "#/$defs/Organisation"}]
    assert defs["Individual"]["required"] == ["name", "answers"]
    assert defs["Organisation"]["required"] == ["name", "kind", "respondents"]
    assert defs["Respondent"]["required"] == ["name", "answers"]
    for record, keys in [("Individual", KEYS), ("Respondent", MEMBER_KEYS),
                         ("Organisation", ORG_KEYS)]:
        assert defs[record]["additionalProperties"] is False
        assert ", ".join(f'"{k}"' for k in defs[record]["properties"]) == keys.replace(" or", ",")
    answers = defs["Answers"]
    assert answers["additionalProperties"] is False
    assert list(answers["properties"]) == list(library.statement_ids)
    for sid, prop in answers["properties"].items():
        s = library.statement(sid)
        assert prop["x-scale"] == s.scale
        assert prop["x-variable"] == s.variable
        assert prop["x-favours"] == s.favours
        assert prop["description"] == s.text
        value = prop["anyOf"][0]
        if s.scale == "agree7":
            assert value == {"type": "integer", "minimum": 1, "maximum": 7}
        else:
            assert value == {"type": "number", "minimum": 0, "maximum": 1}
        assert {"const": "unsure"} in prop["anyOf"] and {"type": "null"} in prop["anyOf"]
    assert list(defs["Fit"]["properties"]) == [f.id for f in library.fit_items]
    assert list(defs["Overrides"]["properties"]) == [a.slug for a in library.ranked]
    assert defs["Individual"]["properties"]["plan"]["anyOf"][0]["enum"] == [
        a.slug for a in library.ranked]


@pytest.fixture(scope="module")
def schema_validator(profile_schema):
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(profile_schema)
    return Draft202012Validator(profile_schema)


def schema_errors(validator, data: Any) -> set[tuple[str, str]]:
    """Every error of `data`, nested ones included, as (path, JSON Schema keyword).

    A profile is an individual or an organisation (anyOf), so the errors that say what is
    wrong sit in the context of the anyOf error; they are all collected.
    """
    found: set[tuple[str, str]] = set()

    def collect(errors) -> None:
        for error in errors:
            found.add(("/".join(str(p) for p in error.absolute_path), error.validator))
            collect(error.context or ())

    collect(validator.iter_errors(data))
    return found


def _organisation(path: Path, library) -> dict:
    from cruxfit.cruxes.csvinput import read_organisation

    return read_organisation(path, library).to_data()


def _full_profile(library) -> dict:
    """An individual using every field the reader knows, in every allowed shape."""
    agree7 = next(s.id for s in library.statements if s.scale == "agree7")
    probs = [s.id for s in library.statements if s.scale == "probability"]
    ranked = [a.slug for a in library.ranked]
    return {
        "name": "Ada", "kind": "individual", "notes": "free\ntext",
        "answers": {agree7: 7, probs[0]: "70%", probs[1]: 0, **{p: None for p in probs[2:3]},
                    **{p: "unsure" for p in probs[3:]}},
        "fit": {library.fit_items[0].id: 1, library.fit_items[1].id: "unsure"},
        "overrides": {ranked[0]: {"tractability": "Low", "hard": "High", "reason": "Why."}},
        "plan": ranked[-1],
    }


GOOD = [
    *[pytest.param(lambda lib, p=p: load_document(p), id=p.name) for p in EXAMPLES],
    pytest.param(lambda lib: load_document(REPO_ROOT / "tests/golden/org_team.yaml"),
                 id="golden-org_team.yaml"),
    pytest.param(lambda lib: _organisation(DATA / "team.csv", lib), id="team.csv-as-profile"),
    *[pytest.param(lambda lib, p=p: _organisation(p, lib), id=f"{p.name}-as-profile")
      for p in sorted((REPO_ROOT / "tests/forms").glob("*.*")) if p.suffix in (".csv", ".xlsx")],
    pytest.param(_full_profile, id="every-field"),
    pytest.param(lambda lib: {"name": "Team", "kind": "organisation", "notes": "n",
                              "overrides": {"evals": {"easy": "Medium", "reason": "r"}},
                              "respondents": [{"name": "A", "role": "lead", "answers": {},
                                               "fit": None, "notes": None}]},
                 id="organisation-every-field"),
]


@pytest.mark.parametrize("make", GOOD)
def test_profiles_the_reader_accepts_satisfy_the_schema(schema_validator, library, make):
    data = make(library)
    parse_profile_text(json.dumps(data), "p.json", library, suffix=".json")  # the reader agrees
    assert schema_errors(schema_validator, data) == set()


def test_template_satisfies_the_schema(schema_validator, runner):
    template = yaml.safe_load(runner.invoke(main, ["template"]).stdout)
    assert schema_errors(schema_validator, template) == set()


def _answer(sid: str, value: Any):
    return lambda d: d["answers"].__setitem__(sid, value)


def _top(key: str, value: Any):
    return lambda d: d.__setitem__(key, value)


def _member(key: str, value: Any):
    return lambda d: d["respondents"][0].__setitem__(key, value)


_INDIVIDUAL = EXAMPLES[0]
_ORGANISATION = REPO_ROOT / "tests/golden/org_team.yaml"


@pytest.mark.parametrize("base, change, error", [
    pytest.param(_INDIVIDUAL, _answer("safety-sabotage", 8), ("answers/safety-sabotage", "anyOf"),
                 id="agree7-8"),
    pytest.param(_INDIVIDUAL, _answer("world-short-timelines", 1.5),
                 ("answers/world-short-timelines", "anyOf"), id="probability-1.5"),
    pytest.param(_INDIVIDUAL, _answer("world-short-timelines", "130%"),
                 ("answers/world-short-timelines", "anyOf"), id="percent-130"),
    pytest.param(_INDIVIDUAL, _answer("safety-sabotge", 3), ("answers", "additionalProperties"),
                 id="unknown-id"),
    pytest.param(_INDIVIDUAL, lambda d: d.pop("name"), ("", "required"), id="no-name"),
    pytest.param(_INDIVIDUAL, _top("name", "   "), ("name", "pattern"), id="blank-name"),
    pytest.param(_INDIVIDUAL, _top("kind", "organisation"), ("kind", "const"),
                 id="organisation-without-respondents"),
    pytest.param(_INDIVIDUAL, _top("kind", "team"), ("kind", "const"), id="unknown-kind"),
    pytest.param(_INDIVIDUAL, _top("overrides", {"evals": {"hard": "Hgh", "reason": "x"}}),
                 ("overrides/evals/hard", "enum"), id="bad-level"),
    pytest.param(_INDIVIDUAL, _top("overrides", {"evals": {"hard": "Low"}}),
                 ("overrides/evals", "required"), id="no-reason"),
    pytest.param(_INDIVIDUAL, _top("overrides", {"evals": {"reason": "x"}}),
                 ("overrides/evals", "minProperties"), id="overrides-nothing"),
    pytest.param(_INDIVIDUAL, _top("overrides", {"open-source": {"hard": "Low", "reason": "x"}}),
                 ("overrides", "additionalProperties"), id="unranked"),
    pytest.param(_INDIVIDUAL, _top("plan", "open-source"), ("plan", "enum"), id="plan-unranked"),
    pytest.param(_INDIVIDUAL, _top("respondents", []), ("", "additionalProperties"),
                 id="individual-with-respondents"),
    pytest.param(_ORGANISATION, _member("answers", {"safety-sabotage": 0}),
                 ("respondents/0/answers/safety-sabotage", "anyOf"), id="member-agree7-0"),
    pytest.param(_ORGANISATION, _member("plan", "evals"), ("respondents/0", "additionalProperties"),
                 id="member-plan"),
    pytest.param(_ORGANISATION, _top("respondents", []), ("respondents", "minItems"),
                 id="no-respondents"),
    pytest.param(_ORGANISATION, lambda d: d.pop("respondents"), ("", "required"),
                 id="organisation-without-respondents-key"),
    pytest.param(_ORGANISATION, _top("plan", "evals"), ("", "additionalProperties"),
                 id="organisation-plan"),
    pytest.param(_ORGANISATION, _top("notes", ["a"]), ("notes", "anyOf"), id="notes-a-list"),
])
def test_schema_rejects_what_the_reader_rejects(schema_validator, library, base, change, error):
    """The schema check can fail, and the reader refuses the same profiles."""
    data = load_document(base)
    assert schema_errors(schema_validator, data) == set()
    change(data)
    assert error in schema_errors(schema_validator, data)
    with pytest.raises(InputError):
        parse_profile_text(json.dumps(data), "p.json", library, suffix=".json")


# --------------------------------------------------------------------------- layout and imports


def test_cli_py_is_the_only_python_file_at_the_root():
    assert sorted(p.name for p in REPO_ROOT.glob("*.py")) == ["cli.py"]


@pytest.mark.parametrize("args", [
    ["--help"],
    ["questions"],
    ["questions", "--json"],
    ["approaches", "--json"],
    ["validate", str(EXAMPLES[0])],
    ["template"],
    ["schema"],
    ["report", "--help"],
], ids=" ".join)
def test_light_commands_do_not_import_heavy_libraries(args):
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from cruxfit.cli import main\n"
        f"result = CliRunner(env={{'CRUXFIT_LIBRARY': None}}).invoke(main, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.heavy  # imports PyMC and compiles with Numba in a fresh process
def test_pymc_is_imported_without_arviz_compiling_numba_code():
    """import_quietly hides Numba from ArviZ's import only (0.5 s of start-up), and leaves
    Numba importable for everyone else afterwards."""
    script = (
        "import sys\n"
        "from cruxfit.models.inference import import_quietly\n"
        "import_quietly()\n"
        "assert 'pymc' in sys.modules and 'numba' not in sys.modules, sorted(sys.modules)[:5]\n"
        "from arviz.stats import ecdf_utils\n"
        "vectorised = [n for n, f in vars(ecdf_utils).items() if type(f).__module__.startswith('numba')]\n"
        "assert not vectorised, vectorised\n"
        "import numba\n"
        "assert numba.njit(lambda x: x + 1)(1) == 2\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args,code", [
    (["questions", "--json"], 0),
    (["schema"], 0),
    (["validate", "no-such-profile.yaml"], 2),
    (["no-such-command"], 2),
])
def test_the_command_flushes_everything_and_keeps_its_exit_status(args, code, tmp_path):
    """entry() ends the process with os._exit: the same output and exit status as main()."""
    script = "from cruxfit.cli import entry; entry()"
    env = {k: v for k, v in os.environ.items() if k != "CRUXFIT_LIBRARY"}
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          timeout=120, cwd=tmp_path, env=env)
    assert proc.returncode == code, proc.stderr
    from click.testing import CliRunner

    inproc = CliRunner(env={"CRUXFIT_LIBRARY": None}).invoke(main, args)
    assert inproc.exit_code == code
    assert proc.stdout.decode() == inproc.stdout  # every byte, flushed before the exit
    if code:
        assert proc.stderr.decode().strip().splitlines()[-1] == inproc.stderr.strip().splitlines()[-1]
        assert b"Traceback" not in proc.stderr
    if args[0] == "questions":
        json.loads(proc.stdout)


def test_the_installed_command_is_entry():
    import importlib.metadata as md

    (script,) = [e for e in md.entry_points(group="console_scripts") if e.name == "cruxfit"]
    assert script.value == "cruxfit.cli:entry"
