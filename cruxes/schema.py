"""The profile format in other forms: its JSON Schema and a template to fill in."""

from __future__ import annotations

from typing import Any

from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile_model import profile_models


def profile_schema(library: Library, version: str) -> dict[str, Any]:
    """The JSON Schema of profiles, generated from the models the reader validates with.

    An individual or an organisation; the statement ids, fit items and approach slugs are
    those of `library`.
    """
    generated = profile_models(library).schema_type().json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"cruxfit-profile-{version}",
        "title": "cruxfit belief profile",
        "description": "One respondent's answers to the cruxfit statements, or an "
                       "organisation's respondents (YAML or JSON).",
        **generated,
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
