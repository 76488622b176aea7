"""Comparing two profiles: how much of the difference each belief explains.

:func:`compare_analyses` takes the analyses of two profiles on the same crux library
(a person before and after advice; a person and their organisation's defaults) and splits
the difference in AI-assisted alignment's standing - the probability that it ranks first,
that it ranks in the top three, and its margin (its mean value minus the best other
approach's) - among the belief variables with an exact Shapley decomposition.

The game
    Players are the belief variables whose evidence differs between the profiles, plus one
    player "rating overrides" when the profiles' rating overrides differ and one player
    "personal fit" when their personal-fit multipliers differ. For a coalition ``S`` the
    credence draws take the columns of the variables in ``S`` from B and the others from A,
    pairing draws by index (both truncated to the common number of draws); the value model
    uses B's overrides if "rating overrides" is in ``S`` (A's otherwise) and B's personal fit
    if "personal fit" is in ``S``.
    ``f(S)`` is (p_best, p_top3, margin) computed from those values. Every coalition is
    evaluated (2^players, at most 2^10 here), and the Shapley value of player ``i`` is
    ``sum_{S not containing i} |S|! (k - |S| - 1)! / k! * (f(S + i) - f(S))``, so the
    contributions sum to ``f(all) - f(none)`` (to floating-point rounding, about 1e-15).

Common random numbers
    Only beliefs (and overrides) may differ, so both sides use A's rating draws. When B's
    value model is used, A's rating draws are mapped through the same standard-normal
    quantiles to B's rating distributions (``r_B = exp(mu_B + sigma_B z)`` with
    ``z = (log r_A - mu_A) / sigma_A``): cells B does not override keep A's exact draws.
    If both analyses were run with the same seed and number of draws this reproduces B's
    own rating draws exactly.

Variables with identical evidence
    The posterior factorises over groups of variables linked by statements (the priors are
    independent per variable and each answer's likelihood involves only the variables its
    statement loads on). A variable whose whole group has the same answers in both profiles
    (answered statements compared; "unsure" counts as no answer) has the same posterior in
    both, so any difference between its draws is Monte Carlo noise: A's draws are used on both
    sides, which makes it a null player with a contribution of exactly 0. This is the
    transitive version of "the statements loading on it have the same answers and load on no
    variable whose evidence differs"; for the bundled library the two coincide.

Consequently ``b`` (the endpoint ``f(all)``) can differ from B's own report by Monte Carlo
noise when the seeds or draw counts differ or a variable is shared; both are given (``b`` and
``b.reported``). Two identical profiles compare to exactly zero everywhere.

Timing (2000 draws; one value-model evaluation of ~1.5 ms per coalition, so time doubles with
each belief or overrides player; the personal-fit player only rescales values and costs
~0.3 ms per coalition): 8 players (256 coalitions) take about 0.4 s of CPU, 9 variables plus
the overrides player (1024 coalitions) about 1.6 s, and the bundled library's worst case,
adding personal fit (2048 coalitions), about 2 s; measured on a shared 2-core machine.
"""

from __future__ import annotations

import math

import numpy as np

from cruxfit.models.decision import INCONCLUSIVE, ev_rank, margin, verdict_for
from cruxfit.models.rounding import json_round as _r
from cruxfit.models.voi import target_rank_stats
from cruxfit.models.values import ValueModel

QUANTITIES = ("p_best", "p_top3", "margin")
OVERRIDES_PLAYER = "rating-overrides"
OVERRIDES_NAME = "Rating overrides"
FIT_PLAYER = "personal-fit"
FIT_NAME = "Personal fit"

#: How the comparison is computed, as a code (worded by :mod:`cruxfit.reports.wording`).
METHOD = "exact-shapley"


# ----------------------------------------------------------------------------- pure parts


def shapley(f: np.ndarray) -> np.ndarray:
    """Exact Shapley values from a game given on every coalition.

    ``f`` has shape (2^k, ...) with ``f[mask]`` the worth of the coalition whose members are
    the set bits of ``mask`` (bit ``i`` = player ``i``). Returns (k, ...).
    """
    f = np.asarray(f, float)
    n_masks = f.shape[0]
    k = n_masks.bit_length() - 1
    if 2 ** k != n_masks:
        raise ValueError("f must have 2^k rows")
    masks = np.arange(n_masks)
    size = np.array([bin(m).count("1") for m in masks])
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
                       if s < k else 0.0 for s in size])
    out = np.zeros((k,) + f.shape[1:])
    for i in range(k):
        without = masks[(masks >> i & 1) == 0]
        w = weight[without].reshape((-1,) + (1,) * (f.ndim - 1))
        out[i] = (w * (f[without | (1 << i)] - f[without])).sum(axis=0)
    return out


def shared_variables(library, profile_a, profile_b) -> set[str]:
    """Variables whose posterior is the same under both profiles.

    Variables are linked when an answered statement (in either profile) loads on both; a
    variable is shared when every statement loading on any variable of its linked group has
    the same answer in both profiles ("unsure" and unanswered both count as no answer).
    """
    ans_a, ans_b = dict(profile_a.answers), dict(profile_b.answers)
    parent = {v: v for v in library.variable_ids}

    def find(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    differs: set[str] = set()
    for s in library.statements:
        va, vb = ans_a.get(s.id), ans_b.get(s.id)
        if va is None and vb is None:
            continue
        loads = [ld.variable for ld in s.loads]
        for v in loads[1:]:
            parent[find(v)] = find(loads[0])
        if va != vb:
            differs.update(loads)
    bad_groups = {find(v) for v in differs}
    return {v for v in library.variable_ids if find(v) not in bad_groups}


def map_ratings(ratings_a: np.ndarray, vm_a, vm_b) -> np.ndarray:
    """A's rating draws carried to B's rating distributions through common normal quantiles."""
    mu_a, sig_a = vm_a._mu, vm_a._sigma
    mu_b, sig_b = vm_b._mu, vm_b._sigma
    same = (mu_a == mu_b) & (sig_a == sig_b)
    z = np.where(sig_a[None] > 1e-9, (np.log(ratings_a) - mu_a[None]) / sig_a[None], 0.0)
    mapped = np.exp(mu_b[None] + sig_b[None] * z)
    return np.where(same[None], ratings_a, mapped)


def _ratings_differ(vm_a, vm_b) -> bool:
    return not (np.array_equal(vm_a._mu, vm_b._mu) and np.array_equal(vm_a._sigma, vm_b._sigma))


def _fit_differs(vm_a, vm_b) -> bool:
    return not np.array_equal(vm_a.fit, vm_b.fit)


class _ValueModels:
    """The value model for each combination of (overrides from B?, personal fit from B?)."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.vm = {(False, False): a.value_model, (True, True): b.value_model}

    def get(self, overrides_b: bool, fit_b: bool):
        key = (bool(overrides_b), bool(fit_b))
        if key not in self.vm:
            src_over = self.b if key[0] else self.a
            src_fit = self.b if key[1] else self.a
            vm = ValueModel(self.a.library, src_over.profile.overrides,
                            dict(zip(src_fit.value_model.slugs, src_fit.value_model.fit)))
            if _ratings_differ(vm, src_over.value_model) or _fit_differs(vm, src_fit.value_model):
                raise ValueError("cannot rebuild a value model mixing the two profiles' rating "
                                 "overrides and personal fit")
            self.vm[key] = vm
        return self.vm[key]


def _stats(values: np.ndarray, target: int) -> np.ndarray:
    pb, pt = target_rank_stats(values, target)
    return np.array([float(pb), float(pt), margin(values, target)])


def _round_to_total(parts: np.ndarray, total: float, nd: int = 4) -> list[float]:
    """Round parts to ``nd`` decimals so that they add up to the rounded total exactly
    (largest remainder; parts that are exactly zero stay zero)."""
    scale = 10 ** nd
    want = round(total * scale)
    raw = parts * scale
    base = np.round(raw).astype(int)
    diff = want - int(base.sum())
    movable = [i for i in range(len(parts)) if parts[i] != 0]
    if diff and movable:
        resid = raw - base
        order = sorted(movable, key=lambda i: -resid[i] * np.sign(diff))
        for k in range(abs(diff)):
            base[order[k % len(order)]] += int(np.sign(diff))
    return [_r(x / scale, nd) for x in base]


# ----------------------------------------------------------------------------- comparison


def _shown(analysis, label: str, converged: bool) -> str:
    """The verdict a report shows: inconclusive, not enough answers, or the rule's label."""
    if not converged:
        return INCONCLUSIVE
    if not analysis.evidence()["enough"]:
        return analysis.library.settings.evidence.label
    return label


def _summary(analysis, values: np.ndarray, stats: np.ndarray, converged: bool) -> dict:
    vm = analysis.value_model
    t = analysis.target
    means = values.mean(axis=0)
    rule = verdict_for(analysis.library.settings.verdicts, ev_rank(means, t), stats[0], stats[1])
    others = [i for i in range(len(means)) if i != t]
    best_alt = max(others, key=lambda i: means[i])
    return {
        "name": analysis.profile.name,
        "verdict": _shown(analysis, rule.label, converged),
        "model_verdict": rule.label,
        "p_best": _r(stats[0]),
        "p_top3": _r(stats[1]),
        "margin": _r(stats[2]),
        "best_alternative": vm.slugs[best_alt],
        "top": vm.slugs[int(np.argmax(means))],
    }


def compare_analyses(a, b) -> dict:
    """Compare profile A (before / person) with profile B (after / organisation).

    Returns JSON-ready data::
        {"a": {name, verdict, model_verdict, p_best, p_top3, margin, best_alternative, top,
               reported: {...}},
         "b": {...},
         "total": {p_best, p_top3, margin},              # B minus A
         "contributions": [{variable, name, p_best, p_top3, margin, shared,
                            credence_a, credence_b, sentence}],   # sentence: a code
         "verdict_change": {from, to, changed},
         "overrides_differ": bool, "fit_differs": bool, "draws": int, "method": code}

    ``sentence`` and ``method`` are codes that :mod:`cruxfit.reports.wording` words.

    ``contributions`` lists the belief variables in library order, then "rating-overrides"
    and "personal-fit" when the profiles differ in those.

    Contributions (rounded to 4 decimals with a largest-remainder rule) add up to ``total``.
    """
    lib = a.library
    if lib.sha256 != b.library.sha256 or lib.variable_ids != b.library.variable_ids:
        raise ValueError("the two analyses use different crux libraries and cannot be compared")
    vm_a, vm_b = a.value_model, b.value_model
    if vm_a.slugs != vm_b.slugs:
        raise ValueError("the two analyses rank different approaches")
    n = min(a.theta.shape[0], b.theta.shape[0])
    th_a = np.asarray(a.theta[:n], float)
    th_b = np.asarray(b.theta[:n], float)
    r_a = np.asarray(a.ratings[:n], float)
    target = a.target

    shared = shared_variables(lib, a.profile, b.profile)
    var_players = [j for j, v in enumerate(lib.variables) if v.id not in shared]
    overrides_differ = _ratings_differ(vm_a, vm_b)
    fit_differs = _fit_differs(vm_a, vm_b)
    r_b = map_ratings(r_a, vm_a, vm_b) if overrides_differ else r_a
    extra = ([OVERRIDES_PLAYER] if overrides_differ else []) + ([FIT_PLAYER] if fit_differs else [])
    k = len(var_players) + len(extra)
    bit_of = {p: len(var_players) + i for i, p in enumerate(extra)}
    models = _ValueModels(a, b)

    # Personal fit multiplies each approach's value by a constant, so the coalitions with B's
    # fit are A's-fit values rescaled (checked once; otherwise evaluated directly).
    fit_bit = bit_of.get(FIT_PLAYER)
    scale = None
    if fit_bit is not None and np.all(vm_a.fit != 0):
        scale = vm_b.fit / vm_a.fit
        direct = models.get(False, True).values(th_a, r_a)
        if not np.allclose(vm_a.values(th_a, r_a) * scale, direct, rtol=1e-12, atol=0):
            scale = None

    f = np.zeros((2 ** k, len(QUANTITIES)))
    ends = {}
    full = 2 ** k - 1
    for mask in range(2 ** k):
        fit_b = fit_bit is not None and mask >> fit_bit & 1
        if fit_b and scale is not None:
            continue  # filled in together with mask without the fit bit
        theta = th_a.copy()
        for bit, j in enumerate(var_players):
            if mask >> bit & 1:
                theta[:, j] = th_b[:, j]
        over_b = OVERRIDES_PLAYER in bit_of and mask >> bit_of[OVERRIDES_PLAYER] & 1
        values = models.get(over_b, fit_b).values(theta, r_b if over_b else r_a)
        done = [(mask, values)]
        if scale is not None and not fit_b:
            done.append((mask | 1 << fit_bit, values * scale))
        for m, v in done:
            f[m] = _stats(v, target)
            if m in (0, full):
                ends[m] = v
    phi = shapley(f) if k else np.zeros((0, len(QUANTITIES)))
    total = f[full] - f[0]

    # Contributions per variable (library order), then the overrides and fit players.
    n_vars = len(lib.variables)
    contrib = np.zeros((n_vars + len(extra), len(QUANTITIES)))
    for bit, j in enumerate(var_players):
        contrib[j] = phi[bit]
    for i, player in enumerate(extra):
        contrib[n_vars + i] = phi[bit_of[player]]
    rounded = [_round_to_total(contrib[:, q], total[q]) for q in range(len(QUANTITIES))]

    seed_name = {ap.slug: ap.name for ap in vm_a.approaches}[vm_a.slugs[target]]
    name_a, name_b = a.profile.name, b.profile.name
    rows = []
    for j, var in enumerate(lib.variables):
        ca = float(th_a[:, j].mean())
        cb = ca if var.id in shared else float(th_b[:, j].mean())
        vals = {q: rounded[i][j] for i, q in enumerate(QUANTITIES)}
        # What the row says, as a code with its unrounded numbers (cruxfit.reports.wording).
        if var.id in shared:
            sentence = {"code": "shared", "belief": var.name}
        else:
            sentence = {"code": "credence-change", "belief": var.name, "target": seed_name,
                        "credence_a": ca, "credence_b": cb, "name_a": name_a, "name_b": name_b,
                        **{q: float(contrib[j, i]) for i, q in enumerate(QUANTITIES)}}
        rows.append({"variable": var.id, "name": var.name, **vals,
                     "shared": var.id in shared, "credence_a": _r(ca), "credence_b": _r(cb),
                     "sentence": sentence})
    for i, player in enumerate(extra):
        row = n_vars + i
        vals = {q: rounded[qi][row] for qi, q in enumerate(QUANTITIES)}
        rows.append({"variable": player,
                     "name": OVERRIDES_NAME if player == OVERRIDES_PLAYER else FIT_NAME, **vals,
                     "shared": False, "credence_a": None, "credence_b": None,
                     "sentence": {"code": player, "target": seed_name,
                                  **{q: float(contrib[row, i])
                                     for i, q in enumerate(QUANTITIES)}}})

    sum_a = _summary(a, ends[0], f[0], a.converged)
    sum_b = _summary(b, ends[full], f[full], b.converged)
    sum_a["reported"] = _reported(a)
    sum_b["reported"] = _reported(b)
    return {
        "a": sum_a,
        "b": sum_b,
        "total": {q: _r(total[i]) for i, q in enumerate(QUANTITIES)},
        "contributions": rows,
        "verdict_change": {"from": sum_a["verdict"], "to": sum_b["verdict"],
                           "changed": sum_a["verdict"] != sum_b["verdict"]},
        "overrides_differ": bool(overrides_differ),
        "fit_differs": bool(fit_differs),
        "draws": int(n),
        "method": METHOD,
    }


def _reported(analysis) -> dict:
    """The analysis's own numbers, as its single-profile report gives them."""
    stats = _stats(analysis.values, analysis.target)
    rank = ev_rank(analysis.values.mean(axis=0), analysis.target)
    rule = verdict_for(analysis.library.settings.verdicts, rank, stats[0], stats[1])
    return {"verdict": _shown(analysis, rule.label, analysis.converged),
            "p_best": _r(stats[0]), "p_top3": _r(stats[1]), "margin": _r(stats[2])}
