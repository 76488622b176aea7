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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from cruxfit.cruxes.errors import Problems, did_you_mean, one_of
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.loading import parse_document, read_text

# The format itself (fields, scales, limits and the wording of every problem) is described
# once, as pydantic models, in profile_model; the names below are part of this module's API.
from cruxfit.cruxes.profile_model import (  # noqa: F401
    KINDS,
    MAX_NAME,
    MAX_NOTES,
    MAX_REASON,
    MAX_RESPONDENTS,
    MEMBER_KEYS,
    ORG_KEYS,
    PROFILE_KEYS,
    UNSURE,
    _control_message,
    _describe,
    check_answer,
    control_char,
    error_order,
    profile_models,
)
from cruxfit.cruxes.validation import problems_from


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


def parse_profile_text(text: str, name: str, library: Library, *, suffix: str = ".yaml") -> Profile:
    data = parse_document(text, name, suffix=suffix)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return parse_profile(data, library, source=name, sha256=sha)



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
    models = profile_models(library)
    data = dict(data)
    if kind == "organisation":
        data["kind"] = "organisation"
        raw = data.get("respondents")
        if isinstance(raw, list) and len(raw) > MAX_RESPONDENTS:
            problems.add("respondents", f"has {len(raw)} entries; the limit is {MAX_RESPONDENTS}")
            data["respondents"] = raw[:MAX_RESPONDENTS]
        model = models.organisation
    else:
        data.pop("kind", None)
        model = models.individual
    try:
        checked = model.model_validate(data)
        errors: list = []
    except ValidationError as exc:
        checked, errors = None, exc.errors()
    if kind == "organisation":
        errors += _duplicate_names(data.get("respondents"), errors)
    positions: dict = {}
    problems.items += problems_from(
        errors, source, lambda e, i: models.word_error(e, kind, i + len(problems.items)),
        order=lambda e: error_order(e, data, positions))
    problems.raise_if_any()
    if kind == "organisation":
        return Organisation(
            name=checked.name,
            respondents=tuple(_profile(m, raw, library, source=source, sha256=sha256)
                              for m, raw in zip(checked.respondents, data["respondents"])),
            notes=checked.notes,
            overrides=_overrides(checked.overrides, data.get("overrides"), library),
            source=source, sha256=sha256)
    return _profile(checked, data, library, source=source, sha256=sha256)


def _duplicate_names(raw: Any, errors: list) -> list:
    """Errors for respondents named like an earlier one (among those without other problems)."""
    if not isinstance(raw, list):
        return []
    broken = {e["loc"][1] for e in errors
              if len(e["loc"]) >= 2 and e["loc"][0] == "respondents"}
    seen: dict[str, int] = {}
    found = []
    for i, item in enumerate(raw):
        if i in broken or not isinstance(item, dict):
            continue
        name = str(item.get("name")).strip()
        if name in seen:
            found.append({"type": "cruxfit", "loc": ("respondents", i, "name"), "input": name,
                          "ctx": {"message": f'"{name}" is also respondents[{seen[name]}]; '
                                             "names must be distinct"}})
            continue
        seen[name] = i
    return found


def _overrides(checked: Any, raw: Any, library: Library) -> dict[str, Override]:
    """The overrides of a validated profile, in file order."""
    if checked is None or not raw:
        return {}
    fields = profile_models(library).override_fields
    out = {}
    for slug, spec in raw.items():
        entry = getattr(checked, fields[slug])
        out[slug] = Override(slug, entry.ratings(spec), entry.reason)
    return out


def _profile(checked: Any, raw: dict, library: Library, *, source: str, sha256: str) -> Profile:
    """A Profile from a validated individual or respondent (raw: the data it was read from)."""
    models = profile_models(library)
    answers: dict[str, float] = {}
    unsure: list[str] = []
    given = checked.answers.model_fields_set
    for sid, attr in models.answer_fields.items():  # library order, whatever the file order
        if attr in given:
            value = getattr(checked.answers, attr)
            if value is None:
                unsure.append(sid)
            else:
                answers[sid] = value
    fit: dict[str, float] = {}
    if checked.fit is not None:
        for fid, attr in models.fit_fields.items():
            value = getattr(checked.fit, attr)
            if value is not None:
                fit[fid] = value
    return Profile(
        name=checked.name,
        kind="individual",
        answers=answers,
        unsure=tuple(unsure),
        notes=checked.notes,
        overrides=_overrides(getattr(checked, "overrides", None), raw.get("overrides"), library),
        fit=fit,
        source=source,
        sha256=sha256,
        role=getattr(checked, "role", None),
        plan=getattr(checked, "plan", None),
    )
