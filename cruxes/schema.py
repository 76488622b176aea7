"""JSON Schema of the profile format, generated from the crux library."""

from __future__ import annotations

from typing import Any

from cruxfit.cruxes.library import DIMENSIONS, LEVELS, Library
from cruxfit.cruxes.profile import KINDS, MAX_NAME, MAX_NOTES, MAX_REASON, UNSURE

UNSURE_SCHEMA = {"anyOf": [{"const": UNSURE}, {"type": "null"}]}


def answer_schema(scale: str) -> dict[str, Any]:
    if scale == "agree7":
        value = {"type": "integer", "minimum": 1, "maximum": 7}
    else:
        value = {"type": "number", "minimum": 0, "maximum": 1}
        percent = {"type": "string", "pattern": r"^\s*\d{1,3}(\.\d+)?\s*%\s*$",
                   "description": 'a percentage such as "70%" (0% to 100%)'}
        return {"anyOf": [value, percent, {"const": UNSURE}, {"type": "null"}]}
    return {"anyOf": [value, {"const": UNSURE}, {"type": "null"}]}


def profile_schema(library: Library, version: str) -> dict[str, Any]:
    answers = {
        s.id: {"description": s.text, "x-scale": s.scale, "x-variable": s.variable,
               "x-favours": s.favours, **answer_schema(s.scale)}
        for s in library.statements
    }
    override = {
        "type": "object",
        "properties": {
            **{d: {"enum": list(LEVELS)} for d in DIMENSIONS},
            "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON},
        },
        "required": ["reason"],
        "minProperties": 2,
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"cruxfit-profile-{version}",
        "title": "cruxfit belief profile",
        "description": "One respondent's answers to the cruxfit statements (YAML or JSON).",
        "type": "object",
        "required": ["name", "answers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
            "kind": {"enum": list(KINDS[:1]), "default": "individual",
                     "description": "Only individual profiles are supported so far."},
            "notes": {"type": "string", "maxLength": MAX_NOTES},
            "answers": {"type": "object", "properties": answers, "additionalProperties": False},
            "fit": {
                "type": "object",
                "description": "Optional personal fit: how well each item describes you, 1-7.",
                "properties": {f.id: {"description": f.text, **answer_schema("agree7")}
                               for f in library.fit_items},
                "additionalProperties": False,
            },
            "overrides": {
                "type": "object",
                "properties": {a.slug: override for a in library.ranked},
                "additionalProperties": False,
            },
            "plan": {"enum": [a.slug for a in library.ranked],
                     "description": "Optional: the approach you plan to work on (a grantmaker's "
                                    "memo says how far the model agrees with it)."},
        },
    }


def _comment(text: str, width: int = 88, prefix: str = "  # ") -> list[str]:
    import textwrap

    return [prefix + line for line in textwrap.wrap(text, width - len(prefix))]


def profile_template(library: Library) -> str:
    """A profile listing every statement, explained in comments, ready to fill in."""
    variables = {v.id: v for v in library.variables}
    lines = [
        "# cruxfit profile. Fill in an answer for each statement you have a view on.",
        "# agree7 statements: 1 strongly disagree, 2 disagree, 3 somewhat disagree,",
        "#   4 neither, 5 somewhat agree, 6 agree, 7 strongly agree.",
        "# probability statements: a number from 0 to 1.",
        '# Leave "unsure" where you have no view: it counts as no answer, not as the middle.',
        "# Check the file with: cruxfit validate THIS_FILE",
        "name: Your name",
        "kind: individual",
        "answers:",
    ]
    for s in library.statements:
        lines.append("")
        lines += _comment(s.text)
        loads = ", ".join(
            f"{'more' if ld.sign > 0 else 'less'} credence in '{variables[ld.variable].name}'"
            for ld in s.loads
        )
        scale = "1-7 agreement" if s.scale == "agree7" else "probability 0-1"
        effect = "a better" if s.favours > 0 else "a worse"
        lines += _comment(f"[{scale}] Agreeing means {loads}; it makes AI-assisted alignment {effect} fit.")
        lines.append(f"  {s.id}: unsure")
    if library.fit_items:
        lines += ["", "# Optional personal fit: how well does each describe you? 1 not at all ... 7 very well.",
                  "# It multiplies the value of the approaches that use it; 4 or unsure is neutral.",
                  "fit:"]
        for f in library.fit_items:
            lines += _comment(f.text)
            lines.append(f"  {f.id}: unsure")
    lines += [
        "",
        "# Optional: override a rating of an approach, with your reason. Levels: Low, Medium, High.",
        "# overrides:",
        "#   governance:",
        "#     tractability: Low",
        '#     reason: "Why you rate it differently from the source."',
        "",
        "# Optional free text; it is shown in the report as plain text.",
        "# notes: ...",
        "",
    ]
    return "\n".join(lines)
