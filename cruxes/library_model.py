"""The crux library's YAML files as pydantic models.

Each library file (variables, statements, approaches, seed, fit, model settings) is described
by a model: which keys it holds, of what kind, in what range, and which ids of the other
files it may name. :func:`check_library` validates the files in dependency order - the model
settings first (their bands and levels bound the approaches), then the variables, statements,
approaches, seed and fit items - passing the ids each file declares to the next through the
validation context, and returns every problem of every file at once.

Every message is worded here, exactly: a field's validator raises
:func:`~cruxfit.cruxes.validation.fail`, and the records (:class:`_Record`) word unknown keys
themselves. A mapping is reported as people read it: its unknown keys first, then each field
in a fixed order, then the checks that need several of its fields (which run only on fields
that are valid on their own, so that one mistake is reported once).

This module is imported on the first :func:`~cruxfit.cruxes.library.load_library`, not with
the library module: building the models costs a few milliseconds that only loading needs.
"""

# No `from __future__ import annotations`: the models' annotations are evaluated as the
# classes are defined, which spares pydantic evaluating 150 strings (about 20 ms).
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    model_validator,
)

from cruxfit.cruxes.errors import Problem, did_you_mean, one_of
from cruxfit.cruxes.library import (
    DIMENSIONS,
    HARD_VARIABLE,
    LEVELS,
    SCALES,
    SEED_APPROACH,
    Approach,
    ApproachCrux,
    Bands,
    Consideration,
    Crux,
    Evidence,
    FitBelief,
    FitItem,
    LevelDist,
    Loading,
    Prior,
    Seed,
    Settings,
    Statement,
    Use,
    Variable,
    VerdictRule,
    value_band,
)
from cruxfit.cruxes.loading import is_finite_number
from cruxfit.cruxes.validation import details_of, fail, field_path, message_of, worded_at

Context = dict[str, Any]
#: A check across the fields of one record or the items of one list: (location, message) pairs.
Found = list[tuple[tuple, str]]


# --------------------------------------------------------------------------- single values


def kind_of(value: Any) -> str:
    """What a wrong value is, for a message ("the text "x"", "a list", "empty")."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f'the text "{value[:40]}"'
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return type(value).__name__


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


#: Each kind of value: what messages call it, the test, the Python type it is read as.
_KINDS: dict[str, tuple[str, Callable[[Any], bool], type]] = {
    "str": ("text", _is_text, str),
    "number": ("a number", is_finite_number, float),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool), int),
    "bool": ("true or false", lambda v: isinstance(v, bool), bool),
    "list": ("a list", lambda v: isinstance(v, list), list),
    "map": ("a mapping", lambda v: isinstance(v, dict), dict),
}


def _value(kind: str, *, required: bool | Callable[[ValidationInfo], bool] = True,
           default: Any = None, check: Callable[[Any, Context], None] | None = None) -> Any:
    """A field holding one value of a kind; an empty value counts as missing.

    `check(value, context)` sees the value as written (so that messages quote it as written)
    and calls :func:`fail` when it is out of range or names something unknown.
    """
    what, test, python_type = _KINDS[kind]

    def validate(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            if required(info) if callable(required) else required:
                fail(f"is missing; it must be {what}")
            return default
        if not test(value):
            fail(f"must be {what}, not {kind_of(value)}")
        if check is not None:
            check(value, info.context)
        return value

    return Annotated[python_type | None, BeforeValidator(validate),
                     Field(default=None, validate_default=True)]


def _within(test: Callable[[Any], bool], message: str) -> Callable[[Any, Context], None]:
    """A check failing with `message` (``{value}`` filled in) unless `test(value)`."""
    def check(value: Any, context: Context) -> None:
        if not test(value):
            fail(message.format(value=value))
    return check


def _known(what: str, ids: str) -> Callable[[Any, Context], None]:
    """A check that the value is one of the ids another file declares (context[ids])."""
    def check(value: Any, context: Context) -> None:
        message = _unknown(value, context[ids], what)
        if message:
            fail(message)
    return check


def _unknown(value: Any, known: list[str], what: str) -> str | None:
    if value in known:
        return None
    return f'"{value}" is not a known {what}{did_you_mean(value, known)}'


def _tilt_variable(value: Any, context: Context) -> str | None:
    """Why a variable cannot carry an approach's tilt, or None."""
    message = _unknown(value, context["variables"], "variable")
    if message is None and value == HARD_VARIABLE:
        message = (f'"{HARD_VARIABLE}" cannot move an approach here: it already weighs the '
                   "hard and easy ratings")
    return message


def _check_tilt_variable(value: Any, context: Context) -> None:
    message = _tilt_variable(value, context)
    if message:
        fail(message)


# --------------------------------------------------------------------------- errors


def _raise(title: str, details: list) -> None:
    if details:
        raise ValidationError.from_exception_data(title, details)


def _failed_fields(errors: Iterable[Any]) -> set:
    """The first part of each error's location: the fields (or list items) that failed."""
    return {e["loc"][0] for e in errors if e["loc"]}


# --------------------------------------------------------------------------- records


class _Record(BaseModel):
    """One mapping of a library file.

    Its problems are listed as people read them: unknown keys first (with the allowed keys
    in the order of :attr:`allowed`, default the fields' order), then each field in the order
    declared, then :meth:`across` - the checks that need several fields, given only the
    fields that are valid on their own.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    allowed: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _record(cls, data: Any, handler, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            fail(f"must be a mapping of keys to values, not {kind_of(data)}")
        allowed = cls.allowed or tuple(cls.model_fields)
        details = [worded_at((str(k),), f"is not a known key{did_you_mean(k, allowed)}; "
                                        f"allowed: {one_of(allowed)}", k)
                   for k in data if k not in allowed]
        known = {k: v for k, v in data.items() if k in allowed}
        cls.before(known, info.context)
        record = None
        try:
            record = handler(known)
            failed: set = set()
        except ValidationError as exc:
            details += details_of(exc)
            failed = _failed_fields(exc.errors())
        details += [worded_at(loc, message, data)
                    for loc, message in cls.across(known, failed, info.context)]
        _raise(cls.__name__, details)
        return record

    @classmethod
    def before(cls, data: dict, context: Context) -> None:
        """Note in the context what the fields of this record need to know of it."""

    @classmethod
    def across(cls, data: dict, failed: set, context: Context) -> Found:
        """Problems that need several fields; `failed` names the fields that are not valid."""
        return []


def _mapping(record: type[_Record], *, required: bool = True) -> Any:
    """A field holding a nested record.

    A missing or wrong value is one problem, followed by those of an empty mapping (its
    required keys), as the library has always reported them.
    """
    def validate(value: Any, handler, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            return handler(value)
        if value is None and not required:
            return handler({})
        first = ("is missing; it must be a mapping" if value is None
                 else f"must be a mapping, not {kind_of(value)}")
        details = [worded_at((), first, value)]
        try:
            handler({})
        except ValidationError as exc:
            details += details_of(exc)
        _raise(record.__name__, details)

    return Annotated[record | None, WrapValidator(validate),
                     Field(default=None, validate_default=True)]


def _list(item: type[_Record], *, required: bool = True, empty: str | None = None,
          unique: tuple[str, str, str] | None = None,
          across: Callable[[list, set, Context], Found] | None = None) -> Any:
    """A field holding a list of records.

    `empty`: the problem of an empty list (none by default). `unique`: (key, what, list
    path) - the key whose values must differ between items. `across(items, failed, context)`:
    checks of the list as a whole, told the indexes of the items that are not valid.
    """
    def validate(value: Any, handler, info: ValidationInfo) -> Any:
        if value is None:
            if required:
                fail("is missing; it must be a list")
            return []
        if not isinstance(value, list):
            fail(f"must be a list, not {kind_of(value)}")
        if not value and empty:
            fail(empty)
        result, details, failed = None, [], set()
        try:
            result = handler(value)
        except ValidationError as exc:
            details = details_of(exc)
            failed = _failed_fields(exc.errors())
        if unique is not None:
            # Each duplicate right after the other problems of its item.
            details += _duplicates(value, *unique)
            details.sort(key=lambda d: d["loc"][0])
        if across is not None:
            details += [worded_at(loc, message, value)
                        for loc, message in across(value, failed, info.context)]
        _raise(item.__name__, details)
        return result

    return Annotated[list[item] | None, WrapValidator(validate),
                     Field(default=None, validate_default=True)]


def _duplicates(items: list, key: str, what: str, path: str) -> list:
    seen: dict[str, str] = {}
    details = []
    for i, item in enumerate(items):
        value = item.get(key) if isinstance(item, dict) else None
        if not _is_text(value):
            continue  # reported as the item's own problem
        if value in seen:
            details.append(worded_at((i, key), f'duplicate {what} "{value}" (first defined at '
                                               f"{seen[value]})", value))
        else:
            seen[value] = f"{path}[{i}].{key}"
    return details


def _entries(check: Callable[[Any, Any, Context], str | None], *, required: bool) -> Any:
    """A field holding a mapping of free keys (ids of another file); `check(key, value,
    context)` words the problem of one entry, or returns None."""
    def validate(value: Any, info: ValidationInfo) -> Any:
        if value is None:
            if required:
                fail("is missing; it must be a mapping")
            return {}
        if not isinstance(value, dict):
            fail(f"must be a mapping, not {kind_of(value)}")
        details = []
        for key, item in value.items():
            message = check(key, item, info.context)
            if message:
                details.append(worded_at((str(key),), message, item))
        _raise("entries", details)
        return value

    return Annotated[dict | None, BeforeValidator(validate),
                     Field(default=None, validate_default=True)]


# --------------------------------------------------------------------------- variables.yaml


class _Prior(_Record):
    mean: _value("number", check=_within(
        lambda m: 0 < m < 1,
        "{value} is outside (0, 1); a prior credence must be strictly between 0 and 1"))
    strength: _value("number", check=_within(lambda s: 0.5 <= s <= 1000,
                                             "{value} is outside [0.5, 1000]"))


class _Variable(_Record):
    allowed = ("id", "name", "proposition", "prior", "justification", "crux")

    id: _value("str")
    prior: _mapping(_Prior)
    name: _value("str")
    proposition: _value("str")
    justification: _value("str")
    crux: _value("str", required=False)

    def build(self) -> Variable:
        return Variable(self.id, self.name, self.proposition,
                        Prior(self.prior.mean, self.prior.strength), self.justification,
                        self.crux)


class VariablesFile(_Record):
    variables: _list(_Variable, unique=("id", "variable id", "variables"))


# --------------------------------------------------------------------------- statements.yaml


class _Loading(_Record):
    variable: _value("str", check=_known("variable", "variables"))
    sign: _value("int", check=_within(lambda s: s in (1, -1), "{value} is not allowed; use 1 or -1"))
    weight: _value("number", required=False,
                   check=_within(lambda w: 0 < w <= 1, "{value} is outside (0, 1]"))


def _loads_across(items: list, failed: set, context: Context) -> Found:
    found: Found = []
    total = None if failed else sum(_weight(item, len(items)) for item in items)
    if total is not None and abs(total - 1.0) > 1e-6:
        found.append(((), f"weights add up to {total:g}; they must add up to 1"))
    valid = [item for i, item in enumerate(items) if i not in failed]
    if len({item["variable"] for item in valid}) != len(valid):
        found.append(((), "names the same variable twice"))
    return found


def _weight(item: dict, n: int) -> float:
    """A loading's weight; without one, the loadings of a statement share it equally."""
    return float(item["weight"]) if item.get("weight") is not None else 1.0 / n


def _scale(value: Any, context: Context) -> None:
    if value not in SCALES:
        fail(f'"{value}" is not a scale{did_you_mean(value, SCALES)}; allowed: {one_of(SCALES)}')


class _Statement(_Record):
    allowed = ("id", "text", "scale", "loads", "favours")

    id: _value("str")
    text: _value("str")
    scale: _value("str", check=_scale)
    favours: _value("int", check=_within(lambda f: f in (1, -1),
                                         "{value} is not allowed; use 1 or -1"))
    loads: _list(_Loading, empty="is empty; a statement must load on at least one variable",
                 across=_loads_across)

    def build(self) -> Statement:
        n = len(self.loads)
        loads = tuple(Loading(ld.variable, ld.sign, ld.weight if ld.weight is not None else 1.0 / n)
                      for ld in self.loads)
        return Statement(self.id, self.text, self.scale, loads, self.favours)


class StatementsFile(_Record):
    statements: _list(_Statement, unique=("id", "statement id", "statements"))


# --------------------------------------------------------------------------- approaches.yaml


def _on_scale(value: Any, context: Context) -> None:
    if context["ranked"] and value not in LEVELS:
        fail(f'"{value}" is off the rating scale{did_you_mean(value, LEVELS)}; allowed: '
             f"{one_of(LEVELS)} (or set ranked: false with a reason)")


class _Ratings(_Record):
    # Off the scale is allowed for an approach that is not ranked (see _Approach.before).
    tractability: _value("str", check=_on_scale)
    hard: _value("str", check=_on_scale)
    easy: _value("str", check=_on_scale)
    neglectedness: _value("str", check=_on_scale)


assert tuple(_Ratings.model_fields) == DIMENSIONS


class _ApproachCrux(_Record):
    topic: _value("str")
    variable: _value("str", check=_check_tilt_variable)
    tilt: _value("number")
    harm: _value("str", required=False)

    @classmethod
    def across(cls, data: dict, failed: set, context: Context) -> Found:
        if "tilt" in failed or data.get("tilt") is None:
            return []
        tilt = data["tilt"]
        harm = data.get("harm") if "harm" not in failed else None
        bands = context["bands"]
        limit = bands.harm_tilt_max if harm else bands.crux_tilt_max
        if not 0 < abs(tilt) <= limit:
            why = ("with a stated harm" if harm else
                   "(a larger one needs `harm:` saying where the page says the work does harm)")
            return [(("tilt",), (f"{tilt!r} is not allowed; a crux tilt is non-zero and at most "
                                f"{limit:g} in size {why}"))]
        if harm and abs(tilt) <= 1:
            return [(("harm",), (f"is given but the tilt {tilt:g} cannot make the value negative; "
                                "drop `harm` or raise the tilt above 1"))]
        return []

    def build(self) -> ApproachCrux:
        return ApproachCrux(self.topic, self.variable, self.tilt, self.harm)


def _also_entry(variable: Any, tilt: Any, context: Context) -> str | None:
    message = _tilt_variable(variable, context)
    if message is None and (not is_finite_number(tilt)
                            or not 0 < abs(tilt) <= context["bands"].also_tilt_max):
        message = (f"{tilt!r} is not allowed; a cross-cutting tilt is non-zero and at most "
                   f"{context['bands'].also_tilt_max:g} in size")
    return message


class _FitBelief(_Record):
    allowed = ("text", "variable", "holds", "statement")

    text: _value("str")
    variable: _value("str", check=_known("variable", "variables"))
    holds: _value("bool")
    statement: _value("str", required=False)

    def build(self) -> FitBelief:
        return FitBelief(self.text, self.variable, self.holds, self.statement)


def _topics(value: Any, context: Context) -> None:
    if not all(isinstance(t, str) for t in value):
        fail("must be a list of short texts")


class _Approach(_Record):
    allowed = ("slug", "name", "summary", "ratings", "crux_topics", "cruxes", "also", "ranked",
               "unranked_reason", "good_fit")

    slug: _value("str")
    ranked: _value("bool", required=False, default=True)
    unranked_reason: _value("str", required=lambda info: not info.data.get("ranked", True))
    ratings: _mapping(_Ratings)
    crux_topics: _value("list", check=_topics)
    cruxes: _list(_ApproachCrux, required=False)
    also: _entries(_also_entry, required=False)
    good_fit: _list(_FitBelief, required=False)
    name: _value("str")
    summary: _value("str")

    @classmethod
    def before(cls, data: dict, context: Context) -> None:
        ranked = data.get("ranked")
        context["ranked"] = ranked if isinstance(ranked, bool) else True

    @classmethod
    def across(cls, data: dict, failed: set, context: Context) -> Found:
        if failed & {"cruxes", "also"}:
            return []
        ranked = context["ranked"]
        cruxes = data.get("cruxes") or []
        tilts: dict[str, float] = {}
        found: Found = []
        for variable, tilt in ([(c["variable"], c["tilt"]) for c in cruxes]
                               + list((data.get("also") or {}).items())):
            if variable in tilts:
                found.append((("cruxes",), (f'"{variable}" is used twice (in cruxes or also); a '
                                           "variable may enter an approach once")))
            tilts[variable] = float(tilt)
        if found or not ranked or failed & {"ratings", "crux_topics"}:
            return found
        if not cruxes:
            return [(("cruxes",), ("is missing; every ranked approach needs the cruxes of its own "
                                  "page, each mapped onto a belief variable"))]
        priors, levels, bands = context["priors"], context["levels"], context["bands"]
        ratings = data["ratings"]
        if not (all(v in priors for v in tilts)
                and all(ratings.get(d) in levels.get(d, {}) for d in DIMENSIONS)):
            return []  # the variables or the levels have problems of their own
        hard_mean = priors[HARD_VARIABLE].mean if HARD_VARIABLE in priors else 0.5
        gain, low = value_band({v: priors[v].mean for v in tilts}, tilts, ratings, levels,
                               hard_mean)
        if gain > bands.max_gain:
            found.append((("cruxes",), (f"beliefs could raise this approach's value to {gain:.2f} "
                                       "times its typical value; the limit (bands.max_gain in "
                                       f"model.yaml) is {bands.max_gain:g}")))
        if low < 0 and not any(c.get("harm") for c in cruxes):
            found.append((("cruxes",), ("beliefs could make this approach's value negative, but "
                                       "no crux states a harm")))
        return found

    def build(self) -> Approach:
        cruxes = tuple(c.build() for c in self.cruxes)
        also = {str(v): float(t) for v, t in self.also.items()}
        return Approach(
            slug=self.slug, name=self.name, summary=self.summary,
            ratings={d: getattr(self.ratings, d) for d in DIMENSIONS},
            crux_topics=tuple(self.crux_topics), tilts={**{c.variable: c.tilt for c in cruxes}, **also},
            ranked=self.ranked, unranked_reason=self.unranked_reason,
            good_fit=tuple(b.build() for b in self.good_fit), cruxes=cruxes, also=also,
        )


class ApproachesFile(_Record):
    approaches: _list(_Approach, unique=("slug", "approach slug", "approaches"))


# --------------------------------------------------------------------------- seed.yaml


class _Use(_Record):
    use: _value("str")
    status: _value("str")
    promise: _value("str")

    def build(self) -> Use:
        return Use(self.use, self.status, self.promise)


class _Consideration(_Record):
    favourable: _value("str")
    unfavourable: _value("str")
    statement: _value("str", check=_known("statement", "statements"))

    def build(self) -> Consideration:
        return Consideration(self.favourable, self.unfavourable, self.statement)


class _SeedCrux(_Record):
    allowed = ("id", "title", "variable", "intro", "note", "considerations")

    id: _value("str")
    variable: _value("str", check=_known("variable", "variables"))
    considerations: _list(_Consideration)
    title: _value("str")
    intro: _value("str")
    note: _value("str", required=False)

    def build(self) -> Crux:
        return Crux(self.id, self.title, self.variable, self.intro, self.note,
                    tuple(c.build() for c in self.considerations))


class _SeedBelief(_FitBelief):
    """A belief of the seed page: it names the statement that asks about it."""

    statement: _value("str", check=_known("statement", "statements"))


def _rating_note(dimension: Any, note: Any, context: Context) -> str | None:
    if dimension in DIMENSIONS:
        return None
    return (f"is not a rating dimension{did_you_mean(dimension, DIMENSIONS)}; "
            f"allowed: {one_of(DIMENSIONS)}")


class SeedFile(_Record):
    allowed = ("approach", "description", "does", "rating_notes", "uses", "cruxes", "good_fit",
               "less_relevant")

    approach: _value("str", check=_known("approach", "approaches"))
    uses: _list(_Use)
    cruxes: _list(_SeedCrux, unique=("id", "crux id", "cruxes"))
    rating_notes: _entries(_rating_note, required=True)
    does: _value("list")
    good_fit: _list(_SeedBelief)
    less_relevant: _list(_SeedBelief)
    description: _value("str")

    def build(self) -> Seed:
        return Seed(self.approach, self.description, tuple(str(d) for d in self.does),
                    dict(self.rating_notes), tuple(u.build() for u in self.uses),
                    tuple(c.build() for c in self.cruxes),
                    tuple(b.build() for b in self.good_fit),
                    tuple(b.build() for b in self.less_relevant))


# --------------------------------------------------------------------------- fit.yaml


def _fit_weight(approach: Any, weight: Any, context: Context) -> str | None:
    message = _unknown(approach, context["approaches"], "approach")
    if message is None and (not is_finite_number(weight) or not -1 < weight < 1):
        message = f"{weight!r} is not allowed; a weight is a number strictly between -1 and 1"
    return message


class _FitItem(_Record):
    id: _value("str")
    text: _value("str")
    weights: _entries(_fit_weight, required=True)

    def build(self) -> FitItem:
        return FitItem(self.id, self.text, {str(a): float(w) for a, w in self.weights.items()})


class FitFile(_Record):
    items: _list(_FitItem, unique=("id", "fit item id", "items"))


# --------------------------------------------------------------------------- model.yaml


def _above_zero(kind: str, **options: Any) -> Any:
    return _value(kind, check=_within(lambda v: v > 0, "{value} must be above 0"), **options)


def _zero_or_more(kind: str, **options: Any) -> Any:
    return _value(kind, check=_within(lambda v: v >= 0, "{value} must be 0 or more"), **options)


class _Level(_Record):
    mean: _above_zero("number")
    sd: _zero_or_more("number")


class _DimensionLevels(_Record):
    Low: _mapping(_Level)
    Medium: _mapping(_Level)
    High: _mapping(_Level)


assert tuple(_DimensionLevels.model_fields) == LEVELS


class _Levels(_Record):
    tractability: _mapping(_DimensionLevels)
    hard: _mapping(_DimensionLevels)
    easy: _mapping(_DimensionLevels)
    neglectedness: _mapping(_DimensionLevels)

    def build(self) -> dict[str, dict[str, LevelDist]]:
        return {d: {lv: LevelDist(getattr(getattr(self, d), lv).mean, getattr(getattr(self, d), lv).sd)
                    for lv in LEVELS} for d in DIMENSIONS}


assert tuple(_Levels.model_fields) == DIMENSIONS


def _cutpoints(value: Any, context: Context) -> None:
    if (len(value) != 6 or not all(is_finite_number(c) for c in value)
            or any(b <= a for a, b in itertools.pairwise(value))):
        fail("must be six increasing numbers (one between each pair of neighbouring answers on "
             "the 1-7 scale)")


class _Agree7(_Record):
    discrimination: _above_zero("number")
    cutpoints: _value("list", check=_cutpoints)


class _Probability(_Record):
    sd_logit: _above_zero("number")
    clip: _value("number", check=_within(lambda c: 0 < c < 0.5, "{value} is outside (0, 0.5)"))


class _Likelihood(_Record):
    allowed = ("agree7", "probability", "item_correlation")

    item_correlation: _value("number", required=False, default=0.0,
                             check=_within(lambda r: 0 <= r < 1, "{value} is outside [0, 1)"))
    agree7: _mapping(_Agree7)
    probability: _mapping(_Probability)


def _share(default: float) -> Any:
    return _value("number", required=False, default=default,
                  check=_within(lambda p: 0 <= p <= 1, "{value} is outside [0, 1]"))


class _Verdict(_Record):
    allowed = ("label", "meaning", "p_best_min", "p_top3_min", "ev_rank_max")

    label: _value("str")
    meaning: _value("str")
    ev_rank_max: _value("int", required=False, check=_within(
        lambda r: r >= 1, "{value} must be 1 or more (1 = highest expected value)"))
    p_best_min: _share(0.0)
    p_top3_min: _share(0.0)

    def build(self) -> VerdictRule:
        return VerdictRule(self.label, self.meaning, self.p_best_min, self.p_top3_min,
                           self.ev_rank_max)


def _verdicts_across(items: list, failed: set, context: Context) -> Found:
    if failed:
        return []  # which verdict is last is not known yet
    found: Found = [((i,), ("needs ev_rank_max: every verdict but the last follows the ranking by "
                           "expected value, so that it never rests on spread alone"))
                    for i, item in enumerate(items[:-1]) if item.get("ev_rank_max") is None]
    last = items[-1] if items else {}
    if last.get("p_best_min") or last.get("p_top3_min") or last.get("ev_rank_max"):
        found.append(((), ("the last verdict must have no minimums, so that every result gets a "
                          "verdict")))
    return found


def _at_least(least: int) -> Any:
    return _value("int", check=_within(
        lambda v: v >= least,
        f"{{value}} is too small; at least {least} (R-hat needs two chains or more)"))


class _Sampling(_Record):
    chains: _at_least(2)
    tune: _at_least(100)
    draws: _at_least(100)
    target_accept: _value("number", check=_within(lambda t: 0.5 <= t < 1,
                                                  "{value} is outside [0.5, 1)"))


class _Convergence(_Record):
    r_hat_max: _value("number")
    ess_bulk_min: _value("number")
    ess_tail_min: _value("number")
    divergences_max: _value("int")


class _Organisation(_Record):
    mean_sd: _above_zero("number", required=False, default=1.0)
    spread_sd: _above_zero("number", required=False, default=0.8)


def _band(default: float, low: float, high: float) -> Any:
    return _value("number", required=False, default=default, check=_within(
        lambda v: low < v <= high, f"{{value}} is outside ({low:g}, {high:g}]"))


class _Bands(_Record):
    crux_tilt_max: _band(0.6, 0, 1)
    also_tilt_max: _band(0.25, 0, 1)
    harm_tilt_max: _band(1.5, 1, 3)
    max_gain: _band(6.0, 1, 100)


EVIDENCE_LABEL = "not enough answers"


class _Evidence(_Record):
    min_crux_answers: _zero_or_more("int", required=False, default=4)
    min_each_crux: _zero_or_more("int", required=False, default=1)
    label: _value("str", required=False, default=EVIDENCE_LABEL)
    meaning: _value("str", required=False,
                    default="Too few answers bear on the cruxes for a verdict.")
    seconds_per_statement: _above_zero("number", required=False, default=18.0)


class SettingsFile(_Record):
    levels: _mapping(_Levels)
    likelihood: _mapping(_Likelihood)
    verdicts: _list(_Verdict, across=_verdicts_across,
                    empty="is empty; at least one verdict is needed, and the last one, without "
                          "minimums, gives every result a verdict")
    sampling: _mapping(_Sampling)
    convergence: _mapping(_Convergence)
    organisation: _mapping(_Organisation, required=False)
    bands: _mapping(_Bands, required=False)
    evidence: _mapping(_Evidence, required=False)

    @classmethod
    def across(cls, data: dict, failed: set, context: Context) -> Found:
        if "verdicts" in failed:
            return []
        evidence = data.get("evidence")
        label = evidence.get("label") if isinstance(evidence, dict) else None
        label = label if _is_text(label) else EVIDENCE_LABEL
        if label in {v.get("label") for v in data.get("verdicts") or []}:
            return [(("evidence", "label"), f'"{label}" is already a verdict label; it must differ')]
        return []

    def build(self) -> Settings:
        lk, s, c = self.likelihood, self.sampling, self.convergence
        return Settings(
            self.levels.build(), lk.agree7.discrimination, tuple(float(x) for x in lk.agree7.cutpoints),
            lk.probability.sd_logit, lk.probability.clip, tuple(v.build() for v in self.verdicts),
            s.chains, s.tune, s.draws, s.target_accept, c.r_hat_max, c.ess_bulk_min,
            c.ess_tail_min, c.divergences_max, self.organisation.mean_sd,
            self.organisation.spread_sd, item_correlation=lk.item_correlation,
            bands=Bands(**self.bands.model_dump()),
            evidence=Evidence(**self.evidence.model_dump()),
        )


# --------------------------------------------------------------------------- the library


def check_library(docs: dict[str, Any], folder: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Validate the parsed library files (each a mapping) against each other.

    Returns the parts of a :class:`~cruxfit.cruxes.library.Library` (empty when there are
    problems) and every problem, file by file; ``approach_slugs`` is always given, for the
    next steps file.
    """
    def file(name: str) -> str:
        return str(folder / name)

    # Cross-references are checked against every id a file declares, even the ids of items
    # with other problems, so that one mistake does not cascade into many.
    context: Context = {
        "variables": _declared(docs["variables.yaml"], "variables", "id"),
        "statements": _declared(docs["statements.yaml"], "statements", "id"),
        "approaches": _declared(docs["approaches.yaml"], "approaches", "slug"),
        "levels": {}, "bands": Bands(), "priors": {},
    }
    settings, p_model, _ = _validate(SettingsFile, docs["model.yaml"], file("model.yaml"), context)
    if settings is not None:
        context["levels"], context["bands"] = settings.levels, settings.bands
    variables, p_vars, errors = _validate(VariablesFile, docs["variables.yaml"],
                                          file("variables.yaml"), context)
    # The approaches' value bands need the priors of the variables that are valid.
    context["priors"] = {v["id"]: Prior(float(v["prior"]["mean"]), float(v["prior"]["strength"]))
                         for v in _valid(docs["variables.yaml"], "variables", errors)}
    statements, p_stmts, _ = _validate(StatementsFile, docs["statements.yaml"],
                                       file("statements.yaml"), context)
    approaches, p_apps, errors = _validate(ApproachesFile, docs["approaches.yaml"],
                                           file("approaches.yaml"), context)
    seed, p_seed, _ = _validate(SeedFile, docs["seed.yaml"], file("seed.yaml"), context)
    fit, p_fit, _ = _validate(FitFile, docs["fit.yaml"], file("fit.yaml"), context)

    if HARD_VARIABLE not in context["variables"] and not p_vars:
        p_vars.append(Problem(file("variables.yaml"), "variables", f'must define "{HARD_VARIABLE}": '
                              "the value model weighs the hard and easy ratings by it"))
    valid = {a["slug"]: a.get("ranked") is not False
             for a in _valid(docs["approaches.yaml"], "approaches", errors)}
    if SEED_APPROACH not in context["approaches"] and not p_apps:
        p_apps.append(Problem(file("approaches.yaml"), "approaches",
                              f'must define "{SEED_APPROACH}", the approach cruxfit assesses'))
    elif valid.get(SEED_APPROACH) is False:
        p_apps.append(Problem(file("approaches.yaml"), "approaches",
                              f'"{SEED_APPROACH}" must be ranked'))
    if sum(valid.values()) < 4 and not p_apps:
        p_apps.append(Problem(file("approaches.yaml"), "approaches", "at least four ranked "
                              "approaches are needed (the verdict uses the top three)"))

    problems = [*p_vars, *p_stmts, *p_apps, *p_seed, *p_model, *p_fit]
    parts: dict[str, Any] = {"approach_slugs": context["approaches"]}
    if not problems:
        parts.update(
            variables=tuple(v.build() for v in variables.variables),
            statements=tuple(s.build() for s in statements.statements),
            approaches=tuple(a.build() for a in approaches.approaches),
            seed=seed.build(), settings=settings, fit_items=tuple(f.build() for f in fit.items))
    return parts, problems


def _validate(model: type[_Record], data: Any, file: str, context: Context):
    """(the built settings or the validated file, [], []) or (None, problems, errors)."""
    try:
        checked = model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        return None, [Problem(file, field_path(e["loc"]), message_of(e) or e["msg"])
                      for e in errors], errors
    return (checked.build() if isinstance(checked, SettingsFile) else checked), [], []


def _declared(doc: Any, listname: str, key: str) -> list[str]:
    items = doc.get(listname) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return []
    return [it[key] for it in items if isinstance(it, dict) and isinstance(it.get(key), str)]


def _valid(doc: dict, listname: str, errors: list) -> list[dict]:
    """The items of a file's list without any problem of their own."""
    items = doc.get(listname)
    if not isinstance(items, list):
        return []
    broken = {e["loc"][1] for e in errors if len(e["loc"]) > 1 and e["loc"][0] == listname}
    return [it for i, it in enumerate(items) if i not in broken]
