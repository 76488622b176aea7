"""What web-form exports look like, and how their columns map onto the crux library.

A form tool names its columns after the questions it asked, not after cruxfit's statement
ids, and surrounds them with columns of its own (timestamps, response ids, e-mail and IP
addresses). This module knows the layouts of the common tools and places every column:

* **answer / fit**: the header is a statement's (or personal-fit item's) id, its text
  (compared after normalising case, whitespace, quotes, dashes and trailing punctuation), or
  text carrying the id or the text in brackets at the end, as grid questions export it
  (``Crux 1 [safety-sabotage]``); Qualtrics' ``Question - Statement`` matrix headers too;
* **name / first / last / role**: whatever the tool calls them;
* **admin**: the tool's own bookkeeping, ignored with one summary warning; e-mail and IP
  address columns are never read at all;
* **near**: close to a statement but not equal, so not used ("did you mean");
* **unplaced**: anything else, named in a warning and ignored.

Nothing is matched by guesswork: a header either equals an id or a text after
normalisation, or it is not used. The tables below are data, so a new tool's columns are an
edit of a tuple, not of the logic. The CSV and XLSX reading itself is in
:mod:`cruxfit.cruxes.csvinput`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from cruxfit.cruxes.library import AGREE7_LABELS, Library

# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class Layout:
    id: str
    label: str
    header_rows: int
    description: str


LAYOUTS: dict[str, Layout] = {lay.id: lay for lay in (
    Layout("plain", "plain CSV", 1, "one header row naming statements by id or text"),
    Layout("google-forms", "Google Forms", 1, "Timestamp first, then one column per question"),
    Layout("typeform", "Typeform", 1, "# (response id), question titles, start and submit dates"),
    Layout("surveymonkey", "SurveyMonkey", 2, "two header rows: the question, then the option"),
    Layout("qualtrics", "Qualtrics", 3,
           "three header rows: question ids, question texts, import ids"),
    Layout("microsoft-forms", "Microsoft Forms", 1,
           "ID, start and completion times, e-mail and name, then the questions"),
)}
LAYOUT_CHOICES = ("auto", *LAYOUTS)

#: Title of the yes/no question that opens the optional personal-fit part of a generated
#: form (``cruxfit form``); an export carries it as a column, which is recognised and ignored.
FIT_GATE_TITLE = "Would you like to answer the optional questions about your skills and situation?"
NAME_TITLE = "Your name"
ROLE_TITLE = "Your role (optional)"
#: Marker at the end of a probability question's title in a generated form: the answers in
#: that column are percentages (0-100), so a bare 70 means 70 %.
PERCENT_MARKER = "(%)"

#: Labels of the personal-fit scale ("how well does this describe you?"), 1..7.
FIT7_LABELS = ("not at all", "hardly", "a little", "partly", "fairly well", "well", "very well")


def detect_layout(rows: list[list[str]]) -> str:
    """The layout a file's first rows show (``plain`` when none is recognised)."""
    first = [norm(c) for c in rows[0]] if rows else []
    second = rows[1] if len(rows) > 1 else []
    third = rows[2] if len(rows) > 2 else []
    if sum(1 for c in third if c.strip().startswith('{"ImportId"')) >= 1:
        return "qualtrics"
    if "respondent id" in first and ("collector id" in first or any(
            norm(c) in ("response", "open-ended response") for c in second)):
        return "surveymonkey"
    if first[:1] == ["#"] and any(c in first for c in (
            "submit date (utc)", "start date (utc)", "network id")):
        return "typeform"
    if first[:3] == ["id", "start time", "completion time"]:
        return "microsoft-forms"
    if first[:1] == ["timestamp"]:
        return "google-forms"
    return "plain"


# --------------------------------------------------------------------------- normalising

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u2032": "'", "`": "'", "\u201c": '"', "\u201d": '"',
                         "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2013": "-",
                         "\u2014": "-", "\u2212": "-", "\u00a0": " "})
_TRAILING = " \t?.!:;,*\u2026"


def norm(text: str) -> str:
    """A header or label as compared: case, spaces, quotes, dashes, end punctuation ignored."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).lower()
    t = " ".join(t.split())
    t = t.strip(_TRAILING)
    if len(t) > 1 and t[0] == t[-1] and t[0] in "'\"":
        t = t[1:-1].strip(_TRAILING)
    return t


_PERCENT_RE = re.compile(r"\s*\((?:in |as a )?(?:%|percent|per cent|0\s*-\s*100\s*%?)\)$")
_OPTIONAL_RE = re.compile(r"\s*\((?:optional|not required)\)$")


# --------------------------------------------------------------------------- column kinds

def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


NAME_RE = _rx(r"(?:what(?:'s| is) )?(?:your )?(?:full |preferred )?name",
              r"(?:respondent|participant)(?: name)?", r"name of (?:the )?respondent",
              r"recipient ?name")
FIRST_RE = _rx(r"(?:your )?(?:first|given) ?name", r"recipient ?first ?name")
LAST_RE = _rx(r"(?:your )?(?:last|family) ?name", r"surname", r"recipient ?last ?name")
ROLE_RE = _rx(r"(?:what(?:'s| is) )?(?:your )?(?:role|position|job title)")
#: Columns that hold personal data and are never read, whatever else they are.
PRIVATE_RE = _rx(r".*\be-?mail\b.*", r".*email.*", r".*\bip ?address\b.*", r"ipaddress",
                 r"(?:your )?phone(?: number)?", r"location ?(?:latitude|longitude)")
#: The tools' own bookkeeping.
ADMIN_RE = _rx(
    r"timestamp", r"#", r"id", r"(?:response|respondent|collector|recipient|network|submission"
    r"|entry|external|user) ?id", r"responseid", r"external ?(?:data )?reference",
    r"(?:start|end|submit|stage|completion|recorded|last modified|response|submission)"
    r" ?(?:date|time)(?: \(utc\))?", r"startdate|enddate|recordeddate",
    r"tags?", r"custom (?:data|variable|value)(?: \d+)?", r"status", r"progress",
    r"duration(?: \(in seconds\))?", r"finished", r"distribution ?channel", r"user ?language",
    r"response type", r"ending", r"score", r"total (?:score|points)", r"quiz feedback",
    r"(?:points|feedback) - .*", r"company", r"language", r"q_recaptchascore",
    r"q_relevantidduplicate.*", r"q_relevantid.*", r"q_duplicaterespondent",
)


@dataclass
class Column:
    """Where one column of an export goes."""

    index: int
    label: str  # the header as shown in messages (both rows for two-row layouts)
    kind: str  # answer, fit, name, first, last, role, admin, private, gate, near, unplaced, empty
    ident: str = ""  # statement or fit item id for answer/fit
    how: str = ""  # id, text, bracket, suffix
    percent: bool = False  # answers are percentages (0-100), as the header says
    hint: str = ""  # for near: the did-you-mean text


@dataclass
class Placement:
    layout: str
    chosen: str  # "detected" or "--form-layout"
    columns: list[Column] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Column]:
        return [c for c in self.columns if c.kind in kinds]

    def summary(self) -> dict:
        """Plain data for reports and `validate`: which columns went where."""
        lay = LAYOUTS[self.layout]
        return {
            "layout": lay.id, "label": lay.label, "chosen": self.chosen,
            "matched": [{"column": c.index + 1, "header": redact(c.label), "kind": c.kind,
                         "id": c.ident, "by": c.how} for c in self.of("answer", "fit")],
            "people": [{"column": c.index + 1, "header": redact(c.label), "kind": c.kind}
                       for c in self.of("name", "first", "last", "role")],
            "ignored": [redact(c.label) for c in self.of("admin", "private", "gate")],
            "unplaced": [redact(c.label) for c in self.of("near", "unplaced")],
        }


class _Catalogue:
    """Statement and fit-item lookups by id and by normalised text."""

    def __init__(self, library: Library):
        self.ids = {s.id: ("answer", s.id) for s in library.statements}
        self.ids.update({f.id: ("fit", f.id) for f in library.fit_items})
        self.ids.update({f"fit:{f.id}": ("fit", f.id) for f in library.fit_items})
        self.lower_ids = {k.lower(): v for k, v in self.ids.items()}
        self.texts: dict[str, tuple[str, str]] = {}
        for s in library.statements:
            self.texts.setdefault(norm(s.text), ("answer", s.id))
        for f in library.fit_items:
            self.texts.setdefault(norm(f.text), ("fit", f.id))

    def exact(self, text: str) -> tuple[str, str, str] | None:
        t = text.strip()
        if t in self.ids:
            return (*self.ids[t], "id")
        if t.lower() in self.lower_ids:
            return (*self.lower_ids[t.lower()], "id")
        n = norm(t)
        if n in self.texts:
            return (*self.texts[n], "text")
        return None

    def match(self, text: str) -> tuple[str, str, str, bool] | None:
        """(kind, id, how, percent) for a header, or None."""
        n = norm(text)
        percent = bool(_PERCENT_RE.search(n))
        if percent:
            text = _PERCENT_RE.sub("", n)
        hit = self.exact(text)
        if hit:
            return (*hit, percent)
        m = re.search(r"\[([^\[\]]+)\]\s*$", text)  # grid questions: "Question [row]"
        if m:
            hit = self.exact(m.group(1))
            if hit:
                return (hit[0], hit[1], "bracket", percent)
        parts = text.split(" - ")  # Qualtrics matrices: "Question - Statement"
        for k in range(1, len(parts)):
            hit = self.exact(" - ".join(parts[k:]))
            if hit:
                return (hit[0], hit[1], "suffix", percent)
        return None

    def near(self, text: str) -> str:
        """A did-you-mean hint for a header close to an id or a text, or ''."""
        n = _PERCENT_RE.sub("", norm(text))
        m = re.search(r"\[([^\[\]]+)\]\s*$", n)
        probes = [n] + ([norm(m.group(1))] if m else [])
        best: list[tuple[float, str]] = []
        for probe in probes:
            for ident in self.ids:
                if ident.startswith("fit:"):
                    continue
                r = difflib.SequenceMatcher(None, probe, ident.lower()).ratio()
                if r >= 0.8:
                    best.append((r, ident))
            if len(probe) >= 12:
                for t, (_, ident) in self.texts.items():
                    r = difflib.SequenceMatcher(None, probe, t).ratio()
                    if r >= 0.85:
                        best.append((r, ident))
        if not best:
            return ""
        best.sort(reverse=True)
        names = list(dict.fromkeys(ident for r, ident in best if r >= best[0][0] - 0.02))
        return " or ".join(f'"{n}"' for n in names[:3])


def _role_of(text: str) -> str | None:
    """name / first / last / role / private / admin / gate for a non-statement header."""
    n = _OPTIONAL_RE.sub("", norm(text))
    if not n:
        return None
    if n == norm(FIT_GATE_TITLE):
        return "gate"
    if PRIVATE_RE.fullmatch(n):
        return "private"
    if FIRST_RE.fullmatch(n):
        return "first"
    if LAST_RE.fullmatch(n):
        return "last"
    if NAME_RE.fullmatch(n):
        return "name"
    if ROLE_RE.fullmatch(n):
        return "role"
    if ADMIN_RE.fullmatch(n):
        return "admin"
    return None


def header_candidates(layout: str, header_rows: list[list[str]], width: int) -> list[tuple[str, list[str]]]:
    """(label, candidate header texts in order of preference) for every column."""
    def cell(row: list[str], i: int) -> str:
        return row[i].strip() if i < len(row) else ""

    out = []
    if layout == "surveymonkey":
        question = ""
        for i in range(width):
            top, sub = cell(header_rows[0], i), cell(header_rows[1], i)
            if top:
                question = top
            if norm(sub) in ("", "response", "open-ended response"):
                out.append((top or question, [top or question]))
            else:
                # A matrix row or an answer option: only the sub-label can name a statement,
                # so an "Other (please specify)" column never inherits its question.
                out.append((f"{question} / {sub}" if question else sub, [sub]))
        return out
    if layout == "qualtrics":
        for i in range(width):
            qid, text = cell(header_rows[0], i), cell(header_rows[1], i)
            out.append((text or qid, [c for c in (qid, text) if c]))
        return out
    for i in range(width):
        h = cell(header_rows[0], i)
        out.append((h, [h]))
    return out


def place_columns(library: Library, layout: str, header_rows: list[list[str]], width: int,
                  chosen: str = "detected") -> Placement:
    """Place every column of an export (see the module docstring)."""
    cat = _Catalogue(library)
    placement = Placement(layout, chosen)
    for i, (label, candidates) in enumerate(header_candidates(layout, header_rows, width)):
        col = Column(i, label or f"(column {i + 1}, no header)", "unplaced")
        if not any(c.strip() for c in candidates):
            col.kind = "empty"
            placement.columns.append(col)
            continue
        for c in candidates:
            hit = cat.match(c)
            if hit:
                col.kind, col.ident, col.how, col.percent = hit
                break
        else:
            # Personal data before anything else: such a column is never read.
            if any(_role_of(c) == "private" for c in candidates):
                col.kind = "private"
                placement.columns.append(col)
                continue
            for c in candidates:
                role = _role_of(c)
                if role:
                    col.kind = role
                    break
            else:
                hints = [h for h in (cat.near(c) for c in candidates) if h]
                if hints:
                    col.kind, col.hint = "near", hints[0]
        placement.columns.append(col)
    return placement


# --------------------------------------------------------------------------- answers

LIKERT = {
    "strongly disagree": 1, "disagree strongly": 1, "completely disagree": 1,
    "disagree": 2, "mostly disagree": 2,
    "somewhat disagree": 3, "slightly disagree": 3, "disagree somewhat": 3,
    "mildly disagree": 3, "tend to disagree": 3,
    "neither agree nor disagree": 4, "neither agree or disagree": 4, "neither": 4,
    "neutral": 4, "undecided": 4,
    "somewhat agree": 5, "slightly agree": 5, "agree somewhat": 5, "mildly agree": 5,
    "tend to agree": 5,
    "agree": 6, "mostly agree": 6,
    "strongly agree": 7, "agree strongly": 7, "completely agree": 7,
}
for _k, _label in enumerate(AGREE7_LABELS, start=1):
    LIKERT.setdefault(_label, _k)
FIT_LABELS = {label: k for k, label in enumerate(FIT7_LABELS, start=1)}
FIT_LABELS.update({"not at all well": 1, "extremely well": 7, "moderately well": 4,
                   "slightly well": 3, "very": 6})
UNSURE_WORDS = {"", "unsure", "not sure", "don't know", "dont know", "do not know",
                "i don't know", "i do not know", "unsure / don't know", "no opinion",
                "prefer not to say", "n/a", "na", "-", "?"}
ANONYMOUS = {"anonymous", "anon", "n/a", "-"}

_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?(?:[eE][+-]?[0-9]+)?")


def answer_value(text: str, scale: str, *, percent: bool = False):
    """A cell as an answer value for :func:`check_answer` (None for unsure).

    ``scale`` is ``agree7``, ``probability`` or ``fit7``. Labels are read for the agreement
    and fit scales; "70%" is a probability everywhere; a bare number in a percentage column
    (``percent``) is a percentage. Anything unreadable is returned as text, which
    check_answer then refuses with the allowed values.
    """
    t = " ".join(unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).split())
    t = t.rstrip(";").strip()  # Microsoft Forms ends choice answers with ";"
    low = norm(t) if t not in ("-", "?") else t
    if low in UNSURE_WORDS:
        return None
    if scale in ("agree7", "fit7") and not _NUMBER.fullmatch(t):
        labels = LIKERT if scale == "agree7" else FIT_LABELS
        if low in labels:
            return labels[low]
        # "7 - Strongly agree", "5.", "3 (somewhat disagree)", "Strongly agree (7)"
        m = re.fullmatch(r"([1-7])(?:\s*[-:.)(]\s*.*)?", t) or re.fullmatch(r".*\(([1-7])\)", t)
        if m and (not m.group(0)[1:].strip() or _label_agrees(m.group(0), int(m.group(1)), labels)):
            return int(m.group(1))
    else:
        m = re.fullmatch(r"([+-]?[0-9]+(?:[.,][0-9]+)?)\s*%", t)
        if m:
            return float(m.group(1).replace(",", ".")) / 100.0
    if _NUMBER.fullmatch(t):
        number = float(t.replace(",", "."))
        if scale == "probability" and percent:
            return number / 100.0
        return int(number) if number.is_integer() and scale != "probability" else number
    return t


def _label_agrees(cell: str, number: int, labels: dict[str, int]) -> bool:
    """A cell such as "2 - Strongly agree" contradicts itself: refuse rather than pick one."""
    words = norm(re.sub(r"[1-7]", " ", cell).strip(" -:.()"))
    return not words or words not in labels or labels[words] == number


# --------------------------------------------------------------------------- privacy

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
IPV4_RE = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"
                     r"|(?<![\w:])(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?::"
                     r"(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?(?![\w:])")


def has_private(text: str) -> bool:
    """Whether text holds something that looks like an e-mail or IP address."""
    return bool(EMAIL_RE.search(text) or IPV4_RE.search(text) or IPV6_RE.search(text))


def redact(text: str) -> str:
    """Text with e-mail and IP addresses replaced, for anything printed or reported."""
    text = EMAIL_RE.sub("[e-mail address]", str(text))
    text = IPV4_RE.sub("[IP address]", text)
    return IPV6_RE.sub("[IP address]", text)
