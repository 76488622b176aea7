"""`cruxfit form`: everything needed to build the questionnaire in a web-form tool.

The questions come in the order `cruxfit assess` asks them (by crux, then who the approach
suits, then the wider world, then the optional personal-fit part), each with its answer scale
and labels. Three renderings of one list of :class:`FormItem`:

* Markdown, for a person building the form by hand in any tool;
* CSV, one row per question, for tools that import questions or for a spreadsheet;
* a Google Apps Script that creates the whole Google Form when run in the script editor.

Every question's title is what the form tool will use as the export's column header, and
:mod:`cruxfit.cruxes.forms` matches exactly those titles (statement text; a probability
question's title ends in "(%)" so that its bare numbers read as percentages). An export of a
form built from this output therefore reads back with every column placed.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from cruxfit.cruxes.library import AGREE7_LABELS, Library
from cruxfit.cruxes.sections import build_sections
from cruxfit.cruxes.forms import (
    FIT7_LABELS,
    FIT_GATE_TITLE,
    NAME_TITLE,
    PERCENT_MARKER,
    ROLE_TITLE,
)

TITLE = "Is AI-assisted alignment a good fit for us? (cruxfit questionnaire)"
DESCRIPTION = ("Rate each statement from 1 (strongly disagree) to 7 (strongly agree), or give a "
               "probability where asked. Leave a question blank if you are unsure: a blank "
               "counts as no answer, never as the middle of the scale.")
UNSURE_HELP = "Leave blank if you are unsure."


@dataclass(frozen=True)
class FormItem:
    """One question of the form (``number`` counts every question, name and role included)."""

    number: int
    section: str
    section_intro: str
    kind: str  # name, role, statement, fit-gate, fit
    id: str
    title: str  # the question's title in the form, and so the export's column header
    answer: str  # text, scale, percent, yesno
    low: int | None
    high: int | None
    labels: tuple[str, ...]
    help: str


def _cap(label: str) -> str:
    return label[:1].upper() + label[1:]


def form_items(library: Library, *, fit: bool = True) -> list[FormItem]:
    """Every question of the form, in `assess` order."""
    sections, questions = build_sections(library)
    by_id = {s.id: s for s in sections}
    items: list[FormItem] = []
    about = ("About you", "Your name identifies your answers in the organisation's report; "
                          "it can be a pseudonym.")
    items.append(FormItem(1, *about, "name", "name", NAME_TITLE, "text", None, None, (),
                          "Any name or pseudonym."))
    items.append(FormItem(2, *about, "role", "role", ROLE_TITLE, "text", None, None, (),
                          "For example: researcher, engineer, manager."))
    agree = tuple(f"{k} {_cap(label)}" for k, label in enumerate(AGREE7_LABELS, start=1))
    fits = tuple(f"{k} {_cap(label)}" for k, label in enumerate(FIT7_LABELS, start=1))
    for q in questions:
        sec = by_id[q.section]
        n = len(items) + 1
        if q.kind == "statement" and q.scale == "agree7":
            items.append(FormItem(n, sec.title, sec.intro, "statement", q.id, q.text, "scale", 1, 7,
                                  agree, "1 = strongly disagree, 7 = strongly agree. " + UNSURE_HELP))
        elif q.kind == "statement":
            items.append(FormItem(n, sec.title, sec.intro, "statement", q.id,
                                  f"{q.text} {PERCENT_MARKER}", "percent", 0, 100,
                                  ("0 = certainly not", "100 = certainly"),
                                  "Your probability in percent, a number from 0 to 100. " + UNSURE_HELP))
        elif q.kind == "fit-gate":
            if not fit:
                break
            items.append(FormItem(n, sec.title, sec.intro, "fit-gate", "fit", FIT_GATE_TITLE, "yesno",
                                  None, None, ("Yes", "No"),
                                  f"{sum(1 for x in questions if x.kind == 'fit')} questions about you, "
                                  "not the world. \"No\" submits the form."))
        else:
            items.append(FormItem(n, sec.title, sec.intro, "fit", q.id, q.text, "scale", 1, 7, fits,
                                  "1 = not at all, 7 = very well. " + UNSURE_HELP))
    return items


# --------------------------------------------------------------------------- Markdown

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})


def _md(text: str) -> str:
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def form_markdown(library: Library, *, fit: bool = True) -> str:
    items = form_items(library, fit=fit)
    out = [f"# {_md(TITLE)}", "",
           f"Crux library {library.sha256[:12]}: {len(library.statements)} statements"
           + (f", {len(library.fit_items)} optional personal-fit questions." if fit else "."), "",
           "**How to build the form.** Add the questions below in this order, each titled "
           "exactly as shown (copy the bold text): cruxfit matches the columns of the form's "
           "export by these titles (`cruxfit validate export.csv` shows the matching). "
           "Make no question required: a blank answer means unsure.", "",
           "* *1–7 questions*: a linear scale from 1 to 7 labelled \"Strongly disagree\" and "
           "\"Strongly agree\", or a multiple choice with the seven labels below.",
           "* *Probability questions*: a short answer that accepts a number from 0 to 100; keep "
           f"\"{PERCENT_MARKER}\" at the end of the title (answers such as \"70%\" work too).",
           "* *Personal fit* (optional): a yes/no question, then 1–7 scales labelled "
           "\"Not at all\" and \"Very well\".",
           "* *Grids and matrices* (Google Forms grids, SurveyMonkey and Qualtrics matrices, "
           "Likert questions) work too when each row is titled with the statement's text or "
           f"carries its id in brackets, e.g. `[{library.statements[0].id}]`. Opinion scales "
           "and sliders must run from 1 to 7 (probabilities from 0 to 100, with "
           f"\"{PERCENT_MARKER}\" at the end of the title).", "",
           f"Form description: {_md(DESCRIPTION)}"]
    section = None
    for item in items:
        if item.section != section:
            section = item.section
            out += ["", f"## {_md(section)}", ""]
            if item.section_intro:
                out += [_md(item.section_intro), ""]
        out.append(f"{item.number}. **{_md(item.title)}**")
        if item.kind in ("statement", "fit"):
            out.append(f"   - id: `{item.id}`")
        if item.answer == "text":
            out.append(f"   - answer: short text (optional). {_md(item.help)}")
        elif item.answer == "scale":
            out.append(f"   - answer: {item.low}–{item.high}: " + " · ".join(item.labels)
                       + "; blank = unsure")
        elif item.answer == "percent":
            out.append("   - answer: a number from 0 to 100 (percent); blank = unsure")
        else:
            out.append(f"   - answer: Yes / No. {_md(item.help)}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = ("number", "section", "kind", "id", "title", "answer", "min", "max", "labels", "help")


def form_csv(library: Library, *, fit: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for it in form_items(library, fit=fit):
        writer.writerow([it.number, it.section, it.kind, it.id, it.title, it.answer,
                         "" if it.low is None else it.low, "" if it.high is None else it.high,
                         " | ".join(it.labels), it.help])
    return buf.getvalue()


# --------------------------------------------------------------------------- Apps Script


def _js(text: str) -> str:
    """A JavaScript string literal (JSON is valid JavaScript; ASCII-only is safe to paste)."""
    return json.dumps(str(text), ensure_ascii=True)


def form_apps_script(library: Library, *, fit: bool = True, version: str = "") -> str:
    items = form_items(library, fit=fit)
    lines = [
        "/**",
        " * Creates the cruxfit questionnaire as a Google Form, scales and labels included.",
        f" * Generated by `cruxfit form --google-apps-script` (cruxfit {version or '?'}, crux "
        f"library {library.sha256[:12]}).",
        " * Open https://script.google.com, start a new project, paste this file over the",
        " * example code, save, choose createCruxfitForm and press Run (Google asks once for",
        " * permission to create forms). The log shows the form's two links.",
        " * Keep the question titles as they are: cruxfit reads the export by them.",
        " */",
        "function createCruxfitForm() {",
        f"  var form = FormApp.create({_js(TITLE)});",
        f"  form.setDescription({_js(DESCRIPTION)});",
        "  form.setCollectEmail(false);  // cruxfit never needs e-mail addresses",
        "  form.setProgressBar(true);",
        "",
        "  function agree(title, help) {",
        "    form.addScaleItem().setTitle(title).setHelpText(help).setBounds(1, 7)",
        "        .setLabels(" + _js(_cap(AGREE7_LABELS[0])) + ", " + _js(_cap(AGREE7_LABELS[-1])) + ");",
        "  }",
        "  function fit(title, help) {",
        "    form.addScaleItem().setTitle(title).setHelpText(help).setBounds(1, 7)",
        "        .setLabels(" + _js(_cap(FIT7_LABELS[0])) + ", " + _js(_cap(FIT7_LABELS[-1])) + ");",
        "  }",
        "  function percent(title, help) {",
        "    var rule = FormApp.createTextValidation()",
        "        .setHelpText(\"A number from 0 to 100.\")",
        "        .requireNumberBetween(0, 100)",
        "        .build();",
        "    form.addTextItem().setTitle(title).setHelpText(help).setValidation(rule);",
        "  }",
        "",
    ]
    section = None
    first = True
    for it in items:
        if it.kind == "fit-gate":
            pass  # the gate ends the last page of statements; "Yes" leads to the fit page
        elif it.kind == "fit" and section != "fit-page":
            section = "fit-page"
            lines.append(f"  var fitPage = form.addPageBreakItem().setTitle({_js(it.section)})"
                         f".setHelpText({_js(it.section_intro)});")
        elif it.kind != "fit" and it.section != section:
            section = it.section
            add = "addSectionHeaderItem" if first else "addPageBreakItem"
            lines.append(f"  form.{add}().setTitle({_js(section)}).setHelpText({_js(it.section_intro)});")
            first = False
        if it.answer == "text":
            lines.append(f"  form.addTextItem().setTitle({_js(it.title)}).setHelpText({_js(it.help)});")
        elif it.kind == "statement" and it.answer == "scale":
            lines.append(f"  agree({_js(it.title)}, {_js(it.help)});")
        elif it.answer == "percent":
            lines.append(f"  percent({_js(it.title)}, {_js(it.help)});")
        elif it.kind == "fit-gate":
            lines.append(f"  var gate = form.addMultipleChoiceItem().setTitle({_js(it.title)})"
                         f".setHelpText({_js(it.help)});")
        else:
            lines.append(f"  fit({_js(it.title)}, {_js(it.help)});")
    if any(it.kind == "fit-gate" for it in items):
        lines += ["  // \"Yes\" goes on to the personal-fit page, \"No\" submits the form.",
                  "  gate.setChoices([gate.createChoice(\"Yes\", fitPage),",
                  "                   gate.createChoice(\"No\", FormApp.PageNavigationType.SUBMIT)]);"]
    lines += ["",
              "  Logger.log(\"Send this link to respondents: \" + form.getPublishedUrl());",
              "  Logger.log(\"Edit the form here: \" + form.getEditUrl());",
              "}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- validate


_PEOPLE = {"name": "respondent name", "first": "first name", "last": "last name", "role": "role"}
_BY = {"id": "by id", "text": "by text", "bracket": "by [id] in brackets",
       "suffix": "by the text after \" - \""}


def _quote(text: str, limit: int = 70) -> str:
    text = " ".join(str(text).split())
    return '"' + (text if len(text) <= limit else text[: limit - 1] + "…") + '"'


def describe_placement(form: dict) -> list[str]:
    """Lines for `cruxfit validate`: the layout and where every column went."""
    how = ("detected from the file; --form-layout overrides it" if form["chosen"] == "detected"
           else "chosen with --form-layout")
    lines = [f"layout: {form['label']} ({how})",
             f"columns: {len(form['matched'])} matched, {len(form['people'])} about the respondent, "
             f"{len(form['ignored'])} ignored, {len(form['unplaced'])} not placed"]
    for c in form["people"]:
        lines.append(f"  respondent  column {c['column']} {_quote(c['header'])} -> {_PEOPLE[c['kind']]}")
    for c in form["matched"]:
        what = c["id"] if c["kind"] == "answer" else f"fit: {c['id']}"
        lines.append(f"  matched     column {c['column']} {_quote(c['header'])} -> {what} "
                     f"({_BY.get(c['by'], c['by'])})")
    if form["ignored"]:
        lines.append("  ignored     " + ", ".join(_quote(h, 40) for h in form["ignored"]))
    if form["unplaced"]:
        lines.append("  not placed  " + ", ".join(_quote(h, 40) for h in form["unplaced"]))
    return lines
