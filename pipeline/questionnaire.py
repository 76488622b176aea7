"""The terminal self-assessment behind `cruxfit assess`.

:func:`run_assess` asks every statement of the crux library, then (optionally) the
personal-fit items, and writes a validated profile, in the order of
:mod:`cruxfit.cruxes.sections`.

Answers are read one line at a time from standard input, so a person in a terminal and a
script piping answers in are served by the same loop. Besides an answer, every question
accepts ``?`` (explain), Enter or ``s`` (unsure), ``b`` (back one question) and ``q`` (quit,
keeping progress).

After every answer the whole session is written atomically to a progress file next to the
output (``<output>.progress.yaml``), so Ctrl-C, a kill or the end of piped input never loses
an answer that was given; ``--resume`` continues at the first unanswered question. When every
question is answered the profile is written atomically and the progress file is removed.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import yaml

from cruxfit.cruxes.errors import InputError, Problem
from cruxfit.cruxes.library import AGREE7_LABELS, Library, default_library_dir
from cruxfit.cruxes.loading import load_document
from cruxfit.cruxes.profile import MAX_NAME, UNSURE, Profile, parse_profile_text

# The progress file's format (its keys, its version, its checks) is described there.
from cruxfit.cruxes.progress import (  # noqa: F401
    PROGRESS_KEYS,
    PROGRESS_VERSION,
    name_ok,
    read_progress,
)
from cruxfit.cruxes.sections import (
    FIT7_LABELS,
    Question,
    build_sections,
    estimated_minutes,
)
from cruxfit.cruxes.version import cruxfit_version
from cruxfit.reports.files import check_output_path, write_atomic_text

DEFAULT_NAME = "Me"
DEFAULT_OUTPUT = Path("profile.yaml")
PROGRESS_SUFFIX = ".progress.yaml"
#: Longest reply read from one line of input (a name is at most 200 characters).
MAX_REPLY = 1000

HELP_WORDS = ("?", "h", "help")
UNSURE_WORDS = ("", "s", UNSURE)
BACK_WORDS = ("b", "back")
QUIT_WORDS = ("q", "quit", "exit")
YES_WORDS = ("", "y", "yes")
NO_WORDS = ("n", "no", "s", "skip")

KEYS_AGREE = "Enter or s = unsure, ? = explain, b = back, q = quit"


# --------------------------------------------------------------------------- progress file


def progress_path(output: str | Path) -> Path:
    """The progress file of a questionnaire whose profile goes to ``output``."""
    output = Path(output)
    return output.with_name(output.name + PROGRESS_SUFFIX)


# --------------------------------------------------------------------------- answers


@dataclass
class Reply:
    """What one line of input means for one question."""

    action: str  # "answer", "unsure", "help", "back", "quit", "invalid"
    value: Any = None
    message: str = ""


def _allowed(scale: str) -> str:
    if scale == "agree7":
        return f"Type a whole number from 1 to 7; {KEYS_AGREE}."
    if scale == "fit7":
        return f"Type a whole number from 1 (not at all) to 7 (very well); {KEYS_AGREE}."
    if scale == "probability":
        return ("Type a probability from 0 to 1 (for example 0.7) or a percentage (70%); "
                f"{KEYS_AGREE}.")
    return "Type y to answer them or n to skip them; ? = explain, b = back, q = quit."


_PROB = re.compile(r"^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)$")


def interpret(scale: str, raw: str) -> Reply:
    """Read one line of input as a reply to a question on ``scale``."""
    text = raw.strip()
    word = text.lower()
    if word in HELP_WORDS:
        return Reply("help")
    if word in BACK_WORDS:
        return Reply("back")
    if word in QUIT_WORDS:
        return Reply("quit")
    shown = _printable(text if len(text) <= 40 else text[:37] + "...")
    invalid = Reply("invalid", message=f'Not an answer here: "{shown}". {_allowed(scale)}')
    if scale == "yesno":
        if word in YES_WORDS:
            return Reply("answer", True)
        if word in NO_WORDS:
            return Reply("answer", False)
        return invalid
    if word in UNSURE_WORDS:
        return Reply("unsure")
    if scale in ("agree7", "fit7"):
        if re.fullmatch(r"[0-9]+", text) and 1 <= int(text) <= 7:
            return Reply("answer", int(text))
        return invalid
    m = _PROB.match(text)
    if not m:
        return invalid
    try:
        value = float(m.group(1))
    except ValueError:  # pragma: no cover - the pattern only admits valid floats
        return invalid
    if m.group(2):
        if not 0 <= value <= 100:
            return Reply("invalid", message=f'Not an answer here: "{shown}" is outside 0% to 100%. '
                                            f"{_allowed(scale)}")
        value = round(value / 100, 12)
    elif 1 < value <= 100:
        hint = f"for {m.group(1)} percent type {m.group(1)}%"
        return Reply("invalid", message=f'Not an answer here: "{shown}" is above 1 ({hint}). '
                                        f"{_allowed(scale)}")
    if not math.isfinite(value) or not 0 <= value <= 1:
        return invalid
    return Reply("answer", value)


def _printable(text: str) -> str:
    """Text safe to echo to a terminal: control characters become '?'."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def describe_value(scale: str, value: Any) -> str:
    """A short human reading of a stored answer: '5 (somewhat agree)', '0.7', 'unsure'."""
    if value == UNSURE or value is None:
        return "unsure"
    if scale == "agree7":
        return f"{int(value)}, {AGREE7_LABELS[int(value) - 1]}"
    if scale == "fit7":
        return f"{int(value)}, {FIT7_LABELS[int(value) - 1]}"
    if scale == "yesno":
        return "yes" if value else "no (skipped)"
    return _num(value)


def _num(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


# --------------------------------------------------------------------------- session state


@dataclass
class State:
    """Everything a session has collected; what the progress file holds."""

    name: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # statement id -> number or "unsure"
    fit_section: bool | None = None
    fit: dict[str, Any] = field(default_factory=dict)  # fit item id -> 1..7 or "unsure"

    def has_anything(self) -> bool:
        return self.name is not None or bool(self.answers) or self.fit_section is not None

    def get(self, q: Question) -> Any:
        if q.kind == "statement":
            return self.answers.get(q.id)
        if q.kind == "fit":
            return self.fit.get(q.id)
        return self.fit_section

    def is_answered(self, q: Question) -> bool:
        if q.kind == "statement":
            return q.id in self.answers
        if q.kind == "fit":
            return q.id in self.fit
        return self.fit_section is not None

    def set(self, q: Question, value: Any) -> None:
        if q.kind == "statement":
            self.answers[q.id] = value
        elif q.kind == "fit":
            self.fit[q.id] = value
        else:
            self.fit_section = bool(value)


def progress_text(library: Library, state: State, output: Path, resume_cmd: str) -> str:
    data: dict[str, Any] = {
        "progress_version": PROGRESS_VERSION,
        "cruxfit": cruxfit_version(),
        "library_sha256": library.sha256,
        "output": str(output),
        "name": state.name,
        "answers": dict(state.answers),
        "fit_section": state.fit_section,
        "fit": dict(state.fit),
    }
    header = (
        "# cruxfit assess: the answers so far of an unfinished questionnaire.\n"
        f"# Continue with: {resume_cmd}\n"
        "# Delete this file to start again from the beginning.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def load_progress(path: Path, library: Library, err: TextIO) -> State:
    """Read a progress file back; every problem is reported naming the file and the field."""
    progress, problems = read_progress(load_document(path), library, str(path))
    if problems:
        raise InputError(problems)
    state = State(name=progress.name)
    statements = {s.id: s for s in library.statements}
    for sid, value in progress.answers.items():
        state.answers[sid] = UNSURE if value is None else _stored(statements[sid].scale, value)
    if library.fit_items:
        state.fit_section = progress.fit_section
    for fid, value in progress.fit.items():
        state.fit[fid] = UNSURE if value is None else int(value)
    if progress.dropped:
        err.write(f"Note: {path}: the crux library has changed since this progress was saved; "
                  f"answers to questions it no longer has are dropped: {', '.join(progress.dropped)}\n")
    elif progress.library_sha256 not in (None, library.sha256):
        err.write(f"Note: {path}: the crux library has changed since this progress was saved; "
                  "the answers given are kept.\n")
    return state


def _stored(scale: str, value: float) -> Any:
    return int(value) if scale == "agree7" else float(value)


# --------------------------------------------------------------------------- the profile


def profile_data(library: Library, state: State) -> dict[str, Any]:
    """The profile as plain data, answers in library order."""
    answers = {s.id: state.answers[s.id] for s in library.statements if s.id in state.answers}
    data: dict[str, Any] = {"name": state.name or DEFAULT_NAME, "kind": "individual",
                            "answers": answers}
    if state.fit_section and library.fit_items:
        data["fit"] = {f.id: state.fit[f.id] for f in library.fit_items if f.id in state.fit}
    return data


def _yaml_line(key: str, value: Any) -> str:
    text = yaml.safe_dump({key: value}, allow_unicode=True, width=10_000, sort_keys=False)
    return text.rstrip("\n")


def profile_text(library: Library, state: State, output: Path) -> str:
    """The profile file's text: YAML with a header and a comment per answer (JSON for .json)."""
    data = profile_data(library, state)
    if output.suffix.lower() == ".json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    n = len(library.statements)
    given = sum(1 for v in data["answers"].values() if v != UNSURE)
    target = shlex.quote(str(output))
    lines = [
        "# cruxfit profile, written by `cruxfit assess` "
        f"(cruxfit {cruxfit_version()}; {given} of {n} statements answered).",
        "# Agreement answers: 1 strongly disagree ... 4 neither agree nor disagree ... "
        "7 strongly agree.",
        '# Probabilities: 0 to 1. "unsure" counts as no answer, not as the middle of the scale.',
        "# Personal fit (fit:): how well each item describes you, 1 not at all ... 7 very well.",
        f"# Check it: cruxfit validate {target}    Report: cruxfit report {target}",
        "# `cruxfit questions` lists the statements; you may edit the answers here.",
        _yaml_line("name", data["name"]),
        "kind: individual",
        "answers:",
    ]
    scales = {s.id: s.scale for s in library.statements}
    for sid, value in data["answers"].items():
        line = f"  {sid}: {_scalar(value)}"
        if scales[sid] == "agree7" and value != UNSURE:
            line += f"  # {AGREE7_LABELS[int(value) - 1]}"
        lines.append(line)
    if not data["answers"]:
        lines[-1] = "answers: {}"
    if "fit" in data:
        if data["fit"]:
            lines.append("fit:")
            for fid, value in data["fit"].items():
                line = f"  {fid}: {_scalar(value)}"
                if value != UNSURE:
                    line += f"  # describes me {FIT7_LABELS[int(value) - 1]}"
                lines.append(line)
        else:
            lines.append("fit: {}")
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value == UNSURE:
        return UNSURE
    if isinstance(value, int):
        return str(value)
    return _num(value)


# --------------------------------------------------------------------------- the session


def _finish(library: Library, state: State, output: Path, progress: Path) -> Profile:
    """Write the profile (validated first, atomically), then remove the progress file."""
    text = profile_text(library, state, output)
    # Read the text back exactly as `cruxfit validate` will: a bug here must never write a file.
    profile = parse_profile_text(text, str(output), library, suffix=output.suffix)
    write_atomic_text(output, text)
    try:
        progress.unlink()
    except FileNotFoundError:
        pass
    return profile


class AssessInterrupted(KeyboardInterrupt):
    """Ctrl-C during the questionnaire, after progress was saved (the CLI exits 130)."""

    def __init__(self, progress: Path | None):
        super().__init__()
        self.progress = progress


class _InputEnded(Exception):
    """Standard input ended (EOF) before the questions did."""


class _BadLine(Exception):
    """A piped (non-interactive) line that is not an answer to its question.

    Asking again would read the *next* line as the answer to this question and shift every
    later answer by one, so a non-interactive session stops here instead.
    """

    def __init__(self, line: int, where: str, message: str):
        super().__init__(message)
        self.line = line
        self.where = where
        self.message = message


def _command(library: Library, *parts: str) -> str:
    words = ["cruxfit"]
    if Path(library.source).resolve() != default_library_dir().resolve():
        words += ["--library", shlex.quote(library.source)]
    words += list(parts)
    return " ".join(words)


def _assess_command(library: Library, output: Path, extra: str = "") -> str:
    parts = ["assess"]
    if output != DEFAULT_OUTPUT:
        parts += ["-o", shlex.quote(str(output))]
    if extra:
        parts.append(extra)
    return _command(library, *parts)


class _Session:
    def __init__(self, library: Library, output: Path, state: State, inp: TextIO, out: TextIO,
                 err: TextIO, save: Callable[[], None]):
        self.library = library
        self.output = output
        self.state = state
        self.inp = inp
        self.out = out
        self.err = err
        self.save = save
        self.tty = _isatty(inp)
        self.line_no = 0  # lines read from standard input so far (for messages)
        self.sections, self.questions = build_sections(library)
        self.section_by_id = {s.id: s for s in self.sections}
        self.width = max(40, min(shutil.get_terminal_size((88, 24)).columns, 88) - 1)
        self.shown_sections: set[str] = set()
        self.last_section: str | None = None
        self.variables = {v.id: v for v in library.variables}
        self.statements = {s.id: s for s in library.statements}

    # ---- output helpers
    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def wrap(self, text: str, indent: str = "  ") -> None:
        lines = textwrap.wrap(text, self.width, initial_indent=indent, subsequent_indent=indent)
        for line in lines or [""]:
            self.say(line)

    def pack(self, items: list[str], indent: str, sep: str = " | ") -> None:
        """Print items on as few lines as fit, never splitting one."""
        line = ""
        for item in items:
            if line and len(indent) + len(line) + len(sep) + len(item) > self.width:
                self.say(indent + line)
                line = item
            else:
                line = f"{line}{sep}{item}" if line else item
        if line:
            self.say(indent + line)

    def warn(self, text: str) -> None:
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    def read(self, prompt: str) -> str:
        while True:
            self.out.write(prompt)
            self.out.flush()
            try:
                line = self.inp.readline(MAX_REPLY + 1)
                if len(line) > MAX_REPLY and not line.endswith("\n"):
                    # A line of megabytes: keep only its start, drop the rest unread-into-memory.
                    while True:
                        more = self.inp.readline(1 << 16)
                        if not more or more.endswith("\n"):
                            break
            except UnicodeDecodeError:
                if not self.tty:
                    self.say("")
                self.warn("That could not be read as text (it is not UTF-8); please type it again.")
                continue
            break
        if line == "":
            self.say("")
            raise _InputEnded()
        self.line_no += 1
        line = line.rstrip("\r\n")[:MAX_REPLY]
        if not self.tty:
            # A transcript that reads like the terminal session (a short excerpt of long lines).
            self.say(_printable(line if len(line) <= 80 else line[:77] + "..."))
        return line

    # ---- navigation
    def visible(self, i: int) -> bool:
        q = self.questions[i]
        # Fit items count as ahead until the respondent declines the section.
        return q.kind != "fit" or self.state.fit_section is not False

    def first_open(self) -> int:
        for i, q in enumerate(self.questions):
            if self.visible(i) and not self.state.is_answered(q):
                return i
        return len(self.questions)

    def next_index(self, i: int) -> int:
        j = i + 1
        while j < len(self.questions) and not self.visible(j):
            j += 1
        return j

    def prev_index(self, i: int) -> int | None:
        j = i - 1
        while j >= 0 and not self.visible(j):
            j -= 1
        return j if j >= 0 else None

    def remaining(self) -> int:
        return sum(1 for i, q in enumerate(self.questions)
                   if self.visible(i) and not self.state.is_answered(q))

    def position(self, i: int) -> tuple[int, int]:
        shown = [j for j in range(len(self.questions)) if self.visible(j)]
        return shown.index(i) + 1, len(shown)

    # ---- the conversation
    def welcome(self, progress: Path) -> None:
        n = len(self.library.statements)
        k = len(self.library.fit_items)
        self.say("cruxfit assess: is AI-assisted alignment a good fit for you?")
        self.say("")
        fit = f", then, if you like, {k} questions about your own skills and situation" if k else ""
        minutes = estimated_minutes(self.library)
        self.wrap(f"You will rate {n} statements about AI-assisted alignment (using today's AI "
                  f"to help with alignment research) and the wider world{fit}; that takes about "
                  f"{minutes} minutes. There are no right "
                  "answers: the report shows what your own beliefs imply.", "")
        self.say("")
        self.wrap(f"Your progress is saved after every answer to {progress}; if you stop, "
                  f"`{_assess_command(self.library, self.output, '--resume')}` continues where you "
                  "left off.", "")
        self.say("")
        self.wrap("Keys: type a number to answer; Enter or s = unsure (counts as no answer, not as "
                  "the middle); ? = explain the statement; b = back one question; q = quit and "
                  "keep your progress.", "")
        self.say("")

    def ask_name(self) -> None:
        while True:
            raw = self.read(f"Your name, as the report should show it [{DEFAULT_NAME}]: ")
            name = raw.strip() or DEFAULT_NAME
            if name_ok(name):
                self.state.name = name
                self.save()
                return
            if not self.tty:
                raise _BadLine(self.line_no, "the name",
                               f"not a name: use printable text of at most {MAX_NAME} characters")
            self.warn(f"Not a name here: use printable text of at most {MAX_NAME} characters, "
                      f"or press Enter for {DEFAULT_NAME}.")

    def show_section(self, q: Question) -> None:
        if q.section == self.last_section:
            return
        self.last_section = q.section
        sec = self.section_by_id[q.section]
        number = [s.id for s in self.sections].index(sec.id) + 1
        self.say("")
        self.say(f"== Part {number} of {len(self.sections)}: {sec.title} ==")
        if sec.id not in self.shown_sections:
            self.shown_sections.add(sec.id)
            self.wrap(sec.intro, "")

    def show_question(self, i: int) -> None:
        q = self.questions[i]
        self.show_section(q)
        k, n = self.position(i)
        self.say("")
        head = f"[{k}/{n}] "
        for j, line in enumerate(textwrap.wrap(q.text, self.width - len(head)) or [""]):
            self.say((head if j == 0 else " " * len(head)) + line)
        pad = " " * len(head)
        if q.scale in ("agree7", "fit7"):
            labels = AGREE7_LABELS if q.scale == "agree7" else FIT7_LABELS
            self.pack([f"{v} {label}" for v, label in enumerate(labels, start=1)], pad)
        elif q.scale == "probability":
            self.wrap("0 = certainly not, 0.5 = even odds, 1 = certainly; a percentage such as "
                      "70% works too", pad)
        if self.state.is_answered(q):
            self.say(f"{pad}(earlier answer: {describe_value(q.scale, self.state.get(q))})")

    def prompt(self, q: Question) -> str:
        if q.scale == "agree7":
            return "Your answer (1-7; Enter = unsure, ? = explain, b = back, q = quit): "
        if q.scale == "fit7":
            return "Describes you (1-7; Enter = unsure, ? = explain, b = back, q = quit): "
        if q.scale == "probability":
            return "Your probability (0-1 or %; Enter = unsure, ? = explain, b = back, q = quit): "
        return "Answer them? (Y/n; ? = explain, b = back, q = quit): "

    def explain(self, q: Question) -> None:
        pad = "    "
        if q.kind == "statement":
            s = self.statements[q.id]
            agree = "a higher probability" if s.scale == "probability" else "agreeing"
            parts = []
            for ld in s.loads:
                v = self.variables[ld.variable]
                more = "more" if ld.sign > 0 else "less"
                proposition = " ".join(v.proposition.split()).rstrip(".")
                parts.append(f'"{v.name}" ({proposition}); {agree} makes this {more} likely')
            which = "one belief" if len(parts) == 1 else f"{len(parts)} beliefs"
            self.wrap(f"What this is about: your answer is evidence about {which} in the model: "
                      + ". And ".join(parts) + ".", pad)
            better = "a better" if s.favours > 0 else "a worse"
            other = "a worse" if s.favours > 0 else "a better"
            opposite = "a lower one" if s.scale == "probability" else "disagreeing"
            self.wrap(f"For AI-assisted alignment: {agree} makes it {better} fit for you compared "
                      f"with the other approaches; {opposite} makes it {other} one.", pad)
            self.wrap("Not sure? Press Enter: it counts as no answer, not as the middle of the "
                      "scale.", pad)
        elif q.kind == "fit":
            item = next(f for f in self.library.fit_items if f.id == q.id)
            up = [self.library.approach(a).name for a, w in item.weights.items() if w > 0]
            down = [self.library.approach(a).name for a, w in item.weights.items() if w < 0]
            text = "This is about you, not the world. A high answer makes these approaches a "
            text += f"better use of your effort: {', '.join(up) or 'none'}"
            if down:
                text += f"; and these a worse one: {', '.join(down)}"
            text += ". A low answer does the opposite; 4 or unsure leaves them as they are."
            self.wrap(text, pad)
        else:
            self.wrap("Personal fit: your skills and situation multiply each approach's value "
                      "for you. The report then shows the fit with your beliefs, your personal "
                      "fit, and the two combined. Skipping (n) leaves personal fit neutral.", pad)

    def ask(self, i: int) -> str:
        """Ask question i until it gets a reply that moves on; return 'next', 'back' or 'quit'."""
        q = self.questions[i]
        self.show_question(i)
        while True:
            reply = interpret(q.scale, self.read(self.prompt(q)))
            if reply.action == "help":
                self.explain(q)
                continue
            if reply.action == "invalid":
                if not self.tty:
                    k, n = self.position(i)
                    raise _BadLine(self.line_no, f"question {k} of {n} ({q.id})", reply.message)
                self.warn(reply.message)
                continue
            if reply.action == "back":
                return "back"
            if reply.action == "quit":
                return "quit"
            self.state.set(q, UNSURE if reply.action == "unsure" else reply.value)
            self.save()
            return "next"

    def run(self) -> bool:
        """Ask until every question is answered (True) or the respondent quits (False)."""
        i = self.first_open()
        while i < len(self.questions):
            outcome = self.ask(i)
            if outcome == "quit":
                return False
            if outcome == "back":
                j = self.prev_index(i)
                if j is None:
                    self.warn("This is the first question; there is nothing to go back to.")
                    continue
                i = j
                continue
            i = self.next_index(i)
        return True


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def run_assess(library: Library, *, output: str | Path = DEFAULT_OUTPUT, resume: bool = False,
               force: bool = False, stdin: TextIO | None = None, stdout: TextIO | None = None,
               stderr: TextIO | None = None, announce_next: bool = True) -> Profile | None:
    """Run the questionnaire; return the written, validated profile, or None if the user quit.

    Raises InputError (exit 2) when the output already exists (without ``force``), when a
    progress file exists without ``resume`` (or is missing with it), or when standard input
    ends before the questions do (progress is saved first). Raises :class:`AssessInterrupted`
    on Ctrl-C, after saving progress and saying so on ``stderr``.
    """
    inp = stdin if stdin is not None else sys.stdin
    if inp is None or getattr(inp, "closed", False):
        # Started with standard input closed (`<&-`, some service managers): Python sets
        # sys.stdin to None.
        raise InputError([Problem("standard input", "", "is closed; run assess in a terminal, "
                                  "or pipe the answers in (see `cruxfit assess --help`)")])
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    output = Path(output)
    if str(output) == "-":
        raise InputError([Problem("--output", "", "assess writes the profile to a file; give a "
                                  "file name (the questionnaire itself uses standard output)")])
    progress = progress_path(output)
    check_output_path(output)
    if output.exists() and not force:
        raise InputError([Problem(str(output), "", "already exists; choose another file with -o, "
                                  "delete it, or pass --force to replace it when the "
                                  "questionnaire is finished")])
    resume_cmd = _assess_command(library, output, "--resume")
    if resume:
        if not progress.exists():
            raise InputError([Problem(str(progress), "", "no saved progress to resume; run "
                                      f"`{_assess_command(library, output)}` without --resume "
                                      "to start")])
        state = load_progress(progress, library, err)
    else:
        if progress.exists():
            raise InputError([Problem(str(progress), "", "an unfinished questionnaire is saved "
                                      f"here; run `{resume_cmd}` to continue it, or delete the "
                                      "file to start again")])
        state = State()

    def save() -> None:
        write_atomic_text(progress, progress_text(library, state, output, resume_cmd))

    session = _Session(library, output, state, inp, out, err, save)
    try:
        if resume:
            answered = len(state.answers)
            session.say(f"Resuming {state.name or DEFAULT_NAME}'s questionnaire from {progress}: "
                        f"{answered} of {len(library.statements)} statements done so far.")
        else:
            session.welcome(progress)
        if state.name is None:
            session.ask_name()
        finished = session.run()
        if finished:
            profile = _finish(library, state, output, progress)
    except KeyboardInterrupt:
        if state.has_anything():
            save()
            session.warn(f"\nInterrupted; progress saved to {progress}; run `{resume_cmd}` to "
                         "continue.")
            raise AssessInterrupted(progress) from None
        session.warn("\nInterrupted; nothing was saved.")
        raise AssessInterrupted(None) from None
    except _BadLine as bad:
        # Never shift later answers onto the wrong questions: stop, keep what was answered.
        kept = ""
        if state.has_anything():
            save()
            kept = f"; the answers before it are saved to {progress}, and `{resume_cmd}` continues"
        else:
            kept = "; nothing was saved"
        raise InputError([Problem("standard input", f"line {bad.line}, {bad.where}",
                                  f"{bad.message}{kept}")]) from None
    except _InputEnded:
        left = session.remaining()
        plural = "question remains" if left == 1 else "questions remain"
        if state.has_anything():
            save()
            raise InputError([Problem("standard input", "", f"ended before the questions did: "
                                      f"{left} {plural}; progress is saved to {progress}, and "
                                      f"`{resume_cmd}` continues")]) from None
        raise InputError([Problem("standard input", "", f"ended before the first answer: {left} "
                                  f"{plural}; nothing was saved")]) from None
    if not finished:
        session.say("")
        session.wrap(f"Stopped. Your answers are saved in {progress}; run `{resume_cmd}` to "
                     "continue.", "")
        return None

    given = len(profile.answers)
    n = len(library.statements)
    fit = ""
    if library.fit_items:
        fit = (f"; personal fit: {len(profile.fit)} of {len(library.fit_items)} items"
               if state.fit_section else "; personal fit skipped")
    session.say("")
    session.say(f"Wrote {output}: {given} of {n} statements answered ({n - given} unsure){fit}.")
    if announce_next:
        pdf = output.with_suffix(".pdf")
        report = _command(library, "report", shlex.quote(str(output)), "-o", shlex.quote(str(pdf)))
        session.say(f"Next: {report}")
    return profile
