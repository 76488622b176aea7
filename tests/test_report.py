"""The report layer: context, HTML (golden files), PDF, audiences, security, atomic writes.

Nothing here samples: the analysis result is a fixture stored in ``tests/golden/``, made
once from the bundled example with seed 0::

    cruxfit report data/example.yaml -f json --seed 0 -q -o tests/golden/example_result.json

After an intended change to the templates or the context, regenerate the golden HTML with::

    CRUXFIT_UPDATE_GOLDEN=1 pytest tests/test_report.py

and review the diff. The comparison ignores dates, version numbers, the stylesheet and the
inside of the plots (matplotlib output changes between versions; the plots are checked
separately), so a golden file changes only when what the report says changes.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
from pathlib import Path

import pytest
from cruxfit.reports import files
from cruxfit.reports.context import build_context, pct
from cruxfit.reports.render import make_fetcher, render_html, render_pdf, static_dir

GOLDEN = Path(__file__).parent / "golden"
FIXTURE = GOLDEN / "example_result.json"
UPDATE = os.environ.get("CRUXFIT_UPDATE_GOLDEN", "") not in ("", "0")
AUDIENCES = ("individual", "advisor", "grantmaker")
HEADINGS = (
    "The verdict",
    "How it compares with the other approaches",
    "The evaluation table and the numbers used",
    "Your beliefs at a glance",
    "The wiki's checklist against your beliefs",
    "Crux 1: Is it safe?",
    "Crux 2: Will it scale?",
    "Crux 3: Is human understanding lost?",
    "What would change your mind",
    "Method, assumptions and limitations",
    "Appendix: checks and provenance",
)
HOSTILE = (
    '<img src="http://evil.example/x.png"><link rel="stylesheet" href="file:///etc/passwd">'
    "<style>body{background:url(file:///etc/passwd)}</style><script>alert(1)</script>"
    "</td></table>{{ 7*7 }} url(http://evil.example/y.css) @import 'http://evil.example/z.css';"
)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def result() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _inconclusive(result: dict) -> dict:
    r = copy.deepcopy(result)
    r["verdict"].update(label="inconclusive", converged=False,
                        meaning="The sampler did not converge, so no verdict is given.")
    r["diagnostics"].update(converged=False, r_hat_max=1.09, divergences=4,
                            reasons=["largest R-hat 1.09 is above 1.01",
                                     "4 divergent transitions"])
    return r


def _hostile(result: dict) -> dict:
    r = copy.deepcopy(result)
    r["profile"]["name"] = "Mallory " + HOSTILE
    r["profile"]["notes"] = "Notes " + HOSTILE
    r["overrides"] = [{"slug": "governance", "dimension": "tractability", "from": "Medium",
                       "to": "Low", "reason": "Reason " + HOSTILE}]
    return r


@pytest.fixture(scope="module")
def html_by_audience(result) -> dict[str, str]:
    # The grantmaker's edition is a one-page memo; with the appendix it carries the full
    # report after the memo, which is what these tests compare across audiences.
    return {a: render_html(result, a, appendix=(a == "grantmaker")) for a in AUDIENCES}


@pytest.fixture(scope="module")
def example_pdf(result):
    fetcher = make_fetcher()
    data = render_pdf(result, "individual", url_fetcher=fetcher)
    return data, fetcher


@pytest.fixture(scope="module")
def inconclusive_pdf(result) -> bytes:
    return render_pdf(_inconclusive(result), "grantmaker", appendix=True)


@pytest.fixture(scope="module")
def hostile_render(result):
    hostile = _hostile(result)
    fetcher = make_fetcher()
    pdf = render_pdf(hostile, "advisor", url_fetcher=fetcher)
    return hostile, render_html(hostile, "advisor"), pdf, fetcher


def _pdf_pages(data: bytes, first: int | None = None) -> list[str]:
    """Text of each page (of the first ``first`` pages only: extraction is slow)."""
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(data)).pages
    return [p.extract_text() or "" for p in list(pages)[:first]]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# ----------------------------------------------------------------------------- golden HTML
def normalise(html: str) -> str:
    """Drop what may change without the report saying anything different."""
    html = re.sub(r"<style>.*?</style>", "<style>[stylesheet]</style>", html, flags=re.S)
    html = re.sub(r'<svg\b[^>]*?aria-label="([^"]*)".*?</svg>',
                  r'<svg aria-label="\1">[plot]</svg>', html, flags=re.S)
    html = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?",
                  "<TIMESTAMP>", html)
    html = re.sub(r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|"
                  r"October|November|December) \d{4}\b", "<DATE>", html)
    html = re.sub(r"\b\d+\.\d+\.\d+(?:[\w.+-]*)", "<VERSION>", html)
    return html


@pytest.mark.parametrize("audience", AUDIENCES)
def test_html_matches_golden(html_by_audience, audience):
    path = GOLDEN / f"example_{audience}.html"
    got = normalise(html_by_audience[audience])
    if UPDATE or not path.exists():
        path.write_text(got, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path.name} did not exist and was written; review it and run again")
    assert got == path.read_text(encoding="utf-8"), (
        f"the {audience} report changed; if intended, run with CRUXFIT_UPDATE_GOLDEN=1 and "
        "review the diff of tests/golden/")


def test_normalise_ignores_dates_versions_and_plot_internals(result, html_by_audience):
    later = copy.deepcopy(result)
    later["timing"]["created"] = "2031-02-03T04:05:06+00:00"
    later["provenance"]["cruxfit_version"] = "9.8.7"
    later["provenance"]["versions"] = {k: "1.2.3" for k in later["provenance"]["versions"]}
    assert normalise(render_html(later)) == normalise(html_by_audience["individual"])


# ----------------------------------------------------------------------------- context
def test_context_is_pure(result):
    before = json.dumps(result, sort_keys=True)
    first = build_context(result, "advisor")
    second = build_context(copy.deepcopy(result), "advisor")
    assert first == second
    assert json.dumps(result, sort_keys=True) == before, "build_context changed its input"
    json.dumps(first)  # plain data only


def test_context_rejects_unknown_audience(result):
    with pytest.raises(ValueError, match="individual, advisor, grantmaker"):
        build_context(result, "board")


def test_percentages_never_claim_certainty():
    assert pct(0.0) == "<1%" and pct(1.0) == ">99%" and pct(0.7315) == "73%"
    assert pct(0.0, exact=True) == "0%" and pct(None) == "—"


def test_verdict_context_names_the_deciding_beliefs(result):
    ctx = build_context(result)
    names = {b["id"]: b["name"] for b in result["beliefs"]}
    assert [d["name"] for d in ctx["verdict"]["deciding"]] == [
        names[v] for v in result["verdict"]["deciding"]]
    assert ctx["verdict"]["label"] == result["verdict"]["label"].capitalize()
    assert result["verdict"]["label"] in ("strong fit", "good fit")  # the example leans in favour
    assert ctx["verdict"]["p_best"] == pct(result["verdict"]["p_best"])


def test_value_of_information_is_optional(result, html_by_audience):
    bare = copy.deepcopy(result)
    for key in ("evpi", "evppi", "switching_values", "voi_method"):
        bare.pop(key, None)
    html = render_html(bare, "advisor")
    assert "What learning more would be worth" not in html
    assert "Where the advice would switch" not in html
    assert "How much each belief matters" in html  # the tornado is always there
    full = html_by_audience["advisor"]
    if "evppi" in result:
        assert "What learning more would be worth" in full
    if "switching_values" in result:
        assert "Where the advice would switch" in full


def test_simple_switching_shape_is_tolerated(result):
    r = copy.deepcopy(result)
    r["evpi"] = 0.5
    r["evppi"] = [{"variable": "safety", "name": "AI helpers are safe to use", "value": 0.4,
                   "share": 0.8}]
    r["switching_values"] = [{"variable": "safety", "name": "AI helpers are safe to use",
                              "current": 0.66, "verdict_switch": 0.41, "top_switch": None,
                              "sentence": "Below 41% the verdict changes."}]
    html = render_html(r, "individual")
    assert "at 41%" in html and "never, at any credence" in html and "80%" in html


# ----------------------------------------------------------------------------- audiences
def _section(html: str, element_id: str) -> str:
    m = re.search(rf'<table class="[^"]*" id="{element_id}">.*?</table>', html, re.S)
    assert m, element_id
    return m.group(0)


def _tables(html: str, cls: str) -> list[str]:
    return re.findall(rf'<table class="{cls}">.*?</table>', html, re.S)


def test_audiences_change_emphasis_not_numbers(html_by_audience):
    ind, adv, gm = (html_by_audience[a] for a in AUDIENCES)
    for name in ("ranks", "evaluation", "beliefs", "considerations", "tornado-table",
                 "switching", "evppi", "checklist", "diagnostics", "provenance", "answers"):
        assert _tables(ind, name) == _tables(adv, name) == _tables(gm, name), name
    assert _section(ind, "rank-table") == _section(adv, "rank-table") == _section(gm, "rank-table")


def test_individual_explains_terms(html_by_audience):
    ind = html_by_audience["individual"]
    for term in ("Chance:", "Credence:", "90% interval:", "Expected rank:", "Pull:",
                 "Tornado chart:"):
        assert f'<span class="explain-term">{term}</span>' in ind, term
    assert 'class="explain' not in html_by_audience["advisor"]
    assert 'class="explain' not in html_by_audience["grantmaker"]


def test_advisor_gets_questions_and_investigation_first(html_by_audience, result):
    adv = html_by_audience["advisor"]
    assert adv.count('<h3 class="keep-with-next">Questions to discuss</h3>') == len(result["cruxes"])
    change = adv[adv.index('id="change"'):adv.index('id="method"')]
    assert change.index("What to investigate first") < change.index("How much each belief matters")
    ind = html_by_audience["individual"]
    change = ind[ind.index('id="change"'):ind.index('id="method"')]
    assert change.index("How much each belief matters") < change.index("What to investigate first")
    assert "Questions to discuss" not in ind
    assert "Session plan" in adv and "Session plan" not in ind


def test_grantmaker_gets_a_one_line_summary(html_by_audience, result):
    gm = html_by_audience["grantmaker"]
    assert 'id="summary-line"' in gm
    assert gm.index('id="summary-line"') < gm.index('id="comparison"')
    line = re.search(r'<p class="summary-text">(.*?)</p>', gm).group(1)
    v = result["verdict"]
    assert line.startswith(f'{result["profile"]["name"]} — {v["label"].capitalize()} — '
                           f'P(first) {pct(v["p_best"])}')
    assert line.endswith("converged")
    assert 'id="summary-line"' not in html_by_audience["individual"]


# ----------------------------------------------------------------------------- HTML form
def test_html_is_self_contained_with_unique_plot_ids(html_by_audience):
    html = html_by_audience["individual"]
    assert html.count("<svg") == 5  # forest, tornado, one density per crux
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids across inline SVGs"
    for ref in re.findall(r'(?:url\(#|href="#)([^)"]+)', html):
        assert ref in ids, f"dangling reference #{ref}"
    assert not re.search(r'\b(?:src|href)="(?!#)', html), "the HTML links to something outside"
    assert '<meta name="author" content="cruxfit">' in html
    title = "Is AI-assisted alignment a good fit? Report for Example Respondent"
    assert f"<title>{title}</title>" in html


# ----------------------------------------------------------------------------- PDF
@pytest.mark.heavy
def test_pdf_parses_with_sections_verdict_and_metadata(example_pdf, result):
    from pypdf import PdfReader

    data, fetcher = example_pdf
    reader = PdfReader(io.BytesIO(data))
    meta = reader.metadata
    assert meta.title == "Is AI-assisted alignment a good fit? Report for Example Respondent"
    assert meta.author == "cruxfit"
    pages = [_flat(p) for p in _pdf_pages(data)]
    text = " ".join(pages)
    for heading in HEADINGS:
        assert heading in text, heading
    v = json.loads(FIXTURE.read_text())["verdict"]
    assert v["label"].capitalize() in pages[0]
    assert pct(v["p_best"]) in pages[0] and pct(v["p_top3"]) in pages[0]
    assert "Page 1 of" in pages[0] and f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert fetcher.requested == [], "the PDF engine fetched something"


@pytest.mark.heavy
def test_pdf_is_tagged(example_pdf, pdf_figure_alts):
    root, figures = pdf_figure_alts(example_pdf[0])
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en"
    assert len(figures) == 5 and all(figures), "every plot needs alternative text"


@pytest.mark.heavy
def test_inconclusive_says_so_on_page_one_and_gives_no_verdict(inconclusive_pdf, result):
    pages = [_flat(p) for p in _pdf_pages(inconclusive_pdf, first=4)]
    # The title asks "Is ... a good fit (for ...)?": that phrase is not a verdict.
    first = re.sub(r"ai-assisted alignment a good fit", "", pages[0].lower())
    assert "inconclusive" in first and "gives no verdict" in first
    assert "largest r-hat 1.09 is above 1.01" in first
    model_label = result["verdict"]["model_label"]
    assert model_label not in first, "page 1 shows the model's label as if it were a verdict"
    assert pct(result["verdict"]["p_best"]) + " chance" not in first
    assert all("INCONCLUSIVE" in p for p in pages[1:]), "running header lost the warning"
    html = render_html(_inconclusive(result), "grantmaker", appendix=True)
    labels = re.findall(r'<p class="verdict-label">(.*?)</p>', html)
    assert labels == ["Inconclusive", "Inconclusive"]  # the memo's and the appendix's
    assert 'class="current"' not in html  # no threshold row marked as yours
    line = re.search(r'<p class="summary-text">(.*?)</p>', html).group(1)
    assert "Inconclusive" in line and "P(first) —" in line and model_label not in line.lower()
    memo = re.search(r'<p class="oneliner" id="memo-line">(.*?)</p>', html).group(1)
    assert "Inconclusive" in memo and model_label not in memo.lower() and "%" not in memo


# ----------------------------------------------------------------------------- security
@pytest.mark.heavy
def test_hostile_text_renders_as_text_and_fetches_nothing(hostile_render):
    hostile, html, pdf, fetcher = hostile_render
    assert fetcher.requested == [] and fetcher.refused == []
    assert "<img" not in html and "<link" not in html
    # The only scripts are the what-if panel's own: its data (JSON, escaped) and its code.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script type="application/json" id="whatif-data">', "<script>"]
    panel_code = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    assert "evil" not in panel_code and "{{ 7*7 }}" not in panel_code
    assert html.count("<style>") == 2  # our own stylesheet and the panel's
    assert "&lt;img src=&#34;http://evil.example/x.png&#34;&gt;" in html
    assert "&lt;/td&gt;&lt;/table&gt;{{ 7*7 }}" in html  # neither markup nor template code
    assert "url(file:///etc/passwd)" in html  # as text, inside escaped <style>
    text = _flat(" ".join(_pdf_pages(pdf, first=5)))  # title page to the evaluation table
    assert "Mallory <img src=" in text and "Reason <img src=" in text


@pytest.mark.heavy
def test_running_header_name_is_short(hostile_render):
    hostile, html, _, _ = hostile_render
    short = build_context(hostile)["profile"]["short_name"]
    assert len(short) <= 48 and short.endswith("…") and "\n" not in short


def test_fetcher_serves_only_data_and_static_files(tmp_path):
    fetcher = make_fetcher()
    css = (static_dir() / "report.css").as_uri()
    assert fetcher.fetch(css).read().startswith(b"/*")
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    refused = [
        "file:///etc/passwd",
        outside.as_uri(),
        static_dir().as_uri() + "/../render.py",
        static_dir().as_uri() + "/%2e%2e/render.py",
        static_dir().as_uri() + "/",
        "file://evil.example" + str(static_dir() / "report.css"),
        "http://evil.example/x.png",
        "https://evil.example/x.png",
        "ftp://evil.example/x",
    ]
    for url in refused:
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert fetcher.refused == refused
    assert fetcher.served == [css, "data:text/plain,hello"]


def test_fetcher_does_not_follow_links_out_of_its_folder(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "ok.css").write_text("p {}")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (root / "planted.css").symlink_to(secret)
    fetcher = make_fetcher(root)
    assert fetcher.fetch((root / "ok.css").as_uri()).read() == b"p {}"
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch((root / "planted.css").as_uri())


# ----------------------------------------------------------------------------- atomic write
def test_atomic_write_keeps_previous_file_when_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"previous report")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(files.OutputError, match="cannot write"):
        files.write_atomic(target, b"new report" * 1000)
    assert target.read_bytes() == b"previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_atomic_write_survives_interrupt_mid_write(tmp_path, monkeypatch):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"previous report")
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()
            return False

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(target, b"x" * 10_000)
    assert target.read_bytes() == b"previous report"
    assert not list(tmp_path.glob("*.part")) and len(list(tmp_path.iterdir())) == 1


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"previous report")
    files.write_atomic(target, b"%PDF new")
    assert target.read_bytes() == b"%PDF new"
    assert len(list(tmp_path.iterdir())) == 1
