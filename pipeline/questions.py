"""The questionnaire of `cruxfit assess` as web-form pages.

Everything asked comes from :func:`cruxfit.cruxes.sections.build_sections` (same
statements, same order, same parts) and every answer is read with the same
:func:`~cruxfit.pipeline.questionnaire.interpret`, so the browser and the terminal accept and
refuse exactly the same things. A page is one part (a crux, the good-fit beliefs, the wider
world, the optional personal fit).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from cruxfit.cruxes.library import AGREE7_LABELS, Library
from cruxfit.cruxes.profile import MAX_NAME, UNSURE
from cruxfit.cruxes.progress import name_ok
from cruxfit.cruxes.sections import FIT7_LABELS, Question, Section, build_sections, question_order
from cruxfit.pipeline import questionnaire as qn


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    section: Section
    questions: tuple[Question, ...]


_PAGES: dict[str, tuple[Page, ...]] = {}
_EXPLAINED: dict[tuple[str, str, str], tuple[str, ...]] = {}


def pages(library: Library) -> tuple[Page, ...]:
    """The questionnaire's parts as pages (cached per library content)."""
    if library.sha256 not in _PAGES:
        sections, questions = build_sections(library)
        _PAGES[library.sha256] = tuple(
            Page(i, s, tuple(q for q in questions if q.section == s.id))
            for i, s in enumerate(sections, start=1))
    return _PAGES[library.sha256]


def _explanation(library: Library, kind: str, qid: str) -> tuple[str, ...]:
    key = (library.sha256, kind, qid)
    if key not in _EXPLAINED:
        _EXPLAINED[key] = _explain(library, kind, qid)
    return _EXPLAINED[key]


def _explain(library: Library, kind: str, qid: str) -> tuple[str, ...]:
    # The terminal's `?` text, captured as paragraphs (one source for both front ends).
    q = next(q for q in question_order(library) if q.kind == kind and q.id == qid)
    out = io.StringIO()
    session = qn._Session(library, Path("profile.yaml"), qn.State(), io.StringIO(), out,
                          io.StringIO(), lambda: None)
    session.width = 1_000_000  # one line per paragraph
    session.explain(q)
    return tuple(line.strip() for line in out.getvalue().splitlines() if line.strip())


def field_name(q: Question) -> str:
    return {"statement": "a-", "fit": "f-", "fit-gate": "g-"}[q.kind] + q.id


def _stored(q: Question, state: qn.State) -> Any:
    return state.get(q)


def page_view(library: Library, page: Page, state: qn.State,
              raw: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None) -> dict:
    """Template data of one page: each question with its current value and any error."""
    raw = raw or {}
    errors = errors or {}
    items = []
    for q in page.questions:
        name = field_name(q)
        value = _stored(q, state)
        if name in raw:
            current = raw[name]
        elif value is None:
            current = "" if q.scale == "probability" else ("" if q.scale == "yesno" else UNSURE)
        elif value == UNSURE:
            current = UNSURE if q.scale != "probability" else ""
        elif q.scale == "yesno":
            current = "yes" if value else "no"
        elif q.scale == "probability":
            current = qn._num(value)
        else:
            current = str(int(value))
        if q.scale == "agree7":
            options = [(str(i + 1), AGREE7_LABELS[i]) for i in range(7)]
        elif q.scale == "fit7":
            options = [(str(i + 1), FIT7_LABELS[i]) for i in range(7)]
        elif q.scale == "yesno":
            options = [("yes", "yes, answer them"), ("no", "no, skip them")]
        else:
            options = []
        items.append({"name": name, "id": q.id, "kind": q.kind, "text": q.text,
                      "scale": q.scale, "current": current, "options": options,
                      "explain": _explanation(library, q.kind, q.id),
                      "error": errors.get(name)})
    return {"number": page.number, "title": page.section.title, "intro": page.section.intro,
            "items": items}


def read_page(page: Page, form: Mapping[str, str]) -> tuple[dict[Question, Any], dict[str, str]]:
    """Values of one submitted page (unsure as ``UNSURE``) and an error per bad field."""
    values: dict[Question, Any] = {}
    errors: dict[str, str] = {}
    for q in page.questions:
        name = field_name(q)
        raw = str(form.get(name, "") or "")
        if len(raw) > 100:
            errors[name] = web_message("Not an answer here: the text is too long. "
                                       + qn._allowed(q.scale), q.scale)
            continue
        if q.scale == "yesno":
            if raw == "":
                values[q] = None  # decided below from the items answered
                continue
            raw = {"yes": "y", "no": "n"}.get(raw, raw)
        reply = qn.interpret(q.scale, raw)
        if reply.action == "answer":
            values[q] = reply.value
        elif reply.action == "unsure" and q.scale != "yesno":
            values[q] = UNSURE
        else:
            # help/back/quit words are terminal commands, not answers, in a form
            errors[name] = web_message(reply.message or
                                       ("Not an answer here. " + qn._allowed(q.scale)), q.scale)
    gate = next((q for q in page.questions if q.kind == "fit-gate"), None)
    if gate is not None and values.get(gate) is None:
        values[gate] = any(v not in (None, UNSURE) for q, v in values.items() if q.kind == "fit")
    return values, errors


def web_message(message: str, scale: str) -> str:
    """The terminal's message about an answer, without the terminal's keys (Enter, ?, b, q)."""
    hint = ("leave the box empty if you are unsure" if scale == "probability"
            else 'choose "unsure" if you do not know')
    return message.replace(f"; {qn.KEYS_AGREE}.", f"; {hint}.")


def store(state: qn.State, values: Mapping[Question, Any]) -> None:
    for q, v in values.items():
        if v is not None:
            state.set(q, v)


def progress(library: Library, state: qn.State) -> dict:
    n = len(library.statements)
    given = sum(1 for v in state.answers.values() if v != UNSURE)
    seen = len(state.answers)
    return {"statements": n, "answered": given, "seen": seen, "unsure": seen - given}


def check_name(raw: str) -> tuple[str | None, str | None]:
    name = " ".join(str(raw or "").split())
    if not name:
        return None, None
    if not name_ok(name):
        return None, f"Use printable text of at most {MAX_NAME} characters."
    return name, None


def profile_yaml(library: Library, state: qn.State) -> str:
    """The profile file `assess` would write for this state."""
    return qn.profile_text(library, state, Path("profile.yaml"))
