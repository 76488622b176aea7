"""Hardening: a catalogue of bad inputs through the CLI, fuzzing, hostile content, faults.

Every bad input gives one clear line per problem naming the file, the field and what is
allowed, exit status 2, no traceback, and no output file.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cruxfit.cli import main
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.library import LibraryError, default_library_dir, load_library
from cruxfit.cruxes.csvinput import read_rows

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library()
AGREE = 'a whole number from 1 (strongly disagree) to 7 (strongly agree), or "unsure"'
PROB = 'a probability from 0 to 1 (for example 0.3), a percentage such as "30%", or "unsure"'
CSV_AGREE = ('a whole number from 1 (strongly disagree) to 7 (strongly agree), a label such as '
             '"Strongly agree", or blank for unsure')
CSV_PROB = 'a probability from 0 to 1 (for example 0.3), a percentage such as "30%", or blank for unsure'
FIT_ITEMS = '"ml-engineering", "empirical-research", "maths-philosophy", "policy", "frontier-lab-access" or "unpopular-positions"'

# (id, file name, content (str or bytes), expected problem lines after "Error: <file>: ")
CATALOGUE = [
    # --- profiles: values
    ("agree-zero", "p.yaml", "name: A\nanswers:\n  safety-sabotage: 0\n",
     [f"answers.safety-sabotage: 0 is off the 1-7 scale; allowed: {AGREE}"]),
    ("agree-eight", "p.yaml", "name: A\nanswers:\n  safety-sabotage: 8\n",
     [f"answers.safety-sabotage: 8 is off the 1-7 scale; allowed: {AGREE}"]),
    ("agree-half", "p.yaml", "name: A\nanswers:\n  safety-sabotage: 3.5\n",
     [f"answers.safety-sabotage: 3.5 is not allowed; allowed: {AGREE}"]),
    ("agree-yes-text", "p.yaml", "name: A\nanswers:\n  safety-sabotage: \"yes\"\n",
     [f'answers.safety-sabotage: "yes" is not allowed; allowed: {AGREE}']),
    ("agree-bool", "p.yaml", "name: A\nanswers:\n  safety-sabotage: true\n",
     [f"answers.safety-sabotage: true is not allowed; allowed: {AGREE}"]),
    ("agree-list", "p.yaml", "name: A\nanswers:\n  safety-sabotage: [1, 2]\n",
     [f"answers.safety-sabotage: a list is not allowed; allowed: {AGREE}"]),
    ("prob-high", "p.yaml", "name: A\nanswers:\n  world-short-timelines: 1.7\n",
     [f"answers.world-short-timelines: 1.7 is outside 0 to 1; allowed: {PROB}"]),
    ("prob-negative", "p.yaml", "name: A\nanswers:\n  world-short-timelines: -0.1\n",
     [f"answers.world-short-timelines: -0.1 is outside 0 to 1; allowed: {PROB}"]),
    ("prob-nan-yaml", "p.yaml", "name: A\nanswers:\n  world-short-timelines: .nan\n",
     [f"answers.world-short-timelines: NaN is not a probability; allowed: {PROB}"]),
    ("prob-nan-json", "p.json", '{"name": "A", "answers": {"world-short-timelines": NaN}}',
     ["not valid JSON: NaN is not allowed; use a number between 0 and 1"]),
    ("prob-text", "p.yaml", "name: A\nanswers:\n  world-short-timelines: lots\n",
     [f'answers.world-short-timelines: "lots" is not allowed; allowed: {PROB}']),
    ("unknown-statement", "p.yaml", "name: A\nanswers:\n  safety-sabotge: 3\n",
     ['answers.safety-sabotge: is not a statement id (did you mean "safety-sabotage"?); '
      "`cruxfit questions` lists them"]),
    # --- profiles: structure
    ("missing-answers", "p.yaml", "name: A\n",
     ["answers: is missing; give a mapping from statement id to answer (see `cruxfit template`)"]),
    ("answers-list", "p.yaml", "name: A\nanswers: [1, 2]\n",
     ["answers: must be a mapping from statement id to answer, not a list"]),
    ("top-level-list", "p.yaml", "- a\n- b\n",
     ["(top level): must be a mapping with name, kind and answers, not a list"]),
    ("missing-name", "p.yaml", "answers: {}\n",
     ["name: is missing; give the respondent's or organisation's name as text"]),
    ("name-too-long", "p.yaml", "name: " + "x" * 300 + "\nanswers: {}\n",
     ["name: is 300 characters long; the limit is 200"]),
    ("kind-typo", "p.yaml", "name: A\nkind: persn\nanswers: {}\n",
     ['kind: "persn" is not allowed; allowed: "individual" or "organisation"']),
    ("unknown-key", "p.yaml", "name: A\nanswers: {}\nnotez: x\n",
     ['notez: is not a profile key (did you mean "notes"?); allowed: "name", "kind", "answers", '
      '"fit", "notes", "overrides" or "plan"']),
    ("fit-unknown", "p.yaml", "name: A\nanswers: {}\nfit:\n  ml-engineer: 5\n",
     [f'fit.ml-engineer: is not a personal-fit item (did you mean "ml-engineering"?); allowed: {FIT_ITEMS}']),
    ("fit-range", "p.yaml", "name: A\nanswers: {}\nfit:\n  policy: 9\n",
     ['fit.policy: 9 is off the 1-7 scale; allowed: a whole number from 1 (not at all) to 7 (very well), or "unsure"']),
    ("override-approach", "p.yaml", "name: A\nanswers: {}\noverrides:\n  evalz: {tractability: Low, reason: x}\n",
     ['overrides.evalz: is not an approach (did you mean "evals"?); allowed: "ai-assisted", "rlhf", '
      '"scalable-oversight", "evals", "interpretability", "corrigibility", "agent-foundations", '
      '"multi-agent", "lab-culture", "governance", "compute-governance", "international" or "pause"']),
    ("override-level", "p.yaml", "name: A\nanswers: {}\noverrides:\n  evals: {tractability: Huge, reason: x}\n",
     ['overrides.evals.tractability: "Huge" is off the rating scale; allowed: "Low", "Medium" or "High"']),
    ("override-no-reason", "p.yaml", "name: A\nanswers: {}\noverrides:\n  evals: {tractability: Low}\n",
     ["overrides.evals.reason: is missing; every override needs a stated reason (text)"]),
    ("override-unranked", "p.yaml", "name: A\nanswers: {}\noverrides:\n  open-source: {hard: Low, reason: x}\n",
     ['overrides.open-source: "open-source" is not ranked, so its ratings cannot be overridden']),
    ("respondents-empty", "p.yaml", "name: T\nkind: organisation\nrespondents: []\n",
     ["respondents: is empty; list at least one respondent with a name and answers"]),
    ("respondent-bad-answer", "p.yaml",
     "name: T\nkind: organisation\nrespondents:\n  - name: A\n    answers:\n      safety-sabotage: 9\n",
     [f"respondents[0].answers.safety-sabotage: 9 is off the 1-7 scale; allowed: {AGREE}"]),
    # --- profiles: syntax and encoding
    ("yaml-syntax", "p.yaml", "name: A\nanswers: {safety-sabotage: 3\n",
     ["line 3: not valid YAML: while parsing a flow mapping, expected ',' or '}', but got '<stream end>'"]),
    ("yaml-duplicate-key", "p.yaml", "name: A\nname: B\nanswers: {}\n",
     ['line 2: not valid YAML: the key "name" appears twice']),
    ("yaml-python-tag", "p.yaml", "name: !!python/object/apply:os.system [\"true\"]\nanswers: {}\n",
     ["line 1: not valid YAML: the YAML tag !!python/object/apply:os.system is not allowed; write plain values"]),
    ("yaml-alias-bomb", "p.yaml", 'a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: [*b,*b]\nname: x\nanswers: {}\n',
     ["line 2: not valid YAML: aliases (*name) are not allowed in cruxfit files"]),
    ("json-trailing-comma", "p.json", '{"name": "A", "answers": {},}',
     ["line 1: not valid JSON: Expecting property name enclosed in double quotes"]),
    ("json-duplicate-key", "p.json", '{"name": "A", "name": "B", "answers": {}}',
     ['not valid JSON: the key "name" appears twice']),
    ("empty-file", "p.yaml", "", ["is empty"]),
    ("comments-only", "p.yaml", "# nothing here\n", ["is empty"]),
    ("binary", "p.yaml", b"\x00\x01\x02\xff", ["looks like a binary file, not YAML, JSON or CSV text"]),
    ("utf16", "p.yaml", "name: A\nanswers: {}\n".encode("utf-16"),
     ['is UTF-16 text; save it as UTF-8 (most editors and spreadsheet programs offer "CSV UTF-8" or similar)']),
    ("latin1", "p.yaml", "name: Zo\xeb\nanswers: {}\n".encode("latin-1"),
     ["is not UTF-8 text (bad byte at position 8)"]),
    # --- issue 14: encodings, surrogates, control characters, odd YAML/JSON
    ("utf32", "p.yaml", "name: A\nanswers: {}\n".encode("utf-32"),
     ['is UTF-32 text; save it as UTF-8 (most editors and spreadsheet programs offer "CSV UTF-8" or similar)']),
    ("utf32-be", "p.yaml", "name: A\nanswers: {}\n".encode("utf-32-be").join([b"\x00\x00\xfe\xff", b""]),
     ['is UTF-32 text; save it as UTF-8 (most editors and spreadsheet programs offer "CSV UTF-8" or similar)']),
    ("surrogate-json-name", "p.json", '{"name": "A\\udfff", "answers": {}}',
     ["name: contains a lone surrogate (\\udfff), which is not a character; remove it or write the "
      "character it was meant to be"]),
    ("surrogate-yaml-notes", "p.yaml", 'name: A\nanswers: {}\nnotes: "x\\ud800 y"\n',
     ["notes: contains a lone surrogate (\\ud800), which is not a character; remove it or write the "
      "character it was meant to be"]),
    ("surrogate-yaml-reason", "p.yaml",
     'name: A\nanswers: {}\noverrides:\n  evals: {tractability: Low, reason: "\\udfff"}\n',
     ["overrides.evals.reason: contains a lone surrogate (\\udfff), which is not a character; remove "
      "it or write the character it was meant to be"]),
    ("surrogate-member-name", "p.json",
     '{"name": "T", "kind": "organisation", "respondents": [{"name": "\\udfffB", "answers": {}}]}',
     ["respondents[0].name: contains a lone surrogate (\\udfff), which is not a character; remove it "
      "or write the character it was meant to be"]),
    ("name-escape-sequence", "p.yaml", 'name: "A\\e]0;owned\\a"\nanswers: {}\n',
     ["name: contains a control character (U+001B); names must be plain text on one line, without "
      "tabs, line breaks or escape sequences"]),
    ("name-nul", "p.json", '{"name": "A\\u0000B", "answers": {}}',
     ["name: contains a control character (U+0000); names must be plain text on one line, without "
      "tabs, line breaks or escape sequences"]),
    ("role-newline", "p.yaml",
     'name: T\nkind: organisation\nrespondents:\n  - {name: A, role: "x\\ny", answers: {}}\n',
     ["respondents[0].role: contains a control character (U+000A); names must be plain text on one "
      "line, without tabs, line breaks or escape sequences"]),
    ("yaml-merge-key", "p.yaml", "<<: {name: A}\nanswers: {}\n",
     ["line 1: not valid YAML: merge keys (<<) are not allowed in cruxfit files; write the keys out"]),
    ("yaml-5000-digits", "p.yaml", "name: A\nanswers:\n  safety-sabotage: " + "7" * 5000 + "\n",
     ["not valid YAML: a number has too many digits (this one has 5,000); numbers in cruxfit files "
      "have at most 4,300 digits"]),
    ("json-5000-digits", "p.json", '{"name": "A", "answers": {"safety-sabotage": ' + "7" * 5000 + "}}",
     ["not valid JSON: a number has too many digits (this one has 5,000); numbers in cruxfit files "
      "have at most 4,300 digits"]),
    # a quoted value is a short excerpt, its control characters shown as escapes
    ("top-level-text-excerpt", "p.yaml", '"\\e[2J' + "x" * 100 + '"\n',
     ['(top level): must be a mapping with name, kind and answers, not "\\x1b[2J' + "x" * 36 + '"']),
    # --- CSVs
    ("csv-bad-label", "t.csv", "name,safety-sabotage\nAna,Very much\n",
     [f'row 2, column safety-sabotage: "Very much" is not allowed; allowed: {CSV_AGREE}']),
    ("csv-prob-label", "t.csv", "name,world-short-timelines\nAna,Agree\n",
     [f'row 2, column world-short-timelines: "Agree" is not allowed; allowed: {CSV_PROB}']),
    ("csv-empty", "t.csv", "", ["is empty"]),
    ("csv-header-only", "t.csv", "name,safety-sabotage\n", ["has a header but no respondents"]),
    ("csv-no-statements", "t.csv", "Timestamp,Email\n1,2\n",
     ["header: no column is a statement; name columns after the statements' ids or texts "
      "(`cruxfit questions`, `cruxfit form`): "
      + ", ".join(s.id for s in LIB.statements) + " (plus optional name and role)"]),
    # A misspelt column beside good ones is a warning with "did you mean" (tests/test_forms.py).
    ("csv-misspelt-only-column", "t.csv", "name,scaling-improvs\nAna,2\n",
     ["header: no column is a statement; name columns after the statements' ids or texts "
      "(`cruxfit questions`, `cruxfit form`): " + ", ".join(s.id for s in LIB.statements)
      + ' (plus optional name and role). Close: column 2 "scaling-improvs" (did you mean '
        '"scaling-improves"?)']),
    ("csv-long-row", "t.csv", "name,safety-sabotage\nAna,1,2\n",
     ["row 2: has 3 cells but the header has 2; check the quoting and the delimiter of this row"]),
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input_catalogue(tmp_path, case):
    _, fname, content, expected = case
    path = tmp_path / fname
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("Error: ")]
    assert lines == [f"Error: {path}: {e}" for e in expected]
    assert "Traceback" not in res.output + res.stderr


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) + len(CLI_CASES) + len(LIBRARY_CASES) >= 40


def test_report_on_bad_input_writes_nothing(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("name: A\nanswers:\n  safety-sabotage: 9\n")
    res = CliRunner().invoke(main, ["report", str(bad), "-o", str(tmp_path / "r.pdf")])
    assert res.exit_code == 2
    assert list(tmp_path.iterdir()) == [bad]


# --- command-line arguments
CLI_CASES = [
    (["report", "--seed", "-1"], "Invalid value for '--seed': -1 is not in the range 0<=x<=4294967295."),
    (["report", "--seed", "abc"], "Invalid value for '--seed': 'abc' is not a valid integer range."),
    (["report", "--format", "docx"], "Invalid value for '-f' / '--format': 'docx' is not one of 'pdf', 'html', 'json'."),
    (["report", "--audience", "boss"], "Invalid value for '--audience': 'boss' is not one of 'individual', 'advisor', 'grantmaker'."),
    (["report", "no-such-file.yaml"], "Error: no-such-file.yaml: no such file"),
    (["report", "-o", "/no/such/folder/r.pdf"], "Error: /no/such/folder: the output folder does not exist; create it or choose another"),
    (["report", "-o", "/etc/hostname/r.pdf"], "Error: /etc/hostname: the output location is not a folder"),
    (["report", "-o", "/tmp"], "Error: /tmp: is a folder; give a file name"),
    (["validate"], "Missing argument 'FILES...'."),
    (["validate", "/tmp"], "Error: /tmp: is a folder, not a file"),
    (["batch", "data", "-o", "/tmp/cruxfit-no-such-outdir", "-f", "pdf,doc"], "'doc' is not a format; use a comma-separated list of pdf, html, json"),
    (["batch", "data"], "Missing option '-o' / '--outdir'."),
    (["compare", "data/mixed.yaml"], "Missing argument 'PROFILE_B'."),
    (["frobnicate"], "No such command 'frobnicate'."),
]


@pytest.mark.parametrize("argv,message", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_bad_arguments_exit_2_with_a_clear_message(argv, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    res = CliRunner().invoke(main, argv)
    assert res.exit_code == 2, res.output
    assert message in res.stderr
    assert "Traceback" not in res.stderr


# --- crux library files (via --library)
LIBRARY_CASES = [
    ("statements.yaml", lambda d: d["statements"][0]["loads"][0].update(variable="safty"),
     'statements[0].loads[0].variable: "safty" is not a known variable (did you mean "safety"?)'),
    ("approaches.yaml", lambda d: d["approaches"][1]["ratings"].update(hard="Hgh"),
     'approaches[1].ratings.hard: "Hgh" is off the rating scale (did you mean "High"?); allowed: '
     '"Low", "Medium" or "High" (or set ranked: false with a reason)'),
    ("fit.yaml", lambda d: d["items"][0]["weights"].update(evals=1.5),
     "items[0].weights.evals: 1.5 is not allowed; a weight is a number strictly between -1 and 1"),
    ("model.yaml", lambda d: d["organisation"].update(spread_sd=0),
     "organisation.spread_sd: 0 must be above 0"),
]


@pytest.mark.parametrize("fname,mutate,message", LIBRARY_CASES, ids=[c[0] for c in LIBRARY_CASES])
def test_bad_library_exits_2_naming_file_and_key(tmp_path, fname, mutate, message):
    lib = tmp_path / "lib"
    shutil.copytree(default_library_dir(), lib, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = yaml.safe_load((lib / fname).read_text())
    mutate(data)
    (lib / fname).write_text(yaml.safe_dump(data, sort_keys=False))
    res = CliRunner().invoke(main, ["--library", str(lib), "questions"])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [f"Error: {lib / fname}: {message}"]


# --- fuzzing the readers

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_csv_reader_never_crashes(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    try:
        profiles, warnings, _ = read_rows(path, LIB)
    except InputError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
    else:
        assert all(p.name for p in profiles)


_header = ",".join(["name"] + [s.id for s in LIB.statements[:5]])
_cells = st.sampled_from(["", "1", "7", "8", "3.5", "Agree", "strongly agree", "70%", "abc", "-1", "NaN", "1e9", '"x,y"'])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_cells, min_size=0, max_size=8), min_size=0, max_size=6))
def test_csv_reader_on_form_like_rows(tmp_path, rows):
    path = tmp_path / "f.csv"
    path.write_text(_header + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    try:
        profiles, _, _ = read_rows(path, LIB)
    except InputError as exc:
        assert all(p.file == str(path) for p in exc.problems)
    else:
        for p in profiles:
            assert all(1 <= v <= 7 for k, v in p.answers.items() if LIB.statement(k).scale == "agree7")


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10), st.floats(allow_nan=True),
                     st.text(max_size=8), st.lists(st.integers(), max_size=2))


@pytest.mark.heavy
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["variables.yaml", "statements.yaml", "approaches.yaml", "seed.yaml",
                        "model.yaml", "fit.yaml"]), st.integers(0, 10_000), _scalars)
def test_library_reader_never_crashes(tmp_path_factory, fname, where, value):
    """Replace one value anywhere in one library file: a Library or a LibraryError, nothing else."""
    lib = tmp_path_factory.mktemp("lib")
    shutil.copytree(default_library_dir(), lib, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = yaml.safe_load((lib / fname).read_text())
    slots = []

    def walk(node):
        if isinstance(node, dict):
            for k in node:
                slots.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                slots.append((node, i))
                walk(node[i])

    walk(data)
    container, key = slots[where % len(slots)]
    container[key] = value
    (lib / fname).write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        load_library(lib)
    except LibraryError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)


# --- hostile content

def test_very_large_file_is_refused_quickly(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.write(b"name: A\nanswers: {}\nnotes: ")
        fh.write(b"x" * (6 * 1024 * 1024))
    t0 = time.perf_counter()
    res = CliRunner().invoke(main, ["validate", str(big)])
    assert time.perf_counter() - t0 < 2
    assert res.exit_code == 2
    assert f"Error: {big}: is {big.stat().st_size:,} bytes; the limit is 5,242,880 bytes" in res.stderr


def test_hostile_names_render_as_text_and_name_files_safely(tmp_path, monkeypatch):
    """Markup, URLs, control characters and right-to-left text stay inert in every output."""
    from cruxfit.reports.files import safe_stem

    hostile = ('<img src="http://evil.example/x.png"> \u202eevil\u202c \x07 '
               '<link rel=stylesheet href="file:///etc/passwd"> ../../x')
    # Only letters, digits, '-', '_' and '.', at most 80 characters, never a leading dot.
    assert safe_stem(hostile) == "img-src-http-evil.example-x.png-evil-link-rel-stylesheet-href-file-etc-passwd"
    profile = tmp_path / "h.yaml"
    # A control character in a name is refused (issue 14); in notes it is kept, never printed.
    name = hostile.replace("\x07", "")[:200]
    profile.write_text(yaml.safe_dump({"name": name, "answers": {}, "notes": hostile}))
    res = CliRunner().invoke(main, ["validate", str(profile)])
    assert res.exit_code == 0
    assert "\u202e" not in res.output and "\\u202e" in res.output  # the override is shown escaped


# --- faults

def _cruxfit(*args):
    return [sys.executable, "-c", "from cruxfit.cli import entry; entry()", *args]


def test_disk_full_gives_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    from cruxfit.reports import files

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    target = tmp_path / "t.txt"
    res = CliRunner().invoke(main, ["template", "-o", str(target)])
    assert res.exit_code == 1
    assert res.stderr.strip() == f"Error: {target}: cannot write (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_stale_temporary_files_of_a_killed_writer_are_cleaned(tmp_path):
    from cruxfit.reports.files import write_atomic

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".r.pdf.{dead}.abc123.part"
    stale.write_bytes(b"half a pdf")
    mine = tmp_path / f".r.pdf.{os.getpid()}.live.part"  # a live writer's file is left alone
    mine.write_bytes(b"in progress")
    write_atomic(tmp_path / "r.pdf", b"%PDF-complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.pdf", mine.name])


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 3.0, 6.0])
def test_kill_9_during_a_report_leaves_no_partial_file_and_a_rerun_completes(tmp_path, delay):
    out = tmp_path / "r.pdf"
    proc = subprocess.Popen(_cruxfit("report", str(ROOT / "data/mixed.yaml"), "-o", str(out)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        # Counted from the first progress line: the analysis has started.
        assert proc.stderr.readline().startswith("Analysing")
        time.sleep(delay)
        assert proc.poll() is None, "the report finished before the kill: the test proves nothing"
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL  # killed, not finished
    assert not out.exists()
    res = subprocess.run(_cruxfit("report", str(ROOT / "data/mixed.yaml"), "-o", str(out), "-q"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert out.read_bytes().rstrip().endswith(b"%%EOF")
    assert [p.name for p in tmp_path.iterdir()] == ["r.pdf"]


@pytest.mark.slow
def test_ctrl_c_during_sampling_stops_promptly_and_writes_nothing(tmp_path):
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cruxfit("report", str(ROOT / "data/mixed.yaml"), "-f", "json", "-o", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # Wait until the analysis has started (the first progress line), then a little more.
    line = proc.stderr.readline()
    assert line.startswith("Analysing")
    time.sleep(2.5)
    assert proc.poll() is None, "the report finished before Ctrl-C: the test proves nothing"
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.perf_counter() - t0 < 10
    assert proc.returncode == 130, err
    assert "Interrupted; no output was written." in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_inconclusive_run_exits_3_and_says_so(tmp_path):
    """Too few draws to meet the bar: the verdict is withheld, not printed with confidence."""
    lib = tmp_path / "lib"
    shutil.copytree(default_library_dir(), lib, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    data = yaml.safe_load((lib / "model.yaml").read_text())
    data["sampling"].update(draws=100, tune=100)
    (lib / "model.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "r.json"
    args = ["--library", str(lib), "report", str(ROOT / "data/mixed.yaml"), "-f", "json", "-o", str(out), "-q"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 3
    assert "Warning: sampling did not converge; no verdict is given." in res.stderr
    result = json.loads(out.read_text())
    assert result["verdict"]["label"] == "inconclusive"
    assert result["diagnostics"]["attempts"] == 2  # one automatic retry happened
    assert any("effective sample size" in r for r in result["diagnostics"]["reasons"])
    res = CliRunner().invoke(main, args + ["--allow-unconverged"])
    assert res.exit_code == 0


@pytest.mark.slow
def test_kill_9_during_a_batch_loses_no_finished_work_and_a_rerun_completes(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(6):
        (inputs / f"p{i}.json").write_text(json.dumps(
            {"name": f"Applicant {i}", "answers": {"safety-sabotage": 1 + i, "fit-careful-use": 7 - i}}))
    out = tmp_path / "out"
    # PDF too: rendering is slow enough that the batch is still busy after its first report.
    proc = subprocess.Popen(_cruxfit("batch", str(inputs), "-o", str(out), "-f", "pdf,json"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        for line in proc.stderr:  # wait for the first finished report
            if line.startswith("[1] "):
                break
        assert proc.poll() is None, "the batch finished before the kill: the test proves nothing"
        os.killpg(proc.pid, signal.SIGKILL)  # the whole tree, rendering workers included
        proc.communicate(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == -signal.SIGKILL  # killed, not finished
    manifest = json.loads((out / ".cruxfit-batch.json").read_text())
    done_before = {stem for stem, e in manifest["reports"].items() if e["key"]}
    assert 1 <= len(done_before) < 6  # killed in the middle: some reports finished, not all
    for stem in done_before:  # every recorded report is there and whole
        json.loads((out / f"{stem}.json").read_text())
        assert (out / f"{stem}.pdf").read_bytes().rstrip().endswith(b"%%EOF")
    res = subprocess.run(_cruxfit("batch", str(inputs), "-o", str(out), "-f", "pdf,json"),
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([".cruxfit-batch.json", "summary.csv", "summary.json", "summary.pdf"]
                           + [f"applicant-{i}.{ext}" for i in range(6) for ext in ("json", "pdf")])
    assert res.stderr.count("up to date, skipped") == len(done_before)
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["reports"]) == 6 and all(r["verdict"] for r in summary["reports"])


def test_unwritable_output_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    """As root, permissions cannot be taken away in a test, so os.access says what it would."""
    from cruxfit.reports import files

    monkeypatch.setattr(files, "_writable", lambda path: False)
    res = CliRunner().invoke(main, ["report", str(ROOT / "data/mixed.yaml"), "-o", str(tmp_path / "r.pdf")])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"Error: {tmp_path}: the output folder is not writable"
    assert list(tmp_path.iterdir()) == []
