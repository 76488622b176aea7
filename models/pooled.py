"""Organisations with the members integrated out (issue 18: organisations of thousands).

The organisation model (:func:`cruxfit.models.elicitation.build_org_model`) gives member
``r`` log-odds ``x[r, v] ~ Normal(mu[v], tau[v])`` and samples every informed ``x`` with NUTS:
thousands of parameters for a large organisation, and the funnel between ``tau`` and the
members' offsets that makes NUTS take small steps. Members are independent given
``(mu, tau)``, so here each member's credences are integrated out of the likelihood and NUTS
sees only ``mu`` and ``tau`` (two numbers per belief); the members are drawn afterwards, for
every posterior draw of ``(mu, tau)``, exactly from their conditional posterior.

Blocks
    Variables linked by a statement that loads on several of them form a *component*; a
    member's answers on a component form a *block*, and blocks are independent given
    ``(mu, tau)``. Components of one or two variables are supported (the bundled library has
    thirteen of one and one of two); :func:`supported` says whether a library qualifies.

One variable
    A block's likelihood ``L(x)`` (a product of the same answer terms as
    :func:`cruxfit.models.elicitation.loglik_matrix`) is tabulated once on a grid of log-odds
    ``x_0 < ... < x_{G-1}`` (spacing ``h``) and read between grid points by linear
    interpolation, extended as a constant beyond the ends. Its integral against
    ``Normal(mu, tau)`` is then exact: ``sum_g L(x_g) W_g(mu, tau)`` with ``W_g`` the normal's
    mass under the hat function of point ``g`` (closed form in ``erfc`` and the normal
    density, :func:`hat_weights`). For ``tau`` wider than the spacing this is the trapezoid
    rule on a smooth integrand (error of order ``exp(-2 pi^2 tau^2 / h^2)``); for ``tau``
    below it the error is the interpolation's, at most ``h^2 / 8`` times the curvature of
    ``L``. Members with the same answers on a block share a row.

Two variables
    ``L(x1, x2) = A(x1) B(x2) C(x1, x2)``: ``A`` and ``B`` hold the answers on one variable
    only, ``C`` those loading on both. ``C`` is tabulated on the product grid once per
    distinct set of coupled answers, and all of them are written in one low-rank basis
    (``C_k ~ U S_k V'``, truncated SVD, checked to 1e-10 of the largest entry), so the
    integral is ``(A W1)' U S_k V' (B W2)``: a few vectors of rank length per member.

Members afterwards
    For each draw of ``(mu, tau)`` a member's block is drawn by rejection from a normal
    bounded by the tangent of the concave ``log L`` at (near) the mode of the member's
    conditional (:func:`_reject`), with ``L`` computed exactly from the answers (not from
    the grid). The accepted draws are exact draws from the member's conditional posterior
    given that draw of ``(mu, tau)``; with the organisation's draws from NUTS they are draws
    from the joint posterior.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logit

from cruxfit.cruxes.library import Library
from cruxfit.models.elicitation import Observations, ordinal_terms

#: The grid of log-odds on which one-variable likelihoods are tabulated.
GRID_HALF = 12.0
GRID_POINTS = 481  # spacing 0.05
#: The two-variable grid (its product has GRID2_POINTS ** 2 points per coupled pattern).
GRID2_POINTS = 241  # spacing 0.1
#: Relative size of the singular values kept in the two-variable basis.
SVD_TOL = 1e-12
#: How far beyond the grid the exact likelihood is taken to have reached its limit.
FAR = 60.0


def components(library: Library) -> list[list[int]]:
    """Groups of variables linked by statements that load on several of them."""
    index = {v: i for i, v in enumerate(library.variable_ids)}
    parent = list(range(len(index)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for s in library.statements:
        ids = [index[ld.variable] for ld in s.loads]
        for j in ids[1:]:
            parent[find(j)] = find(ids[0])
    groups: dict[int, list[int]] = {}
    for i in range(len(index)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def supported(library: Library) -> bool:
    """Whether every component has one or two variables (what this model integrates)."""
    return all(len(c) <= 2 for c in components(library))


# ----------------------------------------------------------------------------- likelihood


@dataclass
class Answers:
    """Some answers as arrays: loads (n, V), and the terms of their log-likelihood."""

    load: np.ndarray
    ordinal: np.ndarray
    eta_scale: np.ndarray  # discrimination * precision (ordinal)
    lo: np.ndarray
    hi: np.ndarray
    gap: np.ndarray
    y: np.ndarray  # log-odds answer (probability)
    sd: np.ndarray  # its standard deviation (probability)

    def loglik(self, x: np.ndarray) -> np.ndarray:
        """Sum of the answers' log-likelihoods at log-odds ``x`` (..., V): shape (...)."""
        score = x @ self.load.T  # (..., n)
        out = np.zeros(score.shape[:-1])
        o = self.ordinal
        if o.any():
            eta = self.eta_scale[o] * score[..., o]
            out += (-np.logaddexp(0.0, eta - self.hi[o]) - np.logaddexp(0.0, self.lo[o] - eta)
                    + self.gap[o]).sum(axis=-1)
        if (~o).any():
            z = (self.y[~o] - score[..., ~o]) / self.sd[~o]
            out += (-0.5 * z ** 2 - np.log(self.sd[~o] * np.sqrt(2 * np.pi))).sum(axis=-1)
        return out


def answers_of(settings, obs: Observations, rows: np.ndarray, cols: list[int]) -> Answers:
    """The answers ``rows`` of ``obs`` with their loads restricted to variables ``cols``."""
    rows = np.asarray(rows, dtype=int)
    prec = obs.precisions()[rows]
    ordinal = obs.ordinal[rows]
    n = len(rows)
    lo, hi, gap = np.zeros(n), np.zeros(n), np.zeros(n)
    if ordinal.any():
        k = obs.value[rows][ordinal].astype("int64")
        lo[ordinal], hi[ordinal], gap[ordinal] = ordinal_terms(settings.cutpoints, k, prec[ordinal])
    y = np.zeros(n)
    if (~ordinal).any():
        y[~ordinal] = logit(obs.value[rows][~ordinal])
    return Answers(load=obs.load[rows][:, cols], ordinal=ordinal,
                   eta_scale=settings.discrimination * prec, lo=lo, hi=hi, gap=gap, y=y,
                   sd=settings.sd_logit / prec)


def _sup_one(ans: Answers) -> float:
    """An upper bound on ``sup_x log L(x)`` for a one-variable block, tight to ~1e-7.

    ``log L`` is concave, so its maximum lies within one coarse step of the best point of a
    coarse grid; a fine grid around that point leaves a gap of at most ``k step^2 / 8``, with
    ``k`` a bound on ``|d^2 log L / dx^2|`` (each ordinal answer's two logistic terms curve
    by at most (s w)^2 / 4 each, a probability answer's by w^2 / sd^2). Beyond ``FAR`` every
    term has reached its limit to far below that gap.
    """
    coarse = np.linspace(-FAR, FAR, 481)  # step 0.25
    best = coarse[int(np.argmax(ans.loglik(coarse[:, None])))]
    fine = np.linspace(best - 0.25, best + 0.25, 201)  # step 0.0025
    w = ans.load[:, 0]
    o = ans.ordinal
    k = float(np.sum((ans.eta_scale[o] * w[o]) ** 2) / 2 + np.sum((w[~o] / ans.sd[~o]) ** 2))
    return float(ans.loglik(fine[:, None]).max()) + k * 0.0025 ** 2 / 8


def _sup_terms(ans: Answers) -> float:
    """An upper bound on ``sup log L`` as the sum of each answer's own supremum: an ordinal
    category's probability is largest midway between its cutpoints (1 for the end
    categories), a probability answer's density at its centre."""
    o = ans.ordinal
    mid = np.where(np.isfinite(ans.lo + ans.hi), (ans.lo + ans.hi) / 2, 0.0)
    end = (np.abs(ans.lo) > 100) | (np.abs(ans.hi) > 100)
    top = np.where(end, 0.0, -np.logaddexp(0.0, mid - ans.hi) - np.logaddexp(0.0, ans.lo - mid) + ans.gap)
    return float(np.sum(top[o]) + np.sum(-np.log(ans.sd[~o] * np.sqrt(2 * np.pi))))


@dataclass
class OneBlock:
    """One variable: distinct likelihood rows on the grid and who has which."""

    var: int
    table: np.ndarray  # (U, G) likelihood, each row divided by its largest value
    count: np.ndarray  # (U,) members with that row
    row_of: np.ndarray  # (R,) row of each member, -1 if the member has no answer here
    answers: list  # (U,) Answers of each row
    sup: np.ndarray  # (U,) sup of log L (exact answers), for drawing members


@dataclass
class TwoBlock:
    """Two coupled variables, in the low-rank form described in the module docstring."""

    vars: tuple[int, int]
    a_table: np.ndarray  # (nA, G2) answers on the first variable only
    b_table: np.ndarray  # (nB, G2) on the second only
    U: np.ndarray  # (G2, R1)
    V: np.ndarray  # (G2, R2)
    S: np.ndarray  # (nC, R1, R2)
    rows: np.ndarray  # (U, 3) indices into a, b, S per distinct block
    count: np.ndarray
    row_of: np.ndarray
    answers: list
    sup: np.ndarray
    basis_error: float  # largest |C_k - U S_k V'| over the largest |C_k|


@dataclass
class Tables:
    grid: np.ndarray
    grid2: np.ndarray
    one: list[OneBlock] = field(default_factory=list)
    two: list[TwoBlock] = field(default_factory=list)
    n_respondents: int = 0
    n_variables: int = 0


def _subset(ans: Answers, sel: np.ndarray, cols) -> Answers:
    return Answers(load=ans.load[sel][:, cols], ordinal=ans.ordinal[sel], eta_scale=ans.eta_scale[sel],
                   lo=ans.lo[sel], hi=ans.hi[sel], gap=ans.gap[sel], y=ans.y[sel], sd=ans.sd[sel])


def _restrict(ans: Answers, j: int) -> Answers:
    """The answers that load on variable ``j`` of the block only."""
    on = ans.load != 0
    return _subset(ans, on[:, j] & (on.sum(axis=1) == 1), [j])


def _coupled(ans: Answers) -> Answers:
    on = ans.load != 0
    return _subset(ans, on.sum(axis=1) > 1, list(range(ans.load.shape[1])))


def _member_rows(obs: Observations, comp: list[int]) -> dict[int, np.ndarray]:
    """Per member, the indices of their answers whose statements load inside ``comp``."""
    inside = (obs.load[:, comp] != 0).any(axis=1)
    out: dict[int, list[int]] = {}
    for i in np.flatnonzero(inside):
        out.setdefault(int(obs.respondent[i]), []).append(int(i))
    return {r: np.array(v) for r, v in out.items()}


def _key(obs: Observations, rows: np.ndarray) -> tuple:
    prec = obs.precisions()
    return tuple(sorted((obs.statement[i], float(obs.value[i]), float(prec[i])) for i in rows))


def _normalised(logl: np.ndarray) -> np.ndarray:
    return np.exp(logl - logl.max(axis=-1, keepdims=True))


def tables(library: Library, obs: Observations) -> Tables:
    """Everything the integrated likelihood needs, computed once from the answers."""
    settings = library.settings
    grid = np.linspace(-GRID_HALF, GRID_HALF, GRID_POINTS)
    grid2 = np.linspace(-GRID_HALF, GRID_HALF, GRID2_POINTS)
    R, V = obs.n_respondents, obs.load.shape[1]
    out = Tables(grid=grid, grid2=grid2, n_respondents=R, n_variables=V)
    for comp in components(library):
        by_member = _member_rows(obs, comp)
        if len(comp) == 1:
            out.one.append(_one_block(settings, obs, comp[0], by_member, grid, R))
        elif len(comp) == 2:
            out.two.append(_two_block(settings, obs, comp, by_member, grid2, R))
        else:
            raise ValueError("the integrated organisation model takes components of at most "
                             "two variables")
    return out


def _one_block(settings, obs, var, by_member, grid, R) -> OneBlock:
    keys: dict[tuple, int] = {}
    row_of = np.full(R, -1, dtype=int)
    answers, counts = [], []
    for r, rows in by_member.items():
        k = _key(obs, rows)
        if k not in keys:
            keys[k] = len(answers)
            answers.append(answers_of(settings, obs, rows, [var]))
            counts.append(0)
        row_of[r] = keys[k]
        counts[keys[k]] += 1
    table = (np.stack([_normalised(a.loglik(grid[:, None])) for a in answers])
             if answers else np.zeros((0, len(grid))))
    sup = np.array([_sup_one(a) for a in answers])
    return OneBlock(var, table, np.array(counts, dtype=float), row_of, answers, sup)


def _two_block(settings, obs, comp, by_member, grid, R) -> TwoBlock:
    v1, v2 = comp
    G = len(grid)
    xx = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1)  # (G, G, 2)
    a_keys: dict[tuple, int] = {(): 0}
    b_keys: dict[tuple, int] = {(): 0}
    c_keys: dict[tuple, int] = {(): 0}
    a_rows, b_rows, c_mats = [np.ones(G)], [np.ones(G)], [np.ones((G, G))]
    keys: dict[tuple, int] = {}
    rows, counts, answers = [], [], []
    row_of = np.full(R, -1, dtype=int)
    for r, idx in by_member.items():
        on = obs.load[idx][:, comp] != 0
        parts = {"a": idx[on[:, 0] & ~on[:, 1]], "b": idx[~on[:, 0] & on[:, 1]],
                 "c": idx[on[:, 0] & on[:, 1]]}
        trip = []
        for name, store, tabs in (("a", a_keys, a_rows), ("b", b_keys, b_rows), ("c", c_keys, c_mats)):
            k = _key(obs, parts[name])
            if k not in store:
                store[k] = len(tabs)
                if name == "a":
                    tabs.append(_normalised(answers_of(settings, obs, parts[name], [v1]).loglik(grid[:, None])))
                elif name == "b":
                    tabs.append(_normalised(answers_of(settings, obs, parts[name], [v2]).loglik(grid[:, None])))
                else:
                    ll = answers_of(settings, obs, parts[name], comp).loglik(xx)
                    tabs.append(np.exp(ll - ll.max()))
            trip.append(store[k])
        k = tuple(trip)
        if k not in keys:
            keys[k] = len(rows)
            rows.append(trip)
            counts.append(0)
            answers.append(answers_of(settings, obs, idx, comp))
        row_of[r] = keys[k]
        counts[keys[k]] += 1
    C = np.stack(c_mats)  # (nC, G, G)
    cols = np.concatenate(list(C), axis=1)  # (G, nC G)
    u, s, _ = np.linalg.svd(cols, full_matrices=False)
    U = u[:, s > SVD_TOL * s[0]]
    stacked = np.concatenate(list(C), axis=0)  # (nC G, G)
    _, s2, vt = np.linalg.svd(stacked, full_matrices=False)
    Vb = vt[s2 > SVD_TOL * s2[0]].T
    S = U.T @ C @ Vb  # (nC, R1, R2)
    err = float(np.max(np.abs(U @ S @ Vb.T - C)) / np.max(np.abs(C)))
    if err > 1e-9:
        raise ValueError(f"the two-variable basis is not accurate enough ({err:.1e})")
    # Rejection bound: the first variable's answers at their best, the second's at theirs,
    # and each coupled answer at its own best (a looser bound only costs proposals).
    sup = np.array([_sup_one(_restrict(a, 0)) + _sup_one(_restrict(a, 1)) + _sup_terms(_coupled(a))
                    for a in answers])
    return TwoBlock(vars=(v1, v2), a_table=np.stack(a_rows), b_table=np.stack(b_rows), U=U, V=Vb,
                    S=S, rows=np.array(rows, dtype=int).reshape(-1, 3),
                    count=np.array(counts, dtype=float), row_of=row_of, answers=answers,
                    sup=sup, basis_error=err)


# ----------------------------------------------------------------------------- the model


def hat_weights(mu, tau, grid: np.ndarray, xp):
    """Mass of Normal(mu, tau) under each grid point's hat function (linear interpolation,
    the end points' hats extended to infinity). ``xp`` is numpy or pytensor.tensor; ``mu``
    and ``tau`` are scalars or, with numpy, arrays broadcasting against a trailing grid axis.

    Sums to one. Differences of the normal's distribution function are taken on the side of
    the tail they lie in (``erfc``), so far-out cells keep their relative precision.
    """
    h = float(grid[1] - grid[0])
    # Linear interpolation smooths like a kernel of variance h^2 / 6: give the normal that
    # much less variance where it has it. Below about h the normal is kept at least h / 2
    # wide (a smooth maximum), or the interpolant's corners at the grid points would show
    # as ripples of period h in the likelihood, which NUTS's steps trip over: spreads under
    # ~0.65 h (0.03 log-odds) are not resolved.
    a_, b_ = tau ** 2 - h ** 2 / 6.0, h ** 2 / 4.0
    tau = xp.sqrt((a_ + b_ + xp.sqrt((a_ - b_) ** 2 + b_ ** 2)) / 2.0)
    a = (grid - mu) / tau
    if xp is np:
        from scipy.special import erfc
    else:
        erfc = xp.erfc
    lower = 0.5 * erfc(-a / np.sqrt(2.0))  # Phi(a)
    upper = 0.5 * erfc(a / np.sqrt(2.0))  # 1 - Phi(a)
    dens = xp.exp(-0.5 * a ** 2) / np.sqrt(2.0 * np.pi)
    a0 = a[..., :-1]
    mass = xp.where(a0 > 0, upper[..., :-1] - upper[..., 1:], lower[..., 1:] - lower[..., :-1])
    rising = ((mu - grid[:-1]) * mass - tau * (dens[..., 1:] - dens[..., :-1])) / h
    falling = mass - rising
    zero = xp.zeros_like(a[..., :1])
    w = xp.concatenate([falling, zero], axis=-1) + xp.concatenate([zero, rising], axis=-1)
    ends = xp.concatenate([lower[..., :1], xp.zeros_like(a[..., 1:-1]), upper[..., -1:]], axis=-1)
    return w + ends


def loglik(mu, tau, tabs: Tables, xp):
    """The members' integrated log-likelihood (up to a constant) at ``(mu, tau)``.

    The hat weights of every one-variable block come from one (blocks x grid) computation,
    so the compiled graph has a few large operations rather than many small ones.
    """
    total = 0.0
    ones = [b for b in tabs.one if len(b.count)]
    if ones:
        idx = np.array([b.var for b in ones])
        w = hat_weights(mu[idx][:, None], tau[idx][:, None], tabs.grid, xp)  # (blocks, G)
        for i, b in enumerate(ones):
            total = total + xp.sum(b.count * xp.log(xp.dot(b.table, w[i])))
    for b in tabs.two:
        idx = np.array(b.vars)
        w = hat_weights(mu[idx][:, None], tau[idx][:, None], tabs.grid2, xp)  # (2, G2)
        alpha = xp.dot(b.a_table * w[0], b.U)  # (nA, R1)
        beta = xp.dot(b.b_table * w[1], b.V)  # (nB, R2)
        # Every (first-variable row, second-variable row) pair's integral for pattern k is
        # one small matrix (nA x nB); a member reads one entry of it. Gathering single
        # entries keeps the gradient's scatter cheap (gathering rows of alpha was not).
        nb = b.b_table.shape[0]
        for k in range(b.S.shape[0]):
            sel = np.flatnonzero(b.rows[:, 2] == k)
            if not len(sel):
                continue
            pairs = xp.dot(alpha, xp.dot(b.S[k], beta.T))  # (nA, nB)
            m = pairs.flatten()[b.rows[sel, 0] * nb + b.rows[sel, 1]]
            total = total + xp.sum(b.count[sel] * xp.log(m))
    return total


def build_model(library: Library, obs: Observations, tabs: Tables | None = None):
    """NUTS over the organisation's ``mu`` and ``tau`` only; the same priors as
    :func:`cruxfit.models.elicitation.build_org_model`."""
    import pymc as pm
    import pytensor.tensor as pt

    settings = library.settings
    tabs = tabs or tables(library, obs)
    means = np.array([v.prior.mean for v in library.variables])
    coords = {"variable": list(library.variable_ids)}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", mu=logit(means), sigma=settings.org_mean_sd, dims="variable")
        # tau = |s| with s ~ Normal(0, sd) is the same HalfNormal prior. The likelihood
        # depends on tau only through tau^2, so NUTS moves on s without the log
        # transform's long tail towards tau = 0, the shape that a belief members barely
        # disagree on has (and that made trajectories long and tail ESS short).
        signed = pm.Normal("tau_signed", 0.0, sigma=settings.org_spread_sd, dims="variable")
        pm.Deterministic("tau", pt.abs(signed), dims="variable")
        pm.Potential("members", loglik(mu, signed, tabs, pt))
    return model


# ----------------------------------------------------------------------------- members


#: Safety margin on ``sup log L`` for the rejection step (the optimiser's tolerance).
SUP_MARGIN = 1e-6


def draw_members(mu: np.ndarray, tau: np.ndarray, tabs: Tables, rng: np.random.Generator,
                 chunk: int = 500_000) -> np.ndarray:
    """Members' log-odds draws (D, R, V) given the organisation's draws ``mu``, ``tau`` (D, V).

    Variables a member did not answer on are drawn from ``Normal(mu, tau)``; answered
    blocks by rejection from that same normal (see the module docstring).
    """
    D, V = mu.shape
    R = tabs.n_respondents
    x = rng.standard_normal((D, R, V))  # in place below: this array is the largest one
    x *= tau[:, None, :]
    x += mu[:, None, :]
    for b in tabs.one:
        _reject(x, mu, tau, [b.var], b.row_of, _Padded.of(b.answers, 1), rng, chunk, tabs.grid)
    for b in tabs.two:
        _reject(x, mu, tau, list(b.vars), b.row_of, _Padded.of(b.answers, 2), rng, chunk)
    return x


@dataclass
class _Padded:
    """The answers of every distinct row of a block, padded to the same count, so that the
    likelihood of many members' proposals is computed in one pass."""

    load: np.ndarray  # (U, n, k)
    ordinal: np.ndarray  # (U, n)
    valid: np.ndarray
    eta_scale: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    gap: np.ndarray
    y: np.ndarray
    sd: np.ndarray

    @classmethod
    def of(cls, answers: list, k: int) -> _Padded:
        U, n = len(answers), max((len(a.ordinal) for a in answers), default=0)
        out = cls(load=np.zeros((U, n, k)), ordinal=np.zeros((U, n), bool),
                  valid=np.zeros((U, n), bool), eta_scale=np.ones((U, n)), lo=np.full((U, n), -1.0),
                  hi=np.ones((U, n)), gap=np.zeros((U, n)), y=np.zeros((U, n)), sd=np.ones((U, n)))
        for u, a in enumerate(answers):
            m = len(a.ordinal)
            out.load[u, :m] = a.load
            out.valid[u, :m] = True
            for name in ("ordinal", "eta_scale", "lo", "hi", "gap", "y", "sd"):
                getattr(out, name)[u, :m] = getattr(a, name)
        return out

    def derivatives(self, rows: np.ndarray, x: np.ndarray):
        """Log-likelihood, gradient (m, k) and Hessian (m, k, k) of rows' answers at ``x``."""
        from scipy.special import expit

        load = self.load[rows]
        score = np.einsum("mnk,mk->mn", load, x)
        es = self.eta_scale[rows]
        eta = es * score
        up, down = expit(eta - self.hi[rows]), expit(self.lo[rows] - eta)
        sd = self.sd[rows]
        o, valid = self.ordinal[rows], self.valid[rows]
        d1 = np.where(o, es * (down - up), (self.y[rows] - score) / sd ** 2)
        d2 = np.where(o, -es ** 2 * (up * (1 - up) + down * (1 - down)), -1.0 / sd ** 2)
        d1, d2 = np.where(valid, d1, 0.0), np.where(valid, d2, 0.0)
        g = np.einsum("mn,mnk->mk", d1, load)
        H = np.einsum("mn,mnk,mnl->mkl", d2, load, load)
        return self.loglik(rows, x), g, H

    def loglik(self, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Log-likelihood of row ``rows[i]``'s answers at ``x[i]`` (m, k): shape (m,)."""
        score = np.einsum("mnk,mk->mn", self.load[rows], x)
        eta = self.eta_scale[rows] * score
        ordinal = (-np.logaddexp(0.0, eta - self.hi[rows]) - np.logaddexp(0.0, self.lo[rows] - eta)
                   + self.gap[rows])
        sd = self.sd[rows]
        z = (self.y[rows] - score) / sd
        prob = -0.5 * z ** 2 - np.log(sd * np.sqrt(2 * np.pi))
        terms = np.where(self.ordinal[rows], ordinal, prob)
        return np.where(self.valid[rows], terms, 0.0).sum(axis=1)


def _tangent(padded: _Padded, rows, mu, tau, steps: int = 5):
    """Near the mode of each item's conditional: the point ``x0``, and ``log L`` and its
    gradient there. Newton's method on the concave ``log L(x) - |x - mu|^2 / (2 tau^2)``
    from ``mu``, each step halved until the objective does not fall (a flat ``log L``
    makes full steps overshoot far beyond the mode). Any point gives a valid bound (see
    :func:`_reject`); the mode gives the best acceptance."""
    def objective(z):
        return padded.loglik(rows, z) - 0.5 * np.sum(((z - mu) / tau) ** 2, axis=1)

    x = mu.copy()
    k = x.shape[1]
    eye = np.eye(k)
    f = objective(x)
    for _ in range(steps):
        _, g, H = padded.derivatives(rows, x)
        grad = g - (x - mu) / tau ** 2
        hess = H - eye[None] / (tau ** 2)[:, :, None]
        step = -np.linalg.solve(hess, grad[..., None])[..., 0]
        scale = np.ones(len(x))
        for _ in range(12):
            trial = x + scale[:, None] * step
            f_trial = objective(trial)
            worse = ~(f_trial >= f)
            if not worse.any():
                break
            scale[worse] /= 2
        keep = f_trial >= f
        x[keep], f[keep] = trial[keep], f_trial[keep]
    ll, g, _ = padded.derivatives(rows, x)
    return x, ll, g


class _GridTangents:
    """Exact ``log L`` and its slope at every grid point for each row of a one-variable
    block: an item's tangent point is the grid point nearest the mode of its conditional
    (:meth:`at`), read from the table."""

    def __init__(self, padded: _Padded, grid: np.ndarray):
        U, G = padded.load.shape[0], len(grid)
        rows = np.repeat(np.arange(U), G)
        xs = np.tile(grid, U)[:, None]
        ll, g, _ = padded.derivatives(rows, xs)
        self.ll, self.g = ll.reshape(U, G), g.reshape(U, G)
        self.grid, self.h = grid, float(grid[1] - grid[0])

    def at(self, rows, mu, tau):
        """Per item, the grid point nearest the mode of ``log L(x) - (x - mu)^2 / (2 tau^2)``:
        that function is concave, so its slope falls along the grid and a bisection on the
        tabulated slopes finds where it crosses zero."""
        m, t2 = mu[:, 0], tau[:, 0] ** 2
        lo = np.zeros(len(rows), dtype=int)
        hi = np.full(len(rows), len(self.grid) - 1)
        # invariant: the slope is >= 0 at lo (or lo = 0) and < 0 at hi (or hi = last)
        while np.any(hi - lo > 1):
            mid = (lo + hi) // 2
            rising = self.g[rows, mid] - (self.grid[mid] - m) / t2 >= 0
            lo = np.where(rising, mid, lo)
            hi = np.where(rising, hi, mid)
        f_lo = self.ll[rows, lo] - (self.grid[lo] - m) ** 2 / (2 * t2)
        f_hi = self.ll[rows, hi] - (self.grid[hi] - m) ** 2 / (2 * t2)
        j = np.where(f_hi > f_lo, hi, lo)
        return self.grid[j][:, None], self.ll[rows, j], self.g[rows, j][:, None]


def _reject(x, mu, tau, cols, row_of, padded: _Padded, rng, chunk, grid=None) -> None:
    """Replace ``x[:, r, cols]`` of every member with answers here by accepted draws.

    ``log L`` is concave, so it lies below its tangent at any point ``x0``:
    ``L(x) <= L(x0) exp(g (x - x0))``. The bound times ``Normal(mu, tau)`` is a normal
    shifted to ``mu + tau^2 g``: propose from it and accept with probability
    ``L(x) / (L(x0) exp(g (x - x0)))``. With ``x0`` near the conditional's mode most
    proposals are accepted. One-variable blocks read ``x0`` from a table of grid points
    (``grid``); the coupled pair finds it by Newton steps.
    """
    D = mu.shape[0]
    members = np.flatnonzero(row_of >= 0)
    if not len(members):
        return
    tangents = _GridTangents(padded, grid) if grid is not None else None
    per = max(1, chunk // len(members))
    for start in range(0, D, per):
        d_all = np.repeat(np.arange(start, min(D, start + per)), len(members))
        r_all = np.tile(members, len(d_all) // len(members))
        rows_all = row_of[r_all]
        m_all, t_all = mu[d_all][:, cols], tau[d_all][:, cols]
        if tangents is not None:
            x0, ll0, g0 = tangents.at(rows_all, m_all, t_all)
        else:
            x0, ll0, g0 = _tangent(padded, rows_all, m_all, t_all)
        centre = m_all + t_all ** 2 * g0
        pending = np.arange(len(d_all))
        passes = 0
        while len(pending):
            passes += 1
            if passes > 5000:  # tangents near the mode accept most proposals: never here
                raise ArithmeticError("drawing members' credences is not converging")
            i = pending
            prop = centre[i] + t_all[i] * rng.standard_normal((len(i), len(cols)))
            excess = (padded.loglik(rows_all[i], prop) - ll0[i]
                      - np.einsum("mk,mk->m", g0[i], prop - x0[i]))
            if np.any(excess > 1e-9):  # concavity guarantees <= 0 (rounding aside)
                raise ArithmeticError("a member's likelihood rose above its tangent")
            ok = np.log(rng.random(len(i))) < excess
            for j, c in enumerate(cols):
                x[d_all[i[ok]], r_all[i[ok]], c] = prop[ok, j]
            pending = i[~ok]
