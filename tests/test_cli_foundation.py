"""The foundation commands: help, version, questions, approaches, validate, template, schema.

Errors are checked as the exact `Error: <file>: <field>: <message>` lines a user sees on
standard error, with no traceback, and the exit status the command documents.
"""

from __future__ import annotations

import json
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
    assert profile_schema["required"] == ["name", "answers"]
    answers = profile_schema["properties"]["answers"]
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
    overrides = profile_schema["properties"]["overrides"]["properties"]
    assert list(overrides) == [a.slug for a in library.ranked]


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_errors(value: Any, schema: dict, where: str = "") -> list[str]:
    """The few JSON Schema keywords the profile schema uses, checked by hand."""
    errors: list[str] = []
    if "type" in schema and not _TYPES[schema["type"]](value):
        return [f"{where}: not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: not one of {schema['enum']}")
    if "anyOf" in schema and all(schema_errors(value, s, where) for s in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: above {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: too short")
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{where}: too long")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}.{k}: required" for k in schema.get("required", []) if k not in value]
        if len(value) < schema.get("minProperties", 0):
            errors.append(f"{where}: too few properties")
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}.{key}: not allowed")
    return errors


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_profiles_satisfy_the_schema(profile_schema, path):
    assert schema_errors(load_document(path), profile_schema) == []


def test_template_satisfies_the_schema(profile_schema, runner):
    template = yaml.safe_load(runner.invoke(main, ["template"]).stdout)
    assert schema_errors(template, profile_schema) == []


def _answer(sid: str, value: Any):
    return lambda d: d["answers"].__setitem__(sid, value)


def _top(key: str, value: Any):
    return lambda d: d.__setitem__(key, value)


@pytest.mark.parametrize("change, error", [
    pytest.param(_answer("safety-sabotage", 8), ".answers.safety-sabotage: matches none of anyOf",
                 id="agree7-8"),
    pytest.param(_answer("world-short-timelines", 1.5),
                 ".answers.world-short-timelines: matches none of anyOf", id="probability-1.5"),
    pytest.param(_answer("safety-sabotge", 3), ".answers.safety-sabotge: not allowed",
                 id="unknown-id"),
    pytest.param(lambda d: d.pop("name"), ".name: required", id="no-name"),
    pytest.param(_top("kind", "organisation"), ".kind: not one of ['individual']",
                 id="organisation"),
    pytest.param(_top("overrides", {"evals": {"hard": "Hgh", "reason": "x"}}),
                 ".overrides.evals.hard: not one of ['Low', 'Medium', 'High']", id="bad-level"),
    pytest.param(_top("overrides", {"evals": {"hard": "Low"}}), ".overrides.evals.reason: required",
                 id="no-reason"),
    pytest.param(_top("overrides", {"open-source": {"hard": "Low", "reason": "x"}}),
                 ".overrides.open-source: not allowed", id="unranked"),
])
def test_schema_rejects_what_the_reader_rejects(profile_schema, library, change, error):
    """The hand check can fail, and the reader refuses the same profiles."""
    data = load_document(EXAMPLES[0])
    change(data)
    assert error in schema_errors(data, profile_schema)
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
