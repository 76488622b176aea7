"""What would change the verdict: value of information and switching values.

Everything here reuses the posterior draws of an :class:`~cruxfit.models.analysis.Analysis`
(no re-sampling) and relies on two properties of the value model
(:mod:`cruxfit.models.values`), both checked numerically on every call:

* values are **multilinear in the belief variables** (the library forbids a variable from
  entering an approach twice), so the value with a credence plugged in is the expected
  value over that yes/no world state, and the value with the credence set to 0 or 1 is the
  value *given* the world state; and
* values are **multilinear in the four rating cells of their own approach** (the
  ``(h * hard + (1 - h) * easy) * tractability * neglectedness`` product), and the rating
  draws are independent of the credence draws.

Definitions (value points are those of the model; ``d`` indexes posterior draws, each a pair
of credences ``theta_d`` and rating values ``r_d``; ``a`` indexes ranked approaches):

EVPI
    The expected value of perfect information about *everything*: every belief variable's
    yes/no world state **and** the rating values. Given draw ``d`` the world states are
    independent with ``P(z_v = 1) = theta_dv``, so the ``2^V`` configurations ``z`` are
    enumerated exactly::

        EVPI = mean_d sum_z p_d(z) max_a V_a(z, r_d)  -  max_a mean_d V_a(theta_d, r_d)

EVPPI of a belief variable ``v`` (exact)
    Perfect information about the world state ``S_v`` alone. ``P(S_v = 1) = mean_d
    theta_dv`` and ``E[V_a | S_v = 1] = sum_d theta_dv V_a(theta_d | theta_v = 1, r_d) /
    sum_d theta_dv`` (weights ``1 - theta_dv`` for ``S_v = 0``)::

        EVPPI_v = P1 max_a E[V_a | S_v=1] + P0 max_a E[V_a | S_v=0] - max_a E[V_a]

    The same draws define EVPI, so ``0 <= EVPPI_v <= EVPI`` holds exactly (Jensen).

EVPPI of the ratings (all rating cells together)
    Estimated with the single-sample regression method of Strong, Oakley & Brennan (2014,
    Medical Decision Making 34:311-326): each approach's value is regressed on its own four
    rating draws by least squares on all 16 products of subsets of the cells (the value is
    multilinear in them, so this basis holds the true conditional mean); with fitted values
    ``g_a``, ``EVPPI = mean_d max_a g_a(r_d) - max_a mean_d g_a(r_d)``. Only the approach's
    own cells enter because ``V_a`` depends on no other rating and the ratings are drawn
    independently of the credences, so ``E[V_a | all ratings] = E[V_a | own ratings]``.
    Because of that same independence and multilinearity the conditional mean is also
    available exactly (``exact_value``, the mean over credence draws of the rating-monomial
    coefficients); the two are reported side by side as a check on each other.

Switching values
    For variable ``v`` the other variables keep their posterior draws and the ratings their
    draws, and the credence ``theta_v`` is moved so that its mean is ``x`` (see
    :class:`WhatIf`; by default each draw is moved proportionally towards 0 or 1, so that at
    the current mean the what-if *is* the posterior and the verdict there is the reported
    one; mode ``"fix"`` sets ``theta_v = x`` in every draw instead). Because values are
    linear in ``theta_v``, ``V = V(0) + theta_v (V(1) - V(0))`` exactly, so each what-if
    costs one array operation. The verdict (from the probabilities that AI-assisted alignment
    ranks first / in the top three) is then an exact step function of ``x``: in each draw
    each other approach passes the target at most once as the credence moves, at a point
    found in closed form, so the probabilities change only at those points and are tracked
    event by event (:func:`verdict_path`); no change is missed however briefly it lasts.
    Mean values are piecewise linear in ``x`` (one knot, at the current credence), so the
    switch points of the top approach (highest mean value) are computed exactly where two
    lines cross (the tests check both against brute-force re-evaluation).

Timing (2000 draws, 9 variables, 13 approaches; one thread, measured with
``benchmarks/bench_batch.py``'s profiles): ``voi_summary`` takes about 0.08 s: the 50
value-model evaluations and self-checks ~0.03 s, the 512-configuration EVPI enumeration
(one batched matrix product per chunk of draws) ~0.02 s, the regression ~0.01 s and the
exact switching values ~0.02 s.
"""

from __future__ import annotations

import copy
import itertools
from typing import Sequence

import numpy as np

from cruxfit.models.decision import ev_rank, ranked_above, rule_index, verdict_for
from cruxfit.models.rounding import json_round as _r

#: Floats held at once in the EVPI enumeration (draws per chunk x 2^V x approaches).
EVPI_BUDGET = 8_000_000
#: Value evaluations (draws x 2^V x approaches) above which EVPI and EVPPI use every k-th
#: draw only (deterministic thinning, the same draws for both, so EVPPI <= EVPI still holds
#: exactly). With 14 beliefs, 13 approaches and 2000 draws the full enumeration is 426
#: million evaluations (several seconds); the cap keeps it near 0.3 s (286 draws).
EVPI_WORK_MAX = 60_000_000
#: Exact enumeration is limited to this many belief variables (2^V configurations).
MAX_EXACT_VARIABLES = 16
#: Relative tolerance of the multilinearity self-checks.
CHECK_RTOL = 1e-8
#: Tolerance (relative to max(1, EVPI)) of the check 0 <= EVPPI <= EVPI for a belief.
VOI_TOLERANCE = 1e-9


class VoiBoundError(RuntimeError):
    """An exact value of information broke the bound 0 <= EVPPI <= EVPI."""

RATINGS_GROUP = "ratings"
RATINGS_NAME = "Approach ratings"
#: How each value of information was computed, as codes (worded by
#: :mod:`cruxfit.reports.wording`): the whole method, a belief's EVPPI, the ratings' EVPPI.
VOI_METHOD = "exact-voi"
EXACT_METHOD = "exact-conditional-means"
RATINGS_METHOD = "regression-strong-2014"


# ----------------------------------------------------------------------------- helpers


def target_rank_stats(values: np.ndarray, target: int) -> tuple[float, float]:
    """(p_best, p_top3) of one approach, identical to :func:`decision.rank_summary`.

    Rank = number of approaches with a higher value plus earlier approaches with an equal one
    (the stable tie-break of :func:`decision.ranks`). ``values`` is (..., draws, approaches);
    the results are means over the draws axis.
    """
    higher = ranked_above(values, target)
    return (higher == 0).mean(axis=-1), (higher < 3).mean(axis=-1)


def _mobius(w: np.ndarray) -> np.ndarray:
    """Moebius inversion over the leading axis of length 2^k (subset sums -> coefficients)."""
    c = np.array(w, dtype=float, copy=True)
    n = c.shape[0]
    bit = 1
    while bit < n:
        for m in range(n):
            if m & bit:
                c[m] -= c[m ^ bit]
        bit <<= 1
    return c


def _rating_monomials(ratings: np.ndarray) -> np.ndarray:
    """(n, A, 16): products of every subset of the four rating cells (bit j = cell j)."""
    n, a, k = ratings.shape
    out = np.ones((n, a, 2 ** k))
    for m in range(1, 2 ** k):
        for j in range(k):
            if m >> j & 1:
                out[..., m] *= ratings[..., j]
    return out


def _rating_coefficients(vm, theta: np.ndarray) -> np.ndarray:
    """(16, n, A) coefficients with V_a(theta, r) = sum_S c_aS(theta) prod_{j in S} r_aj.

    Evaluated at the 16 corners of the rating cube (every cell 0 or 1), then Moebius-inverted.
    """
    n = theta.shape[0]
    a = len(vm.slugs)
    corners = []
    for m in range(16):
        u = np.array([m >> j & 1 for j in range(4)], dtype=float)
        corners.append(vm.values(theta, np.broadcast_to(u, (n, a, 4)).copy()))
    return _mobius(np.stack(corners))


#: Rating coefficients in every world configuration with neutral personal fit, per library:
#: they depend on the library's tilts and priors only, so a batch computes them once.
_CONFIG_COEF: dict[tuple[str, int], np.ndarray] = {}


def _configuration_coefficients(vm, configs: np.ndarray) -> np.ndarray:
    """:func:`_rating_coefficients` over the world configurations, cached per library.

    Overrides change only the rating distributions (not the corners of the rating cube), and
    personal fit multiplies each approach's value, so the cached neutral-fit coefficients
    times the fit factors are the coefficients of this value model.
    """
    library = getattr(vm, "library", None)
    if library is None:  # a stand-in value model (tests): nothing to share it with
        return _rating_coefficients(vm, configs)
    key = (library.sha256, configs.shape[0])
    if key not in _CONFIG_COEF:
        neutral = copy.copy(vm)
        neutral.fit = np.ones_like(vm.fit)
        _CONFIG_COEF.clear()  # one library at a time: 16 x 2^V x A floats (~27 MB at V = 14)
        _CONFIG_COEF[key] = _rating_coefficients(neutral, configs)
    return _CONFIG_COEF[key] * vm.fit[None, None, :]


def _configurations(n_vars: int) -> np.ndarray:
    """(2^V, V) 0/1 world configurations; bit v of row k is (k >> (V - 1 - v)) & 1."""
    k = np.arange(2 ** n_vars)
    return ((k[:, None] >> (n_vars - 1 - np.arange(n_vars))[None, :]) & 1).astype(float)


def _configuration_probs(theta: np.ndarray) -> np.ndarray:
    """(n, 2^V) probabilities of the configurations of :func:`_configurations`."""
    n, V = theta.shape
    if V > 2:  # two halves, then one outer product: far fewer passes over the big array
        h = V // 2
        return (_configuration_probs(theta[:, :h])[:, :, None]
                * _configuration_probs(theta[:, h:])[:, None, :]).reshape(n, -1)
    p = np.ones((n, 1))
    for v in range(V):
        t = theta[:, v:v + 1]
        p = np.stack([p * (1 - t), p * t], axis=-1).reshape(n, -1)
    return p


def evpi_step(n_draws: int, n_vars: int, n_app: int) -> int:
    """Thinning step of the draws used for EVPI and EVPPI (1 = every draw)."""
    work = n_draws * 2 ** n_vars * n_app
    return max(1, -(-work // EVPI_WORK_MAX))


# ----------------------------------------------------------------------------- pure VOI


def evppi_binary(values_if_1: np.ndarray, values_if_0: np.ndarray,
                 weights: np.ndarray) -> dict:
    """Exact EVPPI of one yes/no world state from draws.

    ``values_if_1`` / ``values_if_0`` are (draws, approaches) values with the state's
    credence set to 1 / 0; ``weights`` (draws,) are the credence draws ``theta_v``. Returns
    ``{"value", "p1", "means_if_1", "means_if_0", "means", "best_if_1", "best_if_0", "best"}``
    (indices of approaches). ``value >= 0`` up to rounding, which is clipped.
    """
    v1 = np.asarray(values_if_1, float)
    v0 = np.asarray(values_if_0, float)
    w = np.asarray(weights, float)
    w1, w0 = w.sum(), (1 - w).sum()
    n = len(w)
    p1 = w1 / n
    e1 = (w @ v1) / w1 if w1 > 0 else np.zeros(v1.shape[1])
    e0 = ((1 - w) @ v0) / w0 if w0 > 0 else np.zeros(v0.shape[1])
    means = p1 * e1 + (1 - p1) * e0
    value = p1 * e1.max() + (1 - p1) * e0.max() - means.max()
    return {"value": max(0.0, float(value)), "p1": float(p1), "means_if_1": e1,
            "means_if_0": e0, "means": means, "best_if_1": int(np.argmax(e1)),
            "best_if_0": int(np.argmax(e0)), "best": int(np.argmax(means))}


def _multilinear_design(x: np.ndarray) -> np.ndarray:
    """All products of subsets of the standardised columns of x (2^p columns, incl. 1)."""
    sd = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    k = z.shape[1]
    cols = [np.ones(len(z))]
    for size in range(1, k + 1):
        for combo in itertools.combinations(range(k), size):
            cols.append(np.prod(z[:, combo], axis=1))
    return np.column_stack(cols)


def regression_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares fitted values of y on the multilinear basis of x.

    The basis holds every product of distinct inputs (16 terms for four rating cells), which
    contains the conditional mean exactly whenever y is multilinear in x, as the value model
    is in its own ratings. Solved through the (small) normal equations with a
    pseudo-inverse, which is robust to constant inputs and fast.
    """
    design = _multilinear_design(np.asarray(x, float))
    gram = design.T @ design
    coef, *_ = np.linalg.lstsq(gram, design.T @ y, rcond=None)
    return design @ coef


def evppi_regression(values: np.ndarray, inputs: Sequence[np.ndarray]) -> float:
    """EVPPI by single-sample regression (Strong, Oakley & Brennan 2014).

    ``values`` (n, A); ``inputs[a]`` (n, p_a) the parameters approach ``a``'s value is
    regressed on. Fitted values by least squares on the multilinear basis of
    :func:`regression_fit`.
    """
    fitted = np.column_stack([regression_fit(inputs[a], values[:, a])
                              for a in range(values.shape[1])])
    return max(0.0, float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max()))


def evppi_from_conditional_means(cond_means: np.ndarray) -> float:
    """EVPPI from E[V_a | parameter draw] (n, A): mean of max minus max of means."""
    return max(0.0, float(cond_means.max(axis=1).mean() - cond_means.mean(axis=0).max()))


# ----------------------------------------------------------------------------- switching


SWITCH_MODES = ("shift", "fix")
#: How a what-if moves a credence to x (see :class:`WhatIf`).
SWITCH_MODE = "shift"


class WhatIf:
    """One belief variable moved to credence ``x``, everything else kept at its draws.

    ``v0``/``v1`` (draws, approaches) are the values with the variable's credence set to 0 /
    1 in every draw; by multilinearity the values with credences ``t`` (draws,) are exactly
    ``v0 + t (v1 - v0)``. Two ways to move the credence to ``x``:

    ``"fix"``
        ``t = x`` in every draw (a classic one-way sensitivity analysis; the uncertainty
        about this credence disappears, so at ``x`` = the current mean the verdict can differ
        from the posterior verdict).
    ``"shift"`` (default)
        each draw is moved proportionally towards the end it approaches:
        ``t = theta + (1 - theta) (x - m) / (1 - m)`` above the current mean ``m`` and
        ``t = theta x / m`` below it. The mean of ``t`` is exactly ``x``; at ``x = m`` the
        posterior itself is returned, so the verdict there *is* the reported verdict; at 0
        and 1 both modes agree.

    In both modes mean values are piecewise linear in ``x`` with a knot at ``m``.
    """

    def __init__(self, v0: np.ndarray, v1: np.ndarray, theta_v: np.ndarray,
                 mode: str = SWITCH_MODE):
        if mode not in SWITCH_MODES:
            raise ValueError(f"mode must be one of {SWITCH_MODES}, not {mode!r}")
        self.v0 = np.asarray(v0, float)
        self.dv = np.asarray(v1, float) - self.v0
        self.theta = np.asarray(theta_v, float)
        self.current = float(self.theta.mean())
        self.mode = mode

    def credences(self, xs) -> np.ndarray:
        """(len(xs), draws) credence draws for each what-if credence in ``xs``."""
        x = np.atleast_1d(np.asarray(xs, float))[:, None]
        if self.mode == "fix":
            return np.broadcast_to(x, (x.shape[0], len(self.theta)))
        m, th = self.current, self.theta[None, :]
        up = th + (1 - th) * ((x - m) / (1 - m) if m < 1 else 0.0)
        down = th * (x / m) if m > 0 else np.zeros_like(up)
        return np.where(x >= m, up, down)

    def values(self, xs) -> np.ndarray:
        """(len(xs), draws, approaches) values."""
        return self.v0[None] + self.credences(xs)[:, :, None] * self.dv[None]

    def means(self, xs) -> np.ndarray:
        """(len(xs), approaches) mean values."""
        t = self.credences(xs)
        n = len(self.theta)
        return self.v0.mean(axis=0)[None] + (t @ self.dv) / n


def _verdict_labels(rules, whatif: WhatIf, xs, target: int, chunk: int = 26) -> list[str]:
    """Verdict labels at what-if credences ``xs``, by direct evaluation of every draw."""
    xs = np.atleast_1d(np.asarray(xs, float))
    out = []
    for start in range(0, len(xs), chunk):
        vals = whatif.values(xs[start:start + chunk])
        pb, pt = target_rank_stats(vals, target)
        rk = ev_rank(vals.mean(axis=1), target)
        out.extend(verdict_for(rules, int(k), float(b), float(t)).label
                   for k, b, t in zip(np.atleast_1d(rk), pb, pt))
    return out


def _mean_knots(whatif: WhatIf) -> tuple[np.ndarray, np.ndarray]:
    """Knots and mean values there: mean values are linear in x between 0, m and 1."""
    m = whatif.current
    knots = np.array([0.0, m, 1.0]) if 0.0 < m < 1.0 else np.array([0.0, 1.0])
    return knots, whatif.means(knots)


def _means_at(knots: np.ndarray, at_knots: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(len(xs), approaches) mean values by exact linear interpolation between knots."""
    seg = np.clip(np.searchsorted(knots, xs, side="right") - 1, 0, len(knots) - 2)
    w = ((xs - knots[seg]) / (knots[seg + 1] - knots[seg]))[:, None]
    return at_knots[seg] * (1 - w) + at_knots[seg + 1] * w


def ev_rank_breaks(whatif: WhatIf, target: int) -> np.ndarray:
    """Credences in (0, 1) where another approach's mean value crosses the target's."""
    knots, at = _mean_knots(whatif)
    out = []
    for k in range(len(knots) - 1):
        d0 = at[k] - at[k, target]
        d1 = at[k + 1] - at[k + 1, target]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = d0 / (d0 - d1)
        cross = (np.sign(d0) != np.sign(d1)) & np.isfinite(f) & (f > 0) & (f < 1)
        out.extend(knots[k] + f[cross] * (knots[k + 1] - knots[k]))
    return np.unique(np.array(out, float))


def verdict_path(rules, whatif: WhatIf, target: int) -> tuple[np.ndarray, list[str]]:
    """The verdict as an exact step function of the what-if credence ``x`` in [0, 1].

    Returns ``(breaks, labels)``: ``breaks`` increasing inside (0, 1), ``labels`` one longer;
    ``labels[i]`` holds on the open interval between ``breaks[i - 1]`` and ``breaks[i]``
    (0 and 1 at the ends). Breaks where the label does not change are dropped.

    In draw ``d`` approach ``a`` outranks the target while ``alpha + beta c`` is positive,
    with ``c`` that draw's credence (``alpha``, ``beta``: differences of ``v0`` and ``dv``);
    so each pair changes order at most once, at ``c* = -alpha / beta``, and ``c`` is a
    monotone, piecewise-linear function of ``x`` that inverts in closed form. The number of
    approaches above the target per draw is evaluated once inside the first interval and then
    updated event by event, which gives the probabilities of ranking first and in the top
    three exactly on every interval. Nothing is missed between grid points because there is
    no grid.
    """
    v0, dv, theta, m = whatif.v0, whatif.dv, whatif.theta, whatif.current
    n, n_app = v0.shape
    others = [a for a in range(n_app) if a != target]
    alpha = v0[:, others] - v0[:, target:target + 1]
    beta = dv[:, others] - dv[:, target:target + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = -alpha / beta
        if whatif.mode == "fix":
            x = c
        else:
            th = theta[:, None]
            below = (th > 0) & (c > 0) & (c <= th)
            above = (th < 1) & (c > th) & (c <= 1)
            x = np.where(below, m * c / th,
                         np.where(above, m + (1 - m) * (c - th) / (1 - th), np.nan))
    ok = (beta != 0) & np.isfinite(x) & (x > 0) & (x < 1)
    d_idx, _ = np.nonzero(ok)
    ex = x[ok]
    # After the crossing (larger c, so larger x) the pair's order follows the sign of beta.
    delta = np.where(beta[ok] > 0, 1, -1)

    uniq, inverse = np.unique(ex, return_inverse=True)
    first = uniq[0] / 2 if len(uniq) else 0.5
    h0 = ranked_above(whatif.values([first])[0], target)

    # Running count of approaches above the target per draw, in x order within each draw:
    # a cumulative sum over all events, less its value where each draw's events begin.
    order = np.lexsort((ex, d_idx))
    d_sorted, delta_sorted = d_idx[order], delta[order]
    csum = np.cumsum(delta_sorted)
    first_of_draw = np.diff(d_sorted, prepend=-1) != 0
    start = np.maximum.accumulate(np.where(first_of_draw, np.arange(len(order)), 0))
    h_after = h0[d_sorted] + csum - np.r_[0, csum][start]
    h_before = h_after - delta_sorted
    d_best = (h_after == 0).astype(int) - (h_before == 0)
    d_top3 = (h_after < 3).astype(int) - (h_before < 3)
    change_best = np.bincount(inverse[order], weights=d_best, minlength=len(uniq))
    change_top3 = np.bincount(inverse[order], weights=d_top3, minlength=len(uniq))
    n_best = np.r_[0, np.cumsum(change_best)] + int((h0 == 0).sum())
    n_top3 = np.r_[0, np.cumsum(change_top3)] + int((h0 < 3).sum())
    # The place by expected value changes only where mean lines cross; merge those points
    # with the probability events and read every quantity on each resulting interval.
    breaks = np.union1d(uniq, ev_rank_breaks(whatif, target))
    edges = np.r_[0.0, breaks, 1.0]
    mids = (edges[:-1] + edges[1:]) / 2
    seg = np.searchsorted(uniq, mids, side="right")
    knots, at = _mean_knots(whatif)
    rank = ev_rank(_means_at(knots, at, mids), target)
    idx = rule_index(rules, rank, np.rint(n_best[seg]) / n, np.rint(n_top3[seg]) / n)
    keep = np.flatnonzero(idx[1:] != idx[:-1])
    labels = [rules[idx[0]].label] + [rules[idx[k + 1]].label for k in keep]
    return breaks[keep], labels


def verdict_switches(rules, whatif: WhatIf, target: int) -> list[dict]:
    """Every credence in (0, 1) where the verdict changes, exactly (:func:`verdict_path`).

    Returns ``[{credence, below, above}]`` (labels just below and above each switch) in
    increasing order.
    """
    breaks, labels = verdict_path(rules, whatif, target)
    return [{"credence": float(b), "below": labels[i], "above": labels[i + 1]}
            for i, b in enumerate(breaks)]


def first_top_change(start: np.ndarray, end: np.ndarray) -> tuple[float, int, int] | None:
    """Along the straight path ``start + t (end - start)``, t in (0, 1], the first t where
    the top (argmax) changes: ``(t, top_at_start, new_top)``, or None."""
    start = np.asarray(start, float)
    slope = np.asarray(end, float) - start
    top = int(np.argmax(start))
    best = None
    for b in range(len(start)):
        gain = slope[b] - slope[top]
        if b == top or gain <= 0:
            continue
        t = (start[top] - start[b]) / gain
        if 0 < t <= 1:
            key = (t, -gain, b)
            if best is None or key < best:
                best = key
    return None if best is None else (float(best[0]), top, best[2])


def top_switches_exact(whatif: WhatIf) -> dict:
    """Nearest changes of the top approach below and above the current credence, exactly.

    Returns ``{"top": index at the current credence, "below": (x, from, to) | None,
    "above": ...}``; ``from`` is the top on the side of the current credence.
    """
    m = whatif.current
    m0, mm, m1 = whatif.means([0.0, m, 1.0])
    out = {"top": int(np.argmax(mm)), "below": None, "above": None}
    for side, end, x_end in (("below", m0, 0.0), ("above", m1, 1.0)):
        hit = first_top_change(mm, end)
        if hit is not None:
            t, frm, to = hit
            out[side] = (m + t * (x_end - m), frm, to)
    return out


def switching_parts(whatif: WhatIf, rules, target: int) -> dict:
    """Unrounded switching values of one variable (approach indices and verdict labels)."""
    current = whatif.current
    switches = verdict_switches(rules, whatif, target)
    now = _verdict_labels(rules, whatif, current, target)[0]
    below = [s for s in switches if s["credence"] < current]
    above = [s for s in switches if s["credence"] > current]
    verdict = {
        "below": ({"credence": below[-1]["credence"], "from": below[-1]["above"],
                   "to": below[-1]["below"]} if below else None),
        "above": ({"credence": above[0]["credence"], "from": above[0]["below"],
                   "to": above[0]["above"]} if above else None),
    }
    return {"current": current, "verdict_now": now, "verdict": verdict, "switches": switches,
            "top": top_switches_exact(whatif)}


# ----------------------------------------------------------------------------- summary


class MultilinearityError(RuntimeError):
    """The value model is not multilinear as the exact methods here require."""


def _check(name: str, got: np.ndarray, want: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    if not np.isfinite(err) or err > CHECK_RTOL * scale:
        raise MultilinearityError(f"{name}: the value model is not multilinear (max error "
                                  f"{err:.3g}); value of information cannot be computed exactly")


def voi_parts(analysis) -> dict:
    """Unrounded VOI quantities (arrays and floats) for tests and further analyses."""
    vm = analysis.value_model
    theta = np.asarray(analysis.theta, float)
    ratings = np.asarray(analysis.ratings, float)
    values = np.asarray(analysis.values, float)
    n, n_vars = theta.shape
    # EVPI (and, on the same draws, EVPPI) may use every k-th draw: see EVPI_WORK_MAX.
    step = evpi_step(n, n_vars, values.shape[1])
    n_app = values.shape[1]
    means = values.mean(axis=0)
    baseline = float(means.max())

    # Per-variable values with the credence set to 0 and to 1 (exact conditionals).
    v0s, v1s = [], []
    for j in range(n_vars):
        th = theta.copy()
        th[:, j] = 0.0
        v0 = vm.values(th, ratings)
        th[:, j] = 1.0
        v1 = vm.values(th, ratings)
        _check(f"variable {vm.var_ids[j]}", v0 + theta[:, j:j + 1] * (v1 - v0), values)
        v0s.append(v0)
        v1s.append(v1)

    # Ratings: V_a = sum_S c_aS(theta) * prod_{j in S} r_aj (checked), then exact conditional
    # means given the ratings and the regression estimate.
    coef = _rating_coefficients(vm, theta)  # (16, n, A)
    mono = _rating_monomials(ratings)  # (n, A, 16)
    _check("ratings", np.einsum("sna,nas->na", coef, mono), values)
    cond = np.einsum("sa,nas->na", coef.mean(axis=1), mono)
    ratings_exact = evppi_from_conditional_means(cond)
    ratings_reg = evppi_regression(values, [ratings[:, a, :] for a in range(n_app)])

    # EVPI: enumerate the 2^V world configurations. The value in a configuration depends on
    # the draw only through its ratings: V_a(z, r_d) = sum_S C_aS(z) M_aS(r_d).
    if n_vars > MAX_EXACT_VARIABLES:
        raise ValueError(f"{n_vars} belief variables: exact EVPI enumerates 2^{n_vars} world "
                         f"configurations, more than this module allows (2^{MAX_EXACT_VARIABLES})")
    configs = _configurations(n_vars)
    chunk = max(1, EVPI_BUDGET // (len(configs) * n_app))
    coef_e, theta_e, values_e = coef[:, ::step], theta[::step], values[::step]
    mono_e = mono[::step]
    n_e = theta_e.shape[0]
    cz = _configuration_coefficients(vm, configs)  # (16, K, A)
    cz_t = np.ascontiguousarray(cz.transpose(0, 2, 1))  # (16, A, K)
    used = [m for m in range(cz.shape[0]) if np.any(cz[m] != 0) or np.any(coef[m] != 0)]
    # One batched matrix product per chunk of draws: for each approach a,
    # vz[a] = mono[:, a, used] @ cz_t[used, a, :] gives its value in every configuration.
    cz_used = np.ascontiguousarray(cz_t[used].transpose(1, 0, 2))  # (A, U, K)
    mono_used = np.ascontiguousarray(mono_e[:, :, used].transpose(1, 0, 2))  # (A, n_e, U)
    total_best = 0.0
    expected = np.zeros((n_e, n_app))
    for start in range(0, n_e, chunk):
        sl = slice(start, min(n_e, start + chunk))
        # vz[a] = sum_u mono[a, :, u] cz[a, u, :]: the value of every approach in every
        # configuration. Written as broadcasts: a batched matmul with an inner size of two
        # is many times slower in numpy.
        m = mono_used[:, sl, :]
        vz = m[:, :, 0, None] * cz_used[:, None, 0, :]
        for u in range(1, m.shape[2]):
            vz += m[:, :, u, None] * cz_used[:, None, u, :]
        p = _configuration_probs(theta_e[sl])  # (c, K)
        total_best += float((p * vz.max(axis=0)).sum())
        expected[sl] = np.einsum("ck,ack->ca", p, vz)
    # Self-check of the enumeration: the expected value over configurations is the value.
    _check("world configurations", expected, values_e)
    baseline_e = float(values_e.mean(axis=0).max())
    evpi = total_best / n_e - baseline_e
    if evpi < -VOI_TOLERANCE * max(1.0, abs(baseline_e)):  # Jensen: exact enumeration is >= 0
        raise VoiBoundError(f"EVPI is {evpi:.6g} < 0")
    evpi = max(evpi, 0.0)  # rounding only, by the check above

    return {"evpi": evpi, "baseline": baseline, "means": means, "v0": v0s, "v1": v1s,
            "ratings_regression": ratings_reg, "ratings_exact": ratings_exact,
            "evpi_step": step, "evpi_draws": n_e}


def voi_summary(analysis, mode: str = SWITCH_MODE) -> dict:
    """EVPI, per-variable EVPPI and switching values, JSON-ready.

    Returns ``{"evpi": float, "evppi": [...], "switching_values": [...], "voi_method": code}``.
    Every ``sentence`` and ``method`` here is a code (a ``{"code": ...}`` dict with the
    unrounded numbers and names it needs, or a string); :mod:`cruxfit.reports.wording`
    replaces them with words before the result is written.

    * ``evppi``: ``{variable, name, value, share, method, best_if_true, best_if_false,
      p_true, sentence}`` per belief variable plus one ``{"variable": "ratings", ...,
      "exact_value"}`` entry, sorted by ``value`` descending (ties: library order, ratings
      last); ``share`` is ``value / evpi`` (0 when EVPI is 0); ``best_if_*`` are slugs
      (null for the ratings entry).
    * ``switching_values``: per variable in library order ``{variable, name, current,
      verdict_now, verdict_switch, top_now, top_switch, sentence}``; ``verdict_switch`` is
      ``{"below": {credence, from, to} | null, "above": ... | null}`` or null when the verdict
      never changes in [0, 1]; ``top_switch`` likewise with approach slugs. ``from`` is the
      state on the side of the current credence, ``to`` the one beyond the switch.
    """
    vm = analysis.value_model
    lib = analysis.library
    target = analysis.target
    parts = voi_parts(analysis)
    evpi = parts["evpi"]
    slugs = vm.slugs
    names = {a.slug: a.name for a in vm.approaches}
    rules = lib.settings.verdicts
    theta = np.asarray(analysis.theta, float)

    def share(v: float) -> float:
        return v / evpi if evpi > 0 else 0.0

    def bounded(name: str, v: float) -> float:
        # EVPPI <= EVPI holds exactly for the beliefs (the same draws define both); the ratings'
        # regression estimate can exceed it by estimation error only. A larger excess is a bug.
        tol = VOI_TOLERANCE * max(1.0, abs(evpi))
        if not -tol <= v <= evpi + tol:
            raise VoiBoundError(f"EVPPI of {name} is {v:.6g}, outside [0, EVPI = {evpi:.6g}]")
        return min(max(v, 0.0), evpi)

    rows = []
    for j, var in enumerate(lib.variables):
        k = parts["evpi_step"]  # the draws EVPI used, so that EVPPI <= EVPI holds exactly
        r = evppi_binary(parts["v1"][j][::k], parts["v0"][j][::k], theta[::k, j])
        value = bounded(var.id, r["value"])
        b1, b0 = slugs[r["best_if_1"]], slugs[r["best_if_0"]]
        # What the row says, as a code with its unrounded numbers (cruxfit.reports.wording).
        if b1 == b0 or value <= 0:
            sentence = {"code": "no-change", "belief": var.name,
                        "best": names[slugs[r["best"]]]}
        else:
            sentence = {"code": "changes", "belief": var.name, "value": value,
                        "share": share(value), "best_if_true": names[b1],
                        "best_if_false": names[b0]}
        rows.append({"variable": var.id, "name": var.name, "value": _r(value),
                     "share": _r(share(value)), "method": EXACT_METHOD,
                     "p_true": _r(r["p1"]), "best_if_true": b1, "best_if_false": b0,
                     "sentence": sentence, "_order": j, "_value": value})
    rv = parts["ratings_regression"]
    if rv > evpi:  # a regression estimate; report that it was capped rather than hide it
        ratings_capped = True
        rv = evpi
    else:
        ratings_capped = False
    rows.append({
        "variable": RATINGS_GROUP, "name": RATINGS_NAME, "value": _r(rv), "share": _r(share(rv)),
        "method": RATINGS_METHOD, "exact_value": _r(parts["ratings_exact"]), "p_true": None,
        "capped_at_evpi": ratings_capped,
        "best_if_true": None, "best_if_false": None,
        "sentence": ({"code": "ratings", "value": rv, "share": share(rv)} if rv > 0
                     else {"code": "ratings-no-change"}),
        "_order": len(lib.variables), "_value": rv,
    })
    rows.sort(key=lambda x: (-x["_value"], x["_order"]))
    for row in rows:
        del row["_order"], row["_value"]

    switching = [
        _switching_row(var, WhatIf(parts["v0"][j], parts["v1"][j], theta[:, j], mode),
                       rules, target, slugs, names)
        for j, var in enumerate(lib.variables)
    ]
    return {"evpi": _r(evpi), "evppi": rows, "switching_values": switching,
            "voi_method": VOI_METHOD, "voi_draws": parts["evpi_draws"]}


def _switching_row(var, whatif: WhatIf, rules, target: int, slugs, names) -> dict:
    sp = switching_parts(whatif, rules, target)
    current = sp["current"]
    vs, top = sp["verdict"], sp["top"]
    verdict_switch = None
    if vs["below"] or vs["above"]:
        verdict_switch = {side: ({"credence": _r(s["credence"]), "from": s["from"], "to": s["to"]}
                                 if s else None) for side, s in vs.items()}
    top_switch = None
    if top["below"] or top["above"]:
        top_switch = {side: ({"credence": _r(top[side][0]), "from": slugs[top[side][1]],
                              "to": slugs[top[side][2]]} if top[side] else None)
                      for side in ("below", "above")}

    # What the row says, as a code with its unrounded numbers and the names it needs
    # (cruxfit.reports.wording words it).
    def named(hit):
        return None if hit is None else {"credence": hit[0], "from": names[slugs[hit[1]]],
                                         "to": names[slugs[hit[2]]]}

    sentence = {"code": "switching", "belief": var.name, "target": names[slugs[target]],
                "current": current, "verdict_now": sp["verdict_now"],
                "verdict": {side: (dict(s) if s else None) for side, s in vs.items()},
                "top": names[slugs[top["top"]]],
                "top_below": named(top["below"]), "top_above": named(top["above"])}
    return {"variable": var.id, "name": var.name, "current": _r(current),
            "verdict_now": sp["verdict_now"], "verdict_switch": verdict_switch,
            "top_now": slugs[top["top"]], "top_switch": top_switch, "sentence": sentence}
