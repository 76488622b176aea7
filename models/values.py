"""The value model: from credences and ratings to the value of each approach.

Every belief variable is the credence that a yes/no world state holds. An approach's value
is built so that it is *multilinear* in those world states (each variable enters one factor,
linearly). Two consequences the rest of cruxfit relies on:

* the expected value over world states given credences is the value with the credences
  plugged in, so a posterior draw of credences gives the respondent's expected value; and
* the value conditional on a world state (credence set to 0 or 1) is exact, which makes
  the expected value of perfect information about a variable an exact sum over draws.

For approach *a* with credences :math:`\\theta` and rating draws::

    V_a = (h * hard_a + (1 - h) * easy_a) * tractability_a * neglectedness_a
          * prod_v (1 + t_av * (theta_v - m_v) / max(m_v, 1 - m_v))

where ``h`` is the credence that alignment is hard, ``m`` the prior means (the "typical
respondent" whose values the ratings describe) and ``t_av`` the approach's tilt on variable
``v``: one per crux of its own page (mapped onto a shared variable) and one per
cross-cutting belief it names (``cruxes`` and ``also`` in ``cruxes/approaches.yaml``). The
same factor, with the same normalisation, serves every approach; a tilt above 1 in size (only
with a stated harm) lets the value turn negative in the world state where the crux fails.
How far beliefs can move each approach is bounded by the library (``bands`` in
``cruxes/model.yaml``; :func:`cruxfit.cruxes.library.value_band`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from cruxfit.cruxes.library import DIMENSIONS, HARD_VARIABLE, Library

RATING_DIMS = DIMENSIONS  # tractability, hard, easy, neglectedness


@dataclass(frozen=True)
class RatingUse:
    """The level and distribution used for one rating cell, and whether it was overridden."""

    level: str
    mean: float
    sd: float
    source_level: str
    reason: str | None = None

    @property
    def overridden(self) -> bool:
        return self.reason is not None


def _lognormal_params(mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sigma2 = np.log1p((sd / mean) ** 2)
    return np.log(mean) - sigma2 / 2, np.sqrt(sigma2)


def personal_fit_factors(library: Library, fit: Mapping[str, float]) -> dict[str, float]:
    """Personal-fit multiplier per ranked approach from 1-7 fit answers (4 is neutral)."""
    factors = {a.slug: 1.0 for a in library.ranked}
    for item in library.fit_items:
        answer = fit.get(item.id)
        if answer is None:
            continue
        for slug, w in item.weights.items():
            if slug in factors:
                factors[slug] *= 1.0 + w * (answer - 4.0) / 3.0
    return factors


class ValueModel:
    """Vectorised value model for the ranked approaches of a library.

    Parameters
    ----------
    library
        The crux library.
    overrides
        ``{slug: Override}`` from a profile; replaces levels with a stated reason.
    personal_fit
        Optional ``{slug: factor}`` multiplying each approach's value (1 = neutral).
    """

    def __init__(self, library: Library, overrides: Mapping | None = None,
                 personal_fit: Mapping[str, float] | None = None):
        self.library = library
        self.approaches = library.ranked
        self.slugs = tuple(a.slug for a in self.approaches)
        self.var_ids = library.variable_ids
        self.var_index = {v: i for i, v in enumerate(self.var_ids)}
        self.prior_means = np.array([v.prior.mean for v in library.variables])
        overrides = overrides or {}
        levels = library.settings.levels
        self.ratings_used: dict[str, dict[str, RatingUse]] = {}
        means = np.zeros((len(self.slugs), 4))
        sds = np.zeros((len(self.slugs), 4))
        for i, a in enumerate(self.approaches):
            over = overrides.get(a.slug)
            used = {}
            for j, dim in enumerate(RATING_DIMS):
                level = a.ratings[dim]
                reason = None
                if over is not None and dim in over.ratings:
                    level, reason = over.ratings[dim], over.reason
                dist = levels[dim][level]
                means[i, j], sds[i, j] = dist.mean, dist.sd
                used[dim] = RatingUse(level, dist.mean, dist.sd, a.ratings[dim], reason)
            self.ratings_used[a.slug] = used
        self._mu, self._sigma = _lognormal_params(means, np.maximum(sds, 1e-12))
        self._rating_means = means
        # Tilts as a matrix (approaches x variables), divided by max(m, 1 - m) once.
        scale = np.maximum(self.prior_means, 1 - self.prior_means)
        self.tilts = np.zeros((len(self.slugs), len(self.var_ids)))
        for i, a in enumerate(self.approaches):
            for var, t in a.tilts.items():
                self.tilts[i, self.var_index[var]] = t / scale[self.var_index[var]]
        self._tilted = [v for v in range(len(self.var_ids)) if np.any(self.tilts[:, v])]
        self.hard_index = self.var_index[HARD_VARIABLE]
        self.fit = np.array([float((personal_fit or {}).get(s, 1.0)) for s in self.slugs])

    # ----------------------------------------------------------------- ratings
    def draw_ratings(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw rating values, shape (n, approaches, 4) in RATING_DIMS order."""
        z = rng.standard_normal((n, len(self.slugs), 4))
        return np.exp(self._mu[None] + self._sigma[None] * z)

    def mean_ratings(self, n: int = 1) -> np.ndarray:
        """Rating values fixed at their means (for deterministic what-if curves)."""
        return np.broadcast_to(self._rating_means, (n, len(self.slugs), 4)).copy()

    # ----------------------------------------------------------------- values
    def values(self, theta: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Value of every ranked approach, shape (n, approaches).

        ``theta`` is (n, variables) credences; ``ratings`` is (n, approaches, 4).
        """
        theta = np.asarray(theta, dtype=float)
        h = theta[:, self.hard_index][:, None]
        tract, hard, easy, negl = (ratings[..., j] for j in range(4))
        base = (h * hard + (1 - h) * easy) * tract * negl
        dev = theta - self.prior_means[None, :]  # (n, V)
        # prod over v of (1 + tilt_av * dev_v), one variable at a time: only variables that
        # tilt some approach are touched, and no (n, A, V) array is built.
        value = base * self.fit[None, :]
        for v in self._tilted:
            value *= 1.0 + self.tilts[None, :, v] * dev[:, v, None]
        return value

    def column_mean_values(self, theta: np.ndarray, ratings: np.ndarray,
                           points: np.ndarray) -> np.ndarray:
        """Mean value of every approach with one variable's credence fixed, for every variable.

        ``points`` is (variables, k): entry ``[j, i]`` is a credence for variable ``j``.
        Returns (variables, k, approaches): entry ``[j, i]`` equals
        ``values(th, ratings).mean(axis=0)`` where ``th`` is ``theta`` with column ``j`` set
        to ``points[j, i]`` (the other columns keep their draws), to floating-point rounding.

        Exact because the model is multilinear: with column ``j`` fixed at ``x`` a draw's
        value is ``fit * (1 + t_j (x - m_j)) * (c0 + x c1) * P_j`` with ``P_j`` the product of
        the other variables' factors, ``c0`` the base value and ``c1 = 0`` - except for the
        hard variable, whose credence enters the base linearly (``c0 = easy * tract * negl``,
        ``c1 = (hard - easy) * tract * negl``). Its mean over draws is therefore
        ``fit * (1 + t_j (x - m_j)) * (mean(c0 P_j) + x mean(c1 P_j))``. ``P_j`` comes from
        prefix and suffix products over the tilted variables (no division: a factor can be
        zero or negative). Cost: about three value evaluations whatever ``k``.
        """
        theta = np.asarray(theta, dtype=float)
        points = np.asarray(points, dtype=float)
        # Approaches x draws layout: every operation below runs along the draws.
        theta_t = np.ascontiguousarray(theta.T)  # (V, n)
        tract, hard, easy, negl = np.ascontiguousarray(np.transpose(ratings, (2, 1, 0)))
        n, n_app = theta.shape[0], len(self.slugs)
        tn = tract * negl
        hi = self.hard_index
        h = theta_t[hi][None, :]
        base = (h * hard + (1 - h) * easy) * tn  # (A, n)
        dev = theta_t - self.prior_means[:, None]  # (V, n)
        tilted = self._tilted
        n_t = len(tilted)
        tilts_t = self.tilts.T  # (V, A)

        def factor(i):  # (A, n)
            v = tilted[i]
            return 1.0 + tilts_t[v][:, None] * dev[v][None, :]

        # suf[i]: product of the factors of tilted[i:]; the prefix product runs in ``pre``.
        suf = np.empty((n_t + 1, n_app, n))
        suf[n_t] = 1.0
        for i in range(n_t - 1, -1, -1):
            np.multiply(factor(i), suf[i + 1], out=suf[i])
        position = {v: i for i, v in enumerate(tilted)}
        # Mean of base times every factor but the one of tilted[i], per approach: (T, A).
        without = np.empty((n_t, n_app))
        pre = np.ones((n_app, n))
        buf = np.empty((n_app, n))
        hard_others = None  # every factor but the hard variable's, if it has one
        for i in range(n_t):
            np.multiply(pre, suf[i + 1], out=buf)
            if tilted[i] == hi:
                hard_others = buf.copy()
            buf *= base
            without[i] = buf.mean(axis=-1)
            pre *= factor(i)
        all_mean = (base * pre).mean(axis=-1)

        out = np.empty((len(self.var_ids), points.shape[1], n_app))
        for j in range(len(self.var_ids)):
            x = points[j][:, None]  # (k, 1)
            tilt = 1.0 + self.tilts[None, :, j] * (x - self.prior_means[j])  # (k, A)
            i = position.get(j)
            if j == hi:
                p = pre if i is None else hard_others
                m0 = (easy * tn * p).mean(axis=-1)
                m1 = ((hard - easy) * tn * p).mean(axis=-1)
                out[j] = self.fit[None, :] * tilt * (m0[None, :] + x * m1[None, :])
            elif i is not None:
                out[j] = self.fit[None, :] * tilt * without[i][None, :]
            else:  # a variable no approach tilts: the values do not depend on it
                out[j] = (self.fit * all_mean)[None, :]
        return out

    def depends_on(self, j: int) -> bool:
        """Whether any approach's value depends on variable ``j`` (the hard variable, or a tilt)."""
        return j == self.hard_index or j in self._tilted

    def index(self, slug: str) -> int:
        return self.slugs.index(slug)
