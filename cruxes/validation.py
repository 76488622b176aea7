"""From pydantic's validation errors to cruxfit's problems.

Input formats (profiles, the progress file of `cruxfit assess`, ...) are described as pydantic
models. Where a message must be worded exactly, a validator raises :func:`fail` with the words;
pydantic's own structural errors (an unknown key, a missing field) are worded by the caller,
who knows what the key means where it sits. :func:`problems_from` turns the errors into the
project's :class:`~cruxfit.cruxes.errors.Problem` lines, each naming the field path
(``respondents[2].answers.fit-careful-use``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, NoReturn

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from cruxfit.cruxes.errors import Problem

#: The error type of a message worded by cruxfit itself (see :func:`fail`).
WORDED = "cruxfit"

Loc = tuple[str | int, ...]


def worded(message: str) -> PydanticCustomError:
    # The message is passed as context, not as the template, so braces in it stay as written.
    return PydanticCustomError(WORDED, "{message}", {"message": message})


def fail(message: str) -> NoReturn:
    """Raise, inside a validator, a problem worded exactly as given."""
    raise worded(message)


def with_extra(error: ValidationError | None, title: str, extra: Iterable[InitErrorDetails]):
    """A ValidationError holding the errors of `error` (if any) and the extra ones."""
    details: list[Any] = details_of(error) if error is not None else []
    details += list(extra)
    return ValidationError.from_exception_data(title, details)


def details_of(error: ValidationError) -> list[InitErrorDetails]:
    """The errors of `error`, ready to be raised again (alone or with others)."""
    return [_again(e) for e in error.errors()]


def worded_at(loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    """An error worded exactly as given, at a location relative to the value validated."""
    return InitErrorDetails(type=worded(message), loc=loc, input=value)


def _again(error: Any) -> InitErrorDetails:
    """An error as raised again: a worded one needs its error object back, not its name."""
    kind = worded(error["ctx"]["message"]) if error["type"] == WORDED else error["type"]
    again = InitErrorDetails(type=kind, loc=error["loc"], input=error["input"])
    if "ctx" in error and error["type"] != WORDED:
        again["ctx"] = error["ctx"]
    return again


def field_path(loc: Loc) -> str:
    """('respondents', 2, 'answers', 'x') -> 'respondents[2].answers.x'."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def message_of(error: Any) -> str | None:
    """The exact words of a :func:`fail` error, or None for one of pydantic's own."""
    if error["type"] == WORDED:
        return error["ctx"]["message"]
    return None


def is_unknown_key(error: Any) -> bool:
    """An extra key where extras are forbidden, or a key that is not text at all."""
    return error["type"] in ("extra_forbidden", "invalid_key")


def problems_from(errors: Iterable[Any], file: str,
                  word: Callable[[Any, int], str],
                  order: Callable[[Any], Any] | None = None,
                  prefix: Loc = ()) -> list[Problem]:
    """One Problem per error, sorted by `order`, worded by `word(error, index)`.

    `word` receives each error in the final order and its index there (so that a costly
    "did you mean" can be spared past the problems that get listed). `prefix` goes in front
    of every location (a part of a file validated on its own).
    """
    errors = list(errors)
    if order is not None:
        errors.sort(key=order)
    return [Problem(file, field_path((*prefix, *_loc(e))), word(e, i))
            for i, e in enumerate(errors)]


def _loc(error: Any) -> Loc:
    """The error's location; a mapping key that is not text (YAML `1:`) is shown as its text."""
    loc = error["loc"]
    if error["type"] == "invalid_key" and loc:
        return (*loc[:-1], str(loc[-1]))
    return loc
