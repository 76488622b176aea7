"""Belief profiles: what one respondent (or, later, an organisation) answered.

A profile is YAML or JSON::

    name: Ada
    kind: individual
    answers:
      safety-sabotage: 2          # agree7: 1 (strongly disagree) .. 7 (strongly agree)
      world-short-timelines: 0.6  # probability: 0 .. 1
      scaling-improves: unsure    # "unsure" (or an empty value) counts as no answer
    overrides:
      evals: {neglectedness: Medium, reason: "Few teams test for sabotage"}
    notes: free text

:func:`load_profile` checks everything against the crux library and reports every problem
at once; :func:`parse_profile` does the same for data already in memory.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from cruxfit.cruxes.errors import MAX_PROBLEMS, InputError, Problems, did_you_mean, one_of
from cruxfit.cruxes.library import DIMENSIONS, LEVELS, Library
from cruxfit.cruxes.loading import decode_text, parse_document, read_text

KINDS = ("individual", "organisation")
PROFILE_KEYS = ("name", "kind", "answers", "fit", "notes", "overrides", "plan")
ORG_KEYS = ("name", "kind", "respondents", "notes", "overrides")
MEMBER_KEYS = ("name", "role", "answers", "fit", "notes")
#: Largest organisation read: the model is measured up to 200 (see benchmarks).
MAX_RESPONDENTS = 500
UNSURE = "unsure"
MAX_NAME = 200
MAX_NOTES = 20_000
MAX_REASON = 2_000


@dataclass(frozen=True)
class Override:
    slug: str
    ratings: Mapping[str, str]
    reason: str


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    answers: Mapping[str, float]
    unsure: tuple[str, ...] = ()
    notes: str | None = None
    overrides: Mapping[str, Override] = field(default_factory=dict)
    fit: Mapping[str, float] = field(default_factory=dict)
    source: str = "<memory>"
    sha256: str = ""
    role: str | None = None
    #: For a respondent read from a form export: the export's layout (see cruxes/forms.py).
    form: Mapping[str, Any] | None = None
    #: The approach the person (or applicant) plans to work on: an approach slug, optional.
    plan: str | None = None

    def to_data(self) -> dict[str, Any]:
        """Plain data that :func:`parse_profile` reads back into an equal profile."""
        data: dict[str, Any] = {"name": self.name, "kind": self.kind}
        answers: dict[str, Any] = {k: v for k, v in self.answers.items()}
        answers.update({k: UNSURE for k in self.unsure})
        data["answers"] = answers
        if self.fit:
            data["fit"] = {k: int(v) for k, v in self.fit.items()}
        if self.overrides:
            data["overrides"] = {
                slug: {**o.ratings, "reason": o.reason} for slug, o in self.overrides.items()
            }
        if self.notes is not None:
            data["notes"] = self.notes
        if self.plan is not None:
            data["plan"] = self.plan
        return data


@dataclass(frozen=True)
class Organisation:
    """Several respondents analysed together (partial pooling)."""

    name: str
    respondents: tuple[Profile, ...]
    notes: str | None = None
    overrides: Mapping[str, Override] = field(default_factory=dict)
    source: str = "<memory>"
    sha256: str = ""
    warnings: tuple[str, ...] = ()
    kind: str = "organisation"
    #: For a form export: its layout and where each column went (see cruxes/forms.py).
    form: Mapping[str, Any] | None = None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": "organisation"}
        if self.overrides:
            data["overrides"] = {s: {**o.ratings, "reason": o.reason} for s, o in self.overrides.items()}
        if self.notes:
            data["notes"] = self.notes
        members = []
        for m in self.respondents:
            d = m.to_data()
            d.pop("kind", None)
            d.pop("overrides", None)
            if m.role:
                d["role"] = m.role
            members.append(d)
        data["respondents"] = members
        return data


def load_profile(path: str | Path, library: Library) -> Profile:
    """Read and validate a profile file."""
    text = read_text(path)
    return parse_profile_text(text, str(path), library, suffix=Path(path).suffix)


def parse_profile_bytes(raw: bytes, name: str, library: Library, suffix: str = ".yaml") -> Profile:
    return parse_profile_text(decode_text(raw, name), name, library, suffix=suffix)


def parse_profile_text(text: str, name: str, library: Library, *, suffix: str = ".yaml") -> Profile:
    data = parse_document(text, name, suffix=suffix)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return parse_profile(data, library, source=name, sha256=sha)


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


_PERCENT = re.compile(r"\s*(\d{1,3}(?:\.\d+)?)\s*%\s*")


def _number(value: int | float) -> str:
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    return f"{value:g}" if isinstance(value, float) else str(value)


class _Prefixed:
    """Adds problems under a key prefix (for respondents inside an organisation)."""

    def __init__(self, problems: Problems, prefix: str):
        self.problems, self.prefix, self.count = problems, prefix, 0

    def add(self, field: str, message: str) -> None:
        self.count += 1
        self.problems.add(f"{self.prefix}{field}" if field else self.prefix.rstrip("."), message)


def parse_profile(data: Any, library: Library, *, source: str = "<memory>", sha256: str = ""):
    """Validate plain data as a profile; raise InputError listing every problem.

    Returns a :class:`Profile` for ``kind: individual`` (the default) and an
    :class:`Organisation` for ``kind: organisation``.
    """
    problems = Problems(source)
    if data is None:  # a file holding only comments
        problems.add("", "is empty")
        problems.raise_if_any()
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else _describe(data)  # at most 40 characters
        problems.add("(top level)", f"must be a mapping with name, kind and answers, not {kind}")
        problems.raise_if_any()
    kind = data.get("kind", "individual")
    if kind not in KINDS:
        problems.add("kind", f"{_describe(kind)} is not allowed{did_you_mean(str(kind), KINDS)}; allowed: {one_of(KINDS)}")
        kind = "organisation" if "respondents" in data else "individual"
    if kind == "organisation":
        return _parse_organisation(data, library, problems, source=source, sha256=sha256)
    rest = {k: v for k, v in data.items() if k != "kind"}
    if "respondents" in rest:
        problems.add("respondents", 'is only allowed with kind: organisation')
        rest.pop("respondents")
    profile = _parse_member(rest, library, problems, "", tuple(k for k in PROFILE_KEYS),
                            member=False, source=source, sha256=sha256)
    problems.raise_if_any()
    return profile


def _parse_organisation(data: dict, library: Library, problems: Problems, *, source: str,
                        sha256: str) -> "Organisation":
    for key in data:
        if key not in ORG_KEYS:
            problems.add(str(key), f"is not an organisation key{did_you_mean(key, ORG_KEYS)}; allowed: {one_of(ORG_KEYS)}")
    name = data.get("name")
    if name is None or isinstance(name, bool) or not isinstance(name, (str, int, float)) or not str(name).strip():
        problems.add("name", "is missing; give the organisation's name as text")
    elif len(str(name)) > MAX_NAME:
        problems.add("name", f"is {len(str(name))} characters long; the limit is {MAX_NAME}")
    elif control_char(str(name)):
        problems.add("name", _control_message(str(name)))
    notes = data.get("notes")
    if notes is not None and (not isinstance(notes, str) or len(notes) > MAX_NOTES):
        problems.add("notes", f"must be text of at most {MAX_NOTES} characters")
    # Organisation-wide rating overrides are parsed with the member machinery.
    shared = _parse_member({"name": "organisation", "answers": {},
                            **({"overrides": data["overrides"]} if "overrides" in data else {})},
                           library, problems, "", PROFILE_KEYS, member=False, source=source,
                           sha256=sha256)
    raw = data.get("respondents")
    members: list[Profile] = []
    if raw is None:
        problems.add("respondents", "is missing; list the respondents, each with a name and answers")
    elif isinstance(raw, list) and not raw:
        problems.add("respondents", "is empty; list at least one respondent with a name and answers")
    elif not isinstance(raw, list):
        problems.add("respondents", f"must be a list of respondents, not {_describe(raw)}")
    else:
        if len(raw) > MAX_RESPONDENTS:
            problems.add("respondents", f"has {len(raw)} entries; the limit is {MAX_RESPONDENTS}")
        seen: dict[str, int] = {}
        for i, item in enumerate(raw[:MAX_RESPONDENTS]):
            prefix = f"respondents[{i}]."
            if not isinstance(item, dict):
                problems.add(f"respondents[{i}]", f"must be a mapping with name and answers, not {_describe(item)}")
                continue
            member = _parse_member(item, library, problems, prefix, MEMBER_KEYS, member=True,
                                   source=source, sha256=sha256)
            if member is None:
                continue
            if member.name in seen:
                problems.add(f"{prefix}name", f'"{member.name}" is also respondents[{seen[member.name]}]; names must be distinct')
                continue
            seen[member.name] = i
            members.append(member)
    problems.raise_if_any()
    return Organisation(name=str(name).strip(), respondents=tuple(members), notes=notes,
                        overrides=shared.overrides if shared else {}, source=source,
                        sha256=sha256)


def _parse_member(data: dict, library: Library, outer: Problems, prefix: str,
                  keys: tuple[str, ...], *, member: bool, source: str, sha256: str):
    """Parse the fields shared by individuals and organisation members."""
    problems = _Prefixed(outer, prefix)
    for key in data:
        if key not in keys:
            # Past the problems that get listed, spare the (slow) suggestion.
            hint = did_you_mean(key, keys) if problems.count < MAX_PROBLEMS else ""
            what = "a respondent key" if member else "a profile key"
            problems.add(str(key), f"is not {what}{hint}; allowed: {one_of(keys)}")

    name = data.get("name")
    if name is None:
        problems.add("name", "is missing; give the respondent's or organisation's name as text")
    elif not isinstance(name, (str, int, float)) or isinstance(name, bool) or not str(name).strip():
        problems.add("name", f"must be non-empty text, not {_describe(name)}")
        name = None
    elif len(str(name)) > MAX_NAME:
        problems.add("name", f"is {len(str(name))} characters long; the limit is {MAX_NAME}")
        name = None
    elif control_char(str(name)):
        problems.add("name", _control_message(str(name)))
        name = None

    kind = "individual"
    role = data.get("role") if member else None
    if role is not None and (not isinstance(role, str) or len(role) > MAX_NAME):
        problems.add("role", f"must be text of at most {MAX_NAME} characters, not {_describe(role)}")
        role = None
    elif role is not None and control_char(role):
        problems.add("role", _control_message(role))
        role = None

    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        problems.add("notes", f"must be text, not {_describe(notes)}")
        notes = None
    elif notes is not None and len(notes) > MAX_NOTES:
        problems.add("notes", f"is {len(notes)} characters long; the limit is {MAX_NOTES}")

    answers: dict[str, float] = {}
    unsure: list[str] = []
    raw_answers = data.get("answers")
    statements = {s.id: s for s in library.statements}
    if raw_answers is None:
        problems.add("answers", "is missing; give a mapping from statement id to answer (see `cruxfit template`)")
    elif not isinstance(raw_answers, dict):
        problems.add("answers", f"must be a mapping from statement id to answer, not {_describe(raw_answers)}")
    else:
        for sid, value in raw_answers.items():
            key = f"answers.{sid}"
            if sid not in statements:
                hint = did_you_mean(str(sid), statements) if problems.count < MAX_PROBLEMS else ""
                problems.add(key, f"is not a statement id{hint}; `cruxfit questions` lists them")
                continue
            checked, message = check_answer(statements[sid].scale, value)
            if message:
                problems.add(key, message)
            elif checked is None:
                unsure.append(sid)
            else:
                answers[sid] = checked

    fit: dict[str, float] = {}
    raw_fit = data.get("fit")
    items = [f.id for f in library.fit_items]
    if raw_fit is not None:
        if not isinstance(raw_fit, dict):
            problems.add("fit", f"must be a mapping from fit item id to a 1-7 answer, not {_describe(raw_fit)}")
        else:
            for fid, value in raw_fit.items():
                key = f"fit.{fid}"
                if fid not in items:
                    problems.add(key, f"is not a personal-fit item{did_you_mean(str(fid), items)}; allowed: {one_of(items)}")
                    continue
                checked, message = check_answer("agree7", value)
                if message:
                    problems.add(key, message.replace("strongly disagree", "not at all").replace("strongly agree", "very well"))
                elif checked is not None:
                    fit[fid] = checked

    overrides: dict[str, Override] = {}
    raw_over = data.get("overrides")
    if raw_over is not None:
        if not isinstance(raw_over, dict):
            problems.add("overrides", f"must be a mapping from approach slug to ratings, not {_describe(raw_over)}")
        else:
            slugs = [a.slug for a in library.ranked]
            unranked = {a.slug for a in library.unranked}
            for slug, spec in raw_over.items():
                key = f"overrides.{slug}"
                if slug in unranked:
                    problems.add(key, f'"{slug}" is not ranked, so its ratings cannot be overridden')
                    continue
                if slug not in slugs:
                    problems.add(key, f"is not an approach{did_you_mean(str(slug), slugs)}; allowed: {one_of(slugs)}")
                    continue
                if not isinstance(spec, dict):
                    problems.add(key, f"must be a mapping of rating dimension to level plus a reason, not {_describe(spec)}")
                    continue
                ratings: dict[str, str] = {}
                for dim, level in spec.items():
                    if dim == "reason":
                        continue
                    if dim not in DIMENSIONS:
                        problems.add(f"{key}.{dim}", f"is not a rating dimension{did_you_mean(str(dim), DIMENSIONS)}; allowed: {one_of(DIMENSIONS)} and reason")
                    elif level not in LEVELS:
                        problems.add(f"{key}.{dim}", f"{_describe(level)} is off the rating scale{did_you_mean(str(level), LEVELS)}; allowed: {one_of(LEVELS)}")
                    else:
                        ratings[dim] = level
                reason = spec.get("reason")
                if not isinstance(reason, str) or not reason.strip():
                    problems.add(f"{key}.reason", "is missing; every override needs a stated reason (text)")
                elif len(reason) > MAX_REASON:
                    problems.add(f"{key}.reason", f"is {len(reason)} characters long; the limit is {MAX_REASON}")
                if not any(d != "reason" for d in spec):
                    problems.add(key, f"overrides nothing; name at least one of {one_of(DIMENSIONS)}")
                if ratings and isinstance(reason, str) and reason.strip():
                    overrides[slug] = Override(slug, ratings, reason.strip())

    plan = data.get("plan") if not member else None
    if plan is not None:
        slugs = [a.slug for a in library.ranked]
        if not isinstance(plan, str) or plan not in slugs:
            problems.add("plan", f"{_describe(plan)} is not a ranked approach"
                                 f"{did_you_mean(str(plan), slugs)}; allowed: {one_of(slugs)} "
                                 "(`cruxfit approaches` lists them)")
            plan = None

    if problems.count:
        return None
    # Keep answers in library order so that hashes and reports do not depend on file order.
    order = {sid: i for i, sid in enumerate(statements)}
    return Profile(
        name=str(name).strip(),
        kind=str(kind),
        answers=dict(sorted(answers.items(), key=lambda kv: order[kv[0]])),
        unsure=tuple(sorted(unsure, key=order.__getitem__)),
        notes=notes,
        overrides=overrides,
        fit={k: fit[k] for k in items if k in fit},
        source=source,
        sha256=sha256,
        role=role,
        plan=plan,
    )

