"""`cruxfit assess`: the questionnaire in the terminal, piped, interrupted and resumed.

Most tests drive the command through click's CliRunner with answers on standard input, one
per line (the first line is the name). The keyboard-interrupt tests call ``run_assess``
directly with a standard input that raises KeyboardInterrupt after some lines, and two tests
drive the installed `cruxfit` in a real pseudo-terminal with pexpect.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cruxfit.cli import main
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.profile import load_profile
from cruxfit.cruxes.sections import question_order
from cruxfit.pipeline.questionnaire import (
    AssessInterrupted,
    interpret,
    progress_path,
    run_assess,
)

A7_REASK = "Type a whole number from 1 to 7; Enter or s = unsure, ? = explain, b = back, q = quit."
CRUXFIT = Path(sys.executable).parent / "cruxfit"


# --------------------------------------------------------------------------- helpers


def script(library, *, name: str = "Ada", fit: bool = True) -> tuple[list[str], dict[str, Any]]:
    """Input lines answering every question, and the profile data they must give.

    Agreement answers cycle through 1..7, every fifth statement is unsure (alternately an
    empty line and "s"), the first probability is given as a percentage.
    """
    lines = [name]
    answers: dict[str, Any] = {}
    fit_answers: dict[str, Any] = {}
    probabilities = iter([("70%", 0.7), ("0.25", 0.25), ("0.5", 0.5), ("10%", 0.1)])
    for k, q in enumerate(question_order(library)):
        if q.kind == "statement":
            if k % 5 == 4:
                lines.append("" if k % 2 else "s")
                answers[q.id] = "unsure"
            elif q.scale == "agree7":
                lines.append(str(k % 7 + 1))
                answers[q.id] = k % 7 + 1
            else:
                text, value = next(probabilities)
                lines.append(text)
                answers[q.id] = value
        elif q.kind == "fit-gate":
            lines.append("y" if fit else "n")
        elif fit:
            if k % 4 == 3:
                lines.append("")
                fit_answers[q.id] = "unsure"
            else:
                lines.append(str(7 - k % 7))
                fit_answers[q.id] = 7 - k % 7
    data: dict[str, Any] = {"name": name, "kind": "individual", "answers": answers}
    if fit:
        data["fit"] = fit_answers
    return lines, data


def feed(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def assess(runner, out: Path, lines: list[str] | str, *extra: str):
    text = lines if isinstance(lines, str) else feed(lines)
    return runner.invoke(main, ["assess", "-o", str(out), *extra], input=text)


class TtyStdin(io.StringIO):
    """Standard input that says it is a terminal (an interactive session re-asks)."""

    def isatty(self) -> bool:  # noqa: D102
        return True


class Session:
    """What an interactive run_assess printed (stdout, stderr) and returned."""

    def __init__(self, library, out: Path, lines: list[str]):
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.profile = run_assess(library, output=out, stdin=TtyStdin(feed(lines)),
                                  stdout=self.stdout, stderr=self.stderr)


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def ok(result) -> None:
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Traceback" not in result.output


class InterruptingStdin(io.StringIO):
    """Standard input that gives some lines, then raises KeyboardInterrupt (Ctrl-C)."""

    def __init__(self, lines: list[str]):
        super().__init__(feed(lines))
        self.left = len(lines)

    def readline(self, *args) -> str:  # noqa: D102
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return super().readline(*args)

    def isatty(self) -> bool:  # noqa: D102
        return False


class WatchingStdin(io.StringIO):
    """Standard input that records the saved progress each time a line is asked for."""

    def __init__(self, lines: list[str], progress: Path):
        super().__init__(feed(lines))
        self.progress = progress
        self.seen: list[dict[str, Any] | None] = []

    def readline(self, *args) -> str:  # noqa: D102
        self.seen.append(read_yaml(self.progress) if self.progress.exists() else None)
        return super().readline(*args)


# --------------------------------------------------------------------------- order and parsing


def test_questions_are_grouped_by_crux_then_fit_beliefs_then_world_then_personal_fit(library):
    order = question_order(library)
    statements = [q.id for q in order if q.kind == "statement"]
    assert sorted(statements) == sorted(library.statement_ids)  # each exactly once
    crux_ids = [c.statement for crux in library.seed.cruxes for c in crux.considerations]
    assert statements[: len(crux_ids)] == crux_ids
    seed_beliefs = [b.statement for b in (*library.seed.good_fit, *library.seed.less_relevant)]
    middle = statements[len(crux_ids): len(crux_ids) + len(seed_beliefs)]
    assert middle == [s for s in seed_beliefs if s not in crux_ids]
    assert all(s.startswith("world-") for s in statements[len(crux_ids) + len(seed_beliefs):])
    tail = order[len(statements):]
    assert [q.kind for q in tail] == ["fit-gate"] + ["fit"] * len(library.fit_items)
    assert [q.id for q in tail[1:]] == [f.id for f in library.fit_items]


@pytest.mark.parametrize("text, value", [
    ("70%", 0.7), ("70 %", 0.7), ("0.7", 0.7), (".25", 0.25), ("0", 0.0), ("1", 1.0),
    ("12.5%", 0.125), ("100%", 1.0), ("0%", 0.0), ("1e-3", 0.001), (" 0.3 ", 0.3),
])
def test_probability_answers(text, value):
    reply = interpret("probability", text)
    assert (reply.action, reply.value) == ("answer", pytest.approx(value))


@pytest.mark.parametrize("text", ["70", "1.5", "-0.1", "150%", "abc", "nan", "inf", "0,7", "7/10"])
def test_bad_probabilities_are_refused_with_the_allowed_values(text):
    reply = interpret("probability", text)
    assert reply.action == "invalid"
    assert "a probability from 0 to 1 (for example 0.7) or a percentage (70%)" in reply.message
    if text == "70":
        assert "for 70 percent type 70%" in reply.message


@pytest.mark.parametrize("scale", ["agree7", "fit7"])
@pytest.mark.parametrize("text", ["0", "8", "9", "x", "3.5", "5.0", "-1", "+3", "seven"])
def test_bad_scale_answers_are_refused(scale, text):
    assert interpret(scale, text).action == "invalid"


@pytest.mark.parametrize("text, action", [
    ("", "unsure"), ("s", "unsure"), ("S", "unsure"), ("unsure", "unsure"), ("?", "help"),
    ("b", "back"), ("q", "quit"), (" 4 ", "answer"),
])
def test_keys(text, action):
    assert interpret("agree7", text).action == action


# --------------------------------------------------------------------------- piped answers


def test_piped_answers_give_the_expected_profile(runner, library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "ada.yaml"
    result = assess(runner, out, lines)
    ok(result)
    assert result.stderr == ""
    assert read_yaml(out) == expected
    assert not progress_path(out).exists()
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# cruxfit profile, written by `cruxfit assess`")
    assert f"Wrote {out}:" in result.stdout
    assert f"Next: cruxfit report {out} -o {out.with_suffix('.pdf')}" in result.stdout
    # The transcript shows every question and echoes each piped answer after its prompt.
    assert result.stdout.count("Your answer (1-7;") == sum(
        1 for s in library.statements if s.scale == "agree7")
    prompt = "Your answer (1-7; Enter = unsure, ? = explain, b = back, q = quit): "
    assert f"{prompt}1\n" in result.stdout


def test_the_written_profile_passes_validate(runner, library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "me.yaml"
    ok(assess(runner, out, lines))
    result = runner.invoke(main, ["validate", str(out)])
    ok(result)
    assert result.stdout.startswith(f"{out}: ok (Ada: ")
    profile = load_profile(out, library)
    assert profile.answers == {k: v for k, v in expected["answers"].items() if v != "unsure"}
    assert set(profile.unsure) == {k for k, v in expected["answers"].items() if v == "unsure"}
    assert profile.fit == {k: v for k, v in expected["fit"].items() if v != "unsure"}


def test_crux_introductions_and_scale_labels_are_shown(runner, library, tmp_path):
    lines, _ = script(library)
    result = assess(runner, tmp_path / "me.yaml", lines)
    ok(result)
    flat = " ".join(result.stdout.split())
    for crux in library.seed.cruxes:
        assert crux.title in flat
        assert " ".join(crux.intro.split()) in flat
    assert "1 strongly disagree | 2 disagree | 3 somewhat disagree" in flat
    assert "7 strongly agree" in flat
    assert "1 not at all | 2 hardly" in flat


def test_empty_name_is_me(runner, library, tmp_path):
    lines, expected = script(library, name="")
    out = tmp_path / "me.yaml"
    ok(assess(runner, out, lines))
    assert read_yaml(out) == {**expected, "name": "Me"}


def test_unusual_names_survive_yaml(runner, library, tmp_path):
    for i, name in enumerate(["yes", "123", "O'Brien: \"Al\" #1", "Zoë 山田", "- dash"]):
        lines, expected = script(library, name=name)
        out = tmp_path / f"n{i}.yaml"
        ok(assess(runner, out, lines))
        assert read_yaml(out)["name"] == name
        assert load_profile(out, library).name == name


def test_json_output(runner, library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "ada.json"
    ok(assess(runner, out, lines))
    assert json.loads(out.read_text(encoding="utf-8")) == expected
    ok(runner.invoke(main, ["validate", str(out)]))


def test_back_unsure_and_help(runner, library, tmp_path):
    order = question_order(library)
    q1, q2, q3, q4 = order[:4]
    lines = ["", "5", "?", "3", "b", "6", "", "s", "q"]
    out = tmp_path / "me.yaml"
    result = assess(runner, out, lines)
    ok(result)
    assert not out.exists()
    saved = read_yaml(progress_path(out))
    assert saved["name"] == "Me"
    assert saved["answers"] == {q1.id: 5, q2.id: 6, q3.id: "unsure", q4.id: "unsure"}
    # '?' explains which belief the statement is evidence about and what agreeing means.
    flat = " ".join(result.stdout.split())
    statement = library.statement(q2.id)
    variable = library.variable(statement.variable)
    assert f'"{variable.name}"' in flat
    assert " ".join(variable.proposition.split()).rstrip(".") in flat
    fit = "a better" if statement.favours > 0 else "a worse"
    assert f"For AI-assisted alignment: agreeing makes it {fit} fit for you" in flat
    # 'b' goes back to q2 and shows the earlier answer; q2 is asked twice.
    assert "(earlier answer: 3, somewhat disagree)" in result.stdout
    first_line = q2.text.split()[0:4]
    assert flat.count(" ".join(first_line)) == 2
    assert "Stopped. Your answers are saved in" in result.stdout
    assert "--resume" in result.stdout


def test_back_at_the_first_question(runner, library, tmp_path):
    out = tmp_path / "me.yaml"
    result = assess(runner, out, ["Ada", "b", "2", "q"])
    ok(result)
    assert "This is the first question; there is nothing to go back to." in result.stderr
    assert read_yaml(progress_path(out))["answers"] == {question_order(library)[0].id: 2}


def test_invalid_answers_are_reasked_with_the_allowed_values(library, tmp_path):
    out = tmp_path / "me.yaml"
    result = Session(library, out, ["Ada", "9", "x", "3.5", "0", "4", "q"])
    errors = result.stderr.getvalue().splitlines()
    assert errors == [f'Not an answer here: "{bad}". {A7_REASK}' for bad in ("9", "x", "3.5", "0")]
    assert read_yaml(progress_path(out))["answers"] == {question_order(library)[0].id: 4}


def test_probability_questions_accept_percentages_and_reask(library, tmp_path):
    order = question_order(library)
    first_prob = next(i for i, q in enumerate(order) if q.scale == "probability")
    lines = ["Ada"] + ["4"] * first_prob + ["70", "1.5", "70%", "q"]
    out = tmp_path / "me.yaml"
    result = Session(library, out, lines)
    stdout, stderr = result.stdout.getvalue(), result.stderr.getvalue()
    assert "Your probability (0-1 or %;" in stdout
    assert "0 = certainly not, 0.5 = even odds, 1 = certainly" in stdout
    assert 'Not an answer here: "70" is above 1 (for 70 percent type 70%).' in stderr
    assert 'Not an answer here: "1.5" is above 1' in stderr
    assert read_yaml(progress_path(out))["answers"][order[first_prob].id] == 0.7


def test_personal_fit_section_can_be_skipped(runner, library, tmp_path):
    lines, expected = script(library, fit=False)
    out = tmp_path / "me.yaml"
    result = assess(runner, out, lines)
    ok(result)
    assert "fit" not in expected
    assert read_yaml(out) == expected
    assert "personal fit skipped" in result.stdout
    assert "Describes you" not in result.stdout
    assert load_profile(out, library).fit == {}


def test_going_back_from_personal_fit_to_decline_it(runner, library, tmp_path):
    lines, expected = script(library, fit=False)
    gate = lines.index("n")
    lines[gate:] = ["y", "6", "b", "b", "n"]  # answer one item, back to the gate, decline
    out = tmp_path / "me.yaml"
    ok(assess(runner, out, lines))
    assert read_yaml(out) == expected


def test_gate_help_and_reask(library, tmp_path):
    lines, expected = script(library, fit=False)
    gate = lines.index("n")
    lines[gate:gate] = ["?", "maybe"]
    out = tmp_path / "me.yaml"
    result = Session(library, out, lines)
    assert "Personal fit: your skills and situation multiply" in " ".join(
        result.stdout.getvalue().split())
    assert 'Not an answer here: "maybe". Type y to answer them or n to skip them' in \
        result.stderr.getvalue()
    assert read_yaml(out) == expected


def test_fit_item_help_names_the_approaches_it_favours(runner, library, tmp_path):
    lines, _ = script(library)
    first_fit = len(lines) - len(library.fit_items)
    lines[first_fit:first_fit] = ["?"]
    result = assess(runner, tmp_path / "me.yaml", lines)
    ok(result)
    flat = " ".join(result.stdout.split())
    item = library.fit_items[0]
    assert "This is about you, not the world." in flat
    for slug in item.weights:
        assert library.approach(slug).name in flat


# --------------------------------------------------------------------------- progress and resume


def test_input_running_out_saves_progress_and_exits_2(runner, library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "me.yaml"
    given = 9  # the name and eight answers
    result = assess(runner, out, lines[:given])
    assert result.exit_code == 2
    total = len(question_order(library))
    progress = progress_path(out)
    assert result.stderr.splitlines() == [
        f"Error: standard input: ended before the questions did: {total - (given - 1)} questions "
        f"remain; progress is saved to {progress}, and `cruxfit assess -o {out} --resume` continues"
    ]
    assert not out.exists()
    saved = read_yaml(progress)
    assert saved["name"] == "Ada"
    order = [q.id for q in question_order(library)][: given - 1]
    assert saved["answers"] == {sid: expected["answers"][sid] for sid in order}

    # --resume continues at the first unanswered question and finishes the same profile.
    result = assess(runner, out, lines[given:], "--resume")
    ok(result)
    assert "Resuming Ada's questionnaire" in result.stdout
    assert "Your name" not in result.stdout
    assert read_yaml(out) == expected
    assert not progress.exists()


def test_empty_input_saves_nothing(runner, library, tmp_path):
    out = tmp_path / "me.yaml"
    result = assess(runner, out, "")
    assert result.exit_code == 2
    assert "ended before the first answer" in result.stderr
    assert "nothing was saved" in result.stderr
    assert not progress_path(out).exists()


def test_progress_is_saved_after_every_answer(library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "me.yaml"
    progress = progress_path(out)
    stdin = WatchingStdin(lines, progress)
    run_assess(library, output=out, stdin=stdin, stdout=io.StringIO(), stderr=io.StringIO())
    order = question_order(library)
    assert stdin.seen[0] is None  # nothing before the name
    for k, seen in enumerate(stdin.seen[2: len(library.statements) + 1], start=1):
        want = {q.id: expected["answers"][q.id] for q in order[:k]}
        assert seen["answers"] == want, k


def test_resume_finds_the_first_unanswered_question_after_going_back(runner, library, tmp_path):
    order = question_order(library)
    out = tmp_path / "me.yaml"
    ok(assess(runner, out, ["Ada", "1", "2", "3", "b", "b", "q"]))
    saved = read_yaml(progress_path(out))
    assert saved["answers"] == {order[0].id: 1, order[1].id: 2, order[2].id: 3}
    result = assess(runner, out, ["q"], "--resume")
    ok(result)
    assert f"[4/{len(order)}]" in result.stdout


def test_starting_again_without_resume_is_refused(runner, library, tmp_path):
    out = tmp_path / "me.yaml"
    assess(runner, out, ["Ada", "5"])
    progress = progress_path(out)
    before = progress.read_bytes()
    result = assess(runner, out, ["Bo", "1"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {progress}: an unfinished questionnaire is saved here; run `cruxfit assess -o "
        f"{out} --resume` to continue it, or delete the file to start again\n")
    assert result.stdout == ""
    assert progress.read_bytes() == before


def test_resume_without_progress_is_refused(runner, tmp_path):
    out = tmp_path / "me.yaml"
    result = assess(runner, out, ["1"], "--resume")
    assert result.exit_code == 2
    assert "no saved progress to resume" in result.stderr
    assert not out.exists()


def test_default_output_gives_short_commands(runner, library, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["assess"], input="Ada\n5\n")
    assert result.exit_code == 2
    assert "`cruxfit assess --resume` continues" in result.stderr
    assert Path("profile.yaml.progress.yaml").exists()


def test_existing_output_is_refused_unless_force(runner, library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "me.yaml"
    out.write_text("keep me\n")
    result = assess(runner, out, lines)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {out}: already exists;")
    assert "--force" in result.stderr
    assert result.stdout == ""  # refused before the first question
    assert out.read_text() == "keep me\n"
    ok(assess(runner, out, lines, "--force"))
    assert read_yaml(out) == expected


def test_missing_output_folder_fails_before_any_question(runner, tmp_path):
    result = assess(runner, tmp_path / "nope" / "me.yaml", ["Ada"])
    assert result.exit_code == 2  # an unusable output location is a bad argument
    assert "the output folder does not exist" in result.stderr
    assert result.stdout == ""


def test_a_broken_progress_file_is_named(runner, library, tmp_path):
    out = tmp_path / "me.yaml"
    assess(runner, out, ["Ada", "5"])
    progress = progress_path(out)
    data = read_yaml(progress)
    data["answers"][question_order(library)[0].id] = 12
    progress.write_text(yaml.safe_dump(data))
    result = assess(runner, out, ["q"], "--resume")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {progress}: answers.{question_order(library)[0].id}: "
                                    "12 is off the 1-7 scale")
    assert "delete the file to start again" in result.stderr


def test_every_problem_of_a_progress_file_is_listed_at_once(library, tmp_path):
    from cruxfit.pipeline.questionnaire import load_progress

    agree7 = next(s.id for s in library.statements if s.scale == "agree7")
    prob = next(s.id for s in library.statements if s.scale == "probability")
    fit = library.fit_items[0].id
    path = tmp_path / "me.yaml.progress.yaml"
    path.write_text(yaml.safe_dump({
        "progress_version": 2, "nmae": "Ada", 7: "x", "name": "\x1b[2J",
        "answers": {prob: "130%", "no-such-statement": 3, agree7: 0},
        "fit_section": "yes", "fit": {fit: 9},
    }, sort_keys=False))
    with pytest.raises(InputError) as info:
        load_progress(path, library, io.StringIO())
    fix = "; fix it or delete the file to start again"
    a7 = 'allowed: a whole number from 1 (strongly disagree) to 7 (strongly agree), or "unsure"'
    assert [str(p) for p in info.value.problems] == [f"{path}: {line}{fix}" for line in [
        "nmae: is not a progress key",
        "7: is not a progress key",
        "progress_version: must be 1; this file was not written by this version of cruxfit assess",
        "name: must be printable text of at most 200 characters",
        f'answers.{prob}: "130%" is outside 0% to 100%; allowed: a probability from 0 to 1 (for '
        'example 0.3), a percentage such as "30%", or "unsure"',
        f"answers.{agree7}: 0 is off the 1-7 scale; {a7}",
        "fit_section: must be true, false or empty",
        f"fit.{fit}: 9 is off the 1-7 scale; {a7}",
    ]]


def test_a_progress_file_from_another_library_keeps_what_it_can(library, tmp_path):
    from cruxfit.pipeline.questionnaire import load_progress

    agree7 = next(s.id for s in library.statements if s.scale == "agree7")
    prob = next(s.id for s in library.statements if s.scale == "probability")
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({
        "progress_version": 1, "library_sha256": "older", "name": "Ada",
        "answers": {prob: "30%", "gone": 4, agree7: "unsure"}, "fit_section": None,
        "fit": {"old-item": 2, library.fit_items[0].id: 6}}))
    err = io.StringIO()
    state = load_progress(path, library, err)
    assert state.name == "Ada"
    assert state.answers == {prob: 0.3, agree7: "unsure"}
    assert state.fit == {library.fit_items[0].id: 6}
    assert err.getvalue() == (f"Note: {path}: the crux library has changed since this progress was "
                              "saved; answers to questions it no longer has are dropped: gone, "
                              "old-item\n")


def test_help_documents_the_progress_file_and_keys(runner):
    result = runner.invoke(main, ["assess", "--help"])
    ok(result)
    flat = " ".join(result.stdout.split())
    for text in ("OUTPUT.progress.yaml", "--resume", "--force", "Enter or s", "back one question",
                 "piped in", "130"):
        assert text in flat


def test_control_characters_are_not_echoed(runner, tmp_path):
    result = assess(runner, tmp_path / "me.yaml", ["Ada", "\x1b[2J", "q"])
    assert result.exit_code == 2
    assert "\x1b" not in result.output
    assert 'Not an answer here: "?[2J".' in result.stderr


def test_piped_invalid_line_stops_without_shifting_answers(runner, library, tmp_path):
    """Issue 16: re-asking a piped question would read the next line as its answer and
    shift every later answer by one question; a non-interactive session stops instead."""
    order = question_order(library)
    out = tmp_path / "me.yaml"
    lines = ["Ada", "5", "3", "9", "6", "2", "4"]
    result = assess(runner, out, lines)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    err = result.stderr.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"Error: standard input: line 4, question 3 of {len(order)} "
                             f"({order[2].id}): Not an answer here: \"9\".")
    assert f"saved to {progress_path(out)}" in err[0] and "--resume" in err[0]
    saved = read_yaml(progress_path(out))["answers"]
    assert saved == {order[0].id: 5, order[1].id: 3}  # kept, and nothing after the bad line


def test_piped_invalid_name_stops(runner, tmp_path):
    result = assess(runner, tmp_path / "me.yaml", ["x" * 300, "5"])
    assert result.exit_code == 2
    assert "line 1, the name: not a name" in result.stderr and "nothing was saved" in result.stderr


# --------------------------------------------------------------------------- interruption


@pytest.mark.parametrize("given", [2, 6, 14])
def test_an_interrupted_session_loses_no_answer(library, tmp_path, given):
    lines, expected = script(library)
    out = tmp_path / "me.yaml"
    err = io.StringIO()
    with pytest.raises(AssessInterrupted) as info:
        run_assess(library, output=out, stdin=InterruptingStdin(lines[:given]),
                   stdout=io.StringIO(), stderr=err)
    progress = progress_path(out)
    assert info.value.progress == progress
    assert isinstance(info.value, KeyboardInterrupt)
    assert (f"Interrupted; progress saved to {progress}; run `cruxfit assess -o {out} --resume` "
            "to continue.") in err.getvalue()
    saved = read_yaml(progress)
    order = [q.id for q in question_order(library)][: given - 1]
    assert saved["answers"] == {sid: expected["answers"][sid] for sid in order}
    assert not out.exists()

    profile = run_assess(library, output=out, resume=True, stdin=io.StringIO(feed(lines[given:])),
                         stdout=io.StringIO(), stderr=io.StringIO())
    assert profile is not None and profile.name == "Ada"
    assert read_yaml(out) == expected
    assert not progress.exists()


def test_interrupt_before_the_name_saves_nothing(library, tmp_path):
    out = tmp_path / "me.yaml"
    err = io.StringIO()
    with pytest.raises(AssessInterrupted) as info:
        run_assess(library, output=out, stdin=InterruptingStdin([]), stdout=io.StringIO(),
                   stderr=err)
    assert info.value.progress is None
    assert "Interrupted; nothing was saved." in err.getvalue()
    assert not progress_path(out).exists()


def test_direct_call_errors_are_input_errors(library, tmp_path):
    out = tmp_path / "me.yaml"
    with pytest.raises(InputError) as info:
        run_assess(library, output=out, stdin=io.StringIO("Ada\n3\n"), stdout=io.StringIO(),
                   stderr=io.StringIO())
    assert info.value.exit_code == 2
    assert "questions remain" in str(info.value)


# --------------------------------------------------------------------------- real terminal


def _spawn(args: list[str], cwd: Path):
    pexpect = pytest.importorskip("pexpect")
    if not CRUXFIT.exists():
        pytest.skip(f"{CRUXFIT} is not installed")
    env = {k: v for k, v in os.environ.items() if k != "CRUXFIT_LIBRARY"}
    env.update(TERM="xterm", COLUMNS="100", LINES="40")
    child = pexpect.spawn(str(CRUXFIT), args, cwd=str(cwd), env=env, encoding="utf-8",
                          timeout=15, dimensions=(40, 100))
    return pexpect, child


PROMPT = r"(Your answer \(1-7|Your probability \(0-1|Answer them\? \(Y/n|Describes you \(1-7)"


def _answer_rest(pexpect, child) -> None:
    """Answer every remaining question by reading the prompt it shows."""
    answers = {"Your answer": "5", "Your probability": "60%", "Answer them": "y",
               "Describes you": "6"}
    while True:
        if child.expect([PROMPT, "Wrote "]) == 1:
            return
        prompt = child.match.group(0)
        child.sendline(next(a for k, a in answers.items() if prompt.startswith(k)))


def test_in_a_real_terminal(library, tmp_path):
    pexpect, child = _spawn(["assess", "-o", "me.yaml"], tmp_path)
    order = question_order(library)
    child.expect(r"Your name, as the report should show it \[Me\]: ")
    child.sendline("Pat")
    child.expect(re.escape(f"[1/{len(order)}]"))
    child.expect(PROMPT)
    child.sendline("2")
    child.expect(re.escape(f"[2/{len(order)}]"))
    child.expect(PROMPT)
    child.sendline("?")
    child.expect("What this is about")
    child.expect(PROMPT)
    child.sendline("9")
    child.expect(re.escape('Not an answer here: "9". Type a whole number from 1 to 7'))
    child.sendline("3")
    child.expect(re.escape(f"[3/{len(order)}]"))
    child.expect(PROMPT)
    child.sendline("b")
    child.expect(re.escape("(earlier answer: 3, somewhat disagree)"))
    child.expect(PROMPT)
    child.sendline("")  # now unsure
    _answer_rest(pexpect, child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    data = read_yaml(tmp_path / "me.yaml")
    assert data["name"] == "Pat"
    assert data["answers"][order[0].id] == 2
    assert data["answers"][order[1].id] == "unsure"
    probability = next(q.id for q in order if q.scale == "probability")
    assert data["answers"][probability] == 0.6
    assert data["fit"] == {f.id: 6 for f in library.fit_items}
    assert not progress_path(tmp_path / "me.yaml").exists()


def test_ctrl_c_in_a_real_terminal_then_resume(library, tmp_path):
    pexpect, child = _spawn(["assess", "-o", "me.yaml"], tmp_path)
    order = question_order(library)
    child.expect("Your name")
    child.sendline("")
    for value in ("7", "6", "5"):
        child.expect(PROMPT)
        child.sendline(value)
    child.expect(re.escape(f"[4/{len(order)}]"))
    child.expect(PROMPT)
    assert child.isalive(), "the questionnaire ended before Ctrl-C: the test proves nothing"
    child.sendintr()
    child.expect(re.escape("Interrupted; progress saved to me.yaml.progress.yaml; run "
                           "`cruxfit assess -o me.yaml --resume` to continue."))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    saved = read_yaml(tmp_path / "me.yaml.progress.yaml")
    assert saved["answers"] == {order[0].id: 7, order[1].id: 6, order[2].id: 5}

    pexpect, child = _spawn(["assess", "-o", "me.yaml", "--resume"], tmp_path)
    child.expect("Resuming Me's questionnaire")
    child.expect(re.escape(f"[4/{len(order)}]"))
    _answer_rest(pexpect, child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    data = read_yaml(tmp_path / "me.yaml")
    assert data["name"] == "Me"
    assert [data["answers"][q.id] for q in order[:4]] == [7, 6, 5, 5]


# --------------------------------------------------------------------------- with a report


@pytest.mark.slow
def test_assess_then_report(runner, library, tmp_path):
    lines, expected = script(library)
    out = tmp_path / "me.yaml"
    report = tmp_path / "me.json"
    result = runner.invoke(main, ["assess", "-o", str(out), "--report", str(report)],
                           input=feed(lines))
    assert result.exit_code in (0, 3), result.output
    assert read_yaml(out) == expected
    data = json.loads(report.read_text(encoding="utf-8"))
    assert "verdict" in data
    assert "Next: cruxfit report" not in result.stdout

