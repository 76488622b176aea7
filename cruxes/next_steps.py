"""Next steps per approach, as library data (``next_steps.yaml``).

For every approach of the library: the skills the work uses, the kinds of roles and
organisations where it is done, and first topics to read. The file is optional for a
library folder (a library without it simply shows no next steps), but when it is present
it must name every approach of ``approaches.yaml`` exactly once and nothing else; every
mistake is reported with the file and the key, like the rest of the library.

:func:`read_next_steps` is called by ``load_library`` and returns plain frozen data, checked
by a pydantic model as the other library files are (``library_model.py``); :func:`as_dict`
gives the JSON the analysis result carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WrapValidator

from cruxfit.cruxes.errors import InputError, Problem, did_you_mean, one_of
from cruxfit.cruxes.loading import load_document
from cruxfit.cruxes.validation import fail, is_unknown_key, message_of, problems_from

FILE = "next_steps.yaml"
FIELDS = ("skills", "roles", "read")
#: Each list holds at least one and at most this many short items.
MAX_ITEMS = 6
MAX_CHARS = 160


@dataclass(frozen=True)
class NextSteps:
    """What someone for whom an approach fits would do next."""

    slug: str
    skills: tuple[str, ...]
    roles: tuple[str, ...]
    read: tuple[str, ...]


def _item(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_CHARS:
        fail(f"must be text of 1 to {MAX_CHARS} characters")
    return " ".join(value.split())


def _texts(value: Any, handler) -> tuple[str, ...]:
    if value is None:
        fail(f"is missing; it must be a list of 1 to {MAX_ITEMS} short texts")
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        fail(f"must be a list of 1 to {MAX_ITEMS} short texts")
    return tuple(handler(value))


Texts = Annotated[list[Annotated[Any, BeforeValidator(_item)]], WrapValidator(_texts),
                  Field(default=None, validate_default=True)]


class _Entry(BaseModel):
    """One approach's next steps: three short lists."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    skills: Texts
    roles: Texts
    read: Texts


def read_next_steps(folder: str | Path, approach_slugs: Iterable[str]
                    ) -> tuple[dict[str, NextSteps], list[Problem]]:
    """Read ``folder/next_steps.yaml`` against the library's approach slugs.

    Returns the entries by slug and the problems found (empty when all is well). A missing
    file gives no entries and no problems. Each entry is checked by :class:`_Entry`; its
    problems are listed as people read the entry: unknown keys first, then the fields.
    """
    path = Path(folder) / FILE
    if not path.is_file():
        return {}, []
    label = str(path)
    try:
        data = load_document(path, label=label)
    except InputError as exc:
        return {}, list(exc.problems)
    problems: list[Problem] = []
    slugs = list(approach_slugs)
    if not isinstance(data, Mapping) or set(data) != {"next_steps"}:
        return {}, [Problem(label, "(top level)", 'must be a mapping with the one key "next_steps"')]
    table = data["next_steps"]
    if not isinstance(table, Mapping):
        return {}, [Problem(label, "next_steps",
                            "must be a mapping from approach slug to its next steps")]
    out: dict[str, NextSteps] = {}
    for slug, entry in table.items():
        key = f"next_steps.{slug}"
        if slug not in slugs:
            problems.append(Problem(label, key, f'"{slug}" is not an approach in approaches.yaml'
                                                f"{did_you_mean(str(slug), slugs)}; known: {one_of(slugs)}"))
            continue
        if not isinstance(entry, Mapping):
            problems.append(Problem(label, key, f"must be a mapping with the keys {one_of(FIELDS)}"))
            continue
        try:
            checked = _Entry.model_validate(dict(entry))
        except ValidationError as exc:
            keys = list(entry)
            problems += problems_from(
                exc.errors(), label, lambda e, i: _word(e),
                order=lambda e: ((0, keys.index(e["loc"][0])) if is_unknown_key(e)
                                 else (1, FIELDS.index(e["loc"][0]), *e["loc"][1:])),
                prefix=("next_steps", str(slug)))
            continue
        out[str(slug)] = NextSteps(str(slug), checked.skills, checked.roles, checked.read)
    for slug in slugs:
        if slug not in table:
            problems.append(Problem(label, f"next_steps.{slug}",
                                    f'is missing: every approach needs next steps, and "{slug}" '
                                    "is in approaches.yaml"))
    return (out if not problems else {}), problems


def _word(error: Any) -> str:
    if is_unknown_key(error):
        return (f"is not a known key{did_you_mean(str(error['loc'][-1]), FIELDS)}; "
                f"allowed: {one_of(FIELDS)}")
    worded = message_of(error)
    if worded is None:  # pragma: no cover - every check of _Entry words its own message
        raise AssertionError(f"an unworded problem: {error}")
    return worded


def as_dict(steps: Iterable[NextSteps], summaries: Mapping[str, str] | None = None
            ) -> dict[str, dict[str, Any]]:
    """The JSON form carried by the analysis result: slug -> {summary, skills, roles, read}
    (``summary`` is the approach's one-line summary from approaches.yaml, when given)."""
    summaries = summaries or {}
    return {s.slug: {"summary": summaries.get(s.slug, ""), "skills": list(s.skills),
                     "roles": list(s.roles), "read": list(s.read)} for s in steps}
