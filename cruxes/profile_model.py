"""The profile format as pydantic models: one description for reading and for the JSON Schema.

A profile is an individual (``kind: individual``, the default) or an organisation
(``kind: organisation``) whose respondents are individuals without ``kind``, ``overrides`` or
``plan``. The parts that depend on the crux library - which statement ids exist and on which
scale each is answered, the personal-fit items, the ranked approaches an override or a plan
may name - are fields of models built once per library with :func:`pydantic.create_model`
(:func:`profile_models`). `cruxfit schema` prints their ``model_json_schema``, so the published
schema is the reader's own description and cannot drift from it.

Every message a user reads is worded here: validators raise :func:`~cruxfit.cruxes.validation.fail`
with the exact words, and :func:`word_error` words pydantic's structural errors (unknown keys,
missing fields) for the place where they occur.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails

from cruxfit.cruxes.errors import MAX_PROBLEMS, did_you_mean, one_of
from cruxfit.cruxes.library import DIMENSIONS, LEVELS, Library
from cruxfit.cruxes.validation import fail, is_unknown_key, message_of, with_extra, worded

KINDS = ("individual", "organisation")
PROFILE_KEYS = ("name", "kind", "answers", "fit", "notes", "overrides", "plan")
ORG_KEYS = ("name", "kind", "respondents", "notes", "overrides")
MEMBER_KEYS = ("name", "role", "answers", "fit", "notes")
#: Largest organisation read. The integrated organisation model (models/pooled.py) is
#: measured up to 2,000 members (benchmarks/bench_org.py); time grows about linearly.
MAX_RESPONDENTS = 5000
UNSURE = "unsure"
MAX_NAME = 200
MAX_NOTES = 20_000
MAX_REASON = 2_000


# --------------------------------------------------------------------------- single values


def control_char(text: str) -> str | None:
    """The first control character in text (escape, NUL, newline, tab, DEL, C1), if any.

    Names end up in terminal lines, file names and report titles, where an escape sequence
    could retitle a window or clear a screen; notes may hold newlines and are shown escaped.
    """
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            return ch
    return None


def _control_message(text: str) -> str:
    ch = control_char(text) or "?"
    return (f"contains a control character (U+{ord(ch):04X}); names must be plain text on one "
            "line, without tabs, line breaks or escape sequences")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _describe(v: Any) -> str:
    if v is None:
        return "an empty value"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, str):
        return f'"{v[:40]}"'
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return repr(v)


_PERCENT = re.compile(r"\s*(\d{1,3}(?:\.\d+)?)\s*%\s*")


def _number(value: int | float) -> str:
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_answer(scale: str, value: Any) -> tuple[float | None, str | None]:
    """Return (value, None) for a valid answer, (None, None) for unsure, (None, message) otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() == UNSURE):
        return None, None
    # Python ints may be too large for a float, so whole numbers are checked without float().
    whole = isinstance(value, int) or (_is_number(value) and math.isfinite(value) and value.is_integer())
    if scale == "agree7":
        allowed = 'a whole number from 1 (strongly disagree) to 7 (strongly agree), or "unsure"'
        if _is_number(value) and whole and 1 <= value <= 7:
            return float(int(value)), None
        if _is_number(value) and whole:
            return None, f"{_number(int(value))} is off the 1-7 scale; allowed: {allowed}"
        return None, f"{_describe(value)} is not allowed; allowed: {allowed}"
    allowed = 'a probability from 0 to 1 (for example 0.3), a percentage such as "30%", or "unsure"'
    if isinstance(value, str):
        # "70%" reads as 0.7, as it does in `cruxfit assess` and in CSV files.
        m = _PERCENT.fullmatch(value)
        if m is None:
            return None, f"{_describe(value)} is not allowed; allowed: {allowed}"
        pct = float(m.group(1))
        if not 0 <= pct <= 100:
            return None, f"{_describe(value)} is outside 0% to 100%; allowed: {allowed}"
        return pct / 100, None
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"{_describe(value)} is not a probability; allowed: {allowed}"
    if _is_number(value) and 0 <= value <= 1:
        return float(value), None
    if _is_number(value):
        return None, f"{_number(value)} is outside 0 to 1; allowed: {allowed}"
    return None, f"{_describe(value)} is not allowed; allowed: {allowed}"


def answer_schema(scale: str) -> dict[str, Any]:
    """JSON Schema of one answer on a scale: what :func:`check_answer` accepts."""
    if scale == "agree7":
        value = {"type": "integer", "minimum": 1, "maximum": 7}
        return {"anyOf": [value, {"const": UNSURE}, {"type": "null"}]}
    value = {"type": "number", "minimum": 0, "maximum": 1}
    # What _PERCENT reads and check_answer keeps: 0% to 100% (a leading zero allowed).
    percent = {"type": "string", "pattern": r"^\s*(0?\d{1,2}(\.\d+)?|100(\.0+)?)\s*%\s*$",
               "description": 'a percentage such as "70%" (0% to 100%)'}
    return {"anyOf": [value, percent, {"const": UNSURE}, {"type": "null"}]}


def _answer_type(scale: str, *, fit: bool = False):
    """An answer on a scale: a float, or None for unsure."""

    def check(value: Any) -> float | None:
        checked, message = check_answer(scale, value)
        if message:
            if fit:
                message = (message.replace("strongly disagree", "not at all")
                           .replace("strongly agree", "very well"))
            fail(message)
        return checked

    return Annotated[Optional[float], PlainValidator(check), WithJsonSchema(answer_schema(scale))]


def _text(*, missing: str | None, max_length: int, min_length: int = 0, control: bool):
    """Before-validator of a name-like text field (a number is read as its text)."""

    def check(value: Any) -> str:
        if value is None and missing:
            fail(missing)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
            fail(f"must be non-empty text, not {_describe(value)}")
        text = str(value)
        if len(text) > max_length:
            fail(f"is {len(text)} characters long; the limit is {max_length}")
        if control and control_char(text):
            fail(_control_message(text))
        return text.strip()

    return check


def _org_name(value: Any) -> str:
    if (value is None or isinstance(value, bool) or not isinstance(value, (str, int, float))
            or not str(value).strip()):
        fail(MISSING["organisation", "name"])
    text = str(value)
    if len(text) > MAX_NAME:
        fail(f"is {len(text)} characters long; the limit is {MAX_NAME}")
    if control_char(text):
        fail(_control_message(text))
    return text.strip()


def _role(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME:
        fail(f"must be text of at most {MAX_NAME} characters, not {_describe(value)}")
    if control_char(value):
        fail(_control_message(value))
    return value


def _notes(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        fail(f"must be text, not {_describe(value)}")
    if value is not None and len(value) > MAX_NOTES:
        fail(f"is {len(value)} characters long; the limit is {MAX_NOTES}")
    return value


def _org_notes(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_NOTES):
        fail(f"must be text of at most {MAX_NOTES} characters")
    return value


def _mapping(missing: str | None, wrong: str):
    """Before-validator of a mapping field; an empty value is `missing` (or absent if None)."""

    def check(value: Any) -> Any:
        if value is None:
            if missing:
                fail(missing)
            return {}
        if not isinstance(value, dict):
            fail(f"{wrong}, not {_describe(value)}")
        return value

    return check


def _level(value: Any) -> str:
    if value not in LEVELS:
        fail(f"{_describe(value)} is off the rating scale{did_you_mean(str(value), LEVELS)}; "
             f"allowed: {one_of(LEVELS)}")
    return value


def _reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        fail(MISSING["override", "reason"])
    if len(value) > MAX_REASON:
        fail(f"is {len(value)} characters long; the limit is {MAX_REASON}")
    return value.strip()


#: What a missing required field is told, by (kind of record, field).
MISSING = {
    ("individual", "name"): "is missing; give the respondent's or organisation's name as text",
    ("member", "name"): "is missing; give the respondent's or organisation's name as text",
    ("organisation", "name"): "is missing; give the organisation's name as text",
    ("individual", "answers"): "is missing; give a mapping from statement id to answer (see `cruxfit template`)",
    ("member", "answers"): "is missing; give a mapping from statement id to answer (see `cruxfit template`)",
    ("organisation", "respondents"): "is missing; list the respondents, each with a name and answers",
    ("override", "reason"): "is missing; every override needs a stated reason (text)",
}


#: Text with something besides spaces: a JSON Schema pattern is searched for, not anchored.
NOT_BLANK = r"\S"
# In Annotated, a BeforeValidator listed last runs first: it words the problems, and the
# constraints before it (never failing after it) are what the JSON Schema shows.
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NOT_BLANK),
                 BeforeValidator(_text(missing=MISSING["individual", "name"], max_length=MAX_NAME,
                                       control=True))]
Notes = Annotated[Optional[Annotated[str, StringConstraints(max_length=MAX_NOTES)]],
                  BeforeValidator(_notes)]
Level = Annotated[Literal["Low", "Medium", "High"], BeforeValidator(_level)]
assert LEVELS == ("Low", "Medium", "High")


class _Strict(BaseModel):
    # Unknown keys are errors (worded by `word_error`), and the schema says so.
    model_config = ConfigDict(extra="forbid", frozen=True,
                              field_title_generator=lambda name, info: info.alias or name)


class _Respondent(_Strict):
    """Base of a respondent of an organisation (its fields depend on the library)."""

    model_config = ConfigDict(title="Respondent")

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            fail(f"must be a mapping with name and answers, not {_describe(data)}")
        return data


class OverrideSpec(_Strict):
    """One approach's overridden ratings and the reason for them."""

    model_config = ConfigDict(title="Override", json_schema_extra={"minProperties": 2})

    tractability: Level = None  # type: ignore[assignment]  (None: not overridden)
    hard: Level = None  # type: ignore[assignment]
    easy: Level = None  # type: ignore[assignment]
    neglectedness: Level = None  # type: ignore[assignment]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=MAX_REASON, pattern=NOT_BLANK),
                      BeforeValidator(_reason)]

    @model_validator(mode="wrap")
    @classmethod
    def _shape(cls, data: Any, handler):
        if not isinstance(data, dict):
            fail(f"must be a mapping of rating dimension to level plus a reason, not {_describe(data)}")
        if any(key != "reason" for key in data):
            return handler(data)
        # Nothing overridden: said as well as any problem with the reason.
        try:
            handler(data)
            error = None
        except ValidationError as exc:
            error = exc
        nothing = worded(f"overrides nothing; name at least one of {one_of(DIMENSIONS)}")
        raise with_extra(error, cls.__name__, [InitErrorDetails(type=nothing, loc=(), input=data)])

    def ratings(self, raw: dict) -> dict[str, str]:
        """The overridden levels, in the order the file gives them."""
        return {dim: getattr(self, dim) for dim in raw if dim in DIMENSIONS}


assert tuple(d for d in OverrideSpec.model_fields if d != "reason") == DIMENSIONS


# --------------------------------------------------------------------------- messages



def _container(loc: tuple, kind: str) -> str:
    """What kind of thing holds the last key of loc: a record kind, or a mapping's name."""
    parent = loc[:-1]
    if not parent:
        return kind
    if parent[-1] == "respondents":
        return "respondents"
    if isinstance(parent[-1], int):
        return "member"
    if len(parent) >= 2 and parent[-2] == "overrides":
        return "override"
    return str(parent[-1])  # answers, fit, overrides


# --------------------------------------------------------------------------- models per library


@dataclass(frozen=True)
class ProfileModels:
    """The models of one library's profile format."""

    library: Library
    individual: type[BaseModel]
    member: type[BaseModel]
    organisation: type[BaseModel]
    answers: type[BaseModel]
    #: Python field name of each statement id and fit item (ids hold dashes).
    answer_fields: dict[str, str]
    fit_fields: dict[str, str]
    override_fields: dict[str, str]

    def word_error(self, error: Any, kind: str, index: int) -> str:
        """The message of one pydantic error in a profile of the given kind."""
        message = message_of(error)
        if message is not None:
            return message
        loc = error["loc"]
        key = str(loc[-1]) if loc else ""
        where = _container(loc, kind)
        # Past the problems that get listed, spare the (slow) suggestion.
        hint = (lambda options: did_you_mean(key, options)) if index < MAX_PROBLEMS else (lambda _: "")
        if error["type"] == "missing":
            return MISSING.get((where, key), "is missing")
        if not is_unknown_key(error):
            return error["msg"]  # not expected: every validator words its own messages
        library = self.library
        if where == "individual" and key == "respondents":
            return "is only allowed with kind: organisation"
        if where == "individual":
            return f"is not a profile key{hint(PROFILE_KEYS)}; allowed: {one_of(PROFILE_KEYS)}"
        if where == "member":
            return f"is not a respondent key{hint(MEMBER_KEYS)}; allowed: {one_of(MEMBER_KEYS)}"
        if where == "organisation":
            return f"is not an organisation key{hint(ORG_KEYS)}; allowed: {one_of(ORG_KEYS)}"
        if where == "answers":
            return f"is not a statement id{hint(self.answer_fields)}; `cruxfit questions` lists them"
        if where == "fit":
            items = list(self.fit_fields)
            return f"is not a personal-fit item{hint(items)}; allowed: {one_of(items)}"
        if where == "overrides":
            if key in {a.slug for a in library.unranked}:
                return f'"{key}" is not ranked, so its ratings cannot be overridden'
            slugs = list(self.override_fields)
            return f"is not an approach{hint(slugs)}; allowed: {one_of(slugs)}"
        if where == "override":
            return (f"is not a rating dimension{hint(DIMENSIONS)}; allowed: {one_of(DIMENSIONS)} "
                    "and reason")
        return "is not allowed"

    def schema_type(self):
        """The type whose JSON Schema `cruxfit schema` prints: an individual or an organisation."""
        return TypeAdapter(Union[self.individual, self.organisation])  # type: ignore[arg-type]


_FIELD_ORDER = ("name", "role", "notes", "answers", "fit", "overrides", "respondents", "plan")


def error_order(error: Any, raw: Any, positions: dict[int, dict[str, int]]):
    """Sort key that lists problems as people read a file.

    At the level of a record (profile, organisation, respondent) unknown keys come first, in
    file order, then the fields in a fixed order; inside answers, fit, overrides and lists,
    file order. A problem with a whole override comes after those with its parts; one with a
    whole list or mapping, before.
    """
    loc, unknown = error["loc"], is_unknown_key(error)
    key: list[tuple] = []
    node = raw
    for depth, part in enumerate(loc):
        where = _container(loc[: depth + 1], "record")
        if isinstance(node, dict):
            table = positions.get(id(node))
            if table is None:
                table = positions[id(node)] = {str(k): i for i, k in enumerate(node)}
            pos = table.get(str(part), len(table))
            child = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            pos, child = part, node[part] if part < len(node) else None
        else:
            pos, child = 0, None
        if where in ("record", "member"):
            last = depth == len(loc) - 1
            if last and unknown and depth == 0 and part == "respondents":
                rank = (-1, 0)  # an individual with respondents: said first, as the kind is
            else:
                rank = (0, pos) if (last and unknown) else (
                    1, _FIELD_ORDER.index(part) if part in _FIELD_ORDER else len(_FIELD_ORDER))
        elif where == "override":
            rank = (1, 0) if part == "reason" else (0, pos)
        else:
            rank = (0, pos)
        key.append(rank)
        node = child
    whole_override = len(loc) >= 2 and loc[-2] == "overrides"
    key.append((9,) if whole_override else (-1,))
    return key


_CACHE: dict[int, ProfileModels] = {}


def profile_models(library: Library) -> ProfileModels:
    """The profile models of a library (built once per library object)."""
    cached = _CACHE.get(id(library))
    if cached is not None and cached.library is library:
        return cached
    models = _build(library)
    _CACHE[id(library)] = models
    return models


def _build(library: Library) -> ProfileModels:
    config = _Strict.model_config
    answer_fields = {s.id: f"s{i}" for i, s in enumerate(library.statements)}
    Answers = create_model(
        "Answers",
        __config__=ConfigDict(**config, title="Answers",
                              json_schema_extra={"description": "Statement id to answer; "
                                                 '"unsure" (or an empty value) is no answer.'}),
        **{answer_fields[s.id]: (_answer_type(s.scale), Field(
            None, alias=s.id, description=s.text,
            json_schema_extra={"x-scale": s.scale, "x-variable": s.variable,
                               "x-favours": s.favours}))
           for s in library.statements},
    )
    fit_fields = {f.id: f"f{i}" for i, f in enumerate(library.fit_items)}
    Fit = create_model(
        "Fit",
        __config__=ConfigDict(**config, title="Fit", json_schema_extra={
            "description": "Optional personal fit: how well each item describes you, 1-7."}),
        **{fit_fields[f.id]: (_answer_type("agree7", fit=True),
                              Field(None, alias=f.id, description=f.text))
           for f in library.fit_items},
    )
    slugs = [a.slug for a in library.ranked]
    override_fields = {slug: f"o{i}" for i, slug in enumerate(slugs)}
    Overrides = create_model(
        "Overrides",
        __config__=ConfigDict(**config, title="Overrides"),
        **{override_fields[slug]: (OverrideSpec, Field(None, alias=slug)) for slug in slugs},
    )

    def plan(value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or value not in slugs):
            fail(f"{_describe(value)} is not a ranked approach{did_you_mean(str(value), slugs)}; "
                 f"allowed: {one_of(slugs)} (`cruxfit approaches` lists them)")
        return value

    Plan = Annotated[Optional[Literal[tuple(slugs)]], BeforeValidator(plan),  # type: ignore[valid-type]
                     Field(description="Optional: the approach you plan to work on (a "
                                       "grantmaker's memo says how far the model agrees with it).")]
    AnswersField = Annotated[Answers, BeforeValidator(_mapping(
        MISSING["individual", "answers"], "must be a mapping from statement id to answer"))]
    # An empty value under fit or overrides reads as none given.
    FitField = Annotated[Optional[Fit], BeforeValidator(_mapping(
        None, "must be a mapping from fit item id to a 1-7 answer"))]
    OverridesField = Annotated[Optional[Overrides], BeforeValidator(_mapping(
        None, "must be a mapping from approach slug to ratings"))]

    Individual = create_model(
        "Individual",
        __config__=ConfigDict(**config, title="Individual", json_schema_extra={
            "description": "One respondent's answers to the cruxfit statements."}),
        name=(Name, ...),
        kind=(Literal["individual"], "individual"),
        answers=(AnswersField, ...),
        fit=(FitField, None),
        notes=(Notes, None),
        overrides=(OverridesField, None),
        plan=(Plan, None),
    )

    Member = create_model(
        "Respondent",
        __base__=_Respondent,
        name=(Name, ...),
        role=(Annotated[Optional[Annotated[str, StringConstraints(max_length=MAX_NAME)]],
                        BeforeValidator(_role)], None),
        answers=(AnswersField, ...),
        fit=(FitField, None),
        notes=(Notes, None),
    )

    def respondents(value: Any) -> Any:
        if value is None:
            fail(MISSING["organisation", "respondents"])
        if isinstance(value, list) and not value:
            fail("is empty; list at least one respondent with a name and answers")
        if not isinstance(value, list):
            fail(f"must be a list of respondents, not {_describe(value)}")
        return value

    Organisation = create_model(
        "Organisation",
        __config__=ConfigDict(**config, title="Organisation", json_schema_extra={
            "description": "Several respondents analysed together."}),
        name=(Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=NOT_BLANK),
                        BeforeValidator(_org_name)], ...),
        kind=(Literal["organisation"], ...),
        respondents=(Annotated[list[Member], BeforeValidator(respondents),  # type: ignore[valid-type]
                               Field(min_length=1, max_length=MAX_RESPONDENTS)], ...),
        notes=(Annotated[Optional[Annotated[str, StringConstraints(max_length=MAX_NOTES)]],
                         BeforeValidator(_org_notes)], None),
        overrides=(OverridesField, None),
    )
    return ProfileModels(library, Individual, Member, Organisation, Answers, answer_fields,
                         fit_fields, override_fields)
