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


def _check_comparable(a, b) -> None:
    """Refuse two analyses that do not share a crux library and ranked approaches."""
    lib = a.library
    if lib.sha256 != b.library.sha256 or lib.variable_ids != b.library.variable_ids:
        raise ValueError("the two analyses use different crux libraries and cannot be compared")
    if a.value_model.slugs != b.value_model.slugs:
        raise ValueError("the two analyses rank different approaches")


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
    _check_comparable(a, b)
    vm_a, vm_b = a.value_model, b.value_model
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


# ----------------------------------------------------------------------------- sampled margin split

#: Largest game :func:`margin_shapley` enumerates exactly (2^8 = 256 coalitions).
EXACT_MAX_COALITIONS = 256
#: Orderings of the players when the game is larger: 16 random ones, each with its reverse.
ORDERINGS = 32
SAMPLED_METHOD = "sampled-shapley"


def sampled_shapley(worths_along, k: int, rng: np.random.Generator,
                    orderings: int = ORDERINGS) -> np.ndarray:
    """Shapley values estimated from orderings of the ``k`` players.

    ``worths_along(order)`` gives the worths of the ``k + 1`` coalitions met along the
    ordering ``order`` (empty, first player, first two, ..., all). ``orderings // 2`` random
    permutations are drawn from ``rng`` and each is used together with its reverse
    (antithetic pairs: in an ordering and its reverse every pair of players meets once in
    each order, so the estimate is exact for any game without interactions of three or more
    players). A player's estimate is the mean of its marginal contributions
    ``f(before + player) - f(before)``; each ordering's contributions add up to
    ``f(all) - f(none)``, so the estimates do too (to floating-point rounding).
    """
    phi = np.zeros(k)
    if k == 0:
        return phi
    pairs = max(1, orderings // 2)
    for _ in range(pairs):
        perm = rng.permutation(k)
        for order in (perm, perm[::-1]):
            f = np.asarray(worths_along(order), float)
            phi[order] += np.diff(f)
    return phi / (2 * pairs)


class _MarginGame:
    """The game of :func:`compare_analyses` for the margin alone: players, and the margin of
    AI-assisted alignment for the coalitions along an ordering of the players.

    Same players, common rating draws and pairing of draws as :func:`compare_analyses`. When
    the rating overrides do not differ (always within an organisation, whose overrides apply
    to every member) the coalitions' values are products of per-player factors: each
    variable's tilt factor ``1 + t (theta - m)`` taken from A's or B's draws (the hard
    variable's also carrying the base value, in which its credence enters linearly), and the
    personal-fit multipliers; a coalition's values along an ordering are then a running
    product of B's factors times a suffix product of A's. Otherwise every coalition is
    evaluated with the value model, as in :func:`compare_analyses`.
    """

    def __init__(self, a, b):
        lib = a.library
        _check_comparable(a, b)
        vm_a, vm_b = a.value_model, b.value_model
        self.a, self.b, self.library = a, b, lib
        n = min(a.theta.shape[0], b.theta.shape[0])
        self.th_a = np.asarray(a.theta[:n], float)
        self.th_b = np.asarray(b.theta[:n], float)
        self.r_a = np.asarray(a.ratings[:n], float)
        self.n = n
        self.target = a.target
        self.shared = shared_variables(lib, a.profile, b.profile)
        self.var_players = [j for j, v in enumerate(lib.variables) if v.id not in self.shared]
        self.overrides_differ = _ratings_differ(vm_a, vm_b)
        self.fit_differs = _fit_differs(vm_a, vm_b)
        self.extra = (([OVERRIDES_PLAYER] if self.overrides_differ else [])
                      + ([FIT_PLAYER] if self.fit_differs else []))
        self.players = [lib.variables[j].id for j in self.var_players] + self.extra
        self.k = len(self.players)
        self._models = _ValueModels(a, b)
        self._r_b = map_ratings(self.r_a, vm_a, vm_b) if self.overrides_differ else self.r_a
        if not self.overrides_differ:
            self._factors()
        # The ends, as compare_analyses evaluates them; every ordering starts and ends there.
        ends = [self._values(()), self._values(range(self.k))]
        self.f_none, self.f_all = (margin(v, self.target) for v in ends)
        #: The size of the mean values: products taken in another order differ by about
        #: 1e-16 of it, so a contribution below 1e-12 of it is no contribution at all.
        self.scale = max(float(np.abs(v.mean(axis=0)).max()) for v in ends)

    # -- the product form (rating overrides the same on both sides)
    def _factors(self) -> None:
        vm_a, vm_b = self.a.value_model, self.b.value_model
        # Approaches x draws: every operation runs along the draws.
        tract, hard, easy, negl = np.transpose(self.r_a, (2, 1, 0))
        tn = tract * negl
        hi = vm_a.hard_index
        m = vm_a.prior_means
        tilts = vm_a.tilts

        def tilt(theta, v):
            return 1.0 + tilts[:, v][:, None] * (theta[v] - m[v])[None, :]

        def hard_base(theta):
            h = theta[hi][None, :]
            return (h * hard + (1 - h) * easy) * tn

        th_a, th_b = np.ascontiguousarray(self.th_a.T), np.ascontiguousarray(self.th_b.T)

        moving = set(vm_a._tilted)
        const = hard_base(th_a) if hi not in self.var_players else np.ones_like(tn)
        for v in sorted(moving - set(self.var_players)):
            const = const * tilt(th_a, v)
        if not self.fit_differs:
            const = const * vm_a.fit[:, None]
        fa, fb = [], []
        for j in self.var_players:
            sides = []
            for theta in (th_a, th_b):
                f = hard_base(theta) if j == hi else None
                if j in moving:
                    f = tilt(theta, j) if f is None else f * tilt(theta, j)
                sides.append(f)  # None: a variable no value depends on (a null player)
            fa.append(sides[0])
            fb.append(sides[1])
        if self.fit_differs:
            fa.append(np.broadcast_to(vm_a.fit[:, None], tn.shape))
            fb.append(np.broadcast_to(vm_b.fit[:, None], tn.shape))
        self._const, self._fa, self._fb = const, fa, fb
        self._suffix = np.empty((self.k + 1,) + tn.shape)
        self._prefix = np.empty(tn.shape)

    def _margins(self, means: np.ndarray) -> np.ndarray:
        t = self.target
        return means[..., t] - np.delete(means, t, axis=-1).max(axis=-1)

    def worths_along(self, order) -> np.ndarray:
        """Margins of the k + 1 coalitions along ``order`` (first 0, 1, ..., k players from B);
        the first and the last are :attr:`f_none` and :attr:`f_all`."""
        k = self.k
        if self.overrides_differ:
            out = np.array([self.worth(order[:i]) for i in range(k + 1)])
        else:
            suf = self._suffix
            suf[k] = self._const
            for i in range(k - 1, -1, -1):
                f = self._fa[order[i]]
                if f is None:
                    suf[i] = suf[i + 1]
                else:
                    np.multiply(f, suf[i + 1], out=suf[i])
            # suf[i] becomes the values of the coalition of the first i players: B's factors
            # of those (a running product in ``pre``) times A's of the others.
            pre, started = self._prefix, False
            for i in range(1, k):
                f = self._fb[order[i - 1]]
                if f is not None:
                    if started:
                        pre *= f
                    else:
                        pre[...] = f
                        started = True
                if started:
                    suf[i] *= pre
            means = np.zeros((k + 1, suf.shape[1]))  # the ends are set below
            means[1:k] = suf[1:k].mean(axis=-1)
            out = self._margins(means)
        out[0], out[k] = self.f_none, self.f_all
        return out

    def worth(self, coalition) -> float:
        """Margin of one coalition (player indices), evaluated with the value model as
        :func:`compare_analyses` does."""
        return margin(self._values(coalition), self.target)

    def _values(self, coalition) -> np.ndarray:
        theta = self.th_a.copy()
        names = set()
        for p in coalition:
            names.add(self.players[p])
            if p < len(self.var_players):
                j = self.var_players[p]
                theta[:, j] = self.th_b[:, j]
        over_b, fit_b = OVERRIDES_PLAYER in names, FIT_PLAYER in names
        return self._models.get(over_b, fit_b).values(theta, self._r_b if over_b else self.r_a)


def margin_shapley(a, b, rng: np.random.Generator, orderings: int = ORDERINGS,
                   max_exact: int = EXACT_MAX_COALITIONS) -> dict:
    """How much of the difference in AI-assisted alignment's margin (B minus A) each player
    explains: the margin part of :func:`compare_analyses`, affordable for many players.

    With at most ``max_exact`` coalitions (2^players) this is :func:`compare_analyses`
    itself (exact Shapley values, ``method`` "exact-shapley"). With more, every coalition
    would cost a value-model evaluation (2^14 = 16,384 for the bundled library's 14
    variables), so the Shapley values are estimated from ``orderings`` orderings of the
    players (:func:`sampled_shapley`; ``method`` "sampled-shapley"). The estimates still add
    up to the total exactly (to floating-point rounding), and rounded with the same
    largest-remainder rule they add up to the rounded total. Being an average over 32 of the
    k! orderings they carry Monte Carlo error: none for a game without interactions among
    three or more players (antithetic pairs); with the bundled library, mostly from the best
    alternative changing between coalitions, below 0.01 value points for members a few
    tenths of credence from their organisation and up to a few hundredths for members far
    from it on many beliefs. A player whose estimate is below 1e-12 of the mean values (the
    rounding of products taken in another order) is given exactly 0, as the exact
    decomposition gives it.

    Returns ``{"total_margin", "contributions": [{variable, name, margin}] (library order,
    then the overrides and fit players), "method", "orderings" (sampled only)}``.
    """
    game = _MarginGame(a, b)
    if 2 ** game.k <= max_exact:
        comp = compare_analyses(a, b)
        return {"total_margin": comp["total"]["margin"],
                "contributions": [{"variable": c["variable"], "name": c["name"],
                                   "margin": c["margin"]} for c in comp["contributions"]],
                "method": METHOD}
    phi = sampled_shapley(game.worths_along, game.k, rng, orderings)
    # A player that moves neither AI-assisted alignment nor any approach that is ever the
    # best alternative contributes exactly 0 in compare_analyses; here the products are
    # taken in another order per coalition, which leaves about 1e-16 instead.
    phi[np.abs(phi) <= 1e-12 * game.scale] = 0.0
    total = game.f_all - game.f_none
    lib = a.library
    n_vars = len(lib.variables)
    contrib = np.zeros(n_vars + len(game.extra))
    for p, j in enumerate(game.var_players):
        contrib[j] = phi[p]
    for i in range(len(game.extra)):
        contrib[n_vars + i] = phi[len(game.var_players) + i]
    rounded = _round_to_total(contrib, total)
    names = [v.name for v in lib.variables] + [
        OVERRIDES_NAME if p == OVERRIDES_PLAYER else FIT_NAME for p in game.extra]
    ids = list(lib.variable_ids) + game.extra
    return {"total_margin": _r(total),
            "contributions": [{"variable": v, "name": nm, "margin": x}
                              for v, nm, x in zip(ids, names, rounded)],
            "method": SAMPLED_METHOD, "orderings": 2 * max(1, orderings // 2)}
