"""Exact posteriors by grid quadrature, for checking the sampler.

With independent Beta priors and answers that each load on a single variable, the
posterior factorises into one-dimensional problems, one per variable; each is computed here
on a fine grid using the very likelihood the sampler uses (:func:`loglik_matrix`). Because
the value model is multilinear and its ratings are independent, the mean value of every
approach is then exact as well: plug in the posterior means of the credences and the means
of the rating distributions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.stats import beta as beta_dist

from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import Profile
from cruxfit.models.elicitation import Observations, loglik_matrix, observations

GRID = 4001


def grid(n: int = GRID) -> np.ndarray:
    # Midpoints avoid the endpoints, where Beta densities and logits can be infinite.
    return (np.arange(n) + 0.5) / n


def separable(library: Library, profile: Profile) -> bool:
    return all(len(library.statement(s).loads) == 1 for s in profile.answers)


def posterior_on_grid(library: Library, profile: Profile, n: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """Normalised posterior weights of every variable on the grid: (grid, weights (V, n))."""
    if not separable(library, profile):
        raise ValueError("exact quadrature needs answers that each load on one variable")
    x = grid(n)
    obs = observations(library, [profile])
    V = len(library.variables)
    weights = np.empty((V, n))
    for j, v in enumerate(library.variables):
        logw = beta_dist(v.prior.alpha, v.prior.beta).logpdf(x)
        rows = np.flatnonzero(obs.load[:, j] != 0)
        if rows.size:
            sub = Observations(obs.respondent[rows], tuple(obs.statement[i] for i in rows),
                               obs.load[rows], obs.ordinal[rows], obs.value[rows], 1,
                               obs.precisions()[rows])
            theta = np.full((n, 1, V), 0.5)
            theta[:, 0, j] = x
            logw = logw + loglik_matrix(library, sub, theta).sum(axis=1)
        w = np.exp(logw - logw.max())
        weights[j] = w / w.sum()
    return x, weights


def posterior_means(library: Library, profile: Profile, n: int = GRID) -> np.ndarray:
    x, w = posterior_on_grid(library, profile, n)
    return w @ x


@lru_cache(maxsize=64)
def _prior_logpdf(alpha: float, beta: float, n: int) -> np.ndarray:
    out = beta_dist.logpdf(grid(n), alpha, beta)
    out.setflags(write=False)
    return out


def _grid_mean(logw: np.ndarray, x: np.ndarray) -> float:
    w = np.exp(logw - logw.max())
    return float((w / w.sum()) @ x)


def answer_effects(library: Library, answers: dict, variable: str, n: int = 1001
                   ) -> tuple[float | None, dict[str, float], dict[str, float]]:
    """Exact one-variable posterior means for the answers bearing on ``variable``.

    Returns ``(with_all, without, alone)``: the posterior mean given every answer bearing on
    it, the mean without each one of them (``{statement: mean}``), and the mean had each been
    the only answer. Each answer's log-likelihood is evaluated once on the grid and the three
    kinds of mean are sums of those rows, so this equals :func:`posterior_means` run on every
    subset, at the cost of one run. ``with_all`` is None and ``without`` empty when an
    answer bearing on it also loads on another variable (the posterior is then not
    one-dimensional); ``alone`` still holds every answer that loads on this variable only.
    """
    relevant = {sid: v for sid, v in answers.items()
                if any(ld.variable == variable for ld in library.statement(sid).loads)}
    single = {sid: v for sid, v in relevant.items() if len(library.statement(sid).loads) == 1}
    j = library.variable_ids.index(variable)
    var = library.variables[j]
    x = grid(n)
    prior = _prior_logpdf(float(var.prior.alpha), float(var.prior.beta), n)
    x_prior = prior

    def rows_at(n_same: int) -> dict[str, np.ndarray]:
        """Each single-loading answer's log-likelihood row, tempered as one of ``n_same``."""
        if not single:
            return {}
        obs = observations(library, [Profile(name="loo", kind="individual", answers=single)],
                           n_same=[n_same] * len(single))
        theta = np.full((n, 1, len(library.variables)), 0.5)
        theta[:, 0, j] = x
        ll = loglik_matrix(library, obs, theta)
        return {sid: ll[:, i] for i, sid in enumerate(obs.statement)}

    # Tempering depends on how many answers share a belief (cruxes/model.yaml,
    # item_correlation), so "alone" (one answer), "with all" (n) and "without one" (n - 1)
    # each use rows at their own precision.
    lone = rows_at(1)
    alone = {sid: _grid_mean(x_prior + lone[sid], x) for sid in single}
    if len(single) < len(relevant):
        return None, {}, alone
    k = len(single)
    rows = rows_at(k) if k > 1 else lone
    total = x_prior + sum(rows.values()) if rows else x_prior
    fewer = rows_at(k - 1) if k > 2 else lone
    without = {}
    for sid in single:
        rest = sum(fewer[o] for o in single if o != sid)
        without[sid] = _grid_mean(x_prior + rest, x) if k > 1 else _grid_mean(x_prior, x)
    return _grid_mean(total, x), without, alone
