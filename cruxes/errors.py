"""Domain errors of cruxfit.

Every problem with an input is a :class:`Problem` naming the file, the field and what is
allowed. Readers collect all problems of a file before raising one :class:`InputError`, so a
person fixing a profile sees every mistake at once. Only the CLI turns these into exit codes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


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
        self.problems = list(problems)
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
