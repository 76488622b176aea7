"""Issue 16: the handout, the grantmaker memo, the advisor edition, next steps, one way to
print a number, readable columns and a layout without waste.

Nothing here samples except the one CLI test marked slow. The analysis results are fixtures
made once with the current model::

    for p in example optimistic sceptical; do
        cruxfit report data/$p.yaml -f json --seed 0 -q -o tests/golden/editions_$p.json
    done

Page counts and font sizes are read from the PDFs themselves (pypdf).
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import pytest
import yaml

from cruxfit.cruxes.errors import LibraryError
from cruxfit.cruxes.library import load_library
from cruxfit.reports import numbers as N
from cruxfit.reports.context import build_context, pct
from cruxfit.reports.context_editions import (
    advisor_questions,
    build_handout_context,
    build_memo_context,
    value_anchor,
)
from cruxfit.reports.render import render_html, render_pdf

GOLDEN = Path(__file__).parent / "golden"
NAMES = ("example", "optimistic", "sceptical")
#: Body text must be at least this large (pt); a hair under for rounding in the PDF.
MIN_PT = 9.45


def _load(name: str) -> dict:
    return json.loads((GOLDEN / f"editions_{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {n: _load(n) for n in NAMES}


def _reader(pdf: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf))


def _texts(pdf: bytes) -> list[str]:
    return [re.sub(r"\s+", " ", p.extract_text() or "") for p in _reader(pdf).pages]


def _runs(pdf: bytes) -> list[tuple[int, float, str]]:
    """(page, effective font size in pt, text) of every text run in the PDF."""
    out = []
    for i, page in enumerate(_reader(pdf).pages):
        def visit(text, cm, tm, font, size, i=i):
            if text.strip():
                scale = (tm[2] ** 2 + tm[3] ** 2) ** 0.5 * (cm[2] ** 2 + cm[3] ** 2) ** 0.5
                out.append((i, size * scale, text))
        page.extract_text(visitor_text=visit)
    return out


def _small_words(pdf: bytes) -> tuple[int, int, list[str]]:
    runs = _runs(pdf)
    total = sum(len(t.split()) for _, _, t in runs)
    small = [(t, s) for _, s, t in runs if s < MIN_PT]
    return sum(len(t.split()) for t, _ in small), total, [f"{s:.1f}pt {t[:40]!r}" for t, s in small]


# ----------------------------------------------------------------------------- page counts
@pytest.fixture(scope="module")
def pdfs(results) -> dict[tuple[str, str], bytes]:
    out = {}
    for n, r in results.items():
        out[(n, "handout")] = render_pdf(r, "individual", length="short")
        out[(n, "memo")] = render_pdf(r, "grantmaker")
    out[("example", "advisor-short")] = render_pdf(results["example"], "advisor", length="short")
    out[("example", "full")] = render_pdf(results["example"], "individual")
    return out


@pytest.mark.heavy
@pytest.mark.parametrize("name", NAMES)
def test_handout_is_at_most_two_pages_and_memo_exactly_one(pdfs, name):
    assert len(_reader(pdfs[(name, "handout")]).pages) <= 2
    assert len(_reader(pdfs[(name, "memo")]).pages) == 1


@pytest.mark.heavy
def test_advisor_handout_adds_one_page_of_session_plan(pdfs):
    pages = _texts(pdfs[("example", "advisor-short")])
    assert len(pages) == 3
    assert "Session plan" in pages[2] and "Questions to discuss" in pages[2]


def _stress(result: dict) -> dict:
    r = copy.deepcopy(result)
    r["profile"]["name"] = "Dr. " + "Longname-" * 12 + "Person"
    r["profile"]["notes"] = "A note that goes on. " * 60
    r["profile"]["plan"] = "agent-foundations"
    r["overrides"] = [{"slug": "governance", "dimension": "tractability", "from": "Medium",
                       "to": "Low", "reason": "Because."}] * 3
    return r


@pytest.mark.parametrize("name", NAMES)
def test_memo_stays_one_page_with_long_name_notes_plan_and_overrides(results, name):
    pdf = render_pdf(_stress(results[name]), "grantmaker")
    assert len(_reader(pdf).pages) == 1


@pytest.mark.heavy
def test_memo_with_appendix_carries_the_full_report(results, pdfs):
    r = results["example"]
    with_app = render_pdf(r, "grantmaker", appendix=True)
    full = len(_reader(pdfs[("example", "full")]).pages)
    n = len(_reader(with_app).pages)
    assert n > full // 2 + 1
    text = " ".join(_texts(with_app))
    assert "Terms used in this report" in text and "The full report follows" in text


@pytest.mark.heavy
def test_no_near_empty_last_page(pdfs):
    for key in (("example", "full"), ("example", "handout"), ("sceptical", "handout")):
        pages = _texts(pdfs[key])
        if len(pages) < 2:
            continue
        mean = sum(len(p) for p in pages) / len(pages)
        assert len(pages[-1]) >= 0.2 * mean, f"{key}: last page holds {len(pages[-1])} characters"


# ----------------------------------------------------------------------------- font sizes
@pytest.mark.heavy
@pytest.mark.parametrize("edition", ["handout", "memo"])
def test_short_editions_set_all_text_at_least_9_5_pt(pdfs, edition):
    small, total, where = _small_words(pdfs[("example", edition)])
    assert total > 150
    assert small == 0, where[:10]


@pytest.mark.heavy
def test_full_report_body_text_is_at_least_9_5_pt(pdfs):
    # Plot labels (inside the SVG charts) and the running header/footer may be smaller.
    small, total, where = _small_words(pdfs[("example", "full")])
    assert small <= 0.08 * total, (small, total, where[:10])


def test_grantmaker_one_liner_is_not_monospace(results):
    for html in (render_html(results["example"], "grantmaker"),
                 render_html(results["example"], "grantmaker", appendix=True)):
        css = html[html.index("<style>"):html.index("</style>")]
        for rule in re.findall(r"\.(?:summary-text|oneliner)\s*\{[^}]*\}", css):
            assert "Mono" not in rule and "monospace" not in rule, rule


# ----------------------------------------------------------------------------- handout
@pytest.mark.heavy
def test_handout_first_page_answers_the_question(results, pdfs):
    r = results["example"]
    first, second = _texts(pdfs[("example", "handout")])
    ctx = build_context(r)
    assert ctx["verdict"]["label"] in first
    assert f"{pct(r['verdict']['p_best'])} of them" in first
    names = {b["id"]: b["name"] for b in r["beliefs"]}
    for var in r["verdict"]["deciding"][:3]:
        assert names[var] in first
    top = sorted(r["approaches"], key=lambda a: -a["mean"])[:3]
    for a in top:
        assert a["name"] in first
        steps = r["next_steps"][a["slug"]]
        assert steps["skills"][0] in second and steps["read"][0] in second
    # plain words: no technical terms in the handout
    for term in ("EVPI", "EVPPI", "R-hat", "Shapley", "log-odds", "posterior"):
        assert term not in first + second, term


def test_value_points_are_anchored_to_the_ratings_used(results):
    r = copy.deepcopy(results["example"])
    sentence = value_anchor(r, "your")
    assert "“Medium” about 2" in sentence and "“High” about 3" in sentence
    for a in r["approaches"]:
        for dim in ("hard", "easy"):
            if a["ratings_used"][dim]["level"] == "Medium":
                a["ratings_used"][dim]["mean"] = 2.5
    assert "“Medium” about 2.5" in value_anchor(r, "your")
    import html

    assert value_anchor(results["example"], "your") in html.unescape(render_html(results["example"]))


def test_next_steps_follow_personal_fit(results):
    r = copy.deepcopy(results["example"])
    # Personal fit is already inside each approach's value: a strong fit lifts an approach
    # into the top three, and its next steps appear.
    target = sorted(r["approaches"], key=lambda a: a["mean"])[0]
    target["mean"] = max(a["mean"] for a in r["approaches"]) + 1
    target["personal_fit"] = 1.3
    r["profile"]["has_fit"] = True
    ctx = build_handout_context(r)
    assert ctx["top_three"][0]["slug"] == target["slug"]
    assert ctx["top_three"][0]["skills"] == r["next_steps"][target["slug"]]["skills"]
    assert "your skills and situation included" in render_html(r, length="short")


# ----------------------------------------------------------------------------- memo
def _memo_text(result: dict) -> str:
    return " ".join(_texts(render_pdf(result, "grantmaker")))


def test_memo_is_in_the_third_person(results):
    for name in NAMES:
        text = _memo_text(results[name])
        assert "the applicant" in text.lower()
        assert not re.search(r"\byou(r|rs)?\b", text, re.I), re.search(r".{40}\byour?\b.{40}", text, re.I)


def test_memo_says_how_far_the_plan_agrees(results):
    r = copy.deepcopy(results["example"])
    ranking = sorted(r["approaches"], key=lambda a: -a["mean"])
    r["profile"]["plan"] = ranking[0]["slug"]
    assert build_memo_context(r)["plan_check"]["agreement"] == "agrees"
    r["profile"]["plan"] = ranking[1]["slug"]
    ctx = build_memo_context(r)
    assert ctx["plan_check"]["agreement"] == "partly agrees"
    gap = N.shown_difference(ranking[0]["mean"], ranking[1]["mean"]).lstrip("+")
    assert f"a gap of {gap}" in ctx["plan_check"]["sentence"]
    r["profile"]["plan"] = ranking[-1]["slug"]
    assert build_memo_context(r)["plan_check"]["agreement"] == "disagrees"
    assert f"ranks it {len(ranking)} of {len(ranking)}" in _memo_text(r)
    r["profile"].pop("plan")
    assert build_memo_context(r)["plan_check"]["agreement"] == "no plan stated"


def test_memo_flags_data_quality_from_the_result(results):
    r = copy.deepcopy(results["example"])
    p = r["profile"]
    flags = build_memo_context(r)["flags"]
    assert f"{p['answered']} of {p['statements']} statements answered" in flags[0]
    r["profile"]["quality"] = {"flags": ["sparse", "contradictory"]}  # the analysis's flags
    for b in r["beliefs"]:
        b["answers"] = 1
    r["beliefs"][0]["answers"] = 0
    r["diagnostics"].update(converged=False, reasons=["largest R-hat 1.09 is above 1.01"])
    flags = " | ".join(build_memo_context(r)["flags"])
    assert "sparse: too few answers on the three cruxes for a verdict" in flags
    assert "contradictory: strong agreement with both sides of one crux" in flags
    assert f"no answers on 1 belief(s) (“{r['beliefs'][0]['name']}”)" in flags
    assert "did NOT settle: largest R-hat 1.09" in flags


def test_memo_reads_a_new_verdict_label_from_the_result(results):
    r = copy.deepcopy(results["sceptical"])
    r["verdict"].update(label="not enough answers", meaning="Too few answers for a verdict.")
    html = render_html(r, "grantmaker")
    assert "Not enough answers" in html and "verdict-not-enough-answers" in html


# ----------------------------------------------------------------------------- advisor
def test_advisor_questions_come_from_the_clients_own_answers(results):
    opt = advisor_questions(results["optimistic"])
    sce = advisor_questions(results["sceptical"])
    assert opt and sce
    assert {q["question"] for q in opt}.isdisjoint({q["question"] for q in sce})
    # the sceptic is asked about the good-fit beliefs they reject, by name
    rejected = [row["text"] for row in results["sceptical"]["checklist"]["good_fit"]
                if row["status"] == "you do not hold this"]
    assert rejected and any(rejected[0] in q["question"] for q in sce)


def test_advisor_finds_a_contradiction_within_a_crux(results):
    r = copy.deepcopy(results["example"])
    crux = r["cruxes"][0]
    pro = next(k["answer"] for k in crux["considerations"] if k["answer"]["favours"] == 1)
    con = next(k["answer"] for k in crux["considerations"] if k["answer"]["favours"] == -1)
    pro["value"] = con["value"] = 7
    qs = advisor_questions(r)
    assert qs[0]["kind"] == "contradiction"
    assert pro["text"] in qs[0]["question"] and con["text"] in qs[0]["question"]


def test_advisor_near_switch_question_names_the_switching_value(results):
    r = results["example"]
    qs = [q for q in advisor_questions(r) if q["kind"] == "near-switch"]
    assert qs
    q = qs[0]["question"]
    sv = next(s for s in r["switching_values"] if f"\u201c{s['name']}\u201d" in q)
    assert pct(sv["current"]) in q
    sides = [x for x in (sv["verdict_switch"]["below"], sv["verdict_switch"]["above"]) if x]
    assert any(pct(x["credence"]) in q for x in sides)


# ----------------------------------------------------------------------------- evidence columns
def test_crux_tables_show_the_pull_from_the_starting_point(results):
    r = results["example"]
    ctx = build_context(r)
    seen_opposite = False
    for c, rc in zip(ctx["cruxes"], r["cruxes"]):
        for k, rk in zip(c["considerations"], rc["considerations"]):
            a = rk["answer"]
            if a is None or a.get("value") is None:
                continue
            assert k["moved"] == N.pull(a["alone"][c["variable"]])
            loo = a["moved"].get(c["variable"], 0.0)
            if loo * a["alone"][c["variable"]] < 0:
                seen_opposite = True
    # In this fixture at least one answer's leave-one-out effect points against its pull:
    # exactly the case readers took for a bug.
    assert seen_opposite
    html = render_html(r)
    assert "Leave-one-out" in html.split('id="appendix"')[1]
    assert "Leave-one-out" not in html.split('id="appendix"')[0]


def test_technical_terms_only_in_glossary_and_method(results):
    html = render_html(results["example"])
    main = html.split('id="method"')[0]
    for term in ("EVPI", "EVPPI", "R-hat", "Shapley", "log-odds"):
        assert term not in main, term


# ----------------------------------------------------------------------------- numbers
def test_one_way_to_print_a_number():
    assert N.probability(0.9996) == ">99%" == pct(0.9996)
    assert N.probability(0.0004) == "<1%"
    assert N.shown_difference(3.41, -0.56) == "+3.97"
    assert N.shown_points_difference(0.9996, 0.0004) == "−100 points"
    assert N.shown_points_difference(0.1765, 0.9875) == "+81 points"
    assert N.signed(-0.004) == "0.00"


def test_batch_summary_prints_probabilities_like_the_reports(tmp_path):
    from cruxfit.reports.summary import _html, write_summary

    rows = [{"name": "A", "verdict": "strong fit", "p_best": 0.9996, "p_top3": 0.0004,
             "top_alternative": "B", "deciding_belief": "C", "error": None,
             "answered": 20, "total": 32, "quality": "ok",
             "converged": True, "status": "done", "source": "a.yaml", "outputs": []}]
    html = _html(rows, {"total": 1, "done": 1, "skipped": 0, "inconclusive": 0, "failed": 0,
                        "seed": 0, "audience": "grantmaker", "library_sha256": "x" * 64,
                        "cruxfit_version": "t", "created": "now"})
    cells = re.findall(r'<td class="num">(.*?)</td>', html)
    assert cells == ["&gt;99%", "&lt;1%", "20/32"]  # the two chances, then answered/total
    write_summary(tmp_path, rows, {}, pdf=b"%PDF-stub")
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["reports"][0]["p_best_text"] == ">99%"
    assert ">99%" in (tmp_path / "summary.csv").read_text()


def test_member_difference_adds_up_to_the_leads_shown():
    from cruxfit.reports.context_org import build_org_context

    org = json.loads((GOLDEN / "org_result.json").read_text(encoding="utf-8"))
    ctx = build_org_context(org)
    org_lead = float(N.value(org["verdict"]["margin"]).replace("−", "-"))
    checked = 0
    for row in ctx["members"]:
        m = re.search(r"differs by ([+−\-]?[\d.]+)", row["why_total"])
        if not m:
            continue
        shown = float(m.group(1).replace("−", "-"))
        member = float(row["lead"].replace("−", "-"))
        assert shown == pytest.approx(member - org_lead, abs=1e-9), row["name"]
        checked += 1
    assert checked >= 2


def test_compare_terminal_line_matches_its_report(monkeypatch, tmp_path, runner):
    import cruxfit.pipeline.run as run

    cmp = json.loads((GOLDEN / "compare_result.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(run, "run_compare", lambda *a, **k: cmp)
    from cruxfit.cli import main as cli_main
    from cruxfit.reports.context_compare import build_compare_context

    data = Path(__file__).parent.parent / "data"
    res = runner.invoke(cli_main, ["compare", str(data / "mixed.yaml"), str(data / "optimistic.yaml"),
                                   "-o", str(tmp_path / "c.json")])
    assert res.exit_code == 0, res.output
    change = build_compare_context(cmp)["change"]
    assert f"chance of ranking first {change['p_best']}, margin {change['margin']}" in res.output
    assert "%" not in res.output.split("chance of ranking first")[1]


# ----------------------------------------------------------------------------- next steps data
def test_every_approach_has_next_steps(library):
    slugs = {a.slug for a in library.approaches}
    assert {n.slug for n in library.next_steps} == slugs
    for n in library.next_steps:
        assert n.skills and n.roles and n.read


def _edit_next_steps(folder: Path, change) -> None:
    path = folder / "next_steps.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["next_steps"])
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_next_steps_missing_or_unknown_approach_is_refused(tmp_library):
    _edit_next_steps(tmp_library, lambda d: (d.pop("evals"),
                                             d.__setitem__("interpretabilty",
                                                           copy.deepcopy(d["interpretability"]))))
    with pytest.raises(LibraryError) as exc:
        load_library(tmp_library)
    text = str(exc.value)
    assert "next_steps.yaml: next_steps.evals: is missing" in text
    assert 'next_steps.interpretabilty: "interpretabilty" is not an approach in approaches.yaml ' \
           '(did you mean "interpretability"?)' in text


def test_next_steps_bad_fields_are_refused(tmp_library):
    _edit_next_steps(tmp_library, lambda d: d["rlhf"].update(skills=[], roles="x", reed=["y"]))
    with pytest.raises(LibraryError) as exc:
        load_library(tmp_library)
    text = str(exc.value)
    assert "next_steps.rlhf.skills: must be a list of 1 to" in text
    assert "next_steps.rlhf.roles: must be a list of 1 to" in text
    assert 'next_steps.rlhf.reed: is not a known key (did you mean "read"?)' in text


def test_library_without_next_steps_still_loads(tmp_library):
    (tmp_library / "next_steps.yaml").unlink()
    assert load_library(tmp_library).next_steps == ()


# ----------------------------------------------------------------------------- profiles
@pytest.mark.parametrize("suffix,text", [
    (".yaml", "name: A\nanswers:\n  world-short-timelines: 70%\n"),
    (".json", '{"name": "A", "answers": {"world-short-timelines": "70%"}}'),
])
def test_percentages_are_probabilities_in_yaml_and_json(library, tmp_path, suffix, text):
    from cruxfit.cruxes.profile import load_profile

    path = tmp_path / f"p{suffix}"
    path.write_text(text, encoding="utf-8")
    assert load_profile(path, library).answers["world-short-timelines"] == pytest.approx(0.7)


def test_out_of_range_percentage_is_refused(library, tmp_path):
    from cruxfit.cruxes.errors import InputError
    from cruxfit.cruxes.profile import load_profile

    path = tmp_path / "p.yaml"
    path.write_text("name: A\nanswers:\n  world-short-timelines: 170%\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_profile(path, library)
    assert 'answers.world-short-timelines: "170%" is outside 0% to 100%' in str(exc.value)


def test_plan_is_checked_against_the_library_and_round_trips(library, tmp_path):
    from cruxfit.cruxes.errors import InputError
    from cruxfit.cruxes.profile import load_profile, parse_profile

    path = tmp_path / "p.yaml"
    path.write_text("name: A\nanswers: {}\nplan: agent-foundation\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_profile(path, library)
    assert 'plan: "agent-foundation" is not a ranked approach (did you mean "agent-foundations"?)' \
        in str(exc.value)
    path.write_text("name: A\nanswers: {}\nplan: agent-foundations\n", encoding="utf-8")
    prof = load_profile(path, library)
    assert prof.plan == "agent-foundations"
    assert parse_profile(prof.to_data(), library).plan == "agent-foundations"


# ----------------------------------------------------------------------------- CLI, end to end
@pytest.mark.slow
def test_cli_writes_the_handout_and_the_memo(tmp_path, runner):
    from cruxfit.cli import main as cli_main

    example = Path(__file__).parent.parent / "data" / "example.yaml"
    for args, pages in ((["--length", "short"], (1, 2)), (["--audience", "grantmaker"], (1, 1))):
        out = tmp_path / f"{args[-1]}.pdf"
        res = runner.invoke(cli_main, ["report", str(example), "-q", "-o", str(out), *args])
        assert res.exit_code == 0, res.output
        assert pages[0] <= len(_reader(out.read_bytes()).pages) <= pages[1]


# ----------------------------------------------------------------------------- small gaps
def test_csv_organisation_takes_a_name(library):
    from cruxfit.pipeline.report import load_subject

    team = Path(__file__).parent.parent / "data" / "team.csv"
    assert load_subject(library, team).name == "team"
    assert load_subject(library, team, name="Alignment Team").name == "Alignment Team"


def test_name_option_is_refused_for_a_yaml_profile(runner):
    from cruxfit.cli import main as cli_main

    example = Path(__file__).parent.parent / "data" / "example.yaml"
    res = runner.invoke(cli_main, ["report", str(example), "--name", "X", "-o", "-"])
    assert res.exit_code == 2
    assert res.stderr.strip() == (f"Error: {example}: --name: only names an organisation read "
                                  "from a CSV or XLSX form export; a YAML or JSON profile sets its own name:")


def test_short_editions_escape_profile_text(results):
    r = copy.deepcopy(results["example"])
    evil = '<img src="http://evil.example/x.png"> & <b>bold</b>'
    r["profile"]["name"] = "Mallory " + evil
    r["profile"]["notes"] = evil
    for kw in ({"audience": "grantmaker"}, {"audience": "individual", "length": "short"},
               {"audience": "advisor"}):
        html = render_html(r, **kw)
        assert "<img src=" not in html and "<b>bold" not in html
        assert "Mallory &lt;img src=" in html
