"""Domain errors of cruxfit.

Every problem with an input is a :class:`Problem` naming the file, the field and what is
allowed. Readers collect all problems of a file before raising one :class:`InputError`, so a
person fixing a profile sees every mistake at once. Only the CLI turns these into exit codes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable


#: Most problems listed for one error; the rest are counted in a last line.
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class CruxfitError(Exception):
    """Base class of the errors cruxfit raises on purpose."""

    exit_code = 1


class InputError(CruxfitError):
    """One or more problems with user input (exit status 2)."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]):
        problems = list(problems)
        if len(problems) > MAX_PROBLEMS:
            # A file with 100,000 unknown keys gets the first ones and a count, not 100,000
            # lines: whoever fixes it fixes the pattern, not each line.
            more = len(problems) - MAX_PROBLEMS
            files = list(dict.fromkeys(p.file for p in problems[MAX_PROBLEMS:]))
            where = files[0] if len(files) == 1 else "(several files)"
            problems = problems[:MAX_PROBLEMS] + [
                Problem(where, "", f"and {more:,} more problem{'s' if more != 1 else ''} not listed")]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in self.problems))


class LibraryError(InputError):
    """The crux library itself is invalid."""


class Problems:
    """Collects problems for one file, then raises them together."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(Problem(self.file, field, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, cls: type[InputError] = InputError) -> None:
        if self.items:
            raise cls(self.items)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' for the closest option, or an empty string."""
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def one_of(options: Iterable[str]) -> str:
    """Format allowed values for a message: 'a, b or c'."""
    opts = [f'"{o}"' for o in options]
    if len(opts) <= 1:
        return "".join(opts)
    return ", ".join(opts[:-1]) + " or " + opts[-1]


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates (which reorder what
# a terminal shows).
_UNSAFE_FOR_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Longest line cruxfit prints about an input; longer ones are cut with an ellipsis.
MAX_LINE = 2000


def terminal_safe(text: str, limit: int = MAX_LINE) -> str:
    """Text safe to print on a terminal: control characters shown as escapes, length capped.

    Names, notes and file content can carry escape sequences (retitle the window, clear the
    screen) or be megabytes long; nothing printed reproduces either.
    """
    def escape(m: re.Match) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    text = _UNSAFE_FOR_TERMINAL.sub(escape, str(text))
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text


#: Set when the user interrupts (Ctrl-C, SIGTERM, SIGHUP). A KeyboardInterrupt raised inside
#: a C callback (an LLVM or ctypes hook while the model compiles) can be swallowed there, so
#: the places that must not go on after an interruption - writing an output, starting to
#: sample - check this flag as well.
_INTERRUPTED = {"flag": False}


def note_interrupt(flag: bool = True) -> None:
    _INTERRUPTED["flag"] = flag


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if an interruption was recorded (even if it was swallowed)."""
    if _INTERRUPTED["flag"]:
        raise KeyboardInterrupt
