"""Organisations from form exports: CSV (any web form) and XLSX (SurveyMonkey, Microsoft Forms).

One row per respondent. Which column holds which statement, who the respondent is, and which
columns are the tool's own bookkeeping is decided by :mod:`cruxfit.cruxes.forms`; this
module reads the file and turns the rows into profiles.

Reading a CSV follows the standard rules (RFC 4180: fields quoted with ``"``, a quote inside
a quoted field doubled, line breaks allowed inside quoted fields) and chooses the delimiter
(comma, semicolon, tab or bar) from the **whole** file: the one under which the header and
every row have the same number of cells. Nothing is guessed past that: a row with a
different number of cells, or a quote that is never closed, is refused with its row number.
The reader also accepts a UTF-8 byte-order mark, blank cells (unsure, never the midpoint),
agreement written as text ("Somewhat agree"), probabilities written as "70%", and extra
columns, each named in a warning. E-mail and IP addresses are never read into anything.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cruxfit.cruxes.errors import InputError, Problem, Problems
from cruxfit.cruxes.forms import (
    ANONYMOUS,
    LAYOUT_CHOICES,
    LAYOUTS,
    Placement,
    answer_value,
    detect_layout,
    has_private,
    place_columns,
    redact,
)
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.loading import MAX_INPUT_BYTES, read_text
from cruxfit.cruxes.profile import MAX_NAME, MAX_RESPONDENTS, Organisation, Profile
from cruxfit.cruxes.profile_model import profile_models
from cruxfit.cruxes.validation import message_of

DELIMITERS = (",", ";", "\t", "|")
FORM_SUFFIXES = (".csv", ".xlsx")
#: Widest export read: a form of every statement with a few columns per question.
MAX_COLUMNS = 2_000
#: Qualtrics' Status values (text, or the numeric codes of a numeric export) that are not
#: real responses: previews, tests and spam.
QUALTRICS_NOT_RESPONSES = {"survey preview", "survey test", "spam", "preview spam", "imported spam",
                           "offline survey preview", "1", "2", "8", "9", "12", "17"}
#: Largest total size the parts of an .xlsx workbook may unpack to (a form export of 500
#: respondents is well under 10 MB unpacked).
MAX_XLSX_UNPACKED = 50 * 1024 * 1024


@dataclass
class Table:
    """The cells of an export, each row with its row number in the file (1-based)."""

    rows: list[tuple[int, list[str]]]
    sha256: str
    delimiter: str = ","
    truncated: bool = False  # more rows than any organisation may have


# --------------------------------------------------------------------------- CSV


def _parse(text: str, delimiter: str) -> tuple[list[tuple[int, list[str]]], tuple[int, str] | None]:
    """Records of ``text`` under one delimiter, or the row and reason where strict parsing fails."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, skipinitialspace=False, strict=True)
    rows: list[tuple[int, list[str]]] = []
    number = 0
    while True:
        number += 1
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return rows, None
        except csv.Error as exc:
            if "end of data" in str(exc) or "EOF" in str(exc):
                why = (f"a quoted cell that starts on line {start} is never closed (a lone \" "
                       "swallows the rows after it); double a quote inside a quoted cell (\"\")")
            else:
                why = (f"a quoted cell on line {reader.line_num} has text after its closing "
                       "quote; double a quote inside a quoted cell (\"\")")
            return rows, (number, why)
        rows.append((number, row))


def _consistent(rows: list[tuple[int, list[str]]]) -> bool:
    body = [r for _, r in rows if any(c.strip() for c in r)]
    if not body or len(body[0]) < 2:
        return False
    width = len(body[0])
    return all(len(r) == width or (len(r) > width and not any(c.strip() for c in r[width:]))
               for r in body)


def parse_csv(text: str) -> tuple[list[tuple[int, list[str]]], str, tuple[int, str] | None]:
    """(records, delimiter, failure) for CSV text, the delimiter chosen over the whole text.

    A delimiter qualifies when the text parses strictly under it and the header and every
    non-blank row have the same number of cells (at least two). Of those, the one giving the
    most columns wins. When none qualifies, the delimiter that splits the header into the most
    cells is used, so that the rows that do not fit are refused by number.
    """
    # A delimiter absent from the first line cannot split the header into more cells than
    # one, so only those present are tried over the whole text.
    first = next((line for line in text.split("\n") if line.strip()), "")
    tried = []
    for d in DELIMITERS:
        rows, failure = _parse(text, d) if d in first or d == "," else ([], (0, ""))
        tried.append((d, rows, failure))
    good = [(len(next(r for _, r in rows if any(c.strip() for c in r))), -k, d, rows)
            for k, (d, rows, failure) in enumerate(tried) if failure is None and _consistent(rows)]
    if good:
        _, _, d, rows = max(good)
        return rows, d, None

    def header_width(rows):
        for _, r in rows:
            if any(c.strip() for c in r):
                return len(r)
        return 0

    # Judge the header by its first line alone (a clean prefix under every delimiter).
    widths = []
    for k, d in enumerate(DELIMITERS):
        head, _ = _parse(first + "\n", d)
        widths.append((header_width(head), -k, d))
    _, k, d = max(widths)
    rows, failure = tried[-k][1], tried[-k][2]
    return rows, d, failure


def read_csv_table(path: str | Path) -> Table:
    name = str(path)
    text = read_text(path)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if not text.strip():
        raise InputError([Problem(name, "", "is empty")])
    if "\x00" in text:
        raise InputError([Problem(name, "", "holds NUL characters; save it as CSV text")])
    rows, delimiter, failure = parse_csv(text)
    if failure is not None:
        row, why = failure
        raise InputError([Problem(name, f"row {row}", why)])
    return Table(rows, sha, delimiter)


# --------------------------------------------------------------------------- XLSX


def _read_bounded(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most MAX_INPUT_BYTES, read with a bound."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError([Problem(name, "", "no such file")]) from None
    except IsADirectoryError:
        raise InputError([Problem(name, "", "is a folder, not a file")]) from None
    except PermissionError:
        raise InputError([Problem(name, "", "cannot be read (permission denied)")]) from None
    except OSError as exc:
        raise InputError([Problem(name, "", f"cannot be read ({exc.strerror or exc})")]) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError([Problem(name, "", "is a folder, not a file")])
        if not stat.S_ISREG(info.st_mode):
            raise InputError([Problem(name, "", "is not a regular file (a device, pipe or socket)")])
        chunks, size = [], 0
        while size <= MAX_INPUT_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_INPUT_BYTES:
            raise InputError([Problem(name, "", f"is over {MAX_INPUT_BYTES:,} bytes; the limit is "
                                                f"{MAX_INPUT_BYTES:,} bytes")])
        return b"".join(chunks)
    except OSError as exc:
        raise InputError([Problem(name, "", f"cannot be read ({exc.strerror or exc})")]) from None
    finally:
        os.close(fd)


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def read_xlsx_table(path: str | Path) -> Table:
    """The first worksheet of a workbook as text cells (values, not formulas)."""
    name = str(path)
    raw = _read_bounded(Path(path), name)
    sha = hashlib.sha256(raw).hexdigest()
    if not raw.startswith(b"PK"):
        raise InputError([Problem(name, "", "is not an .xlsx workbook (export the responses as "
                                            ".xlsx or .csv)")])
    import openpyxl  # a dependency; imported only for a workbook (~0.2 s)

    try:
        unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(raw)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError([Problem(name, "", "is not a readable .xlsx workbook (a damaged zip "
                                            "archive)")]) from None
    if unpacked > MAX_XLSX_UNPACKED:
        # A workbook is a zip archive: bound what it may unpack to, not only its size on disk.
        raise InputError([Problem(name, "", f"unpacks to {unpacked:,} bytes; the limit is "
                                            f"{MAX_XLSX_UNPACKED:,} bytes")])
    limit_rows = MAX_RESPONDENTS + 4
    rows: list[tuple[int, list[str]]] = []
    truncated = False
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not read; values are unaffected.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    cells = [_xlsx_text(v) for v in values[:MAX_COLUMNS + 1]]
                    while cells and not cells[-1].strip():
                        cells.pop()
                    if not cells:
                        continue  # formatted but empty rows
                    if len(rows) >= limit_rows:
                        truncated = True
                        break
                    rows.append((number, cells))
            finally:
                book.close()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure inside a foreign file is bad input
        raise InputError([Problem(name, "", f"is not a readable .xlsx workbook ({type(exc).__name__})")]) from None
    if not rows:
        raise InputError([Problem(name, "", "is empty (its first worksheet has no cells)")])
    # Spreadsheets drop trailing blank cells; pad every row to the header's width.
    width = max(len(r) for _, r in rows[:3])
    rows = [(n, r + [""] * (width - len(r))) for n, r in rows]
    return Table(rows, sha, truncated=truncated)


def read_table(path: str | Path) -> Table:
    if Path(path).suffix.lower() == ".xlsx":
        return read_xlsx_table(path)
    return read_csv_table(path)


# --------------------------------------------------------------------------- respondents


@dataclass
class FormRead:
    profiles: list[Profile]
    warnings: list[str]
    sha256: str
    placement: Placement


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_form(path: str | Path, library: Library, layout: str = "auto") -> FormRead:
    """Respondents of a form export, the warnings, the file's SHA-256 and the column placement."""
    name = str(path)
    if layout not in LAYOUT_CHOICES:
        raise InputError([Problem(name, "--form-layout", f'"{layout}" is not a layout; allowed: '
                                  + ", ".join(LAYOUT_CHOICES))])
    table = read_table(path)
    problems = Problems(name)
    rows = [(n, r) for n, r in table.rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError([Problem(name, "", "is empty")])
    chosen = "--form-layout" if layout != "auto" else "detected"
    lay = detect_layout([r for _, r in rows[:3]]) if layout == "auto" else layout
    n_head = LAYOUTS[lay].header_rows
    if len(rows) < n_head:
        raise InputError([Problem(name, "", f"has {len(rows)} row(s) but a {LAYOUTS[lay].label} "
                                            f"export has {n_head} header rows")])
    head = [r for _, r in rows[:n_head]]
    if lay == "qualtrics" and not any(c.strip().startswith('{"ImportId"') for c in head[2]):
        raise InputError([Problem(name, f"row {rows[2][0]}", "is not Qualtrics' row of import ids "
                                  '({"ImportId": ...}), so this is not a Qualtrics export; '
                                  "leave out --form-layout to detect the layout")])
    width = len(head[0])
    while width > 1 and not any(h[width - 1].strip() for h in head if width - 1 < len(h)):
        width -= 1  # trailing empty header cells (a trailing delimiter) are not columns
    if width > MAX_COLUMNS:
        raise InputError([Problem(name, "header", f"has {width} columns; the limit is {MAX_COLUMNS}")])
    for number, h in rows[1:n_head]:
        if len(h) < width or any(c.strip() for c in h[width:]):
            problems.add(f"row {number}", f"is a header row with {len(h)} cells but the first "
                                          f"header row has {width}")
    placement = place_columns(library, lay, head, width, chosen)
    columns = placement.columns
    warnings: list[str] = []

    seen: dict[tuple[str, str], int] = {}
    raw_seen: dict[str, int] = {}
    for col in columns:
        if col.kind in ("answer", "fit"):
            key = (col.kind, col.ident)
            if col.label in raw_seen:
                problems.add(f"column {col.index + 1}",
                             f'"{_short(col.label)}" is a duplicate of column {raw_seen[col.label] + 1}')
            elif key in seen:
                problems.add(f"column {col.index + 1}",
                             f'"{_short(col.label)}" answers the same {"statement" if col.kind == "answer" else "fit item"} '
                             f'({col.ident}) as column {seen[key] + 1}; keep one of them')
            else:
                seen[key] = col.index
            raw_seen.setdefault(col.label, col.index)
    near = placement.of("near")
    for col in near:
        warnings.append(f'{name}: column {col.index + 1} "{_short(col.label)}" is not a statement '
                        f"(did you mean {col.hint}?); it is not used — rename the column to the "
                        "statement's id or its exact text")
    unplaced = placement.of("unplaced")
    if unplaced:
        warnings.append(f"{name}: ignored column(s) that are not statements: "
                        + ", ".join(_short(c.label, 40) for c in unplaced))
    admin = placement.of("admin", "private", "gate")
    if admin:
        private = placement.of("private")
        warnings.append(f"{name}: ignored {len(admin)} {LAYOUTS[lay].label} administrative "
                        f"column(s): " + ", ".join(_short(c.label, 40) for c in admin)
                        + (" (e-mail and IP addresses are never read)" if private else ""))
    statements = {s.id: s for s in library.statements}
    if not any(c.kind == "answer" for c in columns):
        hints = [f'column {c.index + 1} "{_short(c.label, 40)}" (did you mean {c.hint}?)' for c in near]
        problems.add("header", "no column is a statement; name columns after the statements' ids "
                     f"or texts (`cruxfit questions`, `cruxfit form`): {', '.join(statements)} "
                     "(plus optional name and role)" + (". Close: " + "; ".join(hints) if hints else ""))
        problems.raise_if_any()

    body = rows[n_head:]
    position = {n: k for k, (n, _) in enumerate(body, start=1)}  # "Respondent k" numbering
    if lay == "qualtrics" and "Status" in [c.strip() for c in head[0]]:
        # Qualtrics keeps the survey builder's previews and tests, and flagged spam, among the
        # responses (its Status column, as text or as a code); they are nobody's answers.
        at = [c.strip() for c in head[0]].index("Status")
        dropped = [n for n, r in body if at < len(r) and r[at].strip().lower() in QUALTRICS_NOT_RESPONSES]
        if dropped:
            warnings.append(f"{name}: row(s) {', '.join(map(str, dropped))} left out: Qualtrics marks "
                            "them as survey previews, tests or spam (Status column)")
            body = [(n, r) for n, r in body if n not in dropped]
    if table.truncated or len(body) > MAX_RESPONDENTS:
        problems.add("", f"has more than {MAX_RESPONDENTS} respondents; the limit is {MAX_RESPONDENTS}")
        body = body[:MAX_RESPONDENTS]
    if not body:
        problems.add("", "has a header but no respondents")

    answer_fields = profile_models(library).answer_fields
    fit_fields = profile_models(library).fit_fields
    name_cols = placement.of("name")
    first_cols, last_cols = placement.of("first"), placement.of("last")
    role_cols = placement.of("role")
    people: list[tuple[int, str | None, dict]] = []
    private_names = []
    respondent = profile_models(library).member
    for number, row in body:
        k = position[number]
        if len(row) != width and (len(row) < width or any(c.strip() for c in row[width:])):
            problems.add(f"row {number}", f"has {len(row)} cells but the header has {width}; "
                                          "check the quoting and the delimiter of this row")
            continue

        def cells(cols, row=row):
            return [" ".join(row[c.index].split()) for c in cols]

        person = None
        candidates = cells(name_cols) + [" ".join(p for p in (f, l) if p) for f, l in
                                         zip(cells(first_cols) or [""], cells(last_cols) or [""])]
        for cand in candidates:
            if not cand or cand.lower() in ANONYMOUS or has_private(cand):
                continue
            person = cand[:MAX_NAME]
            break
        role = next((c for c in cells(role_cols) if c and not has_private(c)), None)
        # A row is a respondent: checked by the same model as one in a YAML organisation
        # (answers on the library's scales; names and roles, which reach terminal lines, file
        # names and report titles, without control characters).
        # (A role is kept to its first MAX_NAME characters, as it always was.)
        data, column_of = _row_data(row, columns, statements, person or f"Respondent {k}",
                                    role[:MAX_NAME] if role else None)
        try:
            checked = respondent.model_validate(data)
        except ValidationError as exc:
            for where, message in _row_problems(exc.errors(), column_of):
                problems.add(f"row {number}, {where}", message)
            continue
        given = checked.answers.model_fields_set
        answers = {sid: getattr(checked.answers, attr)
                   for sid, attr in answer_fields.items() if attr in given}
        unsure = tuple(sid for sid, value in answers.items() if value is None)
        fit = {fid: getattr(checked.fit, attr) for fid, attr in fit_fields.items()}
        if any(has_private(c) for c in candidates + cells(role_cols)):
            private_names.append(number)
        people.append((number, person, {  # answers and fit in library order
            "answers": {sid: value for sid, value in answers.items() if value is not None},
            "unsure": unsure,
            "fit": {fid: value for fid, value in fit.items() if value is not None},
            "role": role[:MAX_NAME] if role else None, "k": k,
        }))
    if private_names:
        warnings.append(f"{name}: row(s) {', '.join(map(str, private_names))}: a name or role "
                        "holds an e-mail or IP address, which is never used")
    profiles = []
    layout_used = {k: v for k, v in placement.summary().items() if k in ("layout", "label", "chosen")}
    by_row = {p[0]: p[2] for p in people}
    for number, person, final_name in _unique_names(people, warnings, name):
        data = dict(by_row[number])
        data.pop("k")
        profiles.append(Profile(name=final_name, kind="individual", source=f"{name}:row {number}",
                                sha256=table.sha256, form=layout_used, **data))
    problems.raise_if_any()
    return FormRead(profiles, [redact(w) for w in warnings], table.sha256, placement)


_ANSWER_HINTS = {
    "agree7": 'a label such as "Strongly agree", or blank for unsure',
    "fit7": 'a label such as "very well", or blank for unsure',
}


def _row_data(row: list[str], columns, statements, name: str, role: str | None):
    """A form row as a respondent's data, and the column each answer came from.

    Blank cells and "unsure" labels read as unsure (None). A statement with two columns is
    already a problem of the header; the row takes its first column.
    """
    answers: dict[str, Any] = {}
    fit: dict[str, Any] = {}
    column_of: dict[tuple[str, str], Any] = {}
    for col in columns:
        if col.kind not in ("answer", "fit"):
            continue
        key = ("answers" if col.kind == "answer" else "fit", col.ident)
        if key in column_of:
            continue
        scale = statements[col.ident].scale if col.kind == "answer" else "fit7"
        value = answer_value(row[col.index], scale, percent=col.percent)
        (answers if col.kind == "answer" else fit)[col.ident] = value
        column_of[key] = (col, scale)
    data = {"name": name, "answers": answers, "fit": fit}
    if role is not None:
        data["role"] = role
    return data, column_of


def _row_problems(errors, column_of) -> list[tuple[str, str]]:
    """(where in the row, message) for each problem of a row, cells in column order.

    An answer that is off its scale hides the row's name and role problems, as the row is
    dropped for it already.
    """
    cells, texts = [], []
    for error in errors:
        loc, message = error["loc"], message_of(error) or error["msg"]
        if len(loc) == 2 and tuple(loc) in column_of:
            col, scale = column_of[tuple(loc)]
            hint = _ANSWER_HINTS.get(scale)
            if hint is None:  # the message names probabilities and percentages already
                hint = ("a number from 0 to 100, " if col.percent else "") + "or blank for unsure"
            cells.append((col.index, f"column {col.ident}", redact(message.replace('or "unsure"', hint))))
        else:
            texts.append((str(loc[0]), message))
    if cells:
        return [(where, message) for _, where, message in sorted(cells, key=lambda c: c[0])]
    return sorted(texts, key=lambda t: ("name", "role").index(t[0]) if t[0] in ("name", "role") else 2)


def _unique_names(people, warnings: list[str], file: str):
    """(row, given name, distinct name) for every respondent; renames never take a real name."""
    given = [p[1] or f"Respondent {p[2]['k']}" for p in people]
    taken = set(given)
    used: set[str] = set()
    out = []
    for (number, person, _), base in zip(people, given):
        final = base
        if final in used:
            n = 2
            while f"{base} ({n})" in taken or f"{base} ({n})" in used:
                n += 1
            final = f"{base} ({n})"
            warnings.append(f'{file}: row {number}: the name "{base}" is used more than once; '
                            f'this one is called "{final}"')
        used.add(final)
        out.append((number, person, final))
    return out


def read_rows(path: str | Path, library: Library, layout: str = "auto") -> tuple[list[Profile], list[str], str]:
    """Respondent profiles from a form export, plus warnings and the file's SHA-256."""
    read = read_form(path, library, layout)
    return read.profiles, read.warnings, read.sha256


def read_organisation(path: str | Path, library: Library, name: str | None = None,
                      layout: str = "auto") -> Organisation:
    """A form export of respondents as one organisation, named after the file unless told otherwise."""
    read = read_form(path, library, layout)
    org_name = name or redact(Path(path).stem).replace("_", " ").replace("-", " ").strip() or "Organisation"
    return Organisation(name=org_name[:MAX_NAME], respondents=tuple(read.profiles),
                        source=str(path), sha256=read.sha256, warnings=tuple(read.warnings),
                        form=read.placement.summary())
