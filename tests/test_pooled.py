"""The organisation model with members integrated out (models/pooled.py), against brute force.

No sampling here: the integrated likelihood is compared with numerical integration on fine
grids, and the members' rejection draws with their exact conditional posterior.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.profile import Profile
from cruxfit.models import pooled
from cruxfit.models.elicitation import observations

LIB = load_library()


def _members(n: int, seed: int = 3) -> list[Profile]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lean = rng.normal(0.5, 1.0)
        answers = {}
        for st in LIB.statements:
            if rng.random() < 0.15:
                continue  # some blanks: blocks of different sizes, and members without a block
            if st.scale == "agree7":
                answers[st.id] = int(np.clip(np.rint(4 + st.favours * lean + rng.normal(0, 1.2)), 1, 7))
            else:
                answers[st.id] = round(float(np.clip(rng.beta(3, 3), 0.02, 0.98)), 2)
        out.append(Profile(name=f"M{i}", kind="individual", answers=answers))
    # Two members at the extremes of every agree7 statement: their likelihood is flat far
    # out on one side (a tangent taken too far from the mode once made drawing them hang).
    for camp in (0, 1):
        answers = {st.id: ((7 if camp else 1) if st.loads[0].sign > 0 else (1 if camp else 7))
                   for st in LIB.statements if st.scale == "agree7"}
        out.append(Profile(name=f"Camp{camp}", kind="individual", answers=answers))
    return out


@pytest.fixture(scope="module")
def small():
    obs = observations(LIB, _members(12))
    return obs, pooled.tables(LIB, obs)


def _normal(x, mu, tau):
    return np.exp(-0.5 * ((x - mu) / tau) ** 2) / (tau * np.sqrt(2 * np.pi))


def _brute(tabs: pooled.Tables, mu, tau) -> float:
    """The same integrals on fine grids, block by block, with the exact answer terms."""
    total = 0.0
    xs = np.linspace(-25, 25, 25001)
    for b in tabs.one:
        w = _normal(xs, mu[b.var], tau[b.var])
        for row, ans in enumerate(b.answers):
            ll = ans.loglik(xs[:, None])
            # the tables divide each row by its largest value on the grid: do the same
            top = ans.loglik(tabs.grid[:, None]).max()
            total += b.count[row] * np.log(np.trapezoid(np.exp(ll - top) * w, xs))
    x1 = np.linspace(-14, 14, 1401)
    for b in tabs.two:
        v1, v2 = b.vars
        X = np.stack(np.meshgrid(x1, x1, indexing="ij"), axis=-1)
        w = _normal(x1, mu[v1], tau[v1])[:, None] * _normal(x1, mu[v2], tau[v2])[None, :]
        for row, ans in enumerate(b.answers):
            a_i, b_i, _ = b.rows[row]
            # the same normalisation as the tables (each part divided by its grid maximum)
            scale = (np.log(b.a_table[a_i].max()) + np.log(b.b_table[b_i].max()))
            parts = [pooled._restrict(ans, 0), pooled._restrict(ans, 1), pooled._coupled(ans)]
            tops = [p.loglik(tabs.grid2[:, None]).max() if len(p.ordinal) else 0.0 for p in parts[:2]]
            G = np.stack(np.meshgrid(tabs.grid2, tabs.grid2, indexing="ij"), axis=-1)
            ctop = parts[2].loglik(G).max() if len(parts[2].ordinal) else 0.0
            ll = ans.loglik(X) - sum(tops) - ctop + scale
            total += b.count[row] * np.log(np.trapezoid(np.trapezoid(np.exp(ll) * w, x1, axis=1), x1))
    return float(total)


def test_the_bundled_library_has_one_coupled_pair():
    comps = pooled.components(LIB)
    assert sorted(len(c) for c in comps) == [1] * 12 + [2]
    pair = next(c for c in comps if len(c) == 2)
    assert {LIB.variable_ids[i] for i in pair} == {"short-timelines", "ai-help-needed"}
    assert pooled.supported(LIB)


@pytest.mark.parametrize("mu,tau", [(0.3, 1.0), (1.1, 0.3), (-3.0, 2.5), (0.0, 0.1)])
def test_hat_weights_integrate_smooth_functions(mu, tau):
    grid = np.linspace(-pooled.GRID_HALF, pooled.GRID_HALF, pooled.GRID_POINTS)
    w = pooled.hat_weights(mu, tau, grid, np)
    assert abs(w.sum() - 1) < 1e-12
    xs = np.linspace(-30, 30, 600001)

    def f(x):
        return np.exp(-(x - 1) ** 2 / (2 * 0.3 ** 2)) + 0.2 / (1 + np.exp(-3 * x))

    exact = np.trapezoid(f(xs) * _normal(xs, mu, tau), xs)
    # error of order (h^2/6)^2 / tau^2 relative for wide normals; interpolation's for narrow
    assert abs(w @ f(grid) / exact - 1) < (1e-5 if tau >= 0.3 else 5e-4)


@pytest.mark.slow  # no sampling, but seconds of brute-force integration
def test_integrated_likelihood_matches_brute_force(small):
    _, tabs = small
    rng = np.random.default_rng(5)
    V = len(LIB.variables)
    base = logit(np.array([v.prior.mean for v in LIB.variables]))
    points = [(base + rng.normal(0, 0.5, V), np.abs(rng.normal(0.8, 0.4, V)) + 0.2) for _ in range(4)]
    ours = [pooled.loglik(mu, tau, tabs, np) for mu, tau in points]
    brute = [_brute(tabs, mu, tau) for mu, tau in points]
    # Compared as differences between points: what the posterior depends on. 14 members; the
    # two at the extremes carry most of the error (their likelihood still rises beyond the
    # grid's ends, where the tables hold it constant): 3e-4 here, 3e-5 without them.
    for i in range(1, len(points)):
        assert abs((ours[i] - ours[0]) - (brute[i] - brute[0])) < 1e-3, (ours, brute)
    # A wrong weight (the integral against a normal twice as wide) is far off.
    wide = pooled.loglik(points[1][0], 2 * points[1][1], tabs, np) - ours[0]
    assert abs(wide - (brute[1] - brute[0])) > 1.0


def test_the_low_rank_basis_is_accurate(small):
    _, tabs = small
    (two,) = tabs.two
    assert two.basis_error < 1e-9
    assert two.U.shape[1] < pooled.GRID2_POINTS // 2  # low rank, or the point is lost


@pytest.mark.slow  # no sampling, but seconds of brute-force integration
def test_rejection_bound_is_an_upper_bound_and_tight(small):
    _, tabs = small
    xs = np.linspace(-60, 60, 240001)
    for b in tabs.one:
        for row, ans in enumerate(b.answers):
            dense = ans.loglik(xs[:, None]).max()
            assert b.sup[row] >= dense
            assert b.sup[row] - dense < 1e-5


@pytest.mark.slow  # no sampling, but seconds of brute-force integration
def test_member_draws_follow_their_exact_conditional(small):
    """For fixed (mu, tau), a member's draws have the conditional's mean and spread."""
    _, tabs = small
    V = len(LIB.variables)
    D = 20000
    mu = np.tile(np.linspace(-0.5, 0.5, V), (D, 1))
    tau = np.tile(np.linspace(0.4, 3.0, V), (D, 1))
    x = pooled.draw_members(mu, tau, tabs, np.random.default_rng(11))
    assert x.shape == (D, tabs.n_respondents, V)
    xs = np.linspace(-20, 20, 40001)
    checked = 0
    for b in tabs.one:
        for r in range(tabs.n_respondents):
            row = b.row_of[r]
            dens = _normal(xs, mu[0, b.var], tau[0, b.var])
            if row >= 0:
                dens = dens * np.exp(b.answers[row].loglik(xs[:, None]) - b.sup[row])
            dens /= np.trapezoid(dens, xs)
            m = np.trapezoid(xs * dens, xs)
            sd = np.sqrt(np.trapezoid((xs - m) ** 2 * dens, xs))
            got = x[:, r, b.var]
            assert abs(got.mean() - m) < 5 * sd / np.sqrt(D)
            assert abs(got.std() / sd - 1) < 5 * np.sqrt(2 / D) + 1e-3
            checked += 1
    assert checked == 12 * tabs.n_respondents
    # Coupled pair: the joint conditional's means, by 2-D integration.
    (two,) = tabs.two
    v1, v2 = two.vars
    g = np.linspace(-12, 12, 961)
    X = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1)
    for r in range(tabs.n_respondents):
        row = two.row_of[r]
        dens = _normal(g, mu[0, v1], tau[0, v1])[:, None] * _normal(g, mu[0, v2], tau[0, v2])[None, :]
        if row >= 0:
            dens = dens * np.exp(two.answers[row].loglik(X) - two.sup[row])
        dens /= dens.sum()
        m1, m2 = (dens.sum(axis=1) * g).sum(), (dens.sum(axis=0) * g).sum()
        s1 = np.sqrt((dens.sum(axis=1) * (g - m1) ** 2).sum())
        assert abs(x[:, r, v1].mean() - m1) < 5 * s1 / np.sqrt(D) + 1e-3
        assert abs(x[:, r, v2].mean() - m2) < 5 * s1 / np.sqrt(D) + 2e-3


def test_the_same_seed_gives_the_same_members(small):
    _, tabs = small
    V = len(LIB.variables)
    mu, tau = np.zeros((50, V)), np.full((50, V), 0.7)
    a = pooled.draw_members(mu, tau, tabs, np.random.default_rng(1))
    b = pooled.draw_members(mu, tau, tabs, np.random.default_rng(1))
    assert np.array_equal(a, b)


def _mcse_check(a: np.ndarray, b: np.ndarray, k: float = 4.5) -> list[str]:
    """Parameters (last axis) whose posterior means differ by more than k combined Monte
    Carlo standard errors (each from its own run's bulk ESS)."""
    from cruxfit.models.diagnostics import summarise

    out = []
    ma, mb = a.mean(axis=(0, 1)), b.mean(axis=(0, 1))
    _, ess_a, _ = summarise(a)
    _, ess_b, _ = summarise(b)
    se = np.sqrt(a.var(axis=(0, 1)) / ess_a + b.var(axis=(0, 1)) / ess_b)
    for j in np.flatnonzero(np.abs(ma - mb) > k * se + 1e-3):
        out.append(f"{j}: {ma[j]:.3f} vs {mb[j]:.3f} (se {se[j]:.3f})")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("n", [10, 50])
def test_integrated_and_explicit_models_agree(n):
    """The same posterior for mu, tau and the members' credences, within Monte Carlo error.

    The explicit model is the reference: it gets twice the draws, and its R-hat need only be
    under 1.02 (its funnel between tau and the members' offsets makes the library's 1.01 a
    coin toss at 2 x 1000 draws); the integrated model must meet the library's bar as run.
    """
    from cruxfit.models.inference import sample

    members = _members(n, seed=7)
    explicit = sample(LIB, members, 4, hierarchical=True, org_model="explicit", cores=2,
                      draws=2000, tune=1000, target_accept=0.95, retry=False)
    integrated = sample(LIB, members, 4, hierarchical=True, org_model="integrated", cores=2,
                        retry=False)
    assert explicit.diagnostics.r_hat_max < 1.02, explicit.diagnostics.to_dict()
    assert integrated.diagnostics.converged, integrated.diagnostics.to_dict()
    assert integrated.diagnostics.model == "integrated"
    e, i = explicit.idata.posterior, integrated.idata.posterior
    problems = _mcse_check(e["mu"].values, i["mu"].values) + _mcse_check(e["tau"].values, i["tau"].values)
    V = len(LIB.variables)
    th_e = explicit.theta.reshape(2, -1, n * V)
    th_i = integrated.theta.reshape(2, -1, n * V)
    problems += _mcse_check(th_e, th_i)
    assert not problems, problems
