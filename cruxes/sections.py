"""The questionnaire's order: its sections and questions, built from the crux library.

`cruxfit assess`, `cruxfit serve` and the form exports (`cruxfit form`) all ask the same
questions in the same order:

1. one section per crux of the seed (its considerations' statements), each introduced by the
   crux's own short introduction;
2. the seed's good-fit and less-relevant statements not asked yet;
3. every other statement (the wider world);
4. the optional personal-fit section: one yes/no question, then each fit item.
"""

from __future__ import annotations

from dataclasses import dataclass

from cruxfit.cruxes.library import Library

#: Labels of the personal-fit scale ("how well does this describe you?").
FIT7_LABELS = (
    "not at all",
    "hardly",
    "a little",
    "partly",
    "fairly well",
    "well",
    "very well",
)

@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str


@dataclass(frozen=True)
class Question:
    """One thing the questionnaire asks.

    kind is "statement" (a library statement), "fit-gate" (whether to answer the personal-fit
    section) or "fit" (one personal-fit item). scale is "agree7", "probability", "fit7" or
    "yesno".
    """

    kind: str
    id: str
    text: str
    scale: str
    section: str


def estimated_minutes(library: Library) -> int:
    """Rough time to answer every statement (``evidence.seconds_per_statement``), rounded."""
    seconds = library.settings.evidence.seconds_per_statement * len(library.statements)
    return max(1, round(seconds / 60))


def build_sections(library: Library) -> tuple[list[Section], list[Question]]:
    """The questionnaire's sections and its questions, in the order they are asked."""
    sections: list[Section] = []
    questions: list[Question] = []
    statements = {s.id: s for s in library.statements}
    asked: set[str] = set()

    def add(section: Section, ids: list[str]) -> None:
        ids = [sid for sid in ids if sid in statements and sid not in asked]
        if not ids:
            return
        sections.append(section)
        for sid in ids:
            asked.add(sid)
            s = statements[sid]
            questions.append(Question("statement", sid, s.text, s.scale, section.id))

    for crux in library.seed.cruxes:
        add(Section(f"crux-{crux.id}", crux.title, " ".join(crux.intro.split())),
            [c.statement for c in crux.considerations])
    fit_beliefs = [b.statement for b in (*library.seed.good_fit, *library.seed.less_relevant)
                   if b.statement]
    add(Section("who", "Who the approach suits",
                "Some broader beliefs decide whether this kind of work suits someone, whatever "
                "they make of the details above."),
        fit_beliefs)
    add(Section("world", "The wider world",
                "How hard alignment is, how much time is left, and a few questions that the "
                "other approaches depend on. Some of these ask for a probability."),
        [s.id for s in library.statements])
    if library.fit_items:
        section = Section(
            "fit", "Your skills and situation (optional)",
            "A good fit with your beliefs is half of the decision; the other half is what you "
            "are well placed to do. These questions are about you, not the world, and you can "
            "skip them.")
        sections.append(section)
        gate = (f"Answer the questions about your skills and situation "
                f"({len(library.fit_items)} questions)?")
        questions.append(Question("fit-gate", "fit", gate, "yesno", "fit"))
        for item in library.fit_items:
            questions.append(Question("fit", item.id, item.text, "fit7", "fit"))
    return sections, questions


def question_order(library: Library) -> list[Question]:
    """Every question in the order the questionnaire asks it (fit items included)."""
    return build_sections(library)[1]
