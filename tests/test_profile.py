"""Reading belief profiles: every mistake gets one exact line; good profiles read back equal."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from oracles import dump_yaml, parse_profile_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.profile import (
    Profile,
    control_char,
    load_profile,
    parse_profile,
    parse_profile_text,
)

A7 = 'allowed: a whole number from 1 (strongly disagree) to 7 (strongly agree), or "unsure"'
PROB = 'allowed: a probability from 0 to 1 (for example 0.3), a percentage such as "30%", or "unsure"'
SLUGS = ('"ai-assisted", "rlhf", "scalable-oversight", "evals", "interpretability", '
         '"corrigibility", "agent-foundations", "multi-agent", "lab-culture", "governance", '
         '"compute-governance", "international" or "pause"')
DIMS = '"tractability", "hard", "easy" or "neglectedness"'
KEYS = '"name", "kind", "answers", "fit", "notes", "overrides" or "plan"'


def _yaml(answers: str = "", extra: str = "") -> str:
    """A YAML profile with the given lines under `answers:` and extra top-level lines."""
    return "name: Ada\nkind: individual\nanswers:\n" + (answers or "  {}\n") + extra


def _override(line: str) -> str:
    """A valid profile with one line under `overrides:`."""
    return _yaml(extra=f"overrides:\n  {line}\n")


def _problems(path: Path, library) -> list[str]:
    with pytest.raises(InputError) as info:
        load_profile(path, library)
    assert info.value.exit_code == 2
    return [str(p) for p in info.value.problems]


BAD = [
    # --- not a readable document
    pytest.param("name: Ada\nanswers:\n  safety-sabotage: 3\n  world-deceptive: [4\n", ".yaml",
                 [("line 5", "not valid YAML: while parsing a flow sequence, expected ',' or ']', "
                             "but got '<stream end>'")], id="yaml-syntax"),
    pytest.param("name: Ada\nanswers:\n  safety-sabotage: 3\n   world-deceptive: 4\n", ".yaml",
                 [("line 4", "not valid YAML: mapping values are not allowed here")],
                 id="yaml-bad-indent"),
    pytest.param('{"name": "Ada",\n "answers": {,}}', ".json",
                 [("line 2", "not valid JSON: Expecting property name enclosed in double quotes")],
                 id="json-syntax"),
    pytest.param("", ".yaml", [("", "is empty")], id="empty"),
    pytest.param("  \n\n", ".yaml", [("", "is empty")], id="blank"),
    pytest.param("# only a comment\n", ".yaml", [("", "is empty")], id="only-comments"),
    pytest.param(b"name: Ada\x00\nanswers: {}\n", ".yaml",
                 [("", "looks like a binary file, not YAML, JSON or CSV text")], id="binary"),
    pytest.param(b"name: Ad\xe9\nanswers: {}\n", ".yaml",
                 [("", "is not UTF-8 text (bad byte at position 8)")], id="latin-1"),
    pytest.param("- safety-sabotage: 3\n", ".yaml",
                 [("(top level)", "must be a mapping with name, kind and answers, not a list")],
                 id="top-level-list"),
    pytest.param("just some words\n", ".yaml",
                 [("(top level)", 'must be a mapping with name, kind and answers, not '
                                  '"just some words"')], id="top-level-string"),
    pytest.param("[1, 2]", ".json",
                 [("(top level)", "must be a mapping with name, kind and answers, not a list")],
                 id="json-top-level-list"),
    # --- answers
    pytest.param(_yaml("  safety-sabotge: 3\n"), ".yaml",
                 [("answers.safety-sabotge", 'is not a statement id (did you mean '
                                             '"safety-sabotage"?); `cruxfit questions` lists '
                                             "them")],
                 id="unknown-statement"),
    pytest.param(_yaml("  safety-sabotage: 0\n"), ".yaml",
                 [("answers.safety-sabotage", f"0 is off the 1-7 scale; {A7}")], id="agree7-0"),
    pytest.param(_yaml("  safety-sabotage: 8\n"), ".yaml",
                 [("answers.safety-sabotage", f"8 is off the 1-7 scale; {A7}")], id="agree7-8"),
    pytest.param(_yaml("  safety-sabotage: 3.5\n"), ".yaml",
                 [("answers.safety-sabotage", f"3.5 is not allowed; {A7}")], id="agree7-3.5"),
    pytest.param(_yaml('  safety-sabotage: "yes"\n'), ".yaml",
                 [("answers.safety-sabotage", f'"yes" is not allowed; {A7}')], id="agree7-yes"),
    pytest.param(_yaml("  safety-sabotage: true\n"), ".yaml",
                 [("answers.safety-sabotage", f"true is not allowed; {A7}")], id="agree7-true"),
    pytest.param(_yaml("  safety-sabotage: [3, 4]\n"), ".yaml",
                 [("answers.safety-sabotage", f"a list is not allowed; {A7}")], id="agree7-list"),
    pytest.param(_yaml("  safety-sabotage: 1" + "0" * 400 + "\n"), ".yaml",
                 [("answers.safety-sabotage", f"a 401-digit number is off the 1-7 scale; {A7}")],
                 id="agree7-huge-int"),
    pytest.param(_yaml("  world-short-timelines: 1.7\n"), ".yaml",
                 [("answers.world-short-timelines", f"1.7 is outside 0 to 1; {PROB}")],
                 id="probability-1.7"),
    pytest.param(_yaml("  world-short-timelines: -0.1\n"), ".yaml",
                 [("answers.world-short-timelines", f"-0.1 is outside 0 to 1; {PROB}")],
                 id="probability-negative"),
    pytest.param(_yaml("  world-short-timelines: 2\n"), ".yaml",
                 [("answers.world-short-timelines", f"2 is outside 0 to 1; {PROB}")],
                 id="probability-int-2"),
    pytest.param(_yaml("  world-short-timelines: .nan\n"), ".yaml",
                 [("answers.world-short-timelines", f"NaN is not a probability; {PROB}")],
                 id="probability-yaml-nan"),
    pytest.param(_yaml("  world-short-timelines: .inf\n"), ".yaml",
                 [("answers.world-short-timelines", f"inf is not a probability; {PROB}")],
                 id="probability-yaml-inf"),
    pytest.param(_yaml("  world-short-timelines: 1" + "0" * 400 + "\n"), ".yaml",
                 [("answers.world-short-timelines",
                   f"a 401-digit number is outside 0 to 1; {PROB}")],
                 id="probability-huge-int"),
    pytest.param('{"name": "Ada", "answers": {"world-short-timelines": NaN}}', ".json",
                 [("", "not valid JSON: NaN is not allowed; use a number between 0 and 1")],
                 id="probability-json-nan"),
    pytest.param('{"name": "Ada", "answers": {"world-short-timelines": -Infinity}}', ".json",
                 [("", "not valid JSON: -Infinity is not allowed; use a number between 0 and 1")],
                 id="probability-json-infinity"),
    pytest.param("name: Ada\nkind: individual\n", ".yaml",
                 [("answers", "is missing; give a mapping from statement id to answer (see "
                              "`cruxfit template`)")], id="missing-answers"),
    pytest.param("name: Ada\nanswers: [3, 4]\n", ".yaml",
                 [("answers", "must be a mapping from statement id to answer, not a list")],
                 id="answers-a-list"),
    pytest.param("answers: {}\n", ".yaml",
                 [("name", "is missing; give the respondent's or organisation's name as text")],
                 id="missing-name"),
    pytest.param("name: '  '\nanswers: {}\n", ".yaml",
                 [("name", 'must be non-empty text, not "  "')], id="blank-name"),
    pytest.param(f"name: {'x' * 201}\nanswers: {{}}\n", ".yaml",
                 [("name", "is 201 characters long; the limit is 200")], id="long-name"),
    pytest.param(_yaml(extra="notes: [a, b]\n"), ".yaml",
                 [("notes", "must be text, not a list")], id="notes-not-text"),
    # --- hostile or unusual YAML and JSON
    pytest.param("name: Ada\nanswers: {}\nname: Bob\n", ".yaml",
                 [("line 3", 'not valid YAML: the key "name" appears twice')],
                 id="yaml-duplicate-key"),
    pytest.param(_yaml("  safety-sabotage: 3\n  safety-sabotage: 4\n"), ".yaml",
                 [("line 5", 'not valid YAML: the key "safety-sabotage" appears twice')],
                 id="yaml-duplicate-answer"),
    pytest.param('{"name": "Ada", "answers": {}, "name": "Bob"}', ".json",
                 [("", 'not valid JSON: the key "name" appears twice')], id="json-duplicate-key"),
    pytest.param("name: &who Ada\nnotes: *who\nanswers: {}\n", ".yaml",
                 [("line 2", "not valid YAML: aliases (*name) are not allowed in cruxfit files")],
                 id="yaml-alias"),
    pytest.param("name: !custom Ada\nanswers: {}\n", ".yaml",
                 [("line 1",
                   "not valid YAML: the YAML tag !custom is not allowed; write plain values")],
                 id="yaml-local-tag"),
    pytest.param("a: 1\n---\nb: 2\n", ".yaml",
                 [("line 2", "not valid YAML: expected a single document in the stream, but found "
                             "another document")], id="yaml-two-documents"),
    pytest.param("[" * 5000, ".yaml", [("", "is nested too deeply")], id="yaml-too-deep",
                 marks=pytest.mark.heavy),
    pytest.param("[" * 100_000, ".json", [("", "is nested too deeply")], id="json-too-deep"),
    # --- kind, overrides and unknown keys
    pytest.param("name: Ada\nkind: organisation\nanswers: {}\n", ".yaml",
                 [("answers", 'is not an organisation key; allowed: "name", "kind", "respondents", '
                              '"notes" or "overrides"'),
                  ("respondents", "is missing; list the respondents, each with a name and answers")],
                 id="kind-organisation-without-respondents"),
    pytest.param("name: Team\nkind: organisation\nrespondents:\n  - name: A\n    answers:\n"
                 "      safety-sabotage: 9\n  - name: B\n    answers: {}\n  - name: B\n"
                 "    answers: {}\n  - 3\n", ".yaml",
                 [("respondents[0].answers.safety-sabotage",
                   '9 is off the 1-7 scale; allowed: a whole number from 1 (strongly disagree) '
                   'to 7 (strongly agree), or "unsure"'),
                  ("respondents[2].name", '"B" is also respondents[1]; names must be distinct'),
                  ("respondents[3]", "must be a mapping with name and answers, not 3")],
                 id="organisation-member-problems"),
    pytest.param("name: Ada\nkind: individul\nanswers: {}\n", ".yaml",
                 [("kind", '"individul" is not allowed (did you mean "individual"?); allowed: '
                           '"individual" or "organisation"')], id="kind-typo"),
    pytest.param(_override("goverance: {tractability: Low, reason: Slow.}"), ".yaml",
                 [("overrides.goverance", f'is not an approach (did you mean "governance"?); '
                                          f"allowed: {SLUGS}")], id="override-unknown-approach"),
    pytest.param(_override("open-source: {tractability: Low, reason: Why.}"), ".yaml",
                 [("overrides.open-source",
                   '"open-source" is not ranked, so its ratings cannot be overridden')],
                 id="override-unranked-approach"),
    pytest.param(_override("governance: {tractabilty: Low, reason: Slow.}"), ".yaml",
                 [("overrides.governance.tractabilty",
                   f'is not a rating dimension (did you mean "tractability"?); allowed: {DIMS} '
                   f"and reason")], id="override-unknown-dimension"),
    pytest.param(_override("governance: {tractability: Hgh, reason: Slow.}"), ".yaml",
                 [("overrides.governance.tractability",
                   '"Hgh" is off the rating scale (did you mean "High"?); allowed: "Low", '
                   '"Medium" or "High"')], id="override-unknown-level"),
    pytest.param(_override("governance: {tractability: Low}"), ".yaml",
                 [("overrides.governance.reason",
                   "is missing; every override needs a stated reason (text)")],
                 id="override-missing-reason"),
    pytest.param(_override("governance: {reason: Slow.}"), ".yaml",
                 [("overrides.governance", f"overrides nothing; name at least one of {DIMS}")],
                 id="override-nothing"),
    pytest.param(_override("governance: {reason: ''}"), ".yaml",
                 [("overrides.governance.reason",
                   "is missing; every override needs a stated reason (text)"),
                  ("overrides.governance", f"overrides nothing; name at least one of {DIMS}")],
                 id="override-nothing-and-no-reason"),
    pytest.param(_override("governance: Low"), ".yaml",
                 [("overrides.governance", "must be a mapping of rating dimension to level plus "
                                           'a reason, not "Low"')], id="override-not-a-mapping"),
    pytest.param(_yaml(extra="answer: {}\n"), ".yaml",
                 [("answer", f'is not a profile key (did you mean "answers"?); allowed: {KEYS}')],
                 id="unknown-top-level-key"),
    pytest.param(_yaml(extra="respondents: []\n"), ".yaml",
                 [("respondents", "is only allowed with kind: organisation")],
                 id="respondents-key"),
    # --- several mistakes are all reported: unknown keys first, then field by field
    pytest.param(_yaml("  safety-sabotage: 9\n  world-short-timelines: 1.5\n", "notez: hi\n"),
                 ".yaml",
                 [("notez", f'is not a profile key (did you mean "notes"?); allowed: {KEYS}'),
                  ("answers.safety-sabotage", f"9 is off the 1-7 scale; {A7}"),
                  ("answers.world-short-timelines", f"1.5 is outside 0 to 1; {PROB}")],
                 id="three-mistakes"),
]


@pytest.mark.parametrize("content, suffix, expected", BAD)
def test_bad_profile_reports_exact_problems(tmp_path, library, content, suffix, expected):
    path = tmp_path / f"profile{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    want = [f"{path}: {field}: {msg}" if field else f"{path}: {msg}" for field, msg in expected]
    assert _problems(path, library) == want


def test_unknown_keys_are_reported_first(library):
    """Key problems come first, then answers; every one names its key."""
    data = {"nmae": "Ada", "answers": {"safety-sabotage": 0}}
    with pytest.raises(InputError) as info:
        parse_profile(data, library, source="mem")
    assert [str(p) for p in info.value.problems] == [
        f'mem: nmae: is not a profile key (did you mean "name"?); allowed: {KEYS}',
        "mem: name: is missing; give the respondent's or organisation's name as text",
        f"mem: answers.safety-sabotage: 0 is off the 1-7 scale; {A7}",
    ]


def test_yaml_tag_that_would_run_code_is_refused_not_run(tmp_path, library):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f'name: !!python/object/apply:os.system ["touch {marker}"]\nanswers: {{}}\n',
                    encoding="utf-8")
    assert _problems(path, library) == [
        f"{path}: line 1: not valid YAML: the YAML tag "
        "!!python/object/apply:os.system is not allowed; write plain values"
    ]
    assert not marker.exists()


@pytest.mark.parametrize("tag", ["!!python/name:os.system", "!!binary aGk=", "!!set {a}",
                                 "!!timestamp 2020-01-01"])
def test_other_constructing_tags_are_refused(library, tag):
    with pytest.raises(InputError) as info:
        parse_profile_text(f"name: {tag}\nanswers: {{}}\n", "p.yaml", library)
    (problem,) = info.value.problems
    assert problem.field == "line 1"
    assert problem.message.startswith("not valid YAML: the YAML tag !!")
    assert problem.message.endswith(" is not allowed; write plain values")


def test_missing_file(tmp_path, library):
    path = tmp_path / "nobody.yaml"
    assert _problems(path, library) == [f"{path}: no such file"]


def test_folder_given_as_file(tmp_path, library):
    assert _problems(tmp_path, library) == [f"{tmp_path}: is a folder, not a file"]


def test_too_large_file(tmp_path, library, monkeypatch):
    from cruxfit.cruxes import loading

    monkeypatch.setattr(loading, "MAX_INPUT_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text("name: Ada\nanswers: {}\n", encoding="utf-8")
    assert _problems(path, library) == [f"{path}: is 22 bytes; the limit is 10 bytes"]


# --------------------------------------------------------------------------- good profiles


def test_unsure_and_empty_values_are_missing_not_midpoint(library):
    text = _yaml("  safety-sabotage: unsure\n  safety-aligned-enough:\n  scaling-improves: ~\n"
                 "  world-deceptive: ' Unsure '\n  world-short-timelines: 0.4\n")
    profile = parse_profile_text(text, "p.yaml", library)
    assert profile.answers == {"world-short-timelines": 0.4}
    assert profile.unsure == ("safety-aligned-enough", "safety-sabotage", "scaling-improves",
                              "world-deceptive")


def test_whole_float_is_accepted_on_the_agree_scale(library):
    profile = parse_profile_text(_yaml("  safety-sabotage: 3.0\n  world-deceptive: 7\n"),
                                 "p.yaml", library)
    assert profile.answers == {"safety-sabotage": 3, "world-deceptive": 7}


def test_probability_bounds_are_allowed(library):
    profile = parse_profile_text(
        _yaml("  world-short-timelines: 0\n  world-alignment-hard: 1\n"), "p.yaml", library)
    assert profile.answers == {"world-alignment-hard": 1.0, "world-short-timelines": 0.0}


def test_json_profile(tmp_path, library):
    path = tmp_path / "ada.json"
    path.write_text(json.dumps({
        "name": "Ada", "kind": "individual",
        "answers": {"world-short-timelines": 0.25, "safety-sabotage": 2, "world-deceptive": None},
        "overrides": {"evals": {"neglectedness": "Medium", "reason": "Few test for sabotage."}},
        "notes": "From JSON.",
    }), encoding="utf-8")
    profile = load_profile(path, library)
    assert profile.name == "Ada"
    assert profile.answers == {"safety-sabotage": 2.0, "world-short-timelines": 0.25}
    assert profile.unsure == ("world-deceptive",)
    assert dict(profile.overrides["evals"].ratings) == {"neglectedness": "Medium"}
    assert profile.overrides["evals"].reason == "Few test for sabotage."
    assert profile.notes == "From JSON."
    assert profile.source == str(path)
    assert len(profile.sha256) == 64


def test_answers_come_back_in_library_order(library):
    ids = list(library.statement_ids)
    reverse = "".join(f"  {sid}: {1 if library.statement(sid).scale == 'probability' else 4}\n"
                      for sid in reversed(ids))
    profile = parse_profile_text(_yaml(reverse), "p.yaml", library)
    assert list(profile.answers) == ids


def test_byte_order_mark_is_allowed(library):
    profile = parse_profile_bytes("\ufeffname: Ada\nanswers: {}\n".encode(), "p.yaml", library)
    assert profile.name == "Ada"


def test_same_text_same_hash(library):
    a = parse_profile_text(_yaml("  safety-sabotage: 3\n"), "a.yaml", library)
    b = parse_profile_text(_yaml("  safety-sabotage: 3\n"), "b.yaml", library)
    c = parse_profile_text(_yaml("  safety-sabotage: 4\n"), "c.yaml", library)
    assert a.sha256 == b.sha256 != c.sha256


def test_date_like_name_stays_text(library):
    profile = parse_profile_text("name: 2024-01-31\nanswers: {}\n", "p.yaml", library)
    assert profile.name == "2024-01-31"


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "data").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_bundled_example_profiles_are_valid(library, path):
    profile = load_profile(path, library)
    assert profile.answers
    assert set(profile.answers) | set(profile.unsure) <= set(library.statement_ids)


# --------------------------------------------------------------------------- properties

_LIB = load_library()  # hypothesis strategies are built at import time
_STATEMENTS = _LIB.statements
_RANKED = [a.slug for a in _LIB.ranked]

#: YAML folds the line breaks NEL, LS and PS (and CR) and cannot hold most control characters,
#: so text meant to survive a YAML file keeps to printable characters, tabs and newlines.
_YAML_SAFE_TEXT = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                                include_characters="\n\t")


@st.composite
def valid_profile_data(draw, alphabet=None):
    def text(min_size=0, max_size=60):
        if alphabet is None:
            return st.text(min_size=min_size, max_size=max_size)
        return st.text(alphabet, min_size=min_size, max_size=max_size)

    answers = {}
    for s in _STATEMENTS:
        choice = draw(st.sampled_from(["skip", "unsure", "answer"]))
        if choice == "unsure":
            answers[s.id] = "unsure"
        elif choice == "answer" and s.scale == "agree7":
            answers[s.id] = draw(st.integers(1, 7))
        elif choice == "answer":
            answers[s.id] = draw(st.floats(0, 1, allow_nan=False))
    # Names hold no control characters (issue 14 refuses them); notes may.
    name = draw(text(1, 60).map(str.strip).filter(bool).filter(lambda t: control_char(t) is None))
    data = {"name": name, "kind": "individual", "answers": answers}
    overrides = draw(st.dictionaries(
        st.sampled_from(_RANKED),
        st.fixed_dictionaries(
            {"reason": text(1, 40).map(str.strip).filter(bool)},
            optional={d: st.sampled_from(["Low", "Medium", "High"])
                      for d in ("tractability", "hard", "easy", "neglectedness")},
        ).filter(lambda o: len(o) > 1),
        max_size=3,
    ))
    if overrides:
        data["overrides"] = overrides
    notes = draw(st.none() | text(0, 80))
    if notes is not None:
        data["notes"] = notes
    return data


def _same(a: Profile, b: Profile) -> None:
    assert a.name == b.name
    assert a.answers == b.answers
    assert list(a.answers) == list(b.answers)
    assert a.unsure == b.unsure
    assert a.kind == b.kind
    assert a.notes == b.notes
    assert {k: (dict(o.ratings), o.reason) for k, o in a.overrides.items()} == \
           {k: (dict(o.ratings), o.reason) for k, o in b.overrides.items()}


_PROPERTY = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.heavy
@_PROPERTY
@given(valid_profile_data())
def test_round_trip_through_to_data(data):
    profile = parse_profile(data, _LIB)
    _same(parse_profile(profile.to_data(), _LIB), profile)
    assert parse_profile(profile.to_data(), _LIB) == profile


@pytest.mark.heavy
@_PROPERTY
@given(valid_profile_data(_YAML_SAFE_TEXT))
def test_round_trip_through_yaml_and_json_text(data):
    profile = parse_profile(data, _LIB)
    as_yaml = dump_yaml(profile.to_data())
    _same(parse_profile_text(as_yaml, "p.yaml", _LIB), profile)
    as_json = json.dumps(profile.to_data(), ensure_ascii=False)
    _same(parse_profile_text(as_json, "p.json", _LIB, suffix=".json"), profile)


_VALIDATOR = None


def _schema_validator():
    """The published profile schema (what `cruxfit schema` prints), as a real validator."""
    global _VALIDATOR
    if _VALIDATOR is None:
        from jsonschema import Draft202012Validator

        from cruxfit.cruxes.schema import profile_schema

        _VALIDATOR = Draft202012Validator(profile_schema(_LIB, "test"))
    return _VALIDATOR


@_PROPERTY
@given(valid_profile_data())
def test_profiles_written_back_satisfy_the_schema(data):
    """What the reader accepts, and what a profile writes of itself, the schema accepts."""
    validator = _schema_validator()
    assert list(validator.iter_errors(data)) == []
    assert list(validator.iter_errors(parse_profile(data, _LIB).to_data())) == []


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\s?-?[0-9]{0,4}(\.[0-9]{0,2})?\s?%?\s?", fullmatch=True)
       | st.text(alphabet="0123456789.% -", max_size=8))
def test_the_schema_and_the_reader_agree_on_percentages(text):
    from cruxfit.cruxes.profile import check_answer

    sid = next(s.id for s in _STATEMENTS if s.scale == "probability")
    data = {"name": "Ada", "answers": {sid: text}}
    schema_ok = not list(_schema_validator().iter_errors(data))
    value, message = check_answer("probability", text)
    assert schema_ok == (message is None), (text, message)


_YAML_PIECES = st.sampled_from([
    "name: ", "answers:", "kind: ", "overrides:", "notes: ", "\n", "  ", "- ", ": ", "{", "}",
    "[", "]", ",", "&a ", "*a", "!!python/object:os.system ", "!x ", "'", '"', "#", "---\n",
    "? ", "|\n", ">\n", "~", "unsure", "3", "3.5", ".nan", ".inf", "-1", "0x1F", "1e400",
    "2020-13-45", "yes", "\t", "\x00", "\ufeff", "<<: ", "%YAML 1.2\n", "...\n",
    *[s.id for s in _STATEMENTS[:4]], "world-short-timelines: ", "governance", "tractability: Low",
    "reason: x", "individual", "organisation",
])
_yaml_ish = st.lists(_YAML_PIECES | st.text(max_size=8), max_size=40).map("".join)


def _reads_or_refuses(call) -> None:
    try:
        result = call()
    except InputError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
    else:
        assert isinstance(result, Profile)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_yaml_ish)
def test_fuzz_yaml_text_is_read_or_refused(text):
    _reads_or_refuses(lambda: parse_profile_text(text, "fuzz.yaml", _LIB))
    _reads_or_refuses(lambda: parse_profile_bytes(text.encode("utf-8", "surrogatepass"),
                                                  "fuzz.yaml", _LIB))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_bytes_are_read_or_refused(raw):
    _reads_or_refuses(lambda: parse_profile_bytes(raw, "fuzz.yaml", _LIB))
    _reads_or_refuses(lambda: parse_profile_bytes(raw, "fuzz.json", _LIB, suffix=".json"))


_scalars = (st.none() | st.booleans() | st.integers() | st.floats()
            | st.text(max_size=12) | st.sampled_from(["unsure", "Low", "High", "individual"]))
_keys = st.text(max_size=12) | st.sampled_from(
    ["name", "kind", "answers", "notes", "overrides", "reason", "tractability",
     *[s.id for s in _STATEMENTS], *_RANKED, "open-source"])
_json_like = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=6),
    max_leaves=30,
)


@pytest.mark.heavy
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_like)
def test_fuzz_nested_data_is_read_or_refused(data):
    _reads_or_refuses(lambda: parse_profile(data, _LIB))
    text = json.dumps(data)  # NaN and infinity become NaN / Infinity, which must be refused
    _reads_or_refuses(lambda: parse_profile_text(text, "fuzz.json", _LIB, suffix=".json"))
    if _has_non_finite(data):
        with pytest.raises(InputError):
            parse_profile_text(text, "fuzz.json", _LIB, suffix=".json")


def _has_non_finite(data) -> bool:
    if isinstance(data, float):
        return not math.isfinite(data)
    if isinstance(data, list):
        return any(_has_non_finite(v) for v in data)
    if isinstance(data, dict):
        return any(_has_non_finite(v) for v in data.values())
    return False


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([s.id for s in _STATEMENTS]), _scalars, max_size=8))
def test_fuzz_answers_are_read_or_refused(answers):
    _reads_or_refuses(lambda: parse_profile({"name": "Ada", "answers": answers}, _LIB))


def test_exponent_only_floats_are_numbers(library):
    """YAML 1.1 would read 1e-3 as text; cruxfit reads it as the number people mean."""
    prof = parse_profile_text("name: x\nanswers:\n  world-short-timelines: 1e-3\n", "p.yaml", library)
    assert prof.answers == {"world-short-timelines": 0.001}
