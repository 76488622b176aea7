"""The elicitation model: answers as noisy observations of latent credences.

For each respondent ``r`` and belief variable ``v`` a credence ``theta[r, v]`` has the Beta
prior the library states. A statement loads on one or more variables with a sign and a
weight; its latent score is ``x = sum(sign * weight * logit(theta_v))``.

* agree7 answers (1..7, stored 0-based) follow an ordered logistic distribution with
  location ``discrimination * x`` and the library's fixed cutpoints;
* probability answers follow ``logit(answer) ~ Normal(x, sd_logit)`` (answers clipped away
  from 0 and 1). The Jacobian of the logit does not involve ``theta``, so it is left out.

Answers on one belief share a residual (``item_correlation`` rho in ``cruxes/model.yaml``):
each answer's log-odds scale is multiplied by its *precision* ``s = 1 / sqrt(1 + (n - 1)
rho)``, where ``n`` is how many of the respondent's answers have the same main belief. For
agree7 that multiplies location and cutpoints (``P(y <= k) = logistic(s (c_k - eta))``), for
a probability it divides ``sd_logit`` by ``s``; either way the answer's information is
``s**2`` of a lone answer's and its location is unchanged, so ``n`` answers carry the
information of ``n / (1 + (n - 1) rho)`` independent ones.

Unsure and missing answers simply contribute nothing, so the variable keeps its prior. The
same arrays drive :func:`loglik_matrix`, the numpy twin used for per-answer influence and
for the exactness tests, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.special import logit

from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import Profile


@dataclass(frozen=True)
class Observations:
    """Answers of several respondents as flat arrays (one row per answer)."""

    respondent: np.ndarray  # (n,) int
    statement: tuple[str, ...]  # (n,) statement ids
    load: np.ndarray  # (n, V) sign * weight
    ordinal: np.ndarray  # (n,) bool: agree7 (True) or probability (False)
    value: np.ndarray  # (n,) 0-based category for agree7, clipped probability otherwise
    n_respondents: int
    precision: np.ndarray | None = None  # (n,) tempering of each answer (1 = a lone answer)

    def precisions(self) -> np.ndarray:
        return np.ones(self.n) if self.precision is None else self.precision

    @property
    def n(self) -> int:
        return len(self.statement)


def precision(n_same: int | np.ndarray, rho: float) -> np.ndarray:
    """Tempering of one answer among ``n_same`` answers on the same main belief."""
    return 1.0 / np.sqrt(1.0 + (np.asarray(n_same, float) - 1.0) * rho)


def observations(library: Library, profiles: Sequence[Profile],
                 n_same: Sequence[int] | None = None) -> Observations:
    """Flat answer arrays. ``n_same`` overrides, per answer, how many answers share its main
    belief (used to evaluate an answer as if others were or were not given)."""
    index = {v: i for i, v in enumerate(library.variable_ids)}
    stmts = {s.id: s for s in library.statements}
    clip = library.settings.clip
    resp, sid, loads, ordinal, value, same = [], [], [], [], [], []
    for r, profile in enumerate(profiles):
        counts: dict[str, int] = {}
        for statement_id in profile.answers:
            main = stmts[statement_id].variable
            counts[main] = counts.get(main, 0) + 1
        for statement_id, answer in profile.answers.items():
            same.append(counts[stmts[statement_id].variable])
            s = stmts[statement_id]
            row = np.zeros(len(index))
            for ld in s.loads:
                row[index[ld.variable]] = ld.sign * ld.weight
            resp.append(r)
            sid.append(statement_id)
            loads.append(row)
            ordinal.append(s.scale == "agree7")
            value.append(answer - 1 if s.scale == "agree7" else min(max(answer, clip), 1 - clip))
    V = len(index)
    return Observations(
        respondent=np.array(resp, dtype=int),
        statement=tuple(sid),
        load=np.array(loads, dtype=float).reshape(-1, V),
        ordinal=np.array(ordinal, dtype=bool),
        value=np.array(value, dtype=float),
        n_respondents=len(profiles),
        precision=precision(np.array(same if n_same is None else n_same, dtype=float),
                            library.settings.item_correlation).reshape(-1),
    )


def prior_arrays(library: Library) -> tuple[np.ndarray, np.ndarray]:
    alpha = np.array([v.prior.alpha for v in library.variables])
    beta = np.array([v.prior.beta for v in library.variables])
    return alpha, beta


def build_model(library: Library, obs: Observations, *, answers_as_data: bool = False):
    """The PyMC model for independent respondents (one row of theta each).

    ``answers_as_data``: the answers enter as ``pm.Data`` named as in :func:`answer_data`
    instead of constants, so that the compiled model serves any answers to the same
    statements (:mod:`cruxfit.models.compiled`); the density is the same term for term.
    """
    import pymc as pm
    import pytensor.tensor as pt

    settings = library.settings
    alpha, beta = prior_arrays(library)
    R, V = obs.n_respondents, len(alpha)
    coords = {"respondent": np.arange(R), "variable": list(library.variable_ids)}
    with pm.Model(coords=coords) as model:
        theta = pm.Beta(
            "theta",
            alpha=np.broadcast_to(alpha, (R, V)),
            beta=np.broadcast_to(beta, (R, V)),
            dims=("respondent", "variable"),
        )
        _likelihood(pt.log(theta) - pt.log1p(-theta), obs, settings, as_data=answers_as_data)
    return model


#: Stand-ins for the missing outer cutpoints of the lowest and highest category: far enough
#: out that the logistic of (cutpoint - location) is exactly 0 or 1 in double precision.
_OUTER_CUT = 1e3


def ordinal_tables(cutpoints) -> tuple[np.ndarray, np.ndarray]:
    """(cuts, gap): cutpoints padded with the outer stand-ins (length K + 1 for K categories)
    and ``gap[k] = log(1 - exp(cuts[k] - cuts[k + 1]))`` (0 for the two end categories)."""
    cuts = np.r_[-_OUTER_CUT, np.asarray(cutpoints, float), _OUTER_CUT]
    gap = np.log1p(-np.exp(cuts[:-1] - cuts[1:]))
    return cuts, gap


def ordinal_terms(cutpoints, k: np.ndarray, prec: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per answer: the tempered lower and upper cutpoints of its category and the constant
    ``log(1 - exp(s (c_{k-1} - c_k)))``, so that ``log P(k) = -softplus(s eta - hi) -
    softplus(lo - s eta) + gap`` with ``s`` the answer's precision."""
    cuts, _ = ordinal_tables(cutpoints)
    lo, hi = prec * cuts[k], prec * cuts[k + 1]
    gap = np.log1p(-np.exp(lo - hi))
    return lo, hi, gap


def _load_columns(obs: Observations, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The loadings of ``rows`` as (flat theta index, weight) columns, one per loading slot.

    Statements load on one or two variables; gathering those few entries of the flattened
    (respondents x variables) log-odds is much cheaper, with its gradient, than multiplying
    a gathered dense (answers x variables) block.
    """
    V = obs.load.shape[1]
    nz = [np.flatnonzero(obs.load[i]) for i in rows]
    width = max((len(c) for c in nz), default=0)
    out = []
    for k in range(width):
        idx = np.array([obs.respondent[i] * V + (c[k] if k < len(c) else 0) for i, c in zip(rows, nz)],
                       dtype="int64")
        w = np.array([obs.load[i, c[k]] if k < len(c) else 0.0 for i, c in zip(rows, nz)])
        out.append((idx, w))
    return out


def answer_data(settings, obs: Observations) -> dict[str, np.ndarray]:
    """The answers as the arrays the likelihood reads, by the names they have as model data:
    per agree7 answer its category and tempered cutpoints and constant (``agree_k``,
    ``agree_lo``, ``agree_hi``, ``agree_gap``; see :func:`ordinal_terms`), per probability
    answer its log-odds (``probability_obs``)."""
    prec = obs.precisions()
    out = {}
    ordinal = np.flatnonzero(obs.ordinal)
    if ordinal.size:
        k = obs.value[ordinal].astype("int64")
        lo, hi, gap = ordinal_terms(settings.cutpoints, k, prec[ordinal])
        out.update(agree_k=k, agree_lo=lo, agree_hi=hi, agree_gap=gap)
    continuous = np.flatnonzero(~obs.ordinal)
    if continuous.size:
        out["probability_obs"] = logit(obs.value[continuous])
    return out


def _likelihood(logit_theta, obs: Observations, settings, *, as_data: bool = False) -> None:
    """Add the answer likelihood to the current model, given (R, V) log-odds credences.

    Ordered logistic for agree7 answers, written for the observed category only:
    ``P(k) = s(c_k - eta) - s(c_{k-1} - eta)`` with ``s`` the logistic function equals
    ``s(c_k - eta) s(eta - c_{k-1}) (1 - exp(c_{k-1} - c_k))``, so its logarithm is two
    softplus terms and a constant - accurate however far ``eta`` is from the cutpoints, and a
    fraction of the cost of building every category's probability as ``OrderedLogistic``
    does. :func:`loglik_matrix` computes the same in numpy.

    ``as_data``: the arrays of :func:`answer_data` enter as ``pm.Data`` (static shapes: the
    number of answers is part of a compiled model's key) rather than as constants.
    """
    import pymc as pm
    import pytensor.tensor as pt

    flat = logit_theta.flatten()

    def score(rows):
        return sum(pt.as_tensor_variable(w) * flat[idx] for idx, w in _load_columns(obs, rows))

    values = answer_data(settings, obs)

    def data(name):
        return pm.Data(name, values[name], shape=values[name].shape)

    prec = obs.precisions()
    ordinal = np.flatnonzero(obs.ordinal)
    if ordinal.size:
        if as_data:
            k, lo, hi, gap = (data(n) for n in ("agree_k", "agree_lo", "agree_hi", "agree_gap"))
        else:
            k = values["agree_k"]
            lo, hi, gap = (pt.as_tensor_variable(values[n]) for n in ("agree_lo", "agree_hi", "agree_gap"))
        eta = pt.as_tensor_variable(settings.discrimination * prec[ordinal]) * score(ordinal)

        def logp(value, eta):
            return -pt.softplus(eta - hi) - pt.softplus(lo - eta) + gap

        pm.CustomDist("agree", eta, logp=logp, observed=k, dtype="int64")
    continuous = np.flatnonzero(~obs.ordinal)
    if continuous.size:
        y = data("probability_obs") if as_data else values["probability_obs"]
        pm.Normal("probability", mu=score(continuous), sigma=settings.sd_logit / prec[continuous],
                  observed=y)


def observed_pairs(obs: Observations) -> tuple[np.ndarray, np.ndarray]:
    """(respondent, variable) pairs that at least one answer is evidence about."""
    pairs = sorted({(int(r), int(v)) for r, row in zip(obs.respondent, obs.load)
                    for v in np.flatnonzero(row)})
    if not pairs:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    r, v = np.array(pairs).T
    return r, v


def build_org_model(library: Library, obs: Observations):
    """Partial pooling of several respondents' credences (non-centred, log-odds scale).

    ``mu`` is the organisation's log-odds per variable and ``tau`` how far members spread
    around it; member ``r`` has log-odds ``mu + tau * z[r, v]`` with ``z ~ Normal(0, 1)``.
    Only the ``z`` of (member, variable) pairs that some answer bears on are sampled
    (``z_obs``); the others do not touch the likelihood, so their posterior is their
    Normal(0, 1) prior and :func:`member_log_odds` draws them afterwards. This keeps NUTS on
    the parameters the data inform, which matters for large, sparse organisations.
    """
    import pymc as pm
    import pytensor.tensor as pt

    settings = library.settings
    means = np.array([v.prior.mean for v in library.variables])
    R, V = obs.n_respondents, len(means)
    r_idx, v_idx = observed_pairs(obs)
    coords = {"variable": list(library.variable_ids), "pair": np.arange(len(r_idx))}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", mu=logit(means), sigma=settings.org_mean_sd, dims="variable")
        tau = pm.HalfNormal("tau", sigma=settings.org_spread_sd, dims="variable")
        if len(r_idx):
            z_obs = pm.Normal("z_obs", 0.0, 1.0, dims="pair")
            z = pt.set_subtensor(pt.zeros((R, V))[r_idx, v_idx], z_obs)
        else:
            z = pt.zeros((R, V))
        _likelihood(mu[None, :] + tau[None, :] * z, obs, settings)
    return model


def member_log_odds(mu: np.ndarray, tau: np.ndarray, z_obs: np.ndarray | None, obs: Observations,
                    rng: np.random.Generator) -> np.ndarray:
    """Members' log-odds draws (draws, R, V) from pooled draws; unobserved z from the prior."""
    D, V = mu.shape
    z = rng.standard_normal((D, obs.n_respondents, V))
    r_idx, v_idx = observed_pairs(obs)
    if z_obs is not None and len(r_idx):
        z[:, r_idx, v_idx] = z_obs
    return mu[:, None, :] + tau[:, None, :] * z
def loglik_matrix(library: Library, obs: Observations, theta: np.ndarray) -> np.ndarray:
    """Log-likelihood of every answer under every draw: shape (draws, answers).

    ``theta`` is (draws, respondents, variables).
    """
    settings = library.settings
    lt = logit(np.clip(theta, 1e-12, 1 - 1e-12))
    x = np.einsum("dnv,nv->dn", lt[:, obs.respondent, :], obs.load)
    out = np.empty_like(x)
    o = obs.ordinal
    prec = obs.precisions()
    if o.any():
        k = obs.value[o].astype(int)
        lo, hi, gap = ordinal_terms(settings.cutpoints, k, prec[o])
        eta = settings.discrimination * prec[o] * x[:, o]
        out[:, o] = -np.logaddexp(0.0, eta - hi) - np.logaddexp(0.0, lo - eta) + gap
    if (~o).any():
        sd = settings.sd_logit / prec[~o]
        z = (logit(obs.value[~o])[None, :] - x[:, ~o]) / sd
        out[:, ~o] = -0.5 * z**2 - np.log(sd * np.sqrt(2 * np.pi))
    return out
