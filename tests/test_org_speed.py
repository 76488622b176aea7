"""An organisation's numbers after sampling, at the cost of a large organisation.

* ``Analysis.sensitivity`` from the multilinear value model (``ValueModel.column_mean_values``)
  instead of two value evaluations per variable: checked against the code it replaced.
* The members table's split of a member's different margin (``_why_differs``): exact Shapley
  values for small games, an estimate from 32 orderings of the players for larger ones
  (``compare.margin_shapley``): checked against the exact decomposition of
  ``compare_analyses``.
* Members share the organisation's rating draws, and the members, disagreement and
  discuss-first tables read every member's means once: checked bit for bit against the
  code they replaced.

Nothing here samples: credences are Beta draws standing in for the sampler.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from oracles import STAND_IN_DIAGNOSTICS

from cruxfit.cruxes.profile import Organisation, Profile, parse_profile
from cruxfit.models import compare, organisation
from cruxfit.models.analysis import evaluate, rating_seed
from cruxfit.models.decision import hdi, margin
from cruxfit.models.inference import Diagnostics, Posterior
from cruxfit.models.rounding import json_round as _r
from cruxfit.models.values import ValueModel

DIAG = STAND_IN_DIAGNOSTICS

# Nine variables whose statements load on them alone or on each other (the game of a member
# who answered only those): 2^9 or, with personal fit, 2^10 coalitions - more than
# margin_shapley enumerates, few enough for compare_analyses to check it exactly.
NINE = ("safety", "scaling", "understanding", "alignment-hard", "short-timelines",
        "ai-help-needed", "deceptive-alignment", "coordination", "lab-influence")


# ----------------------------------------------------------------------------- helpers


def beta_theta(library, n, seed, shift=None, concentration=10.0):
    """Credence draws around the prior means, optionally shifted per variable."""
    rng = np.random.default_rng(seed)
    m = np.array([v.prior.mean for v in library.variables])
    for vid, d in (shift or {}).items():
        m[library.variable_ids.index(vid)] += d
    m = np.clip(m, 0.05, 0.95)
    return rng.beta(m * concentration, (1 - m) * concentration, size=(n, len(m)))


def answers_on(library, variables, value=6):
    return {s.id: (value if s.scale == "agree7" else 0.7) for s in library.statements
            if all(ld.variable in variables for ld in s.loads)}


def person(library, name="B", answers=None, fit=None, overrides=None):
    return Profile(name=name, kind="individual", answers=answers or {}, fit=fit or {},
                   overrides=overrides or {})


def org_profile():
    return Profile(name="Org", kind="organisation", answers={})


def analysis(library, profile, theta, seed=0):
    return evaluate(library, profile, seed, theta, None, dict(DIAG))


def with_tilts(a, tilts):
    """``a`` with its value model's tilts replaced (the hard variable tilted too, large
    tilts that make factors negative), its values recomputed."""
    vm = a.value_model
    vm.tilts = np.asarray(tilts, float)
    vm._tilted = [v for v in range(len(vm.var_ids)) if np.any(vm.tilts[:, v])]
    return dataclasses.replace(a, values=vm.values(a.theta, a.ratings))


# ----------------------------------------------------------------------------- references


def reference_sensitivity(a):
    """Analysis.sensitivity as it was: two value evaluations per variable."""
    vm, t = a.value_model, a.target
    base = margin(vm.values(a.theta, a.ratings), t)
    rows, raw = [], []
    for j, v in enumerate(a.library.variables):
        lo, hi = hdi(a.theta[:, j])
        out = {}
        for end, x in (("low", lo), ("high", hi)):
            th = a.theta.copy()
            th[:, j] = x
            out[end] = margin(vm.values(th, a.ratings), t)
        raw.append((out["low"], out["high"]))
        rows.append({"variable": v.id, "name": v.name, "low_credence": _r(lo),
                     "high_credence": _r(hi), "margin_at_low": _r(out["low"]),
                     "margin_at_high": _r(out["high"]),
                     "swing": _r(abs(out["high"] - out["low"]))})
    rows.sort(key=lambda r: (-r["swing"], r["variable"]))
    return [{"base_margin": _r(base), **r} for r in rows], base, raw


def reference_why(org, member):
    """_why_differs as it was: the exact decomposition of compare_analyses."""
    comp = compare.compare_analyses(organisation._thinned(org), organisation._thinned(member))
    contribs = sorted(comp["contributions"], key=lambda c: -abs(c.get("margin", 0.0)))
    return {"total_margin": comp["total"].get("margin"),
            "main": [{"variable": c["variable"], "name": c.get("name", c["variable"]),
                      "margin": c.get("margin")} for c in contribs[:2]]}


def reference_member_rows(oa):
    """member_rows as it was (without ``why``): full verdict, approach and belief rows."""
    rows = []
    org_label = oa.org.verdict()[0]["model_label"]
    for m in oa.members:
        v, _ = m.verdict()
        approaches = m.approach_rows()
        rows.append({
            "name": m.profile.name, "role": m.profile.role,
            "verdict": v["label"], "p_best": v["p_best"], "p_top3": v["p_top3"],
            "margin": v["margin"], "top_approach": approaches[0]["slug"],
            "answered": len(m.profile.answers),
            "beliefs": {b["id"]: b["posterior_mean"] for b in m.belief_rows()},
            "differs": v["model_label"] != org_label,
        })
    return rows


def reference_disagreement(oa):
    lib = oa.org.library
    rows = []
    for j, v in enumerate(lib.variables):
        tau = oa.posterior.tau[:, j]
        lo, hi = hdi(tau)
        member_means = [float(m.theta[:, j].mean()) for m in oa.members]
        rows.append({
            "variable": v.id, "name": v.name,
            "organisation": _r(oa.org.theta[:, j].mean()),
            "spread": _r(tau.mean()), "spread_hdi_90": [_r(lo), _r(hi)],
            "members": {m.profile.name: _r(x) for m, x in zip(oa.members, member_means)},
            "member_range": [_r(min(member_means)), _r(max(member_means))],
        })
    return rows


def reference_discuss_ranking(oa, rows):
    org = oa.org
    candidates = []
    for j, row in enumerate(rows):
        means = [m.theta[:, j].mean() for m in oa.members]
        lo_i, hi_i = int(np.argmin(means)), int(np.argmax(means))
        results = {}
        for end, i in (("low", lo_i), ("high", hi_i)):
            th = org.theta.copy()
            th[:, j] = means[i]
            results[end] = organisation._verdict_at(org, th)
        centre = row["organisation"]
        candidates.append({
            "variable": row["variable"],
            "impact": _r(abs(results["high"][0] - results["low"][0])),
            "low": (oa.members[lo_i].profile.name, _r(means[lo_i]), _r(results["low"][0])),
            "high": (oa.members[hi_i].profile.name, _r(means[hi_i]), _r(results["high"][0])),
            "below": sorted(m.profile.name for m, x in zip(oa.members, means) if x < centre),
        })
    return candidates


# ----------------------------------------------------------------------------- A: sensitivity


def test_column_mean_values_equal_the_mean_of_values(library):
    """Every variable, the hard one included, at points inside and at the ends of [0, 1];
    tilts on the hard variable and large enough to make factors zero or negative."""
    theta = beta_theta(library, 700, 1)
    a = analysis(library, person(library, fit={"ml-engineering": 7, "policy": 2}), theta)
    vm = a.value_model
    rng = np.random.default_rng(3)
    tilts = vm.tilts.copy()
    tilts[:, vm.hard_index] = rng.uniform(-2.5, 2.5, len(vm.slugs))
    tilts[0, 1] = 4.0
    a = with_tilts(a, tilts)
    # Some draws make a factor exactly zero: 1 + t (theta - m) = 0.
    a.theta[:5, 1] = vm.prior_means[1] - 1 / tilts[0, 1]
    points = np.column_stack([np.zeros(len(vm.var_ids)), rng.uniform(0, 1, len(vm.var_ids)),
                              np.ones(len(vm.var_ids))])
    got = vm.column_mean_values(a.theta, a.ratings, points)
    assert got.shape == (len(vm.var_ids), 3, len(vm.slugs))
    for j in range(len(vm.var_ids)):
        for i, x in enumerate(points[j]):
            th = a.theta.copy()
            th[:, j] = x
            want = vm.values(th, a.ratings).mean(axis=0)
            np.testing.assert_allclose(got[j, i], want, rtol=1e-12,
                                       atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("case", ["example", "fit", "hard-tilted"])
def test_sensitivity_equals_the_reference(library, case):
    theta = beta_theta(library, 1000, 7, {"safety": 0.15, "alignment-hard": -0.1})
    fit = {"ml-engineering": 6, "frontier-lab-access": 2} if case == "fit" else None
    a = analysis(library, person(library, answers=answers_on(library, NINE), fit=fit), theta)
    if case == "hard-tilted":
        tilts = a.value_model.tilts.copy()
        tilts[:, a.value_model.hard_index] = np.linspace(-1.5, 1.5, len(a.value_model.slugs))
        a = with_tilts(a, tilts)
    rows, base, raw = reference_sensitivity(a)
    got_base, ends, got = a.sensitivity_margins()
    assert got_base == base
    scale = np.abs(a.values.mean(axis=0)).max()
    np.testing.assert_allclose(np.array(got), np.array(raw), rtol=0, atol=1e-12 * scale)
    assert ends == [hdi(a.theta[:, j]) for j in range(a.theta.shape[1])]
    assert a.sensitivity() == rows


def test_verdict_summary_is_the_verdict_without_deciding(library):
    theta = beta_theta(library, 800, 2)
    a = analysis(library, person(library, answers=answers_on(library, NINE)), theta)
    # Values rounded to one decimal tie often: the rank probabilities must break ties the
    # way decision.ranks does.
    tied = dataclasses.replace(a, values=np.round(a.values, 1))
    unconverged = dataclasses.replace(a, diagnostics={**DIAG, "converged": False})
    for x in (a, tied, unconverged):
        full, _ = x.verdict()
        full.pop("deciding")
        assert x.verdict_summary() == full


# ----------------------------------------------------------------------------- B: margin split


def test_antithetic_orderings_are_exact_without_three_way_interactions():
    """A game with pairwise interactions only: every ordering with its reverse gives the
    Shapley values exactly, whatever the orderings drawn."""
    rng = np.random.default_rng(0)
    k = 6
    a, b = rng.normal(size=k), np.triu(rng.normal(size=(k, k)), 1)
    masks = np.array([[m >> i & 1 for i in range(k)] for m in range(2 ** k)], float)
    f = masks @ a + np.einsum("mi,ij,mj->m", masks, b, masks)
    exact = compare.shapley(f)

    def along(order):
        bits = np.cumsum([0] + [1 << int(p) for p in order])
        return f[bits]

    est = compare.sampled_shapley(along, k, np.random.default_rng(5), orderings=4)
    np.testing.assert_allclose(est, exact, rtol=0, atol=1e-12)
    # With a three-way term the same four orderings are no longer exact (the test can fail).
    f3 = f + 5.0 * masks[:, 0] * masks[:, 1] * masks[:, 2]
    est3 = compare.sampled_shapley(lambda o: f3[np.cumsum([0] + [1 << int(p) for p in o])],
                                   k, np.random.default_rng(5), orderings=4)
    assert np.abs(est3 - compare.shapley(f3)).max() > 1e-3
    assert est3.sum() == pytest.approx(f3[-1] - f3[0], abs=1e-12)


def _games(library):
    """(A = an organisation, B = a member) pairs whose exact split is affordable."""
    theta_a = beta_theta(library, 1000, 11)
    rng = np.random.default_rng(12)
    for fit in (None, {"ml-engineering": 7, "policy": 2}):
        shift = {v: float(rng.normal(0, 0.12)) for v in NINE}
        b = person(library, answers=answers_on(library, NINE), fit=fit)
        yield (analysis(library, org_profile(), theta_a),
               analysis(library, b, beta_theta(library, 1000, 13, shift)))


def _exact_unrounded(comp):
    return np.array([c["sentence"].get("margin", 0.0) for c in comp["contributions"]])


def test_product_form_coalitions_equal_the_value_model(library):
    """The margins along an ordering (running products of per-player factors) are the
    margins compare_analyses computes with the value model, for the same coalitions."""
    for a, b in _games(library):
        game = compare._MarginGame(a, b)
        assert not game.overrides_differ
        rng = np.random.default_rng(1)
        for _ in range(3):
            order = rng.permutation(game.k)
            fast = game.worths_along(order)
            slow = [game.worth(order[:i]) for i in range(game.k + 1)]
            np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12 * game.scale)


def test_sampled_split_is_close_to_the_exact_one_and_adds_up(library):
    """Against compare_analyses' exact Shapley values (2^9 and 2^10 coalitions).

    Tolerance: the estimate is the mean of 16 independent antithetic pairs, so its error
    for a player is about its standard error (the spread of the 16 pair means / 4); 4
    standard errors is a bound a correct estimator exceeds with probability about 1e-4 per
    player. And so that the estimate is good enough for the members table, which shows
    leads to two decimals: within 0.01 value points of the exact split here (members who
    differ from the organisation by a few tenths of credence on nine beliefs).
    """
    for a, b in _games(library):
        comp = compare.compare_analyses(a, b)
        exact = _exact_unrounded(comp)
        game = compare._MarginGame(a, b)
        assert game.k == len(NINE) + (1 if game.fit_differs else 0)
        res = compare.margin_shapley(a, b, np.random.default_rng(4))
        assert res["method"] == compare.SAMPLED_METHOD and res["orderings"] == 32
        assert res["total_margin"] == comp["total"]["margin"]
        # The estimate itself, unrounded, and the pair means behind it.
        rng = np.random.default_rng(4)
        pairs = []
        for _ in range(16):
            perm = rng.permutation(game.k)
            phi = np.zeros(game.k)
            for order in (perm, perm[::-1]):
                phi[order] += np.diff(game.worths_along(order)) / 2
            pairs.append(phi)
        pairs = np.array(pairs)
        est = compare.sampled_shapley(game.worths_along, game.k, np.random.default_rng(4))
        np.testing.assert_allclose(est, pairs.mean(axis=0), rtol=0, atol=1e-14)
        ex = np.concatenate([exact[game.var_players], exact[len(library.variables):]])
        se = pairs.std(axis=0, ddof=1) / math.sqrt(len(pairs))
        assert np.all(np.abs(est - ex) <= 4 * se + 1e-12), (est - ex, se)
        assert np.abs(est - ex).max() < 0.01
        # Adds up: unrounded exactly to the total, rounded to the rounded total.
        assert est.sum() == pytest.approx(game.f_all - game.f_none, abs=1e-12)
        parts = [c["margin"] for c in res["contributions"]]
        assert round(sum(parts), 4) == res["total_margin"]
        # Variables outside the game (no answer on either side) contribute exactly 0.
        ids = [c["variable"] for c in res["contributions"]]
        for vid in set(library.variable_ids) - set(NINE):
            assert parts[ids.index(vid)] == 0.0
        # Deterministic.
        assert compare.margin_shapley(a, b, np.random.default_rng(4)) == res


def test_sampled_split_with_an_overrides_player(library):
    """Different rating overrides: the coalitions are evaluated with the value model, as in
    compare_analyses; the estimate still adds up and is close to the exact split."""
    over = {"governance": {"tractability": "High", "reason": "Testing the overrides player."}}
    b_prof = parse_profile({"name": "B", "kind": "individual",
                            "answers": answers_on(library, NINE[:8]), "overrides": over},
                           library)
    a = analysis(library, org_profile(), beta_theta(library, 400, 21))
    b = analysis(library, b_prof, beta_theta(library, 400, 22, {"safety": 0.1}))
    game = compare._MarginGame(a, b)
    assert game.overrides_differ and game.k == 9
    comp = compare.compare_analyses(a, b)
    exact = _exact_unrounded(comp)
    ex = np.concatenate([exact[game.var_players], exact[len(library.variables):]])
    est = compare.sampled_shapley(game.worths_along, game.k, np.random.default_rng(2))
    assert est.sum() == pytest.approx(comp["total"]["margin"], abs=1e-4)
    assert est.sum() == pytest.approx(game.f_all - game.f_none, abs=1e-12)
    assert np.abs(est - ex).max() < 0.01
    res = compare.margin_shapley(a, b, np.random.default_rng(2))
    assert res["method"] == compare.SAMPLED_METHOD
    assert res["total_margin"] == comp["total"]["margin"]


def test_small_games_stay_exact(library):
    """At most 2^8 coalitions: the members table's split is compare_analyses' exact one."""
    theta_a = beta_theta(library, 800, 31)
    org = analysis(library, org_profile(), theta_a)
    b = person(library, answers=answers_on(library, NINE[:5]), fit={"policy": 7})
    member = analysis(library, b, beta_theta(library, 800, 32, {"safety": -0.2}))
    assert compare._MarginGame(organisation._thinned(org), organisation._thinned(member)).k == 6
    got = organisation._why_differs(org, member)
    assert got.pop("method") == compare.METHOD and "orderings" not in got
    assert got == reference_why(org, member)


def test_large_games_are_estimated_cheaply_and_deterministically(library, monkeypatch):
    """All 14 variables and personal fit (2^15 coalitions): a handful of value-model
    evaluations, not one per coalition; the same input gives the same row."""
    org = analysis(library, org_profile(), beta_theta(library, 800, 41))
    b = person(library, answers=answers_on(library, library.variable_ids), fit={"policy": 7})
    member = analysis(library, b, beta_theta(library, 800, 42, {"safety": -0.2}))
    calls = []
    real = ValueModel.values

    def counted(self, theta, ratings):
        calls.append(theta.shape[0])
        return real(self, theta, ratings)

    monkeypatch.setattr(ValueModel, "values", counted)
    why = organisation._why_differs(org, member)
    assert why["method"] == compare.SAMPLED_METHOD and why["orderings"] == 32
    assert len(calls) <= 4
    assert why == organisation._why_differs(org, member)
    assert len(why["main"]) == 2 and why["main"][0]["variable"] == "safety"


def test_orderings_are_seeded_by_the_analysis_seed_and_the_members_name(library, monkeypatch):
    org = analysis(library, org_profile(), beta_theta(library, 200, 41))
    b = person(library, answers=answers_on(library, library.variable_ids))
    member = analysis(library, b, beta_theta(library, 200, 42))
    states = []

    def record(a, b, rng):
        states.append(rng.bit_generator.state["state"]["state"])
        return {"total_margin": 0.0, "contributions": [], "method": "exact-shapley"}

    monkeypatch.setattr(organisation, "margin_shapley", record)
    renamed = dataclasses.replace(member, profile=dataclasses.replace(member.profile, name="C"))
    moved = dataclasses.replace(member, theta=member.theta[::-1])  # other draws, same name
    for o, m in ((org, member), (org, member), (org, moved), (org, renamed),
                 (dataclasses.replace(org, seed=org.seed + 1), member)):
        organisation._why_differs(o, m)
    assert states[0] == states[1] == states[2]
    assert len({states[0], states[3], states[4]}) == 3


# ----------------------------------------------------------------------------- C: members


def _stand_in_org(library, monkeypatch, n_members=9, draws=400, fit_every=3):
    rng = np.random.default_rng(5)
    members = []
    for i in range(n_members):
        lean = rng.normal(0.5, 1.0)
        ans = {}
        for st in library.statements:
            if rng.random() < 0.2:
                continue
            if st.scale == "agree7":
                ans[st.id] = int(np.clip(np.rint(4 + st.favours * lean + rng.normal(0, 1.2)), 1, 7))
            else:
                ans[st.id] = round(float(np.clip(rng.beta(3, 3), 0.01, 0.99)), 2)
        fit = {"ml-engineering": 6} if i % fit_every == 0 else {}
        members.append(person(library, name=f"M{i}", answers=ans, fit=fit))
    over = {"governance": {"tractability": "High", "reason": "The organisation's view."}}
    org = parse_profile({"name": "Org", "kind": "organisation", "overrides": over,
                         "respondents": [{k: v for k, v in m.to_data().items() if k != "kind"}
                                         for m in members]}, library)
    assert isinstance(org, Organisation) and org.overrides
    k = len(library.variables)
    means = rng.uniform(0.15, 0.85, (n_members, k))
    theta = rng.beta(means * 8, (1 - means) * 8, size=(draws, n_members, k))
    diag = Diagnostics(**{key: DIAG[key] for key in (
        "r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences", "chains", "draws", "tune",
        "target_accept", "reasons", "criteria")})
    post = Posterior(theta, None, diag, None, {}, org_theta=theta.mean(axis=1),
                     tau=rng.gamma(4.0, 0.1, size=(draws, k)))
    monkeypatch.setattr(organisation, "sample", lambda *args, **kwargs: post)
    return organisation.analyse_organisation(library, org, seed=3)


def test_members_share_the_organisations_rating_draws_bit_for_bit(library, monkeypatch):
    oa = _stand_in_org(library, monkeypatch)
    org = oa.org
    for m in oa.members:
        assert m.ratings is org.ratings  # one array, not a copy per member
        own = evaluate(library, m.profile, m.seed, m.theta, None, dict(DIAG))
        assert np.array_equal(own.ratings, m.ratings)
        assert np.array_equal(own.values, m.values)
        fresh = m.value_model.draw_ratings(m.theta.shape[0], rating_seed(m.seed))
        assert np.array_equal(fresh, m.ratings)
    assert any(m.profile.fit for m in oa.members)  # personal fit does not change the draws


def test_rating_draws_of_another_shape_are_refused(library):
    theta = beta_theta(library, 50, 1)
    a = analysis(library, person(library), theta)
    with pytest.raises(ValueError, match="rating draws"):
        evaluate(library, person(library), 0, theta[:40], None, dict(DIAG), ratings=a.ratings)


def test_organisation_tables_equal_the_reference(library, monkeypatch):
    oa = _stand_in_org(library, monkeypatch)
    rows = organisation.member_rows(oa)
    reference = reference_member_rows(oa)
    assert [{k: v for k, v in r.items() if k != "why"} for r in rows] == reference
    assert any(r["differs"] for r in rows)
    for r, m in zip(rows, oa.members):
        assert ("why" in r) == r["differs"]
        if r["differs"]:
            assert r["why"]["method"] in (compare.METHOD, compare.SAMPLED_METHOD)
    dis = organisation.disagreement(oa)
    assert dis == reference_disagreement(oa)
    df = organisation.discuss_first(oa, dis)
    want = {c["variable"]: c for c in reference_discuss_ranking(oa, dis)}
    for c in df["ranking"]:
        ref = want[c["variable"]]
        assert c["impact"] == ref["impact"] and c["below"] == ref["below"]
        assert (c["low"]["member"], c["low"]["credence"], c["low"]["margin"]) == ref["low"]
        assert (c["high"]["member"], c["high"]["credence"], c["high"]["margin"]) == ref["high"]
        assert sorted(itertools.chain(c["below"], c["above"])) == sorted(
            m.profile.name for m in oa.members)
