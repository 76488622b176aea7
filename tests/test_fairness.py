"""Issue 13: a fair comparison and an honest verdict. Nothing here samples.

* every ranked approach is moved by its own page's cruxes, within one documented band;
* every approach that can rank first does so for some belief profile;
* the verdict follows the ranking by expected value, never spread alone;
* too few answers is a verdict of its own; data-quality flags;
* several answers on one belief are tempered (item_correlation), so they cannot make a
  crux more certain than about 1 / rho independent answers could.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cruxfit.cruxes.library import load_library
from cruxfit.models.analysis import evaluate
from cruxfit.models.decision import data_quality, deciding_beliefs, evidence_status, verdict_for
from oracles import posterior_sds
from cruxfit.cruxes.profile import parse_profile
from cruxfit.models.values import ValueModel

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library()


def _study():
    spec = importlib.util.spec_from_file_location("study", ROOT / "benchmarks" / "study_values.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def profile(answers, name="t"):
    return parse_profile({"name": name, "kind": "individual", "answers": answers}, LIB)


def test_every_ranked_approach_has_its_own_cruxes():
    for a in LIB.ranked:
        assert a.cruxes, a.slug
        assert {c.variable for c in a.cruxes} <= set(LIB.variable_ids)
        # each crux topic is one of the page's own (crux_topics), possibly two merged with ";"
        for c in a.cruxes:
            assert all(part.strip() in a.crux_topics for part in c.topic.split(";")), (a.slug, c.topic)


def test_value_band_is_the_same_rule_for_every_approach():
    """Over all extreme beliefs, every approach stays within the documented band, and only an
    approach with a stated harm can fall below zero. The corners are enumerated here by the
    value model itself, independently of the library's closed-form check."""
    rows = _study().study(LIB)
    gain = LIB.settings.bands.max_gain
    for r in rows:
        assert r["max_ratio"] <= gain + 1e-9, r
        assert r["max_ratio"] == pytest.approx(r["band_gain"], rel=1e-9)
        assert r["min_ratio"] == pytest.approx(r["band_low"], rel=1e-9, abs=1e-12)
        if r["harm"]:
            assert r["min_ratio"] < 0, r
        else:
            assert r["min_ratio"] > 0, r
        # No approach is nearly fixed: beliefs move every one of them at least 2.5-fold up.
        assert r["max_ratio"] >= 2.5, r
    widest = max(r["max_ratio"] for r in rows)
    narrowest = min(r["max_ratio"] for r in rows)
    assert widest / narrowest < 3.0  # comparable, not one approach alone that beliefs make great


def test_every_approach_that_can_rank_first_does_for_some_beliefs():
    rows = {r["slug"]: r for r in _study().study(LIB)}
    cannot = {s for s, r in rows.items() if not r["can_rank_first"]}
    # International coordination shares governance's cruxes (coordination, policy keeping
    # pace) and has weakly lower ratings on every cell, so governance is ahead of it in
    # every world; nothing else is kept from first place.
    assert cannot == {"international"}
    vm = ValueModel(LIB)
    z = _study().corners(len(LIB.variables))
    vals = vm.values(z, vm.mean_ratings(len(z)))
    assert np.all(vals[:, vm.index("governance")] > vals[:, vm.index("international")])
    for slug, r in rows.items():
        if r["can_rank_first"]:
            theta = np.array([[1.0 if r["profile"][v] else 0.0 for v in vm.var_ids]])
            v = vm.values(theta, vm.mean_ratings(1))[0]
            assert int(np.argmax(v)) == vm.index(slug)


def test_verdict_never_rests_on_spread_alone():
    """A target with the widest interval ranks first most often yet has a middling mean:
    the verdict follows its place by expected value, not its chance of ranking first."""
    rng = np.random.default_rng(1)
    n, A, t = 4000, 6, 0
    values = rng.normal(1.0, 0.05, (n, A))
    values[:, 1:4] += np.array([0.3, 0.25, 0.2])       # three steady approaches ahead on average
    values[:, t] = rng.normal(1.1, 2.0, n)              # wide spread, mean fourth
    from cruxfit.models.decision import ev_rank, rank_summary

    s = rank_summary(values)
    assert int(np.argmax(s["p_best"])) == t              # spread wins "chance of being first"
    rank = ev_rank(s["mean"], t)
    assert rank == 4
    rule = verdict_for(LIB.settings.verdicts, rank, s["p_best"][t], s["p_top3"][t])
    assert rule.label not in ("strong fit", "good fit")


def _prior_theta(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.beta(v.prior.alpha, v.prior.beta, n) for v in LIB.variables])


def test_no_answers_is_not_a_verdict():
    a = evaluate(LIB, profile({}), 0, _prior_theta(), None, {"converged": True, "reasons": []})
    verdict, _ = a.verdict()
    assert verdict["label"] == "not enough answers" and verdict["status"] == "not-enough-answers"
    assert verdict["evidence"]["missing"] == [c.id for c in LIB.seed.cruxes]
    # The rule the prior alone would meet is kept for the record, not shown as the verdict.
    assert verdict["model_label"] in {r.label for r in LIB.settings.verdicts}
    assert data_quality(LIB, {})["flags"] == ["blank"]


@pytest.mark.parametrize("answers,enough", [
    ({"safety-sabotage": 2, "scaling-improves": 5, "understanding-humans-lead": 5}, False),
    ({"safety-sabotage": 2, "safety-aligned-enough": 5, "scaling-improves": 5,
      "understanding-humans-lead": 5}, True),
    ({"safety-sabotage": 2, "safety-aligned-enough": 5, "fit-careful-use": 5,
      "scaling-improves": 5}, False),  # nothing on understanding
])
def test_evidence_minimum(answers, enough):
    ev = evidence_status(LIB, answers)
    assert ev["enough"] is enough
    assert ("sparse" in data_quality(LIB, answers)["flags"]) is (not enough)


def test_straight_lined_and_contradictory_flags():
    agree = [s.id for s in LIB.statements if s.scale == "agree7"]
    assert "straight-lined" in data_quality(LIB, {sid: 5 for sid in agree})["flags"]
    assert "straight-lined" not in data_quality(LIB, {sid: 5 for sid in agree[:4]})["flags"]
    both = {"safety-aligned-enough": 7, "safety-sabotage": 6}
    q = data_quality(LIB, both)
    assert "contradictory" in q["flags"]
    assert q["contradictions"] == [{"crux": "safety", "for": "safety-aligned-enough",
                                    "against": "safety-sabotage"}]
    assert "contradictory" not in data_quality(LIB, {"safety-aligned-enough": 7,
                                                     "safety-sabotage": 2})["flags"]


SAFETY_STATEMENTS = [s for s in LIB.statements if s.variable == "safety" and len(s.loads) == 1]


def _agreeing(k):
    """k safety statements answered in the same direction (pro-safety), strongly."""
    return {s.id: (6 if s.loads[0].sign > 0 else 2) for s in SAFETY_STATEMENTS[:k]}


def test_posterior_sd_of_a_crux_shrinks_with_its_statements_but_not_below_its_design():
    j = LIB.variable_ids.index("safety")
    rho = LIB.settings.item_correlation
    assert 0 < rho < 1 and len(SAFETY_STATEMENTS) >= 6
    sds = [posterior_sds(LIB, profile(_agreeing(k)))[j] for k in range(7)]
    untempered = LIB.__class__(**{**LIB.__dict__, "settings": LIB.settings.__class__(
        **{**LIB.settings.__dict__, "item_correlation": 0.0})})
    raw = [posterior_sds(untempered, profile(_agreeing(k)))[j] for k in range(7)]
    print("k  sd(tempered)  sd(independent)")
    for k in range(7):
        print(k, round(sds[k], 4), round(raw[k], 4))
    assert all(a > b for a, b in zip(sds, sds[1:]))            # more statements: more certain
    assert sds[1] == pytest.approx(raw[1], rel=1e-12)            # a lone answer keeps full weight
    assert all(t > r for t, r in zip(sds[2:], raw[2:]))        # repeats count for less
    # Six answers carry 6 / (1 + 5 rho) = 2.4 answers' information (rho 0.3): less than the
    # three independent ones...
    assert sds[6] > raw[3]
    # ...and the tempered sequence flattens: the last answer adds far less than the first.
    assert (sds[5] - sds[6]) < 0.25 * (sds[0] - sds[1])


def test_deciding_beliefs_agree_with_the_switching_table():
    import json

    result = json.loads((ROOT / "tests" / "golden" / "example_result.json").read_text())
    deciding_beliefs(result)
    v = result["verdict"]
    hdis = {b["id"]: b["hdi_90"] for b in result["beliefs"]}
    rows = {r["variable"]: r for r in result["switching_values"]}
    for var in v["deciding"]:
        sw = rows[var]["verdict_switch"]
        lo, hi = hdis[var]
        assert any(s and lo <= s["credence"] <= hi for s in (sw["below"], sw["above"]))
    # The tornado and the switching table list in-range beliefs first, then by swing.
    flags = [r["in_range"] for r in result["tornado"]]
    assert flags == sorted(flags, reverse=True)
    assert [r["variable"] for r in result["tornado"]][:len(v["deciding"])] == v["deciding"]
    assert v["settled"] == (not any(flags))


@pytest.mark.parametrize("slug,answers", [
    ("interpretability", {"world-alignment-hard": 0.9, "world-deceptive": 7,
                          "world-oversight-scales": 6, "world-feedback-gamed": 3,
                          "world-short-timelines": 0.2}),
    ("lab-culture", {"world-lab-insiders": 7, "world-lab-pressure": 1, "world-coordination": 6}),
    ("multi-agent", {"world-many-ais": 7, "world-one-leader": 1, "world-coordination": 6,
                     "world-alignment-hard": 0.8}),
    ("rlhf", {"world-alignment-hard": 0.1, "world-alignment-ordinary": 7, "world-deceptive": 1,
              "world-llm-informative": 7, "world-oversight-scales": 7}),
    ("agent-foundations", {"world-alignment-hard": 0.95, "world-short-timelines": 0.05,
                           "world-theory-transfers": 7, "world-theory-idealised": 1,
                           "world-llm-informative": 2}),
])
def test_personas_who_hold_an_approachs_own_cruxes_put_it_first(slug, answers):
    """Calibration beyond the seed (exact posterior means, no sampling): someone who holds
    the favourable side of an approach's own cruxes ranks it first by expected value."""
    from oracles import exact_mean_values

    vm = ValueModel(LIB)
    means = exact_mean_values(LIB, profile(answers), vm)
    assert vm.slugs[int(np.argmax(means))] == slug, dict(zip(vm.slugs, np.round(means, 2)))
