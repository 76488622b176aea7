"""From a profile to every number a report shows.

:func:`analyse` samples the credences, draws the uncertain ratings, evaluates the value
model on every draw and summarises: approach values and ranks, the verdict on AI-assisted
alignment, how the answers moved each belief, which beliefs decide the verdict, and the
diagnostics and provenance that make the run checkable. The result is plain JSON-ready data
(:meth:`Analysis.to_dict`); the draws stay available on the object for further analyses.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from cruxfit.cruxes.library import SEED_APPROACH, Library, agree7_label
from cruxfit.cruxes.next_steps import as_dict as next_steps_dict
from cruxfit.cruxes.profile import Profile
from cruxfit.cruxes.version import cruxfit_version, dependency_versions
from cruxfit.models.decision import (
    HDI_PROB,
    INCONCLUSIVE,
    data_quality,
    ev_rank,
    evidence_status,
    hdi,
    margin,
    rank_summary,
    ranked_above,
    seed_index,
    verdict_for,
    verdict_thresholds,
)
from cruxfit.models.elicitation import loglik_matrix
from cruxfit.models.inference import Posterior, sample
from cruxfit.models.rounding import json_round as _r
from cruxfit.models.values import RATING_DIMS, ValueModel, personal_fit_factors
from cruxfit.models.exact import answer_effects

SCHEMA_VERSION = 2

#: Checklist statuses (codes; :mod:`cruxfit.reports.wording` says them in words).
HOLDS, NOT_HELD, UNDECIDED = "holds", "not-held", "undecided"


def rating_seed(seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), 0xC0FFEE])


@dataclass
class Analysis:
    """Everything computed for one respondent; ``theta`` is (draws, variables)."""

    library: Library
    profile: Profile
    seed: int
    theta: np.ndarray
    ratings: np.ndarray
    value_model: ValueModel
    values: np.ndarray
    posterior: Posterior | None
    diagnostics: dict
    seconds: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: For an organisation: every member's answers, which the evidence check pools.
    pooled_answers: list[dict] | None = None

    def evidence(self) -> dict:
        if self.pooled_answers is not None:
            return evidence_status(self.library, self.pooled_answers, pooled=True)
        return evidence_status(self.library, self.profile.answers)

    @property
    def converged(self) -> bool:
        return bool(self.diagnostics.get("converged", False))

    @property
    def target(self) -> int:
        return seed_index(self.value_model.slugs)

    # ------------------------------------------------------------------ summaries
    def approach_rows(self) -> list[dict]:
        summary = rank_summary(self.values)
        rows = []
        vm = self.value_model
        for i, a in enumerate(vm.approaches):
            lo, hi = hdi(self.values[:, i])
            used = vm.ratings_used[a.slug]
            fit = float(vm.fit[i])
            rows.append({
                "slug": a.slug,
                "name": a.name,
                "mean": _r(summary["mean"][i]),
                "worldview_mean": _r(summary["mean"][i] / fit),
                "personal_fit": _r(fit),
                "hdi_90": [_r(lo), _r(hi)],
                "p_best": _r(summary["p_best"][i]),
                "p_top3": _r(summary["p_top3"][i]),
                "expected_rank": _r(summary["expected_rank"][i], 2),
                "ratings": {d: used[d].level for d in RATING_DIMS},
                "ratings_used": {d: {"level": used[d].level, "mean": used[d].mean, "sd": used[d].sd}
                                 for d in RATING_DIMS},
                "overridden": {d: {"from": used[d].source_level, "to": used[d].level,
                                   "reason": used[d].reason}
                               for d in RATING_DIMS if used[d].overridden},
            })
        rows.sort(key=lambda r: (-r["mean"], r["slug"]))
        return rows

    def belief_rows(self) -> list[dict]:
        lib = self.library
        answered: dict[str, int] = {}
        for sid in self.profile.answers:
            for ld in lib.statement(sid).loads:
                answered[ld.variable] = answered.get(ld.variable, 0) + 1
        rows = []
        for j, v in enumerate(lib.variables):
            draws = self.theta[:, j]
            lo, hi = hdi(draws)
            p_lo, p_hi = _beta_hdi(float(v.prior.alpha), float(v.prior.beta))
            rows.append({
                "id": v.id,
                "name": v.name,
                "proposition": v.proposition,
                "prior_mean": _r(v.prior.mean),
                "prior_hdi_90": [_r(p_lo), _r(p_hi)],
                "posterior_mean": _r(draws.mean()),
                "hdi_90": [_r(lo), _r(hi)],
                "shift": _r(draws.mean() - v.prior.mean),
                "answers": answered.get(v.id, 0),
                "justification": v.justification,
                "density": _density(float(v.prior.alpha), float(v.prior.beta), draws),
            })
        return rows

    def answer_rows(self) -> list[dict]:
        """Each answer with how far it moved each variable it loads on.

        ``moved`` is the posterior mean minus the posterior mean without that answer (its
        marginal effect given all the others); ``alone`` is the prior mean's move had it
        been the only answer. Where the variable's posterior is one-dimensional (every answer
        bearing on it loads on it alone) both are exact, by quadrature; otherwise ``moved``
        is estimated by Pareto-smoothed importance sampling over the posterior draws and
        ``method`` says so.
        """
        lib = self.library
        index = {v: i for i, v in enumerate(lib.variable_ids)}
        answers = dict(self.profile.answers)
        psis = None
        rows = []
        post_mean = self.theta.mean(axis=0)
        effects: dict[str, tuple] = {}
        for k, (sid, value) in enumerate(answers.items()):
            s = lib.statement(sid)
            label = agree7_label(int(value)) if s.scale == "agree7" else f"probability {value:g}"
            moved, alone, methods = {}, {}, set()
            for ld in s.loads:
                j = index[ld.variable]
                prior = lib.variables[j].prior.mean
                if ld.variable not in effects:
                    effects[ld.variable] = answer_effects(lib, answers, ld.variable)
                exact_all, without, only_map = effects[ld.variable]
                if exact_all is not None and sid in without:
                    moved[ld.variable] = _r(exact_all - without[sid])
                    methods.add("exact")
                else:
                    if psis is None:
                        psis = self._loo_influence(post_mean)
                    moved[ld.variable] = _r(psis[k, j]) if psis is not None else None
                    methods.add("psis")
                only = only_map.get(sid)
                alone[ld.variable] = _r(only - prior) if only is not None else None
            rows.append({"id": sid, "text": s.text, "scale": s.scale,
                         "value": int(value) if s.scale == "agree7" else _r(value),
                         "label": label, "variable": s.variable, "favours": s.favours,
                         "moved": moved, "alone": alone,
                         "method": "exact" if methods == {"exact"} else "psis-loo"})
        for sid in self.profile.unsure:
            s = lib.statement(sid)
            zero = {ld.variable: 0.0 for ld in s.loads}
            rows.append({"id": sid, "text": s.text, "scale": s.scale, "value": None,
                         "label": "unsure", "variable": s.variable, "favours": s.favours,
                         "moved": zero, "alone": dict(zero), "method": "exact"})
        return rows

    def _loo_influence(self, post_mean: np.ndarray) -> np.ndarray | None:
        if self.posterior is None or not self.profile.answers:
            return None
        import arviz as az

        ll = loglik_matrix(self.library, self.posterior.observations, self.theta[:, None, :])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lw, _ = az.psislw(-ll.T.copy())  # (answers, draws) normalised log weights
        return post_mean[None, :] - np.exp(lw) @ self.theta

    def sensitivity(self) -> list[dict]:
        """AI-assisted alignment's margin over the best alternative as each belief moves.

        Each variable in turn is set to the low and the high end of its 90% interval (the
        others keep their posterior draws), and the margin - its mean value minus the
        highest mean value of any alternative - is recomputed. Sorted by swing.
        """
        base, ends, margins = self.sensitivity_margins()
        rows = []
        for j, v in enumerate(self.library.variables):
            (lo, hi), (m_lo, m_hi) = ends[j], margins[j]
            rows.append({"variable": v.id, "name": v.name, "low_credence": _r(lo),
                         "high_credence": _r(hi), "margin_at_low": _r(m_lo),
                         "margin_at_high": _r(m_hi),
                         "swing": _r(abs(m_hi - m_lo))})
        rows.sort(key=lambda r: (-r["swing"], r["variable"]))
        return [{"base_margin": _r(base), **r} for r in rows]

    def sensitivity_margins(self) -> tuple[float, list[tuple[float, float]], list[tuple[float, float]]]:
        """The unrounded numbers of :meth:`sensitivity`: the margin, each variable's 90%
        interval (low, high) and the margin with the variable set to each end, in library
        order.

        The value model is multilinear, so the mean values with one column fixed come from
        :meth:`ValueModel.column_mean_values` (a few passes over the draws) rather than two
        value evaluations per variable; a variable no value depends on leaves the margin
        exactly where it is.
        """
        vm, t = self.value_model, self.target
        base = margin(vm.values(self.theta, self.ratings), t)
        ends = [hdi(self.theta[:, j]) for j in range(self.theta.shape[1])]
        means = vm.column_mean_values(self.theta, self.ratings, np.array(ends, dtype=float))
        at = means[..., t] - np.delete(means, t, axis=-1).max(axis=-1)  # (variables, 2)
        margins = [(float(at[j, 0]), float(at[j, 1])) if vm.depends_on(j) else (base, base)
                   for j in range(len(ends))]
        return base, ends, margins

    def verdict(self) -> dict:
        """The verdict: the rule met by AI-assisted alignment's place by expected value and
        its rank probabilities, unless the run did not converge (inconclusive) or too few
        answers bear on the cruxes ("not enough answers"); ``model_label`` is the rule met
        either way. ``deciding`` is filled in with the switching values
        (:func:`cruxfit.models.decision.deciding_beliefs`); until then it follows the swing."""
        summary = rank_summary(self.values)
        t = self.target
        sens = self.sensitivity()
        out = self._verdict(summary["mean"], float(summary["p_best"][t]),
                            float(summary["p_top3"][t]), [r["variable"] for r in sens[:2]])
        return out, sens

    def verdict_summary(self) -> dict:
        """:meth:`verdict` without ``deciding`` and the sensitivity analysis behind it (what
        a table of many members needs): the same numbers, the rank probabilities counted for
        AI-assisted alignment alone (:func:`~cruxfit.models.decision.ranked_above`, the same
        stable tie-break as :func:`~cruxfit.models.decision.ranks`)."""
        t = self.target
        above = ranked_above(self.values, t)
        return self._verdict(self.values.mean(axis=0), float((above == 0).mean()),
                             float((above < 3).mean()), None)

    def _verdict(self, means: np.ndarray, p_best: float, p_top3: float,
                 deciding: list[str] | None) -> dict:
        lib = self.library
        t = self.target
        rank = ev_rank(means, t)
        rule = verdict_for(lib.settings.verdicts, rank, p_best, p_top3)
        others = [i for i in range(len(means)) if i != t]
        best_alt = max(others, key=lambda i: means[i])
        evidence = self.evidence()
        ev = lib.settings.evidence
        if not self.converged:
            label, status = INCONCLUSIVE, "not-converged"
            # Worded by cruxfit.reports.wording from the sampler's reasons.
            meaning = {"code": status, "reasons": list(self.diagnostics.get("reasons", []))}
        elif not evidence["enough"]:
            label, status, meaning = ev.label, "not-enough-answers", ev.meaning
        else:
            label, status, meaning = rule.label, "verdict", rule.meaning
        out = {
            "label": label,
            "status": status,
            "model_label": rule.label,
            "meaning": meaning,
            "converged": self.converged,
            "approach": SEED_APPROACH,
            "ev_rank": int(rank),
            "ranked_approaches": len(means),
            "p_best": _r(p_best),
            "p_top3": _r(p_top3),
            "margin": _r(means[t] - means[best_alt]),
            "best_alternative": self.value_model.slugs[best_alt],
            "top_approach": self.value_model.slugs[int(np.argmax(means))],
            "deciding": deciding,
            "evidence": evidence,
            "thresholds": verdict_thresholds(lib),
        }
        if deciding is None:
            del out["deciding"]
        return out

    def checklist(self) -> dict:
        means = {v.id: float(self.theta[:, j].mean()) for j, v in enumerate(self.library.variables)}
        lows = {v.id: hdi(self.theta[:, j]) for j, v in enumerate(self.library.variables)}

        def rows(beliefs):
            out = []
            for b in beliefs:
                c = means[b.variable]
                lo, hi = lows[b.variable]
                agree = c if b.holds else 1 - c
                if (b.holds and lo > 0.5) or (not b.holds and hi < 0.5):
                    status = HOLDS
                elif (b.holds and hi < 0.5) or (not b.holds and lo > 0.5):
                    status = NOT_HELD
                else:
                    status = UNDECIDED
                out.append({"text": b.text, "variable": b.variable, "holds": b.holds,
                            "statement": b.statement, "credence": _r(c),
                            "agreement": _r(agree), "status": status})
            return out

        seed = self.library.seed
        return {"good_fit": rows(seed.good_fit), "less_relevant": rows(seed.less_relevant)}

    def crux_rows(self, beliefs: list[dict], answers: list[dict]) -> list[dict]:
        by_var = {b["id"]: b for b in beliefs}
        by_stmt = {a["id"]: a for a in answers}
        out = []
        for c in self.library.seed.cruxes:
            out.append({
                "id": c.id, "title": c.title, "variable": c.variable, "intro": c.intro,
                "note": c.note, "belief": by_var[c.variable],
                "considerations": [
                    {"favourable": k.favourable, "unfavourable": k.unfavourable,
                     "statement": k.statement, "text": self.library.statement(k.statement).text,
                     "answer": by_stmt.get(k.statement)}
                    for k in c.considerations
                ],
                "other_statements": [
                    by_stmt[s.id] for s in self.library.statements
                    if s.id in by_stmt and any(ld.variable == c.variable for ld in s.loads)
                    and s.id not in {k.statement for k in c.considerations}
                ],
            })
        return out

    def to_dict(self) -> dict:
        lib = self.library
        approaches = self.approach_rows()
        beliefs = self.belief_rows()
        answers = self.answer_rows()
        verdict, sensitivity = self.verdict()
        overrides = [
            {"slug": slug, "dimension": d, "from": lib.approach(slug).ratings[d], "to": level,
             "reason": o.reason}
            for slug, o in self.profile.overrides.items() for d, level in o.ratings.items()
        ]
        versions = dict(dependency_versions())
        return {
            "schema_version": SCHEMA_VERSION,
            "profile": {
                "name": self.profile.name, "kind": self.profile.kind,
                "notes": self.profile.notes, "answered": len(self.profile.answers),
                "fit": [{"id": f.id, "text": f.text, "answer": self.profile.fit.get(f.id)}
                        for f in lib.fit_items],
                "has_fit": bool(self.profile.fit),
                "unsure": list(self.profile.unsure), "statements": len(lib.statements),
                "quality": data_quality(lib, self.profile.answers),
                "plan": getattr(self.profile, "plan", None),
            },
            "verdict": verdict,
            "approaches": approaches,
            "unranked": [{"slug": a.slug, "name": a.name, "ratings": dict(a.ratings),
                          "reason": a.unranked_reason} for a in lib.unranked],
            "overrides": overrides,
            "beliefs": beliefs,
            "answers": answers,
            "cruxes": self.crux_rows(beliefs, answers),
            "checklist": self.checklist(),
            "tornado": sensitivity,
            "next_steps": next_steps_dict(lib.next_steps,
                                          {a.slug: a.summary for a in lib.approaches}),
            **self.extra,
            "diagnostics": self.diagnostics,
            "provenance": {
                "cruxfit_version": cruxfit_version(),
                "seed": self.seed,
                "input_sha256": self.profile.sha256,
                "library_sha256": lib.sha256,
                "pymc_version": versions["pymc"],
                "versions": versions,
                "hdi_prob": HDI_PROB,
                "value_draws": int(self.values.shape[0]),
                **({"form_layout": dict(self.profile.form)} if getattr(self.profile, "form", None) else {}),
            },
        }


@lru_cache(maxsize=64)
def _prior_density(alpha: float, beta: float, bins: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from scipy.stats import beta as beta_dist

    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return (tuple(_r(x, 3) for x in centres),
            tuple(_r(y, 3) for y in beta_dist.pdf(centres, alpha, beta)))


def _density(alpha: float, beta: float, draws: np.ndarray, bins: int = 40) -> dict:
    """Prior density and posterior histogram on a common grid over (0, 1), for plots."""
    x, prior = _prior_density(alpha, beta, bins)
    post, _ = np.histogram(draws, bins=np.linspace(0.0, 1.0, bins + 1), density=True)
    return {"x": list(x), "prior": list(prior), "posterior": [_r(y, 3) for y in post]}


@lru_cache(maxsize=64)
def _beta_hdi(alpha: float, beta: float, prob: float = HDI_PROB) -> tuple[float, float]:
    """Highest-density interval of a Beta prior (the same for every profile, so cached)."""
    from scipy.optimize import minimize_scalar
    from scipy.stats import beta as beta_dist

    dist = beta_dist(alpha, beta)

    def width(lo_tail):
        return dist.ppf(lo_tail + prob) - dist.ppf(lo_tail)

    res = minimize_scalar(width, bounds=(0.0, 1 - prob), method="bounded",
                          options={"xatol": 1e-6})
    lo_tail = float(res.x)
    return float(dist.ppf(lo_tail)), float(dist.ppf(lo_tail + prob))


def evaluate(library: Library, profile: Profile, seed: int, theta: np.ndarray,
             posterior: Posterior | None, diagnostics: dict,
             personal_fit: dict | None = None, ratings: np.ndarray | None = None) -> Analysis:
    """Value draws and the Analysis object from credence draws (draws, variables).

    ``ratings`` are rating draws to use instead of drawing them: only the draws this call
    would make itself, ``value_model.draw_ratings(draws, rating_seed(seed))`` for the same
    rating overrides, number of draws and seed (personal fit plays no part in them). An
    organisation passes its own to every member (:func:`cruxfit.models.organisation.
    analyse_organisation`), so that they are shared instead of copied per member.
    """
    if personal_fit is None:
        personal_fit = personal_fit_factors(library, profile.fit)
    vm = ValueModel(library, profile.overrides, personal_fit)
    if ratings is None:
        ratings = vm.draw_ratings(theta.shape[0], rating_seed(seed))
    elif ratings.shape != (theta.shape[0], len(vm.slugs), len(RATING_DIMS)):
        raise ValueError(f"rating draws of shape {ratings.shape} do not fit "
                         f"{theta.shape[0]} draws of {len(vm.slugs)} approaches")
    values = vm.values(theta, ratings)
    return Analysis(library, profile, seed, theta, ratings, vm, values, posterior, diagnostics)


def analyse(library: Library, profile: Profile, seed: int = 0, *,
            say: Callable[[str], None] | None = None, **sample_kwargs) -> Analysis:
    """Sample, evaluate and return the analysis of one profile."""
    t0 = time.perf_counter()
    post = sample(library, [profile], seed, say=say, **sample_kwargs)
    t1 = time.perf_counter()
    analysis = evaluate(library, profile, seed, post.theta[:, 0, :], post,
                        post.diagnostics.to_dict())
    analysis.seconds = {**post.seconds, "evaluate": time.perf_counter() - t1,
                        "total": time.perf_counter() - t0}
    return analysis

