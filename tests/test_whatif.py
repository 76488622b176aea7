"""The exact what-if table (models/whatif.py) and the panel in HTML reports (reports/whatif.py).

No sampling: analyses are built from synthetic Beta credence draws with fixed seeds.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from cruxfit.models import whatif
from cruxfit.models.analysis import evaluate
from cruxfit.cruxes.profile import load_profile, parse_profile
from cruxfit.pipeline.run import complete
from cruxfit.reports.wording import add_wording
from cruxfit.models.values import ValueModel, personal_fit_factors

REPO_ROOT = Path(__file__).resolve().parent.parent
from oracles import STAND_IN_DIAGNOSTICS  # noqa: E402

DIAG = STAND_IN_DIAGNOSTICS


def _profile_with_overrides_and_fit(library):
    """The example profile plus a rating override and every personal-fit item answered."""
    prof = load_profile(REPO_ROOT / "data" / "example.yaml", library)
    slugs = [a.slug for a in library.ranked]
    dim = next(iter(library.ranked[1].ratings))
    level = next(lv for lv in library.settings.levels[dim]
                 if lv != library.ranked[1].ratings[dim])
    data = {
        "name": "What-if tester", "kind": "individual", "answers": dict(prof.answers),
        "fit": {f.id: 1 + (i * 3) % 7 for i, f in enumerate(library.fit_items)},
        "overrides": {slugs[1]: {dim: level, "reason": "tested"}},
    }
    return parse_profile(data, library, source="test")


def synthetic_result(library, profile=None, n=1000, seed=3, strength=8.0):
    prof = profile or load_profile(REPO_ROOT / "data" / "example.yaml", library)
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.3, 0.7, len(library.variables))
    theta = rng.beta(means * strength, (1 - means) * strength, size=(n, len(library.variables)))
    analysis = evaluate(library, prof, 0, theta, None, dict(DIAG))
    result = analysis.to_dict()
    complete(result, analysis)
    return result, analysis


@pytest.fixture(scope="module")
def fitted(library):
    prof = _profile_with_overrides_and_fit(library)
    return synthetic_result(library, prof)


def test_table_reproduces_the_value_model_at_random_credences(library):
    prof = _profile_with_overrides_and_fit(library)
    vm = ValueModel(library, prof.overrides, personal_fit_factors(library, prof.fit))
    table = whatif.build_table(vm)
    assert table["available"]
    assert table["approaches"] == list(vm.slugs)
    assert table["variables"] == list(vm.var_ids)
    rng = np.random.default_rng(11)
    theta = rng.uniform(0, 1, size=(500, len(vm.var_ids)))
    # corners and edges too, where a wrong bit order would show at once
    theta[:20] = rng.integers(0, 2, size=(20, len(vm.var_ids)))
    want = vm.values(theta, vm.mean_ratings(len(theta)))
    got = whatif.evaluate(table["tables"], theta)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_overrides_and_personal_fit_are_in_the_table(library):
    prof = _profile_with_overrides_and_fit(library)
    plain = whatif.build_table(ValueModel(library))
    own = whatif.build_table(
        ValueModel(library, prof.overrides, personal_fit_factors(library, prof.fit)))
    theta = np.full((1, len(library.variables)), 0.5)
    a = whatif.evaluate(plain["tables"], theta)[0]
    b = whatif.evaluate(own["tables"], theta)[0]
    fit = personal_fit_factors(library, prof.fit)
    changed = {s for s, f in fit.items() if f != 1.0} | set(prof.overrides)
    slugs = plain["approaches"]
    for i, s in enumerate(slugs):
        if s in changed:
            assert a[i] != pytest.approx(b[i], rel=1e-6), s
        else:
            assert a[i] == pytest.approx(b[i], rel=1e-14), s


@pytest.mark.heavy
def test_expected_value_over_rating_draws_is_the_value_at_mean_ratings(library):
    """Ratings are independent of credences and enter each value as a product of independent
    factors, so averaging the value over rating draws gives the mean-rating value."""
    vm = ValueModel(library)
    rng = np.random.default_rng(5)
    n = 400_000
    for theta in rng.uniform(0, 1, size=(3, len(vm.var_ids))):
        draws = vm.values(np.repeat(theta[None], n, axis=0), vm.draw_ratings(n, rng))
        mean, se = draws.mean(axis=0), draws.std(axis=0) / np.sqrt(n)
        exact = whatif.evaluate(whatif.build_table(vm)["tables"], theta[None])[0]
        assert np.all(np.abs(mean - exact) < 5 * se), (mean - exact) / se


def test_dropped_variables_do_not_move_an_approach(library):
    vm = ValueModel(library)
    table = whatif.build_table(vm)
    rng = np.random.default_rng(2)
    for a, t in enumerate(table["tables"]):
        dropped = [v for v in range(len(vm.var_ids)) if v not in t["variables"]]
        assert len(whatif.decode(t["values"])) == 2 ** len(t["variables"])
        theta = rng.uniform(0, 1, size=(50, len(vm.var_ids)))
        moved = theta.copy()
        moved[:, dropped] = rng.uniform(0, 1, size=(50, len(dropped)))
        np.testing.assert_allclose(vm.values(theta, vm.mean_ratings(50))[:, a],
                                   vm.values(moved, vm.mean_ratings(50))[:, a], rtol=1e-13)


def test_a_value_model_that_is_not_multilinear_gets_no_table(library):
    vm = ValueModel(library)
    linear = vm.values

    def squared(theta, ratings):
        return linear(theta, ratings) * (1 + 0.1 * np.asarray(theta)[:, :1] ** 2)

    vm.values = squared
    table = whatif.build_table(vm)
    assert table["available"] is False
    assert table["reason"]["code"] == "not-multilinear" and table["reason"]["missed_by"] > 0
    worded = add_wording({"whatif": table})["whatif"]
    assert worded["reason"].startswith("the value model is not multilinear in the credences")


def test_encoding_round_trips_every_double():
    x = np.array([0.1, -1 / 3, 1e-300, 5e300, np.nextafter(1.0, 2.0)])
    assert np.array_equal(whatif.decode(whatif.encode(x)), x)


def test_interpolate_matches_the_corner_sum_definition():
    rng = np.random.default_rng(9)
    k = 4
    values = rng.normal(size=2**k)
    theta = rng.uniform(size=(7, k))
    z = whatif.corners(k)
    weights = np.prod(np.where(z[None] == 1, theta[:, None, :], 1 - theta[:, None, :]), axis=2)
    np.testing.assert_allclose(whatif.interpolate(values, theta), weights @ values, rtol=1e-13)


# ----------------------------------------------------------------------------- the panel


def _panel_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>', html, re.S)
    assert m, "no what-if data in the page"
    return json.loads(m.group(1))


def test_html_report_carries_the_panel_and_its_data(fitted):
    from cruxfit.reports.render import render_html

    result, analysis = fitted
    html = render_html(result)
    assert 'id="whatif"' in html and 'class="whatif-print-note"' in html
    data = _panel_data(html)
    assert [v["id"] for v in data["variables"]] == list(analysis.value_model.var_ids)
    beliefs = {b["id"]: b for b in result["beliefs"]}
    for v in data["variables"]:
        assert v["mean"] == beliefs[v["id"]]["posterior_mean"]
        assert v["hdi"] == beliefs[v["id"]]["hdi_90"]
    # every switching value of the analysis is marked on its slider
    want = sorted((s["variable"], kind, side) for s in result["switching_values"]
                  for kind in ("verdict_switch", "top_switch") if s[kind]
                  for side in ("below", "above") if s[kind][side])
    marks = sorted((v["id"], {"verdict": "verdict_switch", "top": "top_switch"}[m["kind"]])
                   for v in data["variables"] for m in v["switches"])
    assert marks == [(w[0], w[1]) for w in want]
    theta = np.array([[v["mean"] for v in data["variables"]]])
    got = whatif.evaluate(data["tables"], theta)[0]
    vm = analysis.value_model
    np.testing.assert_allclose(got, vm.values(theta, vm.mean_ratings(1))[0], rtol=1e-12)


def test_panel_data_cannot_close_its_script_element(fitted):
    from cruxfit.reports.render import render_html

    result, _ = json.loads(json.dumps(fitted[0])), None
    hostile = "</script><script>alert(1)</script>"
    result["beliefs"][0]["name"] = hostile
    result["approaches"][0]["name"] = hostile + "&amp;"
    html = render_html(result)
    assert "<script>alert(1)" not in html
    data = _panel_data(html)
    assert data["variables"][0]["name"] == hostile
    assert any(a["name"] == hostile + "&amp;" for a in data["approaches"])


def test_results_without_a_table_render_without_the_panel(fitted):
    from cruxfit.reports.render import render_html

    result = dict(fitted[0])
    del result["whatif"]
    html = render_html(result)
    assert 'id="whatif"' not in html and "whatif-print-note" not in html


def test_an_unavailable_table_says_why(fitted):
    from cruxfit.reports.render import render_html

    result = dict(fitted[0])
    result["whatif"] = {"available": False, "reason": "the value model is <b>odd</b>"}
    html = render_html(result)
    assert "No what-if panel for this report: the value model is &lt;b&gt;odd&lt;/b&gt;" in html
    assert 'id="whatif-data"' not in html


def test_json_result_carries_the_table(fitted):
    from cruxfit.reports.jsonout import to_json

    back = json.loads(to_json(fitted[0]))
    table = back["whatif"]
    assert table["available"] and table["encoding"] == whatif.ENCODING
    assert whatif.evaluate(table["tables"], np.full((1, len(table["variables"])), 0.3)).shape \
        == (1, len(table["approaches"]))


@pytest.mark.heavy
def test_pdf_has_the_note_but_not_the_panel(fitted):
    from pypdf import PdfReader

    from cruxfit.reports.render import render_pdf

    pdf = render_pdf(fitted[0])
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "interactive what-if panel" in text
    assert "Reset to my credences" not in text
    assert "Try other credences" not in text


def test_organisation_reports_carry_the_panel_too(library):
    from cruxfit.reports.render import render_html

    org = json.loads((REPO_ROOT / "tests" / "golden" / "org_result.json").read_text())
    org["whatif"] = whatif.build_table(ValueModel(library))
    html = render_html(org)
    data = _panel_data(html)
    assert [v["id"] for v in data["variables"]] == list(library.variable_ids)
    means = {b["id"]: b["posterior_mean"] for b in org["beliefs"]}
    assert [v["mean"] for v in data["variables"]] == [means[v] for v in library.variable_ids]
