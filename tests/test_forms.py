"""Real form exports (issue 19) and the CSV reading rules (issue 14, item 6).

The fixtures in tests/forms/ are made-up exports in each tool's own layout (no real data;
e-mail addresses use example.org, IP addresses the documentation ranges). Statement ids that
exist today (safety-sabotage ...) are used by name; counts come from the library.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cruxfit.cli import main
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.sections import question_order
from cruxfit.cruxes.csvinput import parse_csv, read_form, read_organisation
from cruxfit.cruxes.forms import answer_value, detect_layout, has_private, redact
from cruxfit.reports.formspec import form_apps_script, form_csv, form_items, form_markdown
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

LIB = load_library()
HERE = Path(__file__).resolve().parent
FORMS = HERE / "forms"
TEXT = {s.id: s.text for s in LIB.statements}
FIT_TEXT = {f.id: f.text for f in LIB.fit_items}
PRIVATE = re.compile(r"@example\.org|192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8")


def write(tmp_path, text, name="team.csv", bom=False, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return p


def by_name(org):
    return {m.name: m for m in org.respondents}


def assert_no_private(*texts):
    for t in texts:
        assert not PRIVATE.search(str(t)), t


# ----------------------------------------------------------------- each tool's export


def test_google_forms_export():
    org = read_organisation(FORMS / "google_forms.csv", LIB)
    assert org.form["layout"] == "google-forms" and org.form["chosen"] == "detected"
    people = by_name(org)
    assert list(people) == ["Ana Lima", "Ben Okafor", "Respondent 3"]
    ana, ben, third = people.values()
    assert ana.answers == {"safety-aligned-enough": 5, "safety-sabotage": 2, "safety-narrow-tasks": 6,
                           "fit-careful-use": 5, "less-ai-unreliable": 1, "world-short-timelines": 0.7}
    assert ana.role == "Research engineer" and ben.role is None and third.role == "Manager"
    assert ben.unsure == ("safety-sabotage",)  # a blank linear scale is unsure, never 4
    assert ben.answers["world-short-timelines"] == pytest.approx(0.3)
    assert third.answers == {"safety-sabotage": 6, "safety-narrow-tasks": 2, "fit-careful-use": 7,
                             "less-ai-unreliable": 3}
    how = {c["id"]: c["by"] for c in org.form["matched"]}
    assert how["safety-aligned-enough"] == "text"  # curly apostrophe in the export
    assert how["safety-sabotage"] == "text"  # final full stop missing in the export
    assert how["fit-careful-use"] == "bracket"
    assert org.form["ignored"] == ["Timestamp", "Email Address"]
    assert org.form["unplaced"] == ["Anything else you would like to tell us?"]
    assert_no_private(org.warnings, org.to_data(), org.form)


def test_typeform_export_joins_first_and_last_names():
    org = read_organisation(FORMS / "typeform.csv", LIB)
    assert org.form["layout"] == "typeform"
    people = by_name(org)
    assert list(people) == ["Ana Lima", "Ben Okafor", "Chen"]
    assert people["Ana Lima"].answers == {"safety-aligned-enough": 5, "safety-sabotage": 2,
                                          "world-short-timelines": 0.7}
    assert people["Chen"].unsure == ("world-short-timelines",)
    assert set(org.form["ignored"]) == {"#", "Start Date (UTC)", "Submit Date (UTC)", "Network ID", "Tags"}


@pytest.mark.parametrize("name", ["surveymonkey.csv", "surveymonkey.xlsx"])
def test_surveymonkey_export_with_two_header_rows(name):
    org = read_organisation(FORMS / name, LIB)
    assert org.form["layout"] == "surveymonkey"
    people = by_name(org)
    assert list(people) == ["Ana Lima", "Ben Okafor", "Respondent 3"]
    assert people["Ana Lima"].answers == {"safety-aligned-enough": 5, "safety-sabotage": 2,
                                          "safety-narrow-tasks": 6, "world-short-timelines": 0.7}
    assert people["Ana Lima"].role == "Researcher"
    assert people["Ben Okafor"].unsure == ("safety-sabotage",)
    assert people["Respondent 3"].answers == {"safety-aligned-enough": 7, "safety-sabotage": 1}
    # The "Other (please specify)" column never inherits its question's statement.
    assert org.form["unplaced"] == ["What is your role? / Other (please specify)"]
    assert "IP Address" in org.form["ignored"]
    assert_no_private(org.warnings, org.to_data(), org.form)


def test_qualtrics_export_with_three_header_rows():
    org = read_organisation(FORMS / "qualtrics.csv", LIB)
    assert org.form["layout"] == "qualtrics"
    people = by_name(org)
    assert list(people) == ["Ana Lima", "Ben Okafor", "Respondent 3"]
    ana = people["Ana Lima"]
    assert ana.answers == {"safety-aligned-enough": 5, "safety-sabotage": 2, "safety-narrow-tasks": 6,
                           "world-alignment-hard": 0.7}  # a 0-100 slider: "(0-100)" in its header
    assert people["Ben Okafor"].answers["world-alignment-hard"] == pytest.approx(0.35)
    assert {c["by"] for c in org.form["matched"]} == {"suffix", "text"}
    assert_no_private(org.warnings, org.to_data(), org.form)


def test_qualtrics_previews_and_spam_are_left_out_with_a_warning(tmp_path):
    with open(FORMS / "qualtrics.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    status = rows[0].index("Status")
    rows[4][status] = "Survey Preview"  # Ben's row, the second response
    p = tmp_path / "q.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    org = read_organisation(p, LIB)
    assert [m.name for m in org.respondents] == ["Ana Lima", "Respondent 3"]
    assert any("row(s) 5 left out" in w and "previews" in w for w in org.warnings)


def test_microsoft_forms_xlsx_export():
    org = read_organisation(FORMS / "microsoft_forms.xlsx", LIB)
    assert org.form["layout"] == "microsoft-forms"
    people = by_name(org)
    # "anonymous" is Microsoft Forms' placeholder, not a person's name.
    assert list(people) == ["Ana Lima", "Respondent 2", "Ben Okafor"]
    assert people["Ana Lima"].answers == {"safety-aligned-enough": 5, "safety-sabotage": 2,
                                          "world-short-timelines": 0.7}
    assert people["Ana Lima"].fit == {"ml-engineering": 6}
    assert people["Ben Okafor"].role == "Grantmaker"
    assert people["Respondent 2"].unsure == ("safety-sabotage",)
    assert_no_private(org.warnings, org.to_data(), org.form)


def test_layout_detection_reads_the_file_not_the_name(tmp_path):
    for fixture, layout in [("google_forms.csv", "google-forms"), ("typeform.csv", "typeform"),
                            ("surveymonkey.csv", "surveymonkey"), ("qualtrics.csv", "qualtrics")]:
        p = tmp_path / "export.csv"
        shutil.copy(FORMS / fixture, p)
        assert read_form(p, LIB).placement.layout == layout
    assert detect_layout([["name", "safety-sabotage"], ["Ana", "2"]]) == "plain"


def test_form_layout_override_is_used_and_named(tmp_path):
    # Read as plain, SurveyMonkey's second header row is a respondent: refused by row
    # number rather than silently misread.
    with pytest.raises(InputError) as info:
        read_organisation(FORMS / "surveymonkey.csv", LIB, layout="plain")
    assert any(p.field.startswith("row 2") for p in info.value.problems)
    org = read_organisation(FORMS / "google_forms.csv", LIB, layout="plain")
    assert org.form["layout"] == "plain" and org.form["chosen"] == "--form-layout"
    assert len(org.respondents) == 3


# ----------------------------------------------------------------- header matching


def test_headers_match_by_id_text_and_bracket(tmp_path):
    text = TEXT["safety-narrow-tasks"]
    messy = "  " + text.upper().replace(" ", "   ").rstrip(".") + " ?! "
    header = ["Name", "safety-sabotage", messy, f"Crux 2 [{TEXT['scaling-improves']}]",
              "Grid [understanding-transparency]", f"{TEXT['world-short-timelines']} (%)",
              f"fit:{LIB.fit_items[0].id}", FIT_TEXT[LIB.fit_items[1].id]]
    p = tmp_path / "t.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, ["Ana", "2", "3", "4", "5", "70", "6", "very well"]])
    read = read_form(p, LIB)
    (ana,) = read.profiles
    assert ana.answers == {"safety-sabotage": 2, "safety-narrow-tasks": 3, "scaling-improves": 4,
                           "understanding-transparency": 5, "world-short-timelines": 0.7}
    assert ana.fit == {LIB.fit_items[0].id: 6, LIB.fit_items[1].id: 7}
    assert [c.how for c in read.placement.of("answer")] == ["id", "text", "bracket", "bracket", "text"]
    assert read.warnings == []


def test_near_miss_is_named_with_did_you_mean_and_not_used(tmp_path):
    near = TEXT["safety-narrow-tasks"].replace("narrow", "narow")
    p = tmp_path / "t.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["Name", "safety-sabotage", near], ["Ana", "2", "3"]])
    read = read_form(p, LIB)
    assert read.profiles[0].answers == {"safety-sabotage": 2}  # never matched by guesswork
    (warning,) = read.warnings
    assert 'column 3 "' in warning and '(did you mean "safety-narrow-tasks"?)' in warning
    assert "not used" in warning


def test_two_columns_for_one_statement_are_refused(tmp_path):
    p = write(tmp_path, f'Name,safety-sabotage,"{TEXT["safety-sabotage"]}"\nAna,2,3\n')
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    (problem,) = info.value.problems
    assert problem.field == "column 3" and "same statement (safety-sabotage) as column 2" in problem.message


@pytest.mark.parametrize("headers,expected", [
    (["Name"], "Ana Lima"), (["Your name"], "Ana Lima"), (["Full Name"], "Ana Lima"),
    (["What's your name?"], "Ana Lima"), (["Respondent"], "Ana Lima"),
    (["Name (optional)"], "Ana Lima"),
])
def test_name_columns_whatever_the_tool_calls_them(tmp_path, headers, expected):
    p = write(tmp_path, f"{headers[0]},safety-sabotage\nAna Lima,2\n")
    assert read_organisation(p, LIB).respondents[0].name == expected


def test_first_and_last_name_columns_are_joined(tmp_path):
    p = write(tmp_path, "First Name,Last Name,safety-sabotage\nAna,Lima,2\n,Okafor,3\n,,4\n")
    assert [m.name for m in read_organisation(p, LIB).respondents] == ["Ana Lima", "Okafor", "Respondent 3"]


def test_administrative_columns_get_one_summary_warning(tmp_path):
    p = write(tmp_path, "Timestamp,Response ID,Email Address,IP Address,Network ID,Tags,Custom Data 1,"
                        "Name,safety-sabotage\n2026-11-02,R_1,x@example.org,192.0.2.1,ab12,t,c,Ana,2\n")
    org = read_organisation(p, LIB)
    (warning,) = org.warnings
    assert "ignored 7 Google Forms administrative column(s)" in warning
    assert org.respondents[0].answers == {"safety-sabotage": 2}


def test_email_or_ip_in_a_name_cell_never_reaches_the_profile(tmp_path):
    p = write(tmp_path, "Name,Role,safety-sabotage\nana@example.org,lead,2\n192.0.2.14,x@example.org,3\n"
                        "2001:db8::1,,4\n")
    org = read_organisation(p, LIB)
    assert [m.name for m in org.respondents] == ["Respondent 1", "Respondent 2", "Respondent 3"]
    assert org.respondents[1].role is None
    assert any("e-mail or IP address" in w for w in org.warnings)
    assert_no_private(org.warnings, org.to_data())


def test_bad_cells_are_quoted_without_addresses(tmp_path):
    p = write(tmp_path, "Name,safety-sabotage\nAna,ana@example.org\n")
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    assert_no_private(*[str(pr) for pr in info.value.problems])
    assert "[e-mail address]" in str(info.value.problems[0])


def test_redaction():
    assert redact("write to a.b@example.org or 192.0.2.7 / 2001:db8::8a2e:370:7334") == \
        "write to [e-mail address] or [IP address] / [IP address]"
    assert not has_private("Ana Lima, 09:14:03, 2026-11-02")


@pytest.mark.parametrize("cell,scale,percent,expected", [
    ("Somewhat agree", "agree7", False, 5), ("strongly DISAGREE", "agree7", False, 1),
    ("Neither agree nor disagree", "agree7", False, 4), ("7 - Strongly agree", "agree7", False, 7),
    ("Strongly agree (7)", "agree7", False, 7), ("Agree;", "agree7", False, 6),
    ("2 - Strongly agree", "agree7", False, "2 - Strongly agree"),  # contradicts itself: refused
    ("3.5", "agree7", False, 3.5), ("", "agree7", False, None), ("Don't know", "agree7", False, None),
    ("70%", "probability", False, 0.7), ("70 %", "probability", False, 0.7),
    ("0,25", "probability", False, 0.25), ("70", "probability", True, 0.7),
    ("70", "probability", False, 70.0), ("very well", "fit7", False, 7), ("Not at all", "fit7", False, 1),
    ("5", "fit7", False, 5),
])
def test_answer_labels(cell, scale, percent, expected):
    got = answer_value(cell, scale, percent=percent)
    assert got == (pytest.approx(expected) if isinstance(expected, float) else expected)


# ----------------------------------------------------------------- CSV rules (issue 14.6)


def test_doubled_quotes_are_read_as_one(tmp_path):
    p = write(tmp_path, 'name,safety-sabotage\n"O""Brien",2\n"Smith, Ana ""Al""",3\n')
    assert [m.name for m in read_organisation(p, LIB).respondents] == ['O"Brien', 'Smith, Ana "Al"']


def test_a_row_in_another_delimiter_is_refused_with_its_row_number(tmp_path):
    p = write(tmp_path, "name,safety-sabotage,safety-narrow-tasks\nBen,2,3\nAna;1;2\n")
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    assert [(pr.field, pr.message.split(";")[0]) for pr in info.value.problems] == \
        [("row 3", "has 1 cells but the header has 3")]


def test_an_unbalanced_quote_is_refused_not_swallowing_rows(tmp_path):
    p = write(tmp_path, 'name,safety-sabotage\nBen,2\n"Ana,1\nCai,3\nDee,4\n')
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    (problem,) = info.value.problems
    assert problem.field == "row 3" and "never closed" in problem.message


def test_text_after_a_closing_quote_is_refused(tmp_path):
    p = write(tmp_path, 'name,safety-sabotage\n"Ana"x,2\n')
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    assert info.value.problems[0].field == "row 2"


def test_short_rows_are_refused(tmp_path):
    p = write(tmp_path, "name,safety-sabotage,safety-narrow-tasks\nAna,1\n")
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    assert info.value.problems[0].field == "row 2"


def test_renamed_duplicates_never_take_a_real_name(tmp_path):
    p = write(tmp_path, "name,safety-sabotage\nAna,1\nAna,2\nAna (2),3\n,4\nRespondent 4,5\n")
    names = [m.name for m in read_organisation(p, LIB).respondents]
    assert names == ["Ana", "Ana (3)", "Ana (2)", "Respondent 4", "Respondent 4 (2)"]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_semicolons_tabs_and_bars(tmp_path, delimiter):
    p = write(tmp_path, delimiter.join(["name", "safety-sabotage", "world-short-timelines"])
              + "\n" + delimiter.join(["Ana, B.", "Agree", "70%"]).replace("Ana, B.", '"Ana, B."')
              + "\n", bom=True)
    (ana,) = read_organisation(p, LIB).respondents
    assert ana.name == "Ana, B." and ana.answers == {"safety-sabotage": 6, "world-short-timelines": 0.7}


def test_the_cli_refuses_with_one_line_per_problem_and_exit_2(tmp_path):
    p = write(tmp_path, "name,safety-sabotage\nBen,2\nAna;1\nCai,9\n")
    res = CliRunner().invoke(main, ["validate", str(p)])
    assert res.exit_code == 2
    lines = res.stderr.splitlines()
    assert lines[:2] == [
        f"Error: {p}: row 3: has 1 cells but the header has 2; check the quoting and the delimiter of this row",
        f"Error: {p}: row 4, column safety-sabotage: 9 is off the 1-7 scale; allowed: a whole number "
        "from 1 (strongly disagree) to 7 (strongly agree), a label such as \"Strongly agree\", or blank for unsure"]
    assert "Traceback" not in res.output


_cell = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@pytest.mark.heavy
@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=1, max_size=6),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       terminator=st.sampled_from(["\r\n", "\n"]))
def test_fuzz_rows_written_by_the_csv_writer_read_back_equal(rows, delimiter, quoting, terminator):
    """Any cells (quotes, delimiters, line breaks inside) in any of the standard dialects."""
    if quoting == csv.QUOTE_MINIMAL and terminator == "\n":
        # Python's writer then leaves a lone CR unquoted, which no reader can tell from a line
        # end: such a file is not valid CSV (RFC 4180 quotes every field holding CR or LF).
        assume(not any("\r" in c for r in rows for c in r))
    header = ["name", "note", "safety-sabotage"]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=terminator).writerows([header] + rows)
    records, _, failure = parse_csv(buf.getvalue())
    assert failure is None
    # Rows of blank cells are skipped by the reader; every other row comes back exactly.
    got = [r for _, r in records if any(c.strip() for c in r)]
    assert got == [r for r in [header] + rows if any(c.strip() for c in r)]


def _plain_name(s: str) -> bool:
    return bool(s) and " ".join(s.split()) == s and not has_private(s) and \
        s.lower() not in ("anonymous", "anon", "n/a", "-")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)),
                              min_size=1, max_size=10).filter(_plain_name),
                      min_size=1, max_size=5, unique=True),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_fuzz_respondents_read_back_equal(tmp_path, names, delimiter, quoting):
    """Names with quotes and delimiters in them come back as written, answers in place."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=quoting)
    writer.writerow(["name", "safety-sabotage", "world-short-timelines"])
    for k, n in enumerate(names):
        writer.writerow([n, str(k % 7 + 1), f"{10 * k}%"])
    p = tmp_path / "fuzz.csv"
    p.write_text(buf.getvalue(), encoding="utf-8", newline="")
    org = read_organisation(p, LIB)
    assert [m.name for m in org.respondents] == names
    assert [m.answers["safety-sabotage"] for m in org.respondents] == [k % 7 + 1 for k in range(len(names))]
    assert [m.answers["world-short-timelines"] for m in org.respondents] == \
        [pytest.approx(k / 10) for k in range(len(names))]


# ----------------------------------------------------------------- cruxfit form


def test_form_lists_every_question_in_assess_order():
    items = form_items(LIB)
    asked = [q.id for q in question_order(LIB) if q.kind != "fit-gate"]
    assert [i.id for i in items if i.kind in ("statement", "fit")] == asked
    assert {i.id for i in items if i.kind == "statement"} == set(TEXT)
    assert [i.number for i in items] == list(range(1, len(items) + 1))
    md = form_markdown(LIB)
    for sid in TEXT:
        assert f"`{sid}`" in md
    assert "Strongly disagree" in md and "Very well" in md
    no_fit = form_items(LIB, fit=False)
    assert not [i for i in no_fit if i.kind in ("fit", "fit-gate")]


def _apps_script_titles(script: str) -> list[str]:
    titles = []
    for line in script.splitlines():
        m = re.match(r'\s*(?:agree|fit|percent)\((".*?(?<!\\)"), ', line) or \
            re.search(r'\.add(?:Text|MultipleChoice)Item\(\)\.setTitle\((".*?(?<!\\)")\)', line)
        if m:
            titles.append(json.loads(m.group(1)))
    return titles


def test_apps_script_creates_every_question_with_its_title():
    script = form_apps_script(LIB)
    rows = list(csv.DictReader(io.StringIO(form_csv(LIB))))
    assert _apps_script_titles(script) == [r["title"] for r in rows]
    assert script.count("agree(") - 1 == sum(1 for r in rows if r["kind"] == "statement" and r["answer"] == "scale")
    assert "requireNumberBetween(0, 100)" in script and "setCollectEmail(false)" in script
    if shutil.which("node"):
        check = subprocess.run(["node", "-e", "new Function(require('fs').readFileSync(0, 'utf8'))"],
                               input=script, text=True, capture_output=True, timeout=60, check=False)
        assert check.returncode == 0, check.stderr


def _google_export_of(rows: list[dict], tmp_path: Path) -> Path:
    """What Google Forms exports for a form built from `cruxfit form --format csv`."""
    header = ["Timestamp", *[r["title"] for r in rows]]
    people = []
    for k, person in enumerate(["Ana Lima", "Ben Okafor"]):
        cells = ["2026/11/02 9:14:03 AM GMT"]
        for j, r in enumerate(rows):
            cells.append({"name": person, "role": "Researcher" if k == 0 else "",
                          "scale": str((j + k) % 7 + 1), "percent": str(10 * (j % 10) + k),
                          "yesno": "Yes" if k == 0 else "No"}.get(r["kind"] if r["kind"] in ("name", "role")
                                                                  else r["answer"]))
        if k == 1:  # "No" at the gate: the fit questions stay blank
            cells = [c if r.get("kind") != "fit" else "" for c, r in zip(cells, [{}] + rows)]
        people.append(cells)
    p = tmp_path / "export.csv"
    with open(p, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([header, *people])
    return p


def test_round_trip_a_form_built_from_cruxfit_form_reads_back_fully_matched(tmp_path):
    rows = list(csv.DictReader(io.StringIO(form_csv(LIB))))
    read = read_form(_google_export_of(rows, tmp_path), LIB)
    assert read.placement.layout == "google-forms"
    assert not read.placement.of("near", "unplaced")
    assert {c.ident for c in read.placement.of("answer")} == set(TEXT)
    assert {c.ident for c in read.placement.of("fit")} == set(FIT_TEXT)
    ana, ben = read.profiles
    assert ana.name == "Ana Lima" and ana.role == "Researcher" and ben.name == "Ben Okafor"
    for j, r in enumerate(rows):
        if r["kind"] == "statement":
            want = (10 * (j % 10)) / 100 if r["answer"] == "percent" else (j % 7 + 1)
            assert ana.answers[r["id"]] == pytest.approx(want)
        if r["kind"] == "fit":
            assert ana.fit[r["id"]] == j % 7 + 1
    assert ben.fit == {}
    assert len(ana.answers) == len(TEXT)


# ----------------------------------------------------------------- the CLI


def test_validate_names_layout_and_columns_without_addresses():
    res = CliRunner().invoke(main, ["validate", str(FORMS / "google_forms.csv")])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "layout: Google Forms (detected from the file; --form-layout overrides it)" in out
    assert "columns: 6 matched, 2 about the respondent, 2 ignored, 1 not placed" in out
    assert 'column 9 "How far do you agree? [fit-careful-use]" -> fit-careful-use (by [id] in brackets)' in out
    assert 'not placed  "Anything else you would like to tell us?"' in out
    assert_no_private(res.output, res.stderr)


@pytest.mark.parametrize("fixture", ["google_forms.csv", "typeform.csv", "surveymonkey.csv",
                                     "surveymonkey.xlsx", "qualtrics.csv", "microsoft_forms.xlsx"])
def test_every_fixture_validates_and_prints_no_address(fixture):
    res = CliRunner().invoke(main, ["validate", str(FORMS / fixture)])
    assert res.exit_code == 0, res.output
    assert_no_private(res.output, res.stderr)


def test_validate_with_a_wrong_layout_override_exits_2():
    res = CliRunner().invoke(main, ["validate", "--form-layout", "qualtrics", str(FORMS / "google_forms.csv")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.startswith("Error: ")


@pytest.mark.parametrize("command", ["report", "validate", "batch"])
def test_form_layout_option_is_offered(command):
    res = CliRunner().invoke(main, [command, "--help"])
    assert "--form-layout" in res.output and "microsoft-forms" in res.output


def test_form_command_formats(tmp_path):
    runner = CliRunner()
    md = runner.invoke(main, ["form"])
    assert md.exit_code == 0 and md.stdout.startswith("# ")
    as_csv = runner.invoke(main, ["form", "--format", "csv"])
    assert as_csv.exit_code == 0
    assert len(list(csv.DictReader(io.StringIO(as_csv.stdout)))) == len(form_items(LIB))
    gs = runner.invoke(main, ["form", "--google-apps-script", "-o", str(tmp_path / "f.gs")])
    assert gs.exit_code == 0 and (tmp_path / "f.gs").read_text().startswith("/**")
    again = runner.invoke(main, ["form", "-o", str(tmp_path / "f.gs")])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_not_an_xlsx_workbook_is_refused(tmp_path):
    p = write(tmp_path, "name,safety-sabotage\nAna,1\n", name="export.xlsx")
    res = CliRunner().invoke(main, ["validate", str(p)])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[0] == f"Error: {p}: is not an .xlsx workbook (export the responses as .xlsx or .csv)"


def test_a_workbook_that_unpacks_too_far_is_refused(tmp_path):
    import zipfile

    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    with pytest.raises(InputError) as info:
        read_form(p, LIB)
    assert "unpacks to" in info.value.problems[0].message


def test_an_xlsx_over_the_respondent_limit_is_refused_and_blank_rows_do_not_count(tmp_path):
    import openpyxl

    from cruxfit.cruxes.profile import MAX_RESPONDENTS

    def book(n, blanks):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["Name", "safety-sabotage"])
        for k in range(n):
            ws.append([f"P{k}", k % 7 + 1])
        for k in range(blanks):  # formatted, empty rows as spreadsheets keep them
            ws.cell(row=n + 2 + k, column=1).value = " "
        p = tmp_path / f"{n}-{blanks}.xlsx"
        wb.save(p)
        return p

    assert len(read_form(book(3, 600), LIB).profiles) == 3
    with pytest.raises(InputError) as info:
        read_form(book(MAX_RESPONDENTS + 10, 0), LIB)
    assert f"the limit is {MAX_RESPONDENTS}" in info.value.problems[0].message


def test_batch_plans_form_exports_with_the_layout_override(tmp_path):
    from cruxfit.pipeline.batch import plan

    jobs, warnings = plan(LIB, [FORMS / "typeform.csv", FORMS / "microsoft_forms.xlsx"],
                          rows_are_applicants=True, formats=("json",), seed=0, audience="grantmaker",
                          form_layout="auto")
    assert [j.subject.name for j in jobs] == ["Ana Lima", "Ben Okafor", "Chen",
                                              "Ana Lima", "Respondent 2", "Ben Okafor"]
    # Each applicant's report names the layout its row was read from (provenance).
    assert [j.subject.form["layout"] for j in jobs] == ["typeform"] * 3 + ["microsoft-forms"] * 3
    assert_no_private(warnings)
    jobs, _ = plan(LIB, [FORMS / "typeform.csv"], rows_are_applicants=False, formats=("json",),
                   seed=0, audience="grantmaker", form_layout="plain")
    assert jobs[0].subject.form["layout"] == "plain"


def test_an_address_in_the_file_name_stays_out_of_the_organisation_name(tmp_path):
    p = tmp_path / "answers-ana@example.org.csv"
    shutil.copy(FORMS / "google_forms.csv", p)
    assert_no_private(read_organisation(p, LIB).name)


def test_report_provenance_names_the_layout():
    from cruxfit.reports.render import render_html

    result = json.loads((HERE / "golden" / "org_result.json").read_text(encoding="utf-8"))
    result["provenance"]["form_layout"] = {"layout": "typeform", "label": "Typeform", "chosen": "detected"}
    html = render_html(result)
    assert "<th>Form export read as</th><td>Typeform (detected from the file)</td>" in html


@pytest.mark.slow
def test_report_from_a_google_forms_export_names_layout_and_holds_no_address(tmp_path):
    out = tmp_path / "org.json"
    res = CliRunner().invoke(main, ["report", str(FORMS / "google_forms.csv"), "-f", "json", "-q",
                                    "--allow-unconverged", "-o", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["provenance"]["form_layout"] == {"layout": "google-forms", "label": "Google Forms",
                                                   "chosen": "detected"}
    from cruxfit.reports.render import render_html

    html = render_html(result)
    assert "Google Forms (detected from the file)" in html
    assert_no_private(out.read_text(encoding="utf-8"), html, res.output, res.stderr)


def test_control_characters_in_a_csv_name_or_role_are_refused(tmp_path):
    """Issue 14 item 11 for form exports: an escape sequence in a name or role is refused with
    the row named, as in a YAML profile (it would otherwise reach terminal lines and titles)."""
    from click.testing import CliRunner

    from cruxfit.cli import main

    path = tmp_path / "ctrl.csv"
    path.write_text('name,role,safety-sabotage\n"Ana\x1b]0;pwned\x07",Engineer,3\n'
                    'Bob,"Lead\x1b[2J",5\nCy,Ops,4\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2
    assert f"{path}: row 2, name: contains a control character (U+001B)" in res.stderr
    assert f"{path}: row 3, role: contains a control character (U+001B)" in res.stderr
    assert "\x1b" not in res.stderr and "Traceback" not in res.stderr


def test_a_row_is_checked_like_a_respondent_of_a_yaml_organisation(tmp_path, library):
    """Every problem of a row at once, cells in column order; a role is cut to 200 characters
    before it is checked, as a name is (what lies beyond is never used)."""
    from cruxfit.cruxes.csvinput import read_form
    from cruxfit.cruxes.errors import InputError

    path = tmp_path / "team.csv"
    long_role = "r" * 200 + "\x1b[2J"
    path.write_text("name,role,world-short-timelines,fit-careful-use,safety-sabotage,ml-engineering\n"
                    f'Ana,"{long_role}",0.5,,4,7\n'
                    'Bob,Lead,150%,x,9,0\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_form(path, library)
    a7 = "a whole number from 1 (strongly disagree) to 7 (strongly agree)"
    assert [str(p) for p in info.value.problems] == [
        f"{path}: row 3, column world-short-timelines: 1.5 is outside 0 to 1; allowed: a "
        'probability from 0 to 1 (for example 0.3), a percentage such as "30%", or blank for unsure',
        f'{path}: row 3, column fit-careful-use: "x" is not allowed; allowed: {a7}, a label such as '
        '"Strongly agree", or blank for unsure',
        f"{path}: row 3, column safety-sabotage: 9 is off the 1-7 scale; allowed: {a7}, a label such "
        'as "Strongly agree", or blank for unsure',
        f"{path}: row 3, column ml-engineering: 0 is off the 1-7 scale; allowed: a whole number from "
        '1 (not at all) to 7 (very well), a label such as "very well", or blank for unsure',
    ]
    path.write_text("name,role,safety-sabotage\n" f'Ana,"{long_role}",4\n', encoding="utf-8")
    (ana,) = read_form(path, library).profiles
    assert ana.role == "r" * 200 and ana.answers == {"safety-sabotage": 4.0}
