"""Form-style CSV input: one row per respondent, one column per statement id.

This is the shape a web form exports. The reader tolerates what such exports contain: a
UTF-8 byte-order mark, blank cells (unsure), agreement written as text ("Strongly agree"),
probabilities written as percentages ("70%"), and extra columns such as a timestamp, which
are named in a warning and ignored, never silently. Optional ``name`` and ``role`` columns
identify respondents; personal-fit items may appear as ``fit:<id>`` or by their bare id.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

from cruxfit.cruxes.errors import InputError, Problem, Problems, did_you_mean
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.loading import read_text
from cruxfit.models.profile import (
    MAX_NAME,
    MAX_RESPONDENTS,
    UNSURE,
    Organisation,
    Profile,
    check_answer,
)

LIKERT = {
    "strongly disagree": 1, "disagree": 2, "somewhat disagree": 3, "slightly disagree": 3,
    "neither agree nor disagree": 4, "neither": 4, "neutral": 4,
    "somewhat agree": 5, "slightly agree": 5, "agree": 6, "strongly agree": 7,
}
UNSURE_WORDS = {"", "unsure", "not sure", "don't know", "dont know", "do not know", "n/a", "na", "?"}
NAME_COLUMNS = ("name", "respondent", "full name")
ROLE_COLUMNS = ("role", "position", "job title")


def _cell(text: str, scale: str):
    """A CSV cell as an answer value for check_answer."""
    t = text.strip()
    low = t.lower()
    if low in UNSURE_WORDS:
        return UNSURE
    if scale == "agree7":
        if low in LIKERT:
            return LIKERT[low]
        m = re.fullmatch(r"([1-7])(?:\s*[-–:.)]\s*.*)?", t)  # "7 - Strongly agree", "5."
        if m:
            return int(m.group(1))
    else:
        m = re.fullmatch(r"(-?[0-9]+(?:\.[0-9]+)?)\s*%", t)
        if m:
            return float(m.group(1)) / 100.0
    try:
        number = float(t.replace(",", ".")) if re.fullmatch(r"-?[0-9]+(?:[.,][0-9]+)?(?:[eE]-?[0-9]+)?", t) else None
    except ValueError:
        number = None
    if number is not None:
        return int(number) if number.is_integer() and scale == "agree7" else number
    return t


def _sniff(text: str) -> csv.Dialect | type[csv.Dialect]:
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def read_rows(path: str | Path, library: Library) -> tuple[list[Profile], list[str], str]:
    """Respondent profiles from a CSV, plus warnings and the text's SHA-256."""
    name = str(path)
    text = read_text(path)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    problems = Problems(name)
    if not text.strip():
        raise InputError([Problem(name, "", "is empty")])
    try:
        rows = list(csv.reader(io.StringIO(text), _sniff(text)))
    except csv.Error as exc:
        raise InputError([Problem(name, "", f"is not valid CSV ({exc})")]) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError([Problem(name, "", "is empty")])
    header = [h.strip() for h in rows[0]]
    statements = {s.id: s for s in library.statements}
    fit_ids = {f.id for f in library.fit_items}
    columns: dict[int, tuple[str, str]] = {}  # index -> (kind, id)
    ignored = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        key = h.lower()
        if h in seen:
            problems.add(f"column {i + 1}", f'"{h}" is a duplicate of column {seen[h] + 1}')
            continue
        seen[h] = i
        if h in statements:
            columns[i] = ("answer", h)
        elif key in NAME_COLUMNS:
            columns[i] = ("name", h)
        elif key in ROLE_COLUMNS:
            columns[i] = ("role", h)
        elif h in fit_ids or (key.startswith("fit:") and h[4:] in fit_ids):
            columns[i] = ("fit", h[4:] if key.startswith("fit:") else h)
        else:
            hint = did_you_mean(h, list(statements) + list(fit_ids))
            if hint:
                problems.add(f"column {i + 1}", f'"{h}" is not a statement id{hint}')
            else:
                ignored.append(h or f"(column {i + 1}, no header)")
    if not any(kind == "answer" for kind, _ in columns.values()):
        problems.add("header", "no column is a statement id; expected columns named after the "
                     f"statements: {', '.join(statements)} (plus optional name and role)")
        problems.raise_if_any()
    body = rows[1:]
    if not body:
        problems.add("", "has a header but no respondents")
    if len(body) > MAX_RESPONDENTS:
        problems.add("", f"has {len(body)} respondents; the limit is {MAX_RESPONDENTS}")
        body = body[:MAX_RESPONDENTS]
    profiles: list[Profile] = []
    names: dict[str, int] = {}
    warnings = []
    if ignored:
        warnings.append(f"{name}: ignored column(s) that are not statements: {', '.join(ignored)}")
    order = {sid: k for k, sid in enumerate(statements)}
    fit_order = [f.id for f in library.fit_items]
    for r, row in enumerate(body, start=2):
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            problems.add(f"row {r}", f"has {len(row)} cells but the header has {len(header)}")
            continue
        answers, unsure, fit = {}, [], {}
        person, role = None, None
        bad = False
        for i, (kind, ident) in columns.items():
            raw = row[i] if i < len(row) else ""
            if kind == "name":
                person = raw.strip() or None
                continue
            if kind == "role":
                role = raw.strip()[:MAX_NAME] or None
                continue
            scale = statements[ident].scale if kind == "answer" else "agree7"
            value, message = check_answer(scale, _cell(raw, scale))
            if message:
                hint = ('a label such as "Strongly agree", or blank for unsure' if scale == "agree7"
                        else 'or blank for unsure')  # percentages are named already
                problems.add(f"row {r}, column {ident}", message.replace('or "unsure"', hint))
                bad = True
            elif value is None:
                if kind == "answer":
                    unsure.append(ident)
            elif kind == "answer":
                answers[ident] = value
            else:
                fit[ident] = value
        if bad:
            continue
        person = (person or f"Respondent {r - 1}")[:MAX_NAME]
        if person in names:
            names[person] += 1
            new = f"{person} ({names[person]})"
            warnings.append(f"{name}: row {r}: the name \"{person}\" is used twice; this one is called \"{new}\"")
            person = new
        else:
            names[person] = 1
        profiles.append(Profile(
            name=person, kind="individual",
            answers=dict(sorted(answers.items(), key=lambda kv: order[kv[0]])),
            unsure=tuple(sorted(unsure, key=order.__getitem__)),
            fit={k: fit[k] for k in fit_order if k in fit},
            source=f"{name}:row {r}", sha256=sha, role=role,
        ))
    problems.raise_if_any()
    return profiles, warnings, sha


def read_organisation(path: str | Path, library: Library, name: str | None = None) -> Organisation:
    """A CSV of respondents as one organisation, named after the file unless told otherwise."""
    profiles, warnings, sha = read_rows(path, library)
    org_name = name or Path(path).stem.replace("_", " ").replace("-", " ").strip() or "Organisation"
    return Organisation(name=org_name[:MAX_NAME], respondents=tuple(profiles), source=str(path),
                        sha256=sha, warnings=tuple(warnings))
