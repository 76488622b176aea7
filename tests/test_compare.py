"""Comparing two profiles with an exact Shapley decomposition (models/compare.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cruxfit.models import compare
from cruxfit.models.analysis import evaluate
from cruxfit.cruxes.profile import load_profile, parse_profile
from cruxfit.reports.wording import add_wording

REPO_ROOT = Path(__file__).resolve().parent.parent
from oracles import STAND_IN_DIAGNOSTICS  # noqa: E402

DIAG = STAND_IN_DIAGNOSTICS
Q = compare.QUANTITIES


def profile(library, name="example.yaml", answers=None, overrides=None, label=None, fit=None):
    data = load_profile(REPO_ROOT / "data" / name, library).to_data()
    data["answers"].update(answers or {})
    if overrides is not None:
        data["overrides"] = overrides
    if fit is not None:
        data["fit"] = fit
    if label:
        data["name"] = label
    return parse_profile(data, library)


def beta_theta(library, n, seed, shift=None):
    """Synthetic credence draws around the prior means, optionally shifted per variable."""
    rng = np.random.default_rng(seed)
    m = np.array([v.prior.mean for v in library.variables])
    for vid, d in (shift or {}).items():
        m[library.variable_ids.index(vid)] += d
    m = np.clip(m, 0.05, 0.95)
    return rng.beta(m * 10, (1 - m) * 10, size=(n, len(m)))


def analysis_of(library, prof, theta, seed=0):
    return evaluate(library, prof, seed, theta, None, dict(DIAG))


def assert_sums(result):
    for q in Q:
        assert sum(r[q] for r in result["contributions"]) == pytest.approx(result["total"][q],
                                                                          abs=1e-9)
        assert result["b"][q] - result["a"][q] == pytest.approx(result["total"][q], abs=2e-4)


# ----------------------------------------------------------------------------- pure parts


def test_shapley_hand_computed_two_players():
    f = np.array([0.0, 1.0, 2.0, 5.0])  # {}, {0}, {1}, {0, 1}
    # phi_0 = 1/2 (1 - 0) + 1/2 (5 - 2) = 2;  phi_1 = 1/2 (2 - 0) + 1/2 (5 - 1) = 3
    np.testing.assert_allclose(compare.shapley(f), [2.0, 3.0])


def test_shapley_efficiency_symmetry_and_null_player():
    rng = np.random.default_rng(0)
    k = 5
    f = rng.normal(size=(2 ** k, 3))
    # Make player 4 a null player: f(S + 4) = f(S).
    for m in range(2 ** k):
        if m >> 4 & 1:
            f[m] = f[m ^ 16]
    phi = compare.shapley(f)
    np.testing.assert_allclose(phi.sum(axis=0), f[-1] - f[0], atol=1e-12)
    assert np.all(phi[4] == 0)
    # Additive game: Shapley values are the individual effects.
    w = rng.normal(size=k)
    g = np.array([sum(w[i] for i in range(k) if m >> i & 1) for m in range(2 ** k)])
    np.testing.assert_allclose(compare.shapley(g), w, atol=1e-12)


def test_shared_variables(library):
    base = profile(library)
    assert compare.shared_variables(library, base, base) == set(library.variable_ids)
    one = profile(library, answers={"world-deceptive": 7})
    assert compare.shared_variables(library, base, one) == set(library.variable_ids) - {
        "deceptive-alignment"}
    # A statement loading on two variables links them: both differ.
    linked = profile(library, answers={"fit-timelines-need-ai": 1})
    assert compare.shared_variables(library, base, linked) == set(library.variable_ids) - {
        "short-timelines", "ai-help-needed"}
    # An answer on a linked variable alone still moves its partner's posterior.
    timelines = profile(library, answers={"world-short-timelines": 0.1})
    assert "ai-help-needed" not in compare.shared_variables(library, base, timelines)
    # "unsure" and unanswered are the same evidence.
    unsure = profile(library, answers={"world-llm-informative": "unsure"})
    missing_data = base.to_data()
    del missing_data["answers"]["world-llm-informative"]
    missing = parse_profile(missing_data, library)
    assert compare.shared_variables(library, unsure, missing) == set(library.variable_ids)


def test_round_to_total():
    parts = np.array([0.33333, 0.33333, 0.33334, 0.0])
    out = compare._round_to_total(parts, 1.0, nd=2)
    assert sum(out) == pytest.approx(1.0, abs=1e-12) and out[3] == 0.0


# ----------------------------------------------------------------------------- comparisons


def test_identical_analyses_compare_to_all_zeros(library):
    a = analysis_of(library, profile(library), beta_theta(library, 500, 1))
    res = compare.compare_analyses(a, a)
    assert res["total"] == {q: 0.0 for q in Q}
    assert all(r[q] == 0.0 for r in res["contributions"] for q in Q)
    assert res["verdict_change"]["changed"] is False
    assert res["overrides_differ"] is False


def test_rows_carry_codes_that_the_wording_turns_into_sentences(library):
    pa, pb = profile(library, "example.yaml"), profile(library, "optimistic.yaml")
    a = analysis_of(library, pa, beta_theta(library, 400, 1))
    b = analysis_of(library, pb, beta_theta(library, 400, 2, {"safety": 0.25}))
    res = compare.compare_analyses(a, b)
    assert res["method"] == compare.METHOD
    codes = [r["sentence"] for r in res["contributions"]]
    assert {c["code"] for c in codes} <= {"shared", "credence-change"}
    worded = add_wording(res)
    assert "Shapley" in worded["method"]
    for row, code in zip(worded["contributions"], codes, strict=True):
        if code["code"] == "shared":
            assert row["sentence"] == (f"The answers bearing on \u201c{row['name']}\u201d are the "
                                       "same in both profiles, so this belief explains none of "
                                       "the difference.")
        else:
            assert row["sentence"].startswith(f"The change in credence in \u201c{row['name']}\u201d"
                                              f" from {code['credence_a']:.2f} ")
            assert row["sentence"].endswith(" value points.")


def test_identical_profiles_with_different_draws_compare_to_zeros(library):
    p = profile(library)
    a = analysis_of(library, p, beta_theta(library, 500, 1))
    b = analysis_of(library, profile(library, label="Someone else"), beta_theta(library, 700, 2), 5)
    res = compare.compare_analyses(a, b)
    assert res["total"] == {q: 0.0 for q in Q}
    assert all(r[q] == 0.0 and r["shared"] for r in res["contributions"] for q in Q)
    assert res["draws"] == 500
    assert res["b"]["name"] == "Someone else"


@pytest.mark.heavy
def test_contributions_sum_to_total_and_shared_variable_is_exactly_zero(library):
    pa = profile(library, "example.yaml")
    pb = profile(library, "optimistic.yaml")
    a = analysis_of(library, pa, beta_theta(library, 800, 1))
    b = analysis_of(library, pb, beta_theta(library, 900, 2, {"safety": 0.25, "scaling": 0.2}))
    shared = compare.shared_variables(library, pa, pb)
    res = compare.compare_analyses(a, b)
    json.dumps(res)
    assert_sums(res)
    for r in res["contributions"]:
        assert r["shared"] == (r["variable"] in shared)
        if r["shared"]:
            assert all(r[q] == 0.0 for q in Q)
    assert any(r["p_best"] != 0 for r in res["contributions"])
    assert [r["variable"] for r in res["contributions"]] == list(library.variable_ids)


@pytest.mark.heavy
def test_unrounded_shapley_sums_exactly(library):
    """The decomposition before rounding: efficiency to floating-point precision."""
    pa, pb = profile(library, "example.yaml"), profile(library, "sceptical.yaml")
    a = analysis_of(library, pa, beta_theta(library, 400, 1))
    b = analysis_of(library, pb, beta_theta(library, 400, 2, {"safety": -0.3}))
    vm, t = a.value_model, a.target
    shared = compare.shared_variables(library, pa, pb)
    players = [j for j, v in enumerate(library.variables) if v.id not in shared]
    f = np.zeros((2 ** len(players), 3))
    for m in range(2 ** len(players)):
        th = a.theta.copy()
        for bit, j in enumerate(players):
            if m >> bit & 1:
                th[:, j] = b.theta[:, j]
        f[m] = compare._stats(vm.values(th, a.ratings), t)
    phi = compare.shapley(f)
    np.testing.assert_allclose(phi.sum(axis=0), f[-1] - f[0], rtol=0, atol=1e-13)
    res = compare.compare_analyses(a, b)
    for q, total in zip(Q, f[-1] - f[0]):
        assert res["total"][q] == pytest.approx(total, abs=1e-4)


def test_more_favourable_on_safety_gives_a_positive_safety_contribution(library):
    safe_answers = {"safety-aligned-enough": 7, "safety-sabotage": 1, "safety-narrow-tasks": 7,
                    "fit-careful-use": 7, "less-bootstrapping-dangerous": 1,
                    "less-ai-unreliable": 1}
    pa = profile(library)
    pb = profile(library, answers=safe_answers, label="After advice")
    a = analysis_of(library, pa, beta_theta(library, 1000, 1))
    b = analysis_of(library, pb, beta_theta(library, 1000, 2, {"safety": 0.3}))
    res = compare.compare_analyses(a, b)
    rows = {r["variable"]: r for r in res["contributions"]}
    assert rows["safety"]["p_best"] > 0 and rows["safety"]["margin"] > 0
    assert rows["safety"]["p_top3"] >= 0
    for vid, r in rows.items():
        if vid != "safety":
            assert r["shared"] and all(r[q] == 0.0 for q in Q)
    assert_sums(res)
    assert res["total"]["p_best"] == rows["safety"]["p_best"]


def test_override_player_reproduces_b_exactly(library):
    """Same beliefs, different overrides, same seed and draws: the total is B minus A as
    each profile's own analysis reports it, and all of it is the overrides player."""
    over = {"governance": {"tractability": "High", "neglectedness": "High",
                           "reason": "Testing the overrides player."}}
    pa = profile(library)
    pb = profile(library, overrides=over)
    theta = beta_theta(library, 600, 4)
    a = analysis_of(library, pa, theta, seed=3)
    b = analysis_of(library, pb, theta, seed=3)
    np.testing.assert_allclose(compare.map_ratings(a.ratings, a.value_model, b.value_model),
                               b.ratings, rtol=1e-12)
    res = compare.compare_analyses(a, b)
    assert res["overrides_differ"] is True
    rows = {r["variable"]: r for r in res["contributions"]}
    assert compare.OVERRIDES_PLAYER in rows
    for vid in library.variable_ids:
        assert all(rows[vid][q] == 0.0 for q in Q)
    for q in Q:
        assert rows[compare.OVERRIDES_PLAYER][q] == res["total"][q]
        assert res["b"][q] == res["b"]["reported"][q]
        assert res["a"][q] == res["a"]["reported"][q]
    assert res["total"]["margin"] < 0  # a better-rated governance lowers AI-assisted's margin
    assert_sums(res)


def test_personal_fit_player(library):
    """Same beliefs and overrides, different personal fit: all of the total is the fit player."""
    pa = profile(library)
    pb = profile(library, fit={"ml-engineering": 7, "frontier-lab-access": 6})
    theta = beta_theta(library, 600, 4)
    a = analysis_of(library, pa, theta, seed=3)
    b = analysis_of(library, pb, theta, seed=3)
    res = compare.compare_analyses(a, b)
    assert res["fit_differs"] is True and res["overrides_differ"] is False
    rows = {r["variable"]: r for r in res["contributions"]}
    assert compare.FIT_PLAYER in rows and compare.OVERRIDES_PLAYER not in rows
    for q in Q:
        assert rows[compare.FIT_PLAYER][q] == res["total"][q]
        assert res["b"][q] == res["b"]["reported"][q]
    assert res["total"]["margin"] > 0  # ML engineering skill favours AI-assisted alignment
    assert_sums(res)


@pytest.mark.heavy
def test_beliefs_overrides_and_fit_together(library):
    over = {"governance": {"tractability": "High", "reason": "Testing three kinds of player."}}
    pa = profile(library)
    pb = profile(library, "optimistic.yaml", overrides=over, fit={"policy": 7})
    a = analysis_of(library, pa, beta_theta(library, 300, 1), seed=1)
    b = analysis_of(library, pb, beta_theta(library, 300, 2, {"safety": 0.2}), seed=1)
    res = compare.compare_analyses(a, b)
    players = [r["variable"] for r in res["contributions"]]
    assert players[-2:] == [compare.OVERRIDES_PLAYER, compare.FIT_PLAYER]
    assert_sums(res)
    # Same seed and draw count: B's endpoint is B's own analysis except for shared variables.
    if not any(r["shared"] for r in res["contributions"]):
        for q in Q:
            assert res["b"][q] == res["b"]["reported"][q]


def test_different_libraries_are_refused(library, tmp_library):
    from cruxfit.cruxes.library import load_library

    text = (tmp_library / "variables.yaml").read_text()
    (tmp_library / "variables.yaml").write_text(text.replace("strength: 4", "strength: 5", 1))
    other = load_library(tmp_library)
    a = analysis_of(library, profile(library), beta_theta(library, 50, 1))
    b = analysis_of(other, profile(other), beta_theta(other, 50, 1))
    with pytest.raises(ValueError, match="different crux libraries"):
        compare.compare_analyses(a, b)


# ----------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_compare_sampled_profiles_before_and_after_advice(library, example_analysis):
    from cruxfit.models.analysis import analyse

    pb = profile(library, answers={"safety-aligned-enough": 7, "safety-sabotage": 1,
                                   "less-bootstrapping-dangerous": 1}, label="After advice")
    a = example_analysis  # data/example.yaml, seed 0
    b = analyse(library, pb, seed=0)
    res = compare.compare_analyses(a, b)
    rows = {r["variable"]: r for r in res["contributions"]}
    assert rows["safety"]["p_best"] > 0 and rows["safety"]["margin"] > 0
    assert all(rows[v]["shared"] and rows[v]["p_best"] == 0.0
               for v in library.variable_ids if v != "safety")
    assert_sums(res)
