"""The progress file of `cruxfit assess` as a pydantic model.

`cruxfit assess` saves the answers of an unfinished questionnaire to ``OUTPUT.progress.yaml``
and reads them back with ``--resume`` (pipeline/questionnaire.py writes and uses it). The file
is cruxfit's own, but people edit it, so it is checked like a profile: every problem at once,
each naming the field and ending with what to do about it.

Answers to statements or fit items the crux library no longer has are not problems: the
questionnaire drops them with a note (the library may have changed between the sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from cruxfit.cruxes.errors import Problem
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile_model import MAX_NAME, _answer_type, profile_models
from cruxfit.cruxes.validation import fail, is_unknown_key, message_of, problems_from

PROGRESS_VERSION = 1
PROGRESS_KEYS = ("progress_version", "cruxfit", "library_sha256", "output", "name", "answers",
                 "fit_section", "fit")
#: Said after every problem with a progress file.
FIX = "; fix it or delete the file to start again"
_VERSION_MESSAGE = (f"must be {PROGRESS_VERSION}; this file was not written by this version of "
                    f"cruxfit assess")


def name_ok(name: str) -> bool:
    """A name the questionnaire accepts: printable text, not blank, not too long."""
    return bool(name.strip()) and len(name) <= MAX_NAME and name.isprintable()


def _version(value: Any) -> int:
    if value != PROGRESS_VERSION:
        fail(_VERSION_MESSAGE)
    return PROGRESS_VERSION


def _name(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not name_ok(value)):
        fail(f"must be printable text of at most {MAX_NAME} characters")
    return value


def _fit_section(value: Any) -> Any:
    if value is not None and not isinstance(value, bool):
        fail("must be true, false or empty")
    return value


def _mapping(wrong: str):
    def check(value: Any) -> Any:
        if not value:  # empty, or an empty value: nothing saved yet
            return {}
        if not isinstance(value, dict):
            fail(wrong)
        return value

    return check


@dataclass(frozen=True)
class Progress:
    """What a valid progress file holds, answers in file order ("unsure" kept as such)."""

    name: str | None
    answers: dict[str, float | None]
    fit_section: bool | None
    fit: dict[str, float | None]
    #: Ids the library no longer has (statements, then fit items), dropped from the answers.
    dropped: tuple[str, ...]
    library_sha256: Any


_CACHE: dict[int, tuple[Library, type[BaseModel]]] = {}


def progress_model(library: Library) -> type[BaseModel]:
    """The progress file's model for a library (built once per library object)."""
    cached = _CACHE.get(id(library))
    if cached is not None and cached[0] is library:
        return cached[1]
    models = profile_models(library)
    # Ids the library does not know are ignored here and reported as dropped by the reader.
    answers = type("ProgressAnswers", (models.answers,),
                   {"model_config": ConfigDict(extra="ignore"), "__module__": __name__})
    fit = create_model(
        "ProgressFit", __config__=ConfigDict(extra="ignore", frozen=True),
        # The questionnaire's own wording (1 strongly disagree .. 7 strongly agree).
        **{attr: (_answer_type("agree7"), Field(None, alias=fid))
           for fid, attr in models.fit_fields.items()})
    model = create_model(
        "ProgressFile", __config__=ConfigDict(extra="forbid", frozen=True),
        progress_version=(Annotated[int, BeforeValidator(_version)], ...),
        cruxfit=(Any, None),
        library_sha256=(Any, None),
        output=(Any, None),
        name=(Annotated[Optional[str], BeforeValidator(_name)], None),
        answers=(Annotated[answers, BeforeValidator(_mapping(
            "must be a mapping from statement id to answer"))], None),
        fit_section=(Annotated[Optional[bool], BeforeValidator(_fit_section)], None),
        fit=(Annotated[fit, BeforeValidator(_mapping(
            "must be a mapping from fit item id to answer"))], None),
    )
    _CACHE[id(library)] = (library, model)
    return model


def _word(error: Any, index: int) -> str:
    message = message_of(error)
    if message is None and is_unknown_key(error):
        message = "is not a progress key"
    elif message is None and error["type"] == "missing" and error["loc"] == ("progress_version",):
        message = _VERSION_MESSAGE
    elif message is None:
        message = error["msg"]  # not expected: every validator words its own messages
    return message + FIX


def _order(error: Any, data: dict, positions: dict[int, dict[str, int]]):
    """Unknown keys first, then the fields in file-format order; answers in file order."""
    loc = error["loc"]
    if is_unknown_key(error) and len(loc) == 1:
        return (0, list(map(str, data)).index(str(loc[0])), 0)
    field = PROGRESS_KEYS.index(loc[0]) if loc[0] in PROGRESS_KEYS else len(PROGRESS_KEYS)
    inner = 0
    if len(loc) > 1 and isinstance(data.get(loc[0]), dict):
        node = data[loc[0]]
        table = positions.setdefault(id(node), {str(k): i for i, k in enumerate(node)})
        inner = table.get(str(loc[1]), len(table)) + 1
    return (1, field, inner)


def read_progress(data: Any, library: Library, file: str) -> tuple[Progress | None, list[Problem]]:
    """Check parsed progress-file data; (progress, []) or (None, every problem)."""
    if not isinstance(data, dict):
        return None, [Problem(file, "(top level)", f"is not a cruxfit progress file{FIX}")]
    model = progress_model(library)
    try:
        checked = model.model_validate(data)
    except ValidationError as exc:
        positions: dict = {}
        return None, problems_from(exc.errors(), file, _word,
                                   order=lambda e: _order(e, data, positions))
    models = profile_models(library)
    raw_answers = data.get("answers") or {}
    raw_fit = data.get("fit") or {}
    answers = {sid: getattr(checked.answers, models.answer_fields[sid])
               for sid in raw_answers if sid in models.answer_fields}
    fit = {fid: getattr(checked.fit, models.fit_fields[fid])
           for fid in raw_fit if fid in models.fit_fields}
    dropped = tuple(str(k) for k in raw_answers if k not in models.answer_fields) + \
        tuple(str(k) for k in raw_fit if k not in models.fit_fields)
    return Progress(checked.name, answers, checked.fit_section, fit, dropped,
                    checked.library_sha256), []
