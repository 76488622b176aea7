"""Next steps per approach, as library data (``next_steps.yaml``).

For every approach of the library: the skills the work uses, the kinds of roles and
organisations where it is done, and first topics to read. The file is optional for a
library folder (a library without it simply shows no next steps), but when it is present
it must name every approach of ``approaches.yaml`` exactly once and nothing else; every
mistake is reported with the file and the key, like the rest of the library.

This module is self-contained: :func:`read_next_steps` is called by ``load_library`` and
returns plain frozen data; :func:`as_dict` gives the JSON the analysis result carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cruxfit.cruxes.errors import InputError, Problem, Problems, did_you_mean, one_of
from cruxfit.cruxes.loading import load_document

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


def read_next_steps(folder: str | Path, approach_slugs: Iterable[str]
                    ) -> tuple[dict[str, NextSteps], list[Problem]]:
    """Read ``folder/next_steps.yaml`` against the library's approach slugs.

    Returns the entries by slug and the problems found (empty when all is well). A missing
    file gives no entries and no problems.
    """
    path = Path(folder) / FILE
    if not path.is_file():
        return {}, []
    label = str(path)
    try:
        data = load_document(path, label=label)
    except InputError as exc:
        return {}, list(exc.problems)
    problems = Problems(label)
    slugs = list(approach_slugs)
    if not isinstance(data, Mapping) or set(data) != {"next_steps"}:
        problems.add("(top level)", 'must be a mapping with the one key "next_steps"')
        return {}, problems.items
    table = data["next_steps"]
    if not isinstance(table, Mapping):
        problems.add("next_steps", "must be a mapping from approach slug to its next steps")
        return {}, problems.items
    out: dict[str, NextSteps] = {}
    for slug, entry in table.items():
        key = f"next_steps.{slug}"
        if slug not in slugs:
            problems.add(key, f'"{slug}" is not an approach in approaches.yaml'
                              f"{did_you_mean(str(slug), slugs)}; known: {one_of(slugs)}")
            continue
        if not isinstance(entry, Mapping):
            problems.add(key, f"must be a mapping with the keys {one_of(FIELDS)}")
            continue
        for k in entry:
            if k not in FIELDS:
                problems.add(f"{key}.{k}", f"is not a known key{did_you_mean(str(k), FIELDS)}; "
                                           f"allowed: {one_of(FIELDS)}")
        lists = {}
        for field in FIELDS:
            lists[field] = _texts(problems, f"{key}.{field}", entry.get(field))
        out[str(slug)] = NextSteps(str(slug), lists["skills"], lists["roles"], lists["read"])
    for slug in slugs:
        if slug not in table:
            problems.add(f"next_steps.{slug}", f'is missing: every approach needs next steps, '
                                               f'and "{slug}" is in approaches.yaml')
    return (out if not problems else {}), problems.items


def _texts(problems: Problems, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        problems.add(key, f"is missing; it must be a list of 1 to {MAX_ITEMS} short texts")
        return ()
    if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
        problems.add(key, f"must be a list of 1 to {MAX_ITEMS} short texts")
        return ()
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_CHARS:
            problems.add(f"{key}[{i}]", f"must be text of 1 to {MAX_CHARS} characters")
            continue
        out.append(" ".join(item.split()))
    return tuple(out)


def as_dict(steps: Iterable[NextSteps], summaries: Mapping[str, str] | None = None
            ) -> dict[str, dict[str, Any]]:
    """The JSON form carried by the analysis result: slug -> {summary, skills, roles, read}
    (``summary`` is the approach's one-line summary from approaches.yaml, when given)."""
    summaries = summaries or {}
    return {s.slug: {"summary": summaries.get(s.slug, ""), "skills": list(s.skills),
                     "roles": list(s.roles), "read": list(s.read)} for s in steps}
