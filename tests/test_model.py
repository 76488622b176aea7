"""The decision model: exactness, monotonicity, determinism, overrides and calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import beta as beta_dist

from cruxfit.cruxes.library import load_library
from cruxfit.models.analysis import analyse, evaluate
from cruxfit.models.elicitation import build_model, loglik_matrix, observations
from cruxfit.models.exact import posterior_on_grid
from oracles import posterior_sds
from cruxfit.cruxes.profile import parse_profile
from cruxfit.models.values import ValueModel
from oracles import exact_margin

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library()


def profile(answers, name="t", **extra):
    return parse_profile({"name": name, "kind": "individual", "answers": answers, **extra}, LIB)


# ----------------------------------------------------------------- model structure, no sampling


@pytest.mark.heavy
@pytest.mark.parametrize("answers", [
    {},
    {"safety-sabotage": 7},
    {"world-short-timelines": 0.0, "world-alignment-hard": 1.0},
    {s.id: (7 if s.scale == "agree7" else 1.0) for s in LIB.statements},
    {s.id: (1 if s.scale == "agree7" else 0.0) for s in LIB.statements},
])
def test_model_logp_and_gradient_are_finite(answers):
    model = build_model(LIB, observations(LIB, [profile(answers)]))
    point = model.initial_point()
    assert np.isfinite(model.compile_logp()(point))
    assert np.all(np.isfinite(model.compile_dlogp()(point)))


@pytest.mark.heavy
def test_every_data_profile_builds_a_finite_model():
    from cruxfit.cruxes.profile import load_profile

    for path in sorted((ROOT / "data").glob("*.yaml")):
        model = build_model(LIB, observations(LIB, [load_profile(path, LIB)]))
        point = model.initial_point()
        assert np.isfinite(model.compile_logp()(point)), path
        assert np.all(np.isfinite(model.compile_dlogp()(point))), path


@pytest.mark.heavy
def test_numpy_likelihood_matches_pymc_likelihood():
    """The numpy twin (used for exactness and influence) equals PyMC's log-likelihood."""
    prof = profile({"safety-sabotage": 2, "scaling-improves": 6, "fit-timelines-need-ai": 5,
                    "world-short-timelines": 0.8, "world-alignment-hard": 0.1})
    obs = observations(LIB, [prof])
    model = build_model(LIB, obs)
    observed = [model[name] for name in ("agree", "probability")]
    logp = model.compile_logp(vars=observed)
    rng = np.random.default_rng(3)
    for _ in range(5):
        theta = rng.uniform(0.05, 0.95, size=(1, len(LIB.variables)))
        point = {"theta_logodds__": np.log(theta / (1 - theta))}
        ours = loglik_matrix(LIB, obs, theta[None, :, :]).sum()
        assert ours == pytest.approx(float(logp(point)), rel=1e-9, abs=1e-9)


def test_ordered_logistic_in_closed_form_is_a_distribution_and_accurate_in_the_tails():
    """The likelihood uses log P(k) = -softplus(eta - c_k) - softplus(c_{k-1} - eta) + gap_k.
    Its probabilities sum to 1 over the seven categories for any location, agree with the
    textbook difference of logistics where that is accurate, and stay accurate far out where
    the difference cancels to nothing."""
    from scipy.special import expit

    from cruxfit.models.elicitation import ordinal_tables

    cuts, gap = ordinal_tables(LIB.settings.cutpoints)
    K = len(cuts) - 1
    eta = np.linspace(-60, 60, 241)[:, None]
    k = np.arange(K)[None, :]
    logp = -np.logaddexp(0.0, eta - cuts[k + 1]) - np.logaddexp(0.0, cuts[k] - eta) + gap[k]
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-12)
    naive = expit(cuts[k + 1] - eta) - expit(cuts[k] - eta)
    safe = naive > 1e-6
    np.testing.assert_allclose(np.exp(logp[safe]), naive[safe], rtol=1e-8)
    # Far below every cutpoint the top category has probability s(eta - c_last) ~ exp(eta - c):
    # the naive difference 1 - s(c_last - eta) is exactly 0 there, the closed form is not.
    assert naive[0, K - 1] == 0.0
    assert logp[0, K - 1] == pytest.approx(-np.logaddexp(0.0, cuts[K - 1] - eta[0, 0]), rel=1e-12)


def test_unsure_is_missing_not_the_midpoint():
    unsure = profile({"safety-sabotage": "unsure"})
    midpoint = profile({"safety-sabotage": 4})
    none = profile({})
    j = LIB.variable_ids.index("safety")
    x, w_unsure = posterior_on_grid(LIB, unsure)
    _, w_none = posterior_on_grid(LIB, none)
    _, w_mid = posterior_on_grid(LIB, midpoint)
    assert np.allclose(w_unsure, w_none)
    # An answer of 4 is information (it narrows the belief); unsure is not.
    assert posterior_sds(LIB, midpoint)[j] < posterior_sds(LIB, unsure)[j] - 0.01


# ----------------------------------------------------------------- exactness of the sampler


@pytest.mark.slow
def test_sampler_matches_quadrature_on_one_crux():
    """NUTS posterior means agree with grid quadrature within 3 Monte Carlo standard errors."""
    import arviz as az

    prof = profile({"safety-aligned-enough": 6, "safety-sabotage": 3, "safety-narrow-tasks": 5,
                    "world-short-timelines": 0.8})
    a = analyse(LIB, prof, seed=11)
    assert a.converged, a.diagnostics
    x, w = posterior_on_grid(LIB, prof)
    exact = w @ x
    mcse = az.mcse(a.posterior.idata, var_names=["theta"], method="mean")["theta"].values[0]
    for var in ("safety", "short-timelines", "scaling", "coordination"):
        j = LIB.variable_ids.index(var)
        got = a.theta[:, j].mean()
        assert abs(got - exact[j]) < 3 * mcse[j], (var, got, exact[j], mcse[j])
    # The answers really moved safety away from its prior (so the check is not vacuous).
    assert exact[LIB.variable_ids.index("safety")] > LIB.variable("safety").prior.mean + 0.08


def test_unanswered_variable_keeps_its_prior_exactly():
    prof = profile({"safety-sabotage": 1})
    x, w = posterior_on_grid(LIB, prof)
    j = LIB.variable_ids.index("coordination")
    v = LIB.variable("coordination")
    assert w[j] @ x == pytest.approx(v.prior.mean, abs=1e-6)
    dens = beta_dist(v.prior.alpha, v.prior.beta).pdf(x)
    assert np.allclose(w[j], dens / dens.sum(), atol=1e-9)


# ----------------------------------------------------------------- monotonicity (what favours means)


def _exact_margin_general(answers):
    """Exact margin for a profile answering one statement, any number of loadings (<= 2)."""
    prof = profile(answers)
    (sid,) = answers
    loads = LIB.statement(sid).loads
    if len(loads) == 1:
        return exact_margin(LIB, prof)
    # Two loadings: the posterior couples two variables; integrate on a 2-D grid.
    n = 401
    x = (np.arange(n) + 0.5) / n
    idx = [LIB.variable_ids.index(ld.variable) for ld in loads]
    X, Y = np.meshgrid(x, x, indexing="ij")
    V = len(LIB.variables)
    theta = np.tile([v.prior.mean for v in LIB.variables], (n * n, 1))
    theta[:, idx[0]], theta[:, idx[1]] = X.ravel(), Y.ravel()
    obs = observations(LIB, [prof])
    logw = loglik_matrix(LIB, obs, theta[:, None, :]).sum(axis=1)
    for k in idx:
        v = LIB.variables[k]
        logw += beta_dist(v.prior.alpha, v.prior.beta).logpdf(theta[:, k])
    w = np.exp(logw - logw.max())
    w /= w.sum()
    vm = ValueModel(LIB)
    # Values are multilinear, so the posterior mean value is the weighted mean of values.
    vals = vm.values(theta, vm.mean_ratings(len(theta)))
    means = w @ vals
    t = vm.index("ai-assisted")
    return float(means[t] - np.delete(means, t).max())


def exact_values_for(answers):
    from oracles import exact_mean_values

    return exact_mean_values(LIB, profile(answers))


@pytest.mark.heavy
@pytest.mark.parametrize("statement", LIB.statements, ids=lambda s: s.id)
def test_favours_is_borne_out_by_the_model(statement):
    """Raising agreement with a favours=+1 statement never lowers AI-assisted alignment's
    margin over the best alternative; a favours=-1 statement never raises it (exactly)."""
    if statement.scale == "agree7":
        levels = [1, 2, 3, 4, 5, 6, 7]
    else:
        levels = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    margins = np.array([_exact_margin_general({statement.id: v}) for v in levels])
    steps = np.diff(margins) * statement.favours
    # Grid quadrature puts unanswered beliefs at their prior means only to about 1e-7, so
    # ties between approaches with equal ratings wobble at that size.
    assert np.all(steps >= -1e-6), (statement.id, margins)
    ai = LIB.approach("ai-assisted")
    own = {ld.variable for ld in statement.loads} & (set(ai.tilts) | {"alignment-hard"})
    if own:
        # It enters AI-assisted alignment's value: the margin moves at all.
        assert margins[-1] * statement.favours > margins[0] * statement.favours
    else:
        # It moves only other approaches (their own cruxes): it must move some of them.
        vm = ValueModel(LIB)
        lo, hi = (exact_values_for({statement.id: v}) for v in (levels[0], levels[-1]))
        movers = [a.slug for a in LIB.ranked if any(ld.variable in a.tilts for ld in statement.loads)]
        assert movers, statement.id
        assert any(abs(hi[vm.index(s)] - lo[vm.index(s)]) > 0.05 for s in movers), statement.id


@pytest.mark.slow
def test_monotonicity_holds_under_sampling_too():
    """Spot check with MCMC: the extreme answers order the margin beyond Monte Carlo noise."""
    lo = analyse(LIB, profile({"less-bootstrapping-dangerous": 1}), seed=5)
    hi = analyse(LIB, profile({"less-bootstrapping-dangerous": 7}), seed=5)
    m_lo = lo.to_dict()["verdict"]["margin"]
    m_hi = hi.to_dict()["verdict"]["margin"]
    assert m_lo > m_hi + 0.2  # favours -1: agreeing lowers the margin


# ----------------------------------------------------------------- overrides


def _fixed_theta(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.beta(v.prior.alpha, v.prior.beta, n) for v in LIB.variables])


def test_override_moves_numbers_in_the_expected_direction():
    theta = _fixed_theta()
    diag = {"converged": True, "reasons": []}
    base = evaluate(LIB, profile({}), 0, theta, None, diag)
    lowered = evaluate(LIB, profile({}, overrides={
        "governance": {"tractability": "Low", "reason": "policy is slow"}}), 0, theta, None, diag)
    raised = evaluate(LIB, profile({}, overrides={
        "ai-assisted": {"neglectedness": "High", "reason": "strategic risks are unstudied"}}),
        0, theta, None, diag)
    g = base.value_model.index("governance")
    t = base.target
    assert lowered.values[:, g].mean() < base.values[:, g].mean() * 0.85
    assert raised.values[:, t].mean() > base.values[:, t].mean() * 1.2
    rows = {r["slug"]: r for r in lowered.approach_rows()}
    assert rows["governance"]["overridden"] == {
        "tractability": {"from": "Medium", "to": "Low", "reason": "policy is slow"}}
    assert rows["governance"]["ratings"]["tractability"] == "Low"


# ----------------------------------------------------------------- determinism and verdicts


@pytest.mark.slow
def test_same_seed_gives_identical_json(tmp_path):
    from click.testing import CliRunner

    from cruxfit.cli import main

    runner = CliRunner()
    outs = []
    for name in ("a.json", "b.json"):
        res = runner.invoke(main, ["report", str(ROOT / "data/mixed.yaml"), "-f", "json",
                                   "-o", str(tmp_path / name), "--seed", "7", "-q"])
        assert res.exit_code == 0, res.output
        data = json.loads((tmp_path / name).read_text())
        data.pop("timing")
        outs.append(json.dumps(data, sort_keys=True))
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert data["provenance"]["seed"] == 7
    assert {"r_hat_max", "ess_bulk_min", "ess_tail_min", "divergences", "chains", "draws"} <= set(data["diagnostics"])
    assert {"cruxfit_version", "seed", "input_sha256", "library_sha256", "pymc_version"} <= set(data["provenance"])
    for row in data["approaches"]:
        assert {"slug", "name", "mean", "hdi_90", "p_best", "p_top3", "expected_rank"} <= set(row)
        assert row["hdi_90"][0] <= row["mean"] <= row["hdi_90"][1]
    assert sum(r["p_best"] for r in data["approaches"]) == pytest.approx(1.0, abs=1e-3)
    assert sum(r["p_top3"] for r in data["approaches"]) == pytest.approx(3.0, abs=1e-3)


@pytest.mark.slow
def test_different_seed_changes_only_noise():
    a = analyse(LIB, profile({"safety-sabotage": 2}), seed=1).to_dict()
    b = analyse(LIB, profile({"safety-sabotage": 2}), seed=2).to_dict()
    assert a["beliefs"] != b["beliefs"]
    for x, y in zip(a["beliefs"], b["beliefs"]):
        assert x["posterior_mean"] == pytest.approx(y["posterior_mean"], abs=0.02)


# ----------------------------------------------------------------- calibration against the seed


def _persona(answers):
    return analyse(LIB, profile(answers), seed=3).to_dict()


@pytest.mark.slow
def test_calibration_good_fit_beliefs_make_a_strong_or_good_fit():
    good = {b.statement: 7 for b in LIB.seed.good_fit}
    good.update({b.statement: 1 for b in LIB.seed.less_relevant})
    res = _persona(good)
    assert res["verdict"]["label"] in ("strong fit", "good fit")
    ranks = [r["slug"] for r in res["approaches"]]
    assert "ai-assisted" in ranks[:3]
    assert res["verdict"]["p_top3"] >= 0.55


@pytest.mark.slow
def test_calibration_less_relevant_beliefs_make_it_less_relevant():
    bad = {b.statement: 7 for b in LIB.seed.less_relevant}
    bad.update({b.statement: 1 for b in LIB.seed.good_fit})
    res = _persona(bad)
    assert res["verdict"]["label"] == "less relevant"


@pytest.mark.slow
def test_calibration_agent_foundations_persona():
    """Long timelines and hard alignment put agent foundations near the top."""
    res = _persona({"world-short-timelines": 0.05, "world-alignment-hard": 0.95,
                    "world-alignment-ordinary": 1, "world-llm-informative": 2})
    top = [r["slug"] for r in res["approaches"][:3]]
    assert "agent-foundations" in top, top


@pytest.mark.slow
def test_calibration_coordination_optimist_favours_governance():
    res = _persona({"world-coordination": 7, "world-alignment-hard": 0.8})
    top = [r["slug"] for r in res["approaches"][:3]]
    assert "governance" in top or "international" in top, top


@pytest.mark.slow
@pytest.mark.parametrize("name,expected", [
    ("optimistic.yaml", {"strong fit", "good fit"}),
    ("sceptical.yaml", {"less relevant"}),
])
def test_example_profiles_get_sensible_verdicts(name, expected):
    from cruxfit.cruxes.profile import load_profile

    res = analyse(LIB, load_profile(ROOT / "data" / name, LIB), seed=0).to_dict()
    assert res["verdict"]["label"] in expected


# ----------------------------------------------------------------- convergence honesty


@pytest.mark.slow
def test_too_few_draws_is_inconclusive_not_a_verdict():
    a = analyse(LIB, profile({"safety-sabotage": 2}), seed=0, draws=100, tune=100, retry=False)
    d = a.to_dict()
    assert not a.converged
    assert d["verdict"]["label"] == "inconclusive"
    assert d["diagnostics"]["reasons"]
    # the models give codes with their numbers; the report layer words them
    assert {r["code"] for r in d["diagnostics"]["reasons"]} & {"ess-bulk", "ess-tail"}
    from cruxfit.reports.wording import add_wording

    assert any("effective sample size" in r for r in add_wording(d)["diagnostics"]["reasons"])


# ----------------------------------------------------------------- personal fit


def test_personal_fit_factors_follow_the_library_weights():
    from cruxfit.models.values import personal_fit_factors

    item = next(f for f in LIB.fit_items if f.id == "maths-philosophy")
    w = item.weights["agent-foundations"]
    assert personal_fit_factors(LIB, {"maths-philosophy": 7})["agent-foundations"] == pytest.approx(1 + w)
    assert personal_fit_factors(LIB, {"maths-philosophy": 1})["agent-foundations"] == pytest.approx(1 - w)
    assert set(personal_fit_factors(LIB, {"maths-philosophy": 4}).values()) == {1.0}
    assert set(personal_fit_factors(LIB, {}).values()) == {1.0}


def test_personal_fit_multiplies_values_and_is_reported_apart():
    theta = _fixed_theta()
    diag = {"converged": True, "reasons": []}
    plain = evaluate(LIB, profile({}), 0, theta, None, diag)
    mathy = evaluate(LIB, profile({}, fit={"maths-philosophy": 7, "policy": 1}), 0, theta, None, diag)
    af = plain.value_model.index("agent-foundations")
    assert mathy.values[:, af].mean() == pytest.approx(plain.values[:, af].mean() * 1.45)
    rows = {r["slug"]: r for r in mathy.approach_rows()}
    assert rows["agent-foundations"]["personal_fit"] == pytest.approx(1.45)
    assert rows["agent-foundations"]["worldview_mean"] == pytest.approx(
        {r["slug"]: r for r in plain.approach_rows()}["agent-foundations"]["mean"], abs=1e-3)
    assert rows["governance"]["personal_fit"] < 1


@pytest.mark.slow
def test_calibration_agent_foundations_persona_with_maths_skill_ranks_it_first():
    res = analyse(LIB, profile({"world-short-timelines": 0.1, "world-alignment-hard": 0.9},
                               fit={"maths-philosophy": 7}), seed=4).to_dict()
    assert res["approaches"][0]["slug"] == "agent-foundations"


# ----------------------------------------------------------------- how far each answer moved a belief


def test_answer_effects_equal_one_quadrature_per_subset():
    """answer_effects shares one likelihood grid per belief; it must equal the grid posterior
    (posterior_means, on the same 1001 points) run separately on every subset it stands for:
    all answers bearing on the belief, all but one, and each one alone."""
    from cruxfit.models.exact import answer_effects, posterior_means, separable

    def grid_mean(subset: dict, variable: str) -> float:
        return float(posterior_means(LIB, profile(subset), n=1001)[LIB.variable_ids.index(variable)])

    answers = {"safety-aligned-enough": 2, "safety-sabotage": 6, "less-bootstrapping-dangerous": 7,
               "fit-careful-use": 5, "world-short-timelines": 0.3, "fit-timelines-need-ai": 6}
    on_safety = {k: v for k, v in answers.items()
                 if any(ld.variable == "safety" for ld in LIB.statement(k).loads)}
    assert len(on_safety) >= 3
    with_all, without, alone = answer_effects(LIB, answers, "safety")
    assert with_all == pytest.approx(grid_mean(on_safety, "safety"), abs=1e-12)
    assert sorted(without) == sorted(alone) == sorted(on_safety)
    for sid in on_safety:
        rest = {k: v for k, v in on_safety.items() if k != sid}
        assert without[sid] == pytest.approx(grid_mean(rest, "safety"), abs=1e-12)
        assert alone[sid] == pytest.approx(grid_mean({sid: answers[sid]}, "safety"), abs=1e-12)
    # A two-variable statement bears on short-timelines: no 1-D posterior.
    on_timelines = {k: v for k, v in answers.items()
                    if any(ld.variable == "short-timelines" for ld in LIB.statement(k).loads)}
    assert not separable(LIB, profile(on_timelines))
    with_all, without, alone = answer_effects(LIB, answers, "short-timelines")
    assert with_all is None and without == {} and "world-short-timelines" in alone
    assert alone["world-short-timelines"] == pytest.approx(
        grid_mean({"world-short-timelines": 0.3}, "short-timelines"), abs=1e-12)
    # No answers at all: the prior mean.
    with_all, without, alone = answer_effects(LIB, {}, "safety")
    assert with_all == pytest.approx(LIB.variables[LIB.variable_ids.index("safety")].prior.mean, abs=1e-3)


def test_answer_influence_is_exact_leave_one_out_where_separable():
    from cruxfit.models.exact import posterior_means

    answers = {"safety-aligned-enough": 2, "safety-sabotage": 6, "less-bootstrapping-dangerous": 7,
               "fit-careful-use": 5, "world-short-timelines": 0.3, "fit-timelines-need-ai": 6}
    prof = profile(answers)
    theta = _fixed_theta()
    a = evaluate(LIB, prof, 0, theta, None, {"converged": True, "reasons": []})
    rows = {r["id"]: r for r in a.answer_rows()}
    separable = {k: v for k, v in answers.items() if k != "fit-timelines-need-ai"}
    full = posterior_means(LIB, profile(separable))
    j = LIB.variable_ids.index("safety")
    for sid in ("safety-aligned-enough", "less-bootstrapping-dangerous", "fit-careful-use"):
        rest = profile({k: v for k, v in separable.items() if k != sid})
        assert rows[sid]["method"] == "exact"
        assert rows[sid]["moved"]["safety"] == pytest.approx(full[j] - posterior_means(LIB, rest)[j], abs=1e-4)
    # Agreeing that bootstrapping is dangerous pulls the safety credence down, on its own too.
    assert rows["less-bootstrapping-dangerous"]["alone"]["safety"] < -0.1
    assert rows["fit-careful-use"]["alone"]["safety"] > 0.03  # "somewhat agree": a modest pull up
    # short-timelines is also touched by a two-variable statement: no exact 1-D answer, so PSIS.
    assert rows["world-short-timelines"]["method"] == "psis-loo"
