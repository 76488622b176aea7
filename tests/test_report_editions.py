"""The organisation and comparison editions of the report: golden HTML, PDF, layout, safety.

Nothing here samples. The analysis results are fixtures in ``tests/golden/``, made once with
seed 0::

    cruxfit report tests/golden/org_team.yaml -f json --seed 0 -q -o tests/golden/org_result.json
    cruxfit report tests/golden/org60.csv -f json --seed 0 -q --allow-unconverged \\
        -o tests/golden/org60_result.json
    cruxfit compare data/mixed.yaml data/optimistic.yaml -f json --seed 0 -q \\
        -o tests/golden/compare_result.json

``org_team.yaml`` is a made-up team of six; ``org60.csv`` holds 60 respondents with random
answers (numpy seed 60, made by :func:`sixty_respondents_csv` below). Sampling 60 members
takes a few minutes. Up to 0.2 these random answers did not converge at seed 0, which made
the fixture a real *inconclusive* large organisation; since 0.3.0 (14 beliefs, tempered
repeats) the run converges (R-hat 1.003), so the inconclusive layout is tested on a copy
marked unconverged (:func:`_inconclusive`), which changes words and verdict labels, never a
member's numbers; :func:`_as_converged` leaves a converged result as it is.

After an intended change to the templates or the contexts, regenerate the golden HTML with::

    CRUXFIT_UPDATE_GOLDEN=1 pytest tests/test_report_editions.py

and review the diff. The comparison ignores what ``tests/test_report.py``'s ``normalise``
ignores (dates, versions, the stylesheet, the inside of plots).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
from pathlib import Path

import pytest
from cruxfit.reports.context import num, pct, points
from cruxfit.reports.context_compare import build_compare_context
from cruxfit.reports.context_org import MAP_MEMBER_LIMIT, build_org_context
from cruxfit.reports.render import (
    make_fetcher,
    render_compare_html,
    render_compare_pdf,
    render_html,
    render_pdf,
)

from test_report import HOSTILE, normalise

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CRUXFIT_UPDATE_GOLDEN", "") not in ("", "0")
ORG_HEADINGS = (
    "The organisation's verdict",
    "The crux to discuss first",
    "The disagreement map",
    "The members and their verdicts",
    "How it compares with the other approaches",
    "The evaluation table and the numbers used",
    "The organisation's beliefs at a glance",
    "Crux 1: Is it safe?",
    "What would change the verdict",
    "Method, assumptions and limitations",
    "Appendix: checks and provenance",
)
COMPARE_HEADINGS = (
    "The change",
    "The approaches, side by side",
    "Which beliefs explain the change",
    "Method: how the change is split",
    "Appendix: checks and provenance",
)


# ----------------------------------------------------------------------------- fixtures
def _load(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def org() -> dict:
    return _load("org_result.json")


@pytest.fixture(scope="module")
def org60() -> dict:
    return _load("org60_result.json")


@pytest.fixture(scope="module")
def cmp() -> dict:
    return _load("compare_result.json")


def _verdict_label(thresholds: list[dict], p_best: float, p_top3: float) -> str:
    for t in thresholds:  # the first rule that holds, as the analysis applies them
        if p_best >= t["p_best_min"] and p_top3 >= t["p_top3_min"]:
            return t["label"]
    return thresholds[-1]["label"]


def _as_converged(result: dict) -> dict:
    """A copy of an inconclusive organisation marked converged (layout tests only)."""
    r = copy.deepcopy(result)
    if r["diagnostics"]["converged"]:
        return r
    v = r["verdict"]
    v.update(label=v["model_label"], converged=True, meaning="It is a test.")
    r["diagnostics"].update(converged=True, reasons=[])
    for m in r["members"]:
        m["verdict"] = _verdict_label(v["thresholds"], m["p_best"], m["p_top3"])
    return r


def _inconclusive(result: dict) -> dict:
    r = copy.deepcopy(result)
    r["verdict"].update(label="inconclusive", converged=False,
                        meaning="The sampler did not converge, so no verdict is given.")
    r["diagnostics"].update(converged=False, r_hat_max=1.09, divergences=4,
                            reasons=["largest R-hat 1.09 is above 1.01", "4 divergent transitions"])
    for m in r["members"]:
        m["verdict"] = "inconclusive"
    return r


def _hostile_org(result: dict) -> dict:
    """Member and organisation names full of markup, everywhere a name is repeated."""
    r = copy.deepcopy(result)
    old = [m["name"] for m in r["members"]]
    new = {name: f"{name} {HOSTILE}" if i % 2 == 0 else name for i, name in enumerate(old)}

    def rename(x):
        if isinstance(x, dict):
            return {(new.get(k, k) if isinstance(k, str) else k): rename(v) for k, v in x.items()}
        if isinstance(x, list):
            return [rename(v) for v in x]
        return new.get(x, x) if isinstance(x, str) else x

    for key in ("members", "disagreement", "discuss_first"):
        r[key] = rename(r[key])
    r["profile"]["name"] = "Org " + HOSTILE
    r["profile"]["warnings"] = ["team.csv: ignored column(s): " + HOSTILE]
    r["members"][1]["role"] = "Role " + HOSTILE
    return r


def _pdf_pages(data: bytes, first: int | None = None) -> list[str]:
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(data)).pages
    return [re.sub(r"\s+", " ", p.extract_text() or "") for p in list(pages)[:first]]


def _page_count(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def org_pdf(org):
    fetcher = make_fetcher()
    return render_pdf(org, "individual", url_fetcher=fetcher), fetcher


@pytest.fixture(scope="module")
def cmp_pdf(cmp):
    fetcher = make_fetcher()
    return render_compare_pdf(cmp, url_fetcher=fetcher), fetcher


def _golden(name: str, html: str) -> None:
    path = GOLDEN / name
    got = normalise(html)
    if UPDATE or not path.exists():
        path.write_text(got, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path.name} did not exist and was written; review it and run again")
    assert got == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, run with CRUXFIT_UPDATE_GOLDEN=1 and review the diff")


# ----------------------------------------------------------------------------- golden HTML
def test_org_html_matches_golden(org):
    _golden("org_individual.html", render_html(org, "individual"))


def test_compare_html_matches_golden(cmp):
    _golden("compare.html", render_compare_html(cmp))


# ----------------------------------------------------------------------------- organisation
def test_organisation_result_gets_the_organisation_edition(org):
    html = render_html(org)
    assert 'class="edition-organisation' in html
    title = "Is AI-assisted alignment a good fit? Organisation report for Example Research Group"
    assert f"<title>{title}</title>" in html
    assert html.count('id="discuss-first"') == 1 and 'id="disagreement"' in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids across inline SVGs"
    for ref in re.findall(r'(?:url\(#|href="#)([^)"]+)', html):
        assert ref in ids, f"dangling reference #{ref}"
    assert not re.search(r'\b(?:src|href)="(?!#)', html), "the HTML links to something outside"


def test_org_context_is_pure_and_plain(org):
    before = json.dumps(org, sort_keys=True)
    first = build_org_context(org, "advisor")
    assert first == build_org_context(copy.deepcopy(org), "advisor")
    assert json.dumps(org, sort_keys=True) == before, "build_org_context changed its input"
    json.dumps(first)


def test_org_context_members_disagreement_and_discuss_first(org):
    ctx = build_org_context(org)
    assert [m["name"] for m in ctx["members"]] == [m["name"] for m in org["members"]]
    for row, m in zip(ctx["members"], org["members"], strict=True):
        assert row["verdict"].lower() == m["verdict"]
        assert bool(row["why"]) == m["differs"]  # every differing member says why
        for w, main in zip(row["why"], m["why"]["main"] if m["differs"] else [], strict=True):
            assert w.startswith(main["name"])
    df = org["discuss_first"]
    assert ctx["discuss"]["name"] == df["name"]
    assert ctx["discuss"]["below"]["count"] == len(df["ranking"][0]["below"])
    assert ctx["disagreement"][0]["variable"] == df["variable"]  # most important first
    assert ctx["map"]["mode"] == "grid"
    grid = ctx["plots"]["map"]
    assert len(grid["rows"]) == len(org["members"]) + 1
    assert [c["highlight"] for c in grid["columns"]].count(True) == 1
    assert sum(t["count"] for t in ctx["member_tally"]) == len(org["members"])


@pytest.mark.heavy
def test_org_pdf_has_headings_members_and_discuss_first_on_page_one(org_pdf, org):
    from pypdf import PdfReader

    data, fetcher = org_pdf
    assert fetcher.requested == [], "the PDF engine fetched something"
    meta = PdfReader(io.BytesIO(data)).metadata
    assert meta.title == ("Is AI-assisted alignment a good fit? Organisation report for "
                          "Example Research Group")
    assert meta.author == "cruxfit"
    pages = _pdf_pages(data)
    text = " ".join(pages)
    for heading in ORG_HEADINGS:
        assert heading in text, heading
    first = pages[0]
    df = org["discuss_first"]
    assert "The crux to discuss first".upper() in first.upper() and df["name"] in first
    for name in df["ranking"][0]["below"] + df["ranking"][0]["above"]:
        assert name in first, f"{name} missing from the sides on page 1"
    assert "Mixed" in first and pct(org["verdict"]["p_best"]) in first  # pooled P(first)
    for m in org["members"]:
        assert m["name"] in text
    members_page = next(p for p in pages if "The members and their verdicts" in p)
    for label in ("Strong fit", "Less relevant", "same as the organisation"):
        assert label in members_page
    assert "Page 2 of" in pages[1] and "Example Research Group" in pages[1]  # running header
    assert len(pages) <= 22  # 14 beliefs since 0.3.0 (9 before): longer belief and disagreement tables


@pytest.mark.heavy
def test_org_pdf_is_tagged_with_alt_text(org_pdf, pdf_figure_alts):
    root, figures = pdf_figure_alts(org_pdf[0])
    assert "/StructTreeRoot" in root and root["/Lang"] == "en"
    # map, forest, tornado, one density per crux
    assert len(figures) == 6 and all(figures)


@pytest.mark.heavy
def test_large_organisation_gets_the_summary_map_and_fits(org60):
    big = _as_converged(org60)
    assert len(big["members"]) == 60 > MAP_MEMBER_LIMIT
    html = render_html(big)
    assert 'aria-label="Disagreement summary' in html and "Disagreement map:" not in html
    assert "too\nmany to show one row each" in html or "too many to show one row each" in html
    svg = re.search(r'<svg[^>]*aria-label="Disagreement summary.*?</svg>', html, re.S).group(0)
    assert "Respondent 01" not in svg, "the summary names no member"
    assert svg.count("below 50%") == len(big["disagreement"])
    ctx = build_org_context(big)
    assert all(not c["members"]["rows"] and c["members"]["summary"] for c in ctx["cruxes"])
    assert ctx["discuss"]["below"]["more"] + len(ctx["discuss"]["below"]["shown"]) == \
        ctx["discuss"]["below"]["count"]
    data = render_pdf(big, "individual")
    n = _page_count(data)
    # Body text is at least 9.5 pt since issue 16 (it was 7.5-8 pt), so the edition is longer.
    assert 12 <= n <= 34, f"{n} pages for 60 members"  # 14 beliefs since 0.3.0 (9 before)
    pages = _pdf_pages(data)
    assert "more (see the disagreement map)" in pages[0] and "Page 1 of" in pages[0]
    text = " ".join(pages)
    for m in big["members"]:  # the members table lists everyone, nothing cut off
        assert f"{m['name']} {m['role']}" in text, m["name"]


@pytest.mark.heavy
def test_real_inconclusive_large_organisation_gives_no_verdict(org60):
    if org60["diagnostics"]["converged"]:  # see the module docstring: a marked copy since 0.3.0
        org60 = _inconclusive(org60)
    assert org60["diagnostics"]["converged"] is False
    # The grantmaker's memo, then (--appendix) the organisation's full edition.
    html = render_html(org60, "grantmaker", appendix=True)
    labels = re.findall(r'<p class="verdict-label">(.*?)</p>', html)
    assert labels == ["Inconclusive", "Inconclusive"]
    members = html[html.index('id="members"'):html.index('id="comparison"')]
    assert "no verdict" in members
    for label in ("Strong fit", "Good fit", "Less relevant", "same as the organisation"):
        assert label not in members
    assert org60["verdict"]["model_label"].capitalize() not in html.split('id="members"')[0]
    assert "too many to show one row each" in re.sub(r"\s+", " ", html)


@pytest.mark.heavy
def test_inconclusive_org_says_so_on_page_one_and_gives_no_verdict(org):
    bad = _inconclusive(org)
    data = render_pdf(bad, "individual")
    pages = _pdf_pages(data, first=4)
    first = pages[0].lower()
    assert "inconclusive" in first and "gives no verdict" in first
    assert "largest r-hat 1.09 is above 1.01" in first
    assert "mixed" not in first, "page 1 shows the model's label as if it were a verdict"
    assert "verdict: less relevant" not in first and "verdict: strong fit" not in first
    assert "members' own verdicts" not in first
    assert all("INCONCLUSIVE" in p for p in pages[1:]), "running header lost the warning"
    html = render_html(bad)
    members = html[html.index('id="members"'):html.index('id="comparison"')]
    assert "Strong fit" not in members and "Less relevant" not in members
    assert 'class="current"' not in html.split('id="method"')[0].split('id="disagreement"')[0]


@pytest.mark.heavy
def test_hostile_member_names_render_as_text_and_fetch_nothing(org):
    hostile = _hostile_org(org)
    html = render_html(hostile, "advisor")
    assert "<img" not in html and "<link" not in html
    # The only scripts are the what-if panel's own (the organisation result has its table).
    assert re.findall(r"<script[^>]*>", html) == [
        '<script type="application/json" id="whatif-data">', "<script>"]
    assert "evil" not in re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    assert html.count("<style>") == 2  # our own stylesheet and the panel's
    assert "&lt;img src=&#34;http://evil.example/x.png&#34;&gt;" in html
    assert "&lt;/td&gt;&lt;/table&gt;{{ 7*7 }}" in html
    # Inside the SVG map, matplotlib escapes the names too: no element comes from a name.
    svg = re.search(r'<svg[^>]*aria-label="Disagreement map.*?</svg>', html, re.S).group(0)
    assert "<img" not in svg and "&lt;img" in svg
    fetcher = make_fetcher()
    data = render_pdf(hostile, "advisor", url_fetcher=fetcher)
    assert fetcher.requested == [] and fetcher.refused == []
    first = " ".join(_pdf_pages(data, first=2))  # long names push the crux box to page 2
    assert "Org <img src=" in first and 'Amara Okafor <img src="http://evil.example' in first


# ----------------------------------------------------------------------------- comparison
def test_compare_context_sums_and_orders(cmp):
    ctx = build_compare_context(cmp)
    assert ctx["a"]["label"] == "Mixed" and ctx["b"]["label"] == "Strong fit"
    # The headline change is the difference of the values shown beside it (issue 16).
    shown = [int(pct(cmp[s]["p_best"]).rstrip("%")) for s in ("a", "b")]
    assert ctx["change"]["p_best"] == f"+{shown[1] - shown[0]} points"
    margins = [float(num(cmp[s]["margin"]).replace("−", "-")) for s in ("a", "b")]
    assert ctx["change"]["margin"] == "+" + num(margins[1] - margins[0])
    raw = [abs(r["raw_margin"]) for r in ctx["contributions"]]
    assert raw == sorted(raw, reverse=True)
    total = sum(p["margin"] for p in ctx["plots"]["contributions"]["rows"])
    assert total == pytest.approx(cmp["total"]["margin"], abs=1e-6)
    json.dumps(ctx)
    assert ctx == build_compare_context(copy.deepcopy(cmp))


@pytest.mark.heavy
def test_compare_pdf_headline_chart_and_metadata(cmp_pdf, cmp):
    from pypdf import PdfReader

    data, fetcher = cmp_pdf
    assert fetcher.requested == []
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == ("What changes between Mika Mixed and Olu Optimist? "
                                     "A cruxfit comparison")
    assert reader.metadata.author == "cruxfit"
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    pages = _pdf_pages(data)
    text = " ".join(pages)
    for heading in COMPARE_HEADINGS:
        assert heading in text, heading
    first = pages[0]
    assert "Mixed" in first and "Strong fit" in first
    assert build_compare_context(cmp)["change"]["p_best"] in first
    top_a = cmp["results"]["a"]["approaches"][0]["name"]
    assert top_a in first  # the side-by-side ranking is on page 1
    assert "Shapley" in text and "Total change, A to B" in text
    assert "Mika Mixed → Olu Optimist" in pages[1]  # running header
    assert len(pages) <= 5
    html = render_compare_html(cmp)
    assert html.count("<svg") == 1 and 'aria-label="Contributions of each belief' in html


@pytest.mark.heavy
@pytest.mark.parametrize("side", ["a", "b"])
def test_inconclusive_compare_side_gives_no_verdict(cmp, side):
    bad = copy.deepcopy(cmp)
    bad[side]["verdict"] = "inconclusive"
    bad["diagnostics"][side].update(converged=False, r_hat_max=1.08,
                                    reasons=["R-hat 1.08 is above 1.01 (chains disagree)"])
    bad["verdict_change"]["to" if side == "b" else "from"] = "inconclusive"
    ctx = build_compare_context(bad)
    assert ctx[side]["label"] == "Inconclusive" and ctx[side]["p_best"] == "—"
    assert ctx["change"]["p_best"] == "—" and not ctx["drivers"]
    html = render_compare_html(bad)
    labels = re.findall(r'<p class="verdict-label">(.*?)</p>', html)
    model = bad[side]["model_verdict"].capitalize()
    other = "b" if side == "a" else "a"
    assert labels.count("Inconclusive") == 2  # the alert and the side's own box
    assert model not in labels or bad[other]["verdict"].capitalize() == model
    if side == "b":  # one PDF is enough to see page 1
        first = _pdf_pages(render_compare_pdf(bad), first=1)[0]
        assert "did not settle" in first and "Olu Optimist" in first
        assert "Strong fit" not in first and points(cmp["total"]["p_best"]) not in first
        assert "R-hat 1.08" in first


def test_hostile_names_in_a_comparison_are_text(cmp):
    bad = copy.deepcopy(cmp)
    bad["a"]["name"] = "A " + HOSTILE
    bad["contributions"][0]["name"] = "Belief " + HOSTILE
    html = render_compare_html(bad)
    assert "<img" not in html and "<script" not in html and html.count("<style>") == 1
    assert "&lt;img src=&#34;http://evil.example/x.png&#34;&gt;" in html


# ----------------------------------------------------------------------------- the 60 CSV
def sixty_respondents_csv(library) -> str:
    """The CSV of 60 respondents with random answers (numpy seed 60) stored as org60.csv.

    Each respondent leans for or against AI-assisted alignment (normal, sd 0.7) and answers
    every statement around that lean with noise; about 12% of cells are blank (unsure).
    """
    import numpy as np

    rng = np.random.default_rng(60)
    statements = library.statements
    roles = ["Engineer", "Researcher", "Policy", "Operations", "Manager"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "role"] + [s.id for s in statements])
    for i in range(60):
        lean = rng.normal(0, 0.7)
        cells = []
        for s in statements:
            if rng.random() < 0.12:
                cells.append("")
            elif s.scale == "agree7":
                v = 4 + 1.6 * lean * s.favours + rng.normal(0, 1.3)
                cells.append(int(np.clip(np.rint(v), 1, 7)))
            else:
                v = 0.5 + 0.18 * lean * s.favours + rng.normal(0, 0.08)
                cells.append(round(float(np.clip(v, 0.05, 0.95)), 2))
        writer.writerow([f"Respondent {i + 1:02d}", roles[int(rng.integers(len(roles)))]]
                        + cells)
    return out.getvalue()


def test_sixty_respondent_csv_is_reproducible(library):
    stored = (GOLDEN / "org60.csv").read_bytes().decode("utf-8")
    assert sixty_respondents_csv(library) == stored
