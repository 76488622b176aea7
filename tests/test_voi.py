"""Value of information and switching values (models/voi.py).

Fast tests build an Analysis from synthetic Beta credence draws with a fixed seed (no
sampling); the test marked slow runs the sampler once.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cruxfit.cruxes.library import VerdictRule
from cruxfit.models import voi
from cruxfit.models.analysis import evaluate
from cruxfit.models.decision import rank_summary, ev_rank, verdict_for
from cruxfit.cruxes.profile import load_profile
from cruxfit.reports.wording import add_wording
from oracles import STAND_IN_DIAGNOSTICS, evpi_from_configurations, top_switches_scan


REPO_ROOT = Path(__file__).resolve().parent.parent
DIAG = STAND_IN_DIAGNOSTICS


def synthetic_analysis(library, n=2000, seed=1, strength=8.0, profile="example.yaml"):
    """An Analysis from Beta draws around random means (deterministic, no sampling)."""
    prof = load_profile(REPO_ROOT / "data" / profile, library)
    rng = np.random.default_rng(seed)
    means = rng.uniform(0.3, 0.7, len(library.variables))
    theta = rng.beta(means * strength, (1 - means) * strength, size=(n, len(library.variables)))
    return evaluate(library, prof, 0, theta, None, dict(DIAG))


@pytest.fixture(scope="module")
def analysis(library):
    return synthetic_analysis(library)


@pytest.fixture(scope="module")
def small_analysis(library):
    return synthetic_analysis(library, n=400, seed=3)


@pytest.fixture(scope="module")
def parts(analysis):
    return voi.voi_parts(analysis)


@pytest.fixture(scope="module")
def summary(analysis):
    """The summary as the pipeline writes it: the model's codes in words."""
    return add_wording(voi.voi_summary(analysis))


# ----------------------------------------------------------------------------- hand-computed


def test_evppi_binary_hand_computed_equal_weights():
    v1 = np.array([[2.0, 0.0], [2.0, 0.0]])
    v0 = np.array([[0.0, 1.0], [0.0, 1.0]])
    r = voi.evppi_binary(v1, v0, np.array([0.5, 0.5]))
    # P1 = 0.5; best if yes: 2, if no: 1; best now: max(1, 0.5) = 1.
    assert r["value"] == pytest.approx(0.5, abs=1e-15)
    assert (r["best_if_1"], r["best_if_0"], r["best"]) == (0, 1, 0)


def test_evppi_binary_hand_computed_unequal_weights():
    v1 = np.array([[1.0, 0.0], [3.0, 0.0]])
    v0 = np.array([[0.0, 2.0], [0.0, 1.0]])
    r = voi.evppi_binary(v1, v0, np.array([0.2, 0.6]))
    # P1 = 0.4; E[V|S=1] = ((0.2*1 + 0.6*3)/0.8, 0) = (2.5, 0);
    # E[V|S=0] = (0, (0.8*2 + 0.4*1)/1.2) = (0, 5/3); E[V] = (1, 1).
    assert r["p1"] == pytest.approx(0.4)
    np.testing.assert_allclose(r["means_if_1"], [2.5, 0.0])
    np.testing.assert_allclose(r["means_if_0"], [0.0, 5 / 3])
    np.testing.assert_allclose(r["means"], [1.0, 1.0])
    assert r["value"] == pytest.approx(0.4 * 2.5 + 0.6 * 5 / 3 - 1.0)  # = 1


def test_evppi_binary_zero_when_the_best_choice_never_changes():
    rng = np.random.default_rng(0)
    v1 = rng.random((50, 3)) + np.array([5.0, 0, 0])
    v0 = rng.random((50, 3)) + np.array([5.0, 0, 0])
    assert voi.evppi_binary(v1, v0, rng.random(50))["value"] == 0.0


def test_evpi_from_configurations_hand_computed():
    vals = np.array([[[2.0, 0.0], [0.0, 1.0]]])  # one draw, two configurations
    probs = np.array([[0.5, 0.5]])
    # E[max] = 0.5*2 + 0.5*1 = 1.5; max E = max(1, 0.5) = 1.
    assert evpi_from_configurations(vals, probs) == pytest.approx(0.5)


class _ToyValueModel:
    """One belief variable, two approaches: a gamble worth 2 if the world state holds (else
    0) and a sure thing worth 1. Ratings are ignored (constant)."""

    slugs = ("gamble", "sure")
    var_ids = ("s",)

    def __init__(self, power=1):
        self.power = power

    def values(self, theta, ratings):
        t = np.asarray(theta)[:, 0] ** self.power
        return np.column_stack([2 * t, np.ones_like(t)])


def _toy_analysis(theta, power=1):
    vm = _ToyValueModel(power)
    theta = np.asarray(theta, float)[:, None]
    ratings = np.ones((len(theta), 2, 4))
    return SimpleNamespace(value_model=vm, theta=theta, ratings=ratings,
                           values=vm.values(theta, ratings), target=0)


def test_voi_parts_on_a_hand_computable_problem():
    parts = voi.voi_parts(_toy_analysis([0.3, 0.7]))
    # Knowing s: gamble (2) if it holds, sure thing (1) if not; P(s) = 0.5.
    # EVPI = 0.5*2 + 0.5*1 - max(E[gamble] = 1, 1) = 0.5; the only variable's EVPPI too.
    assert parts["evpi"] == pytest.approx(0.5)
    r = voi.evppi_binary(parts["v1"][0], parts["v0"][0], np.array([0.3, 0.7]))
    assert r["value"] == pytest.approx(0.5)
    assert parts["ratings_regression"] == pytest.approx(0.0, abs=1e-12)
    assert parts["ratings_exact"] == pytest.approx(0.0, abs=1e-12)


def test_non_multilinear_value_model_is_refused():
    with pytest.raises(voi.MultilinearityError):
        voi.voi_parts(_toy_analysis([0.3, 0.7], power=2))


def test_regression_recovers_a_known_conditional_mean():
    rng = np.random.default_rng(4)
    x = rng.lognormal(size=(3000, 3))
    truth = 1 + 2 * x[:, 0] * x[:, 1] - x[:, 2] + 0.5 * x[:, 0] * x[:, 1] * x[:, 2]
    fitted = voi.regression_fit(x, truth + 0.1 * rng.normal(size=3000))
    err = fitted - truth
    assert np.sqrt(np.mean(err ** 2)) < 0.02 and np.abs(err).max() < 0.2


# ----------------------------------------------------------------------------- real analysis


def test_evppi_between_zero_and_evpi(parts, analysis, summary):
    evpi = parts["evpi"]
    assert evpi > 0
    theta = analysis.theta
    for j in range(theta.shape[1]):
        r = voi.evppi_binary(parts["v1"][j], parts["v0"][j], theta[:, j])
        assert 0.0 <= r["value"] <= evpi
    assert 0.0 <= parts["ratings_regression"] <= evpi
    assert 0.0 <= parts["ratings_exact"] <= evpi
    assert summary["evpi"] == pytest.approx(evpi, abs=1e-4)
    for row in summary["evppi"]:
        assert 0.0 <= row["value"] <= summary["evpi"]
        assert 0.0 <= row["share"] <= 1.0


@pytest.mark.heavy
def test_evpi_matches_brute_force_enumeration_on_a_few_draws(analysis):
    """EVPI by explicit loops over configurations for 5 draws, against the vectorised code."""
    vm = analysis.value_model
    sub = SimpleNamespace(value_model=vm, theta=analysis.theta[:5], ratings=analysis.ratings[:5],
                          values=analysis.values[:5], target=analysis.target)
    got = voi.voi_parts(sub)["evpi"]
    n_vars = analysis.theta.shape[1]
    total = 0.0
    for d in range(5):
        th = analysis.theta[d]
        for z in range(2 ** n_vars):
            bits = np.array([(z >> (n_vars - 1 - v)) & 1 for v in range(n_vars)], float)
            p = np.prod(np.where(bits == 1, th, 1 - th))
            total += p * vm.values(bits[None], analysis.ratings[d:d + 1]).max()
    want = total / 5 - analysis.values[:5].mean(axis=0).max()
    assert got == pytest.approx(want, rel=1e-10)


def test_ratings_regression_agrees_with_exact(parts):
    assert parts["ratings_regression"] == pytest.approx(parts["ratings_exact"], rel=0.15, abs=0.02)


def test_summary_shape_and_order(summary, library):
    assert set(summary) == {"evpi", "evppi", "switching_values", "voi_method", "voi_draws"}
    json.dumps(summary)
    rows = summary["evppi"]
    assert [r["variable"] for r in rows if r["variable"] != "ratings"] and len(rows) == len(
        library.variables) + 1
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
    ratings = [r for r in rows if r["variable"] == "ratings"][0]
    assert "Strong, Oakley & Brennan" in ratings["method"]
    for r in rows:
        assert r["sentence"]
        if r["variable"] != "ratings":
            assert r["best_if_true"] in summary_slugs(library)
    sv = summary["switching_values"]
    assert [r["variable"] for r in sv] == list(library.variable_ids)
    for r in sv:
        assert r["sentence"]
        for key in ("verdict_switch", "top_switch"):
            if r[key] is not None:
                assert set(r[key]) == {"below", "above"}
                assert r[key]["below"] or r[key]["above"]
                if r[key]["below"]:
                    assert r[key]["below"]["credence"] < r["current"]
                if r[key]["above"]:
                    assert r[key]["above"]["credence"] > r["current"]


def summary_slugs(library):
    return {a.slug for a in library.ranked}


def test_summary_is_deterministic(analysis, summary):
    assert add_wording(voi.voi_summary(analysis)) == summary


def test_summary_leaves_codes_that_the_wording_turns_into_sentences(analysis, summary):
    raw = voi.voi_summary(analysis)
    assert raw["voi_method"] == voi.VOI_METHOD and "EVPI" in summary["voi_method"]
    for before, after in zip(raw["evppi"] + raw["switching_values"],
                             summary["evppi"] + summary["switching_values"], strict=True):
        assert isinstance(before["sentence"], dict) and before["sentence"]["code"]
        assert isinstance(after["sentence"], str) and after["sentence"].endswith(".")
        assert "value units" not in after["sentence"]
    worth = [r["sentence"] for r in summary["evppi"] if "worth" in r["sentence"]
             and "nothing" not in r["sentence"]]
    assert worth and all(" value points (" in s for s in worth)


def test_target_rank_stats_matches_rank_summary(analysis):
    s = rank_summary(analysis.values)
    pb, pt = voi.target_rank_stats(analysis.values, analysis.target)
    assert pb == s["p_best"][analysis.target]
    assert pt == s["p_top3"][analysis.target]
    tied = np.round(analysis.values, 0)  # many ties: the tie-break must match too
    s = rank_summary(tied)
    for t in range(tied.shape[1]):
        pb, pt = voi.target_rank_stats(tied, t)
        assert (pb, pt) == (s["p_best"][t], s["p_top3"][t])


def test_shift_mode_reproduces_the_reported_verdict_at_the_current_credence(analysis, summary):
    verdict, _ = analysis.verdict()
    assert {r["verdict_now"] for r in summary["switching_values"]} == {verdict["model_label"]}


def test_whatif_endpoints_and_mean(analysis, parts):
    j = 0
    for mode in voi.SWITCH_MODES:
        w = voi.WhatIf(parts["v0"][j], parts["v1"][j], analysis.theta[:, j], mode)
        xs = np.array([0.0, 0.2, w.current, 0.9, 1.0])
        t = w.credences(xs)
        np.testing.assert_allclose(t.mean(axis=1), xs, atol=1e-12)
        assert np.all((t >= 0) & (t <= 1))
        np.testing.assert_allclose(w.values([0.0])[0], parts["v0"][j], atol=1e-12)
        np.testing.assert_allclose(w.values([1.0])[0], parts["v1"][j], atol=1e-12)
    w = voi.WhatIf(parts["v0"][j], parts["v1"][j], analysis.theta[:, j], "shift")
    np.testing.assert_allclose(w.values([w.current])[0], analysis.values, rtol=1e-12)


def _brute_verdicts(analysis, j, xs, mode):
    """Verdict labels by full re-evaluation of the value model (no linear shortcut)."""
    vm, rules = analysis.value_model, analysis.library.settings.verdicts
    w = voi.WhatIf(np.zeros_like(analysis.values), np.zeros_like(analysis.values),
                   analysis.theta[:, j], mode)
    out = []
    for x, t in zip(xs, w.credences(xs)):
        th = analysis.theta.copy()
        th[:, j] = t
        s = rank_summary(vm.values(th, analysis.ratings))
        out.append(verdict_for(rules, ev_rank(s["mean"], analysis.target),
                               s["p_best"][analysis.target],
                               s["p_top3"][analysis.target]).label)
    return out


def _label_at(breaks, labels, x):
    return labels[int(np.searchsorted(breaks, x, side="right"))]


@pytest.mark.heavy
@pytest.mark.parametrize("mode", voi.SWITCH_MODES)
def test_verdict_path_agrees_with_brute_force_everywhere(small_analysis, mode):
    """The exact step function equals a full re-evaluation of the value model at every point
    of a fine grid (and at random points), and the summarised nearest switches either side of
    the current credence have no brute-force change between them and the current credence."""
    a = small_analysis
    parts = voi.voi_parts(a)
    rules = a.library.settings.verdicts
    rng = np.random.default_rng(0)
    xs = np.sort(np.r_[np.linspace(0.0, 1.0, 201), rng.random(100)])
    n_switches = n_points = 0
    for j in range(a.theta.shape[1]):
        w = voi.WhatIf(parts["v0"][j], parts["v1"][j], a.theta[:, j], mode)
        breaks, labels = voi.verdict_path(rules, w, a.target)
        assert np.all(np.diff(breaks) > 0) and len(labels) == len(breaks) + 1
        assert all(labels[i] != labels[i + 1] for i in range(len(breaks)))
        brute = _brute_verdicts(a, j, xs, mode)
        for x, want in zip(xs, brute):
            if len(breaks) and np.min(np.abs(breaks - x)) < 1e-9:
                continue  # exactly on a switch: either side's label is defensible
            assert _label_at(breaks, labels, x) == want, (j, x)
            n_points += 1
        sp = voi.switching_parts(w, rules, a.target)
        cur = w.current
        for side in ("below", "above"):
            s = sp["verdict"][side]
            if s is None:
                beyond = xs[xs < cur] if side == "below" else xs[xs > cur]
                assert all(_label_at(breaks, labels, x) == sp["verdict_now"] for x in beyond)
                continue
            n_switches += 1
            x_s = s["credence"]
            between = (xs > x_s) & (xs < cur) if side == "below" else (xs > cur) & (xs < x_s)
            assert all(lab == sp["verdict_now"] for lab, inside in zip(brute, between) if inside)
            assert s["from"] == sp["verdict_now"]
            just = x_s - 1e-7 if side == "below" else x_s + 1e-7
            assert _brute_verdicts(a, j, [just], mode)[0] == s["to"]
    assert n_switches > 0, "the synthetic analysis should have at least one verdict switch"
    assert n_points > 2000


def test_verdict_path_hand_computed():
    """Two approaches; in draw d the other approach beats the target once the credence passes
    (d + 0.5) / n, so in "fix" mode p_best(x) = share of draws with (d + 0.5)/n > x."""
    n = 10
    c_star = (np.arange(n) + 0.5) / n
    v0 = np.zeros((n, 2))  # target (index 0) is worth 0 throughout
    v0[:, 1] = -c_star  # other: -c* + c, positive once c > c*
    v1 = v0.copy()
    v1[:, 1] += 1.0
    w = voi.WhatIf(v0, v1, np.full(n, 0.5), "fix")
    rules = (VerdictRule("top", "", p_best_min=0.7), VerdictRule("half", "", p_best_min=0.35),
             VerdictRule("rest", ""))
    breaks, labels = voi.verdict_path(rules, w, 0)
    # p_best falls by 1/n at each c*: below 0.7 after 0.35, below 0.35 after 0.65
    np.testing.assert_allclose(breaks, [0.35, 0.65])
    assert labels == ["top", "half", "rest"]
    # in "shift" mode each draw's credence is 0.5 at x = 0.5 and moves linearly to 0 or 1
    breaks, labels = voi.verdict_path(rules, voi.WhatIf(v0, v1, np.full(n, 0.5), "shift"), 0)
    np.testing.assert_allclose(breaks, [0.35, 0.65])
    assert labels == ["top", "half", "rest"]
    # never any change when the other approach can never beat the target
    v1[:, 1] = -5.0
    assert voi.verdict_switches(rules, voi.WhatIf(v0, v1, np.full(n, 0.5)), 0) == []


@pytest.mark.parametrize("mode", voi.SWITCH_MODES)
def test_exact_top_switch_agrees_with_scan(analysis, parts, mode):
    n_switches = 0
    for j in range(analysis.theta.shape[1]):
        w = voi.WhatIf(parts["v0"][j], parts["v1"][j], analysis.theta[:, j], mode)
        exact = voi.top_switches_exact(w)
        points = 1001
        scan = top_switches_scan(w, points=points)
        half = 0.5 / (points - 1) + 1e-12
        cur = w.current
        below = [s for s in scan if s[0] < cur]
        above = [s for s in scan if s[0] > cur]
        if exact["below"]:
            x, frm, to = exact["below"]
            assert abs(x - below[-1][0]) <= half and (to, frm) == below[-1][1:]
            n_switches += 1
        else:
            assert not below
        if exact["above"]:
            x, frm, to = exact["above"]
            assert abs(x - above[0][0]) <= half and (frm, to) == above[0][1:]
            n_switches += 1
        else:
            assert not above
    assert n_switches > 0


def test_top_means_are_piecewise_linear_by_brute_force(analysis, parts):
    """WhatIf.means against full re-evaluation of the value model at a few credences."""
    vm = analysis.value_model
    for j in (0, 4):
        for mode in voi.SWITCH_MODES:
            w = voi.WhatIf(parts["v0"][j], parts["v1"][j], analysis.theta[:, j], mode)
            xs = np.array([0.0, 0.13, w.current, 0.77, 1.0])
            for x, t, m in zip(xs, w.credences(xs), w.means(xs)):
                th = analysis.theta.copy()
                th[:, j] = t
                np.testing.assert_allclose(vm.values(th, analysis.ratings).mean(axis=0), m,
                                           rtol=1e-10)


def test_first_top_change_hand_computed():
    # Lines from (1, 0) to (0, 2): they cross at t = 1/3.
    assert voi.first_top_change(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(
        (1 / 3, 0, 1))
    assert voi.first_top_change(np.array([1.0, 0.0]), np.array([2.0, 0.5])) is None


def test_no_switch_sentence_when_the_verdict_never_changes():
    rules = (VerdictRule("strong fit", "", 0.5, 0.85), VerdictRule("less relevant", ""))
    v = np.tile([5.0, 1.0, 0.0, -1.0], (20, 1))
    w = voi.WhatIf(v, v + 0.1, np.full(20, 0.5))
    sp = voi.switching_parts(w, rules, 0)
    assert sp["verdict"] == {"below": None, "above": None}
    assert sp["top"]["below"] is None and sp["top"]["above"] is None


# ----------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_voi_on_a_sampled_posterior(example_analysis):
    a = example_analysis
    s = voi.voi_summary(a)
    json.dumps(s)
    assert s["evpi"] >= 0
    assert all(0 <= r["value"] <= s["evpi"] for r in s["evppi"])
    verdict, _ = a.verdict()
    assert {r["verdict_now"] for r in s["switching_values"]} == {verdict["model_label"]}


def test_amounts_and_shares_in_words():
    from cruxfit.reports import wording

    assert [wording.amount(v) for v in (0.0, -1e-9, 0.00012345, 0.0123, 1.005)] == \
        ["0", "0", "0.00012", "0.01", "1.00"]
    assert [wording.share(s) for s in (0.0, 0.004, 0.333, 1.0)] == \
        ["0%", "less than 1%", "33%", "100%"]


def test_wording_leaves_a_stored_result_unchanged():
    import copy

    stored = json.loads((REPO_ROOT / "tests" / "golden" / "example_result.json").read_text())
    assert add_wording(copy.deepcopy(stored)) == stored


def test_cached_configuration_coefficients_equal_the_direct_ones_with_fit_and_overrides(library):
    """The per-library cache of the 2^V configuration coefficients scales by personal fit;
    it must give exactly what the value model itself gives, for any fit."""
    a = synthetic_analysis(library, n=50)
    vm = a.value_model
    configs = voi._configurations(len(library.variables))
    voi._CONFIG_COEF.clear()
    neutral = voi._configuration_coefficients(vm, configs)  # fills the cache
    assert np.allclose(neutral, voi._rating_coefficients(vm, configs), rtol=1e-13, atol=1e-15)
    fitted = vm.__class__(library, personal_fit={s: 0.5 + 0.1 * i for i, s in enumerate(vm.slugs)})
    got = voi._configuration_coefficients(fitted, configs)  # from the cache
    want = voi._rating_coefficients(fitted, configs)
    assert not np.allclose(want, neutral)  # the fit really changes them
    assert np.allclose(got, want, rtol=1e-13, atol=1e-15)
