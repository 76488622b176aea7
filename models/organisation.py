"""Organisations: several respondents pooled, their disagreement, and what to discuss first.

The hierarchical model (:func:`~cruxfit.models.elicitation.build_org_model`) gives, per
belief variable, the organisation's credence and how far members spread around it. The
organisation's verdict comes from its pooled credences; each member's from their own
(partially pooled) credences. The crux to discuss first is where disagreement meets
decision sensitivity: for each variable, the organisation's margin for AI-assisted
alignment is recomputed with its credence set to the most sceptical and to the most
convinced member's view (the other variables keep the organisation's posterior draws); the
variable across whose range the margin moves most, and especially one across which the
verdict itself changes, is the one worth the team's time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cruxfit.cruxes.errors import CruxfitError
from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import Organisation, Profile
from cruxfit.models.analysis import Analysis, evaluate
from cruxfit.models.compare import margin_shapley
from cruxfit.models.decision import (
    QUALITY_FLAGS,
    data_quality,
    ev_rank,
    hdi,
    margin,
    rank_summary,
    verdict_for,
)
from cruxfit.models.inference import Posterior, org_model_for, sample
from cruxfit.models.rounding import json_round as _r

#: The most respondents the explicit model (every member's credences sampled) is run for.
EXPLICIT_MAX = 500

#: Thinning of draws when explaining why a member's verdict differs (see _why_differs).
WHY_THIN = 4


@dataclass
class OrgAnalysis:
    organisation: Organisation
    org: Analysis
    members: list[Analysis]
    posterior: Posterior
    seconds: dict[str, float] = field(default_factory=dict)
    _member_means: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def converged(self) -> bool:
        return self.org.converged

    def member_means(self) -> np.ndarray:
        """Every member's posterior mean credence, (members, variables), computed once.

        Each entry is ``member.theta[:, j].mean()`` exactly (the same reduction over the
        same draws), so the disagreement table, the crux to discuss first and the members'
        beliefs read the very numbers they computed one by one before.
        """
        if self._member_means is None:
            n_vars = len(self.org.library.variables)
            self._member_means = np.array([[m.theta[:, j].mean() for j in range(n_vars)]
                                           for m in self.members], dtype=float
                                          ).reshape(len(self.members), n_vars)
        return self._member_means


def _org_profile(org: Organisation) -> Profile:
    return Profile(name=org.name, kind="organisation", answers={}, notes=org.notes,
                   overrides=org.overrides, source=org.source, sha256=org.sha256)


def analyse_organisation(library: Library, org: Organisation, seed: int = 0, *,
                         say: Callable[[str], None] | None = None, **kwargs) -> OrgAnalysis:
    t0 = time.perf_counter()
    kwargs.setdefault("cores", 2)
    kwargs["org_model"] = org_model_for(library, kwargs.get("org_model", "auto"))
    if kwargs["org_model"] == "explicit":
        if len(org.respondents) > EXPLICIT_MAX:
            raise CruxfitError(f"an organisation of {len(org.respondents)} respondents needs the "
                               f"integrated model; the explicit one takes at most {EXPLICIT_MAX}")
        # Strongly informed members make the pooled posterior curved; a smaller step helps.
        kwargs.setdefault("target_accept", 0.95)
        # R-hat is checked over every member's credences, hundreds of them in a large
        # organisation: start with twice the individual draws so that the first run usually
        # clears the bar instead of paying for a retry as well (the retry doubles again).
        kwargs.setdefault("draws", 2 * library.settings.draws)
        kwargs.setdefault("tune", 2 * library.settings.tune)
    else:
        # The integrated model samples two numbers per belief (a smooth posterior once tau is
        # |s|): the library's draws with twice its tuning, and a target acceptance of 0.8,
        # which took the same number of leapfrog steps per draw as 0.9 with larger steps and
        # cleared the bar at 200 members where 500 tuning steps fell short of it (the retry
        # would double the draws and tuning again).
        kwargs.setdefault("target_accept", 0.8)
        kwargs.setdefault("tune", 2 * library.settings.tune)
    post = sample(library, list(org.respondents), seed, say=say, hierarchical=True, **kwargs)
    t1 = time.perf_counter()
    diag = post.diagnostics.to_dict()
    org_an = evaluate(library, _org_profile(org), seed, post.org_theta, None, diag)
    org_an.pooled_answers = [dict(m.answers) for m in org.respondents]
    # Every member's rating draws would be the organisation's: the same seed, the same
    # overrides (the organisation's apply to every member) and the same number of draws
    # (personal fit plays no part in them). So they are shared, not drawn and stored again
    # per member; checked below on the members' value models.
    shared = org_an.ratings if post.theta.shape[0] == post.org_theta.shape[0] else None
    members = []
    for r, member in enumerate(org.respondents):
        # Organisation-wide overrides apply to every member; their own fit applies to them.
        prof = Profile(name=member.name, kind="individual", answers=member.answers,
                       unsure=member.unsure, notes=member.notes, overrides=org.overrides,
                       fit=member.fit, source=member.source, sha256=member.sha256, role=member.role)
        m = evaluate(library, prof, seed, post.theta[:, r, :], None, diag, ratings=shared)
        if shared is not None and not _same_rating_draws(m.value_model, org_an.value_model):
            m = evaluate(library, prof, seed, post.theta[:, r, :], None, diag)
        members.append(m)
    seconds = {**post.seconds, "evaluate": time.perf_counter() - t1, "total": time.perf_counter() - t0}
    return OrgAnalysis(org, org_an, members, post, seconds)


def _same_rating_draws(vm, vm_org) -> bool:
    """Whether a value model draws the same ratings as the organisation's (same
    distributions; the seed and number of draws are the caller's to check)."""
    return (vm.slugs == vm_org.slugs and np.array_equal(vm._mu, vm_org._mu)
            and np.array_equal(vm._sigma, vm_org._sigma))


def _verdict_at(analysis: Analysis, theta: np.ndarray) -> tuple[float, str]:
    vm, t = analysis.value_model, analysis.target
    values = vm.values(theta, analysis.ratings)
    s = rank_summary(values)
    rule = verdict_for(analysis.library.settings.verdicts, ev_rank(s["mean"], t),
                       float(s["p_best"][t]), float(s["p_top3"][t]))
    return margin(values, t), rule.label


def disagreement(oa: OrgAnalysis) -> list[dict]:
    lib = oa.org.library
    rows = []
    means = oa.member_means()
    for j, v in enumerate(lib.variables):
        tau = oa.posterior.tau[:, j]
        lo, hi = hdi(tau)
        member_means = [float(x) for x in means[:, j]]
        rows.append({
            "variable": v.id, "name": v.name,
            "organisation": _r(oa.org.theta[:, j].mean()),
            "spread": _r(tau.mean()), "spread_hdi_90": [_r(lo), _r(hi)],
            "members": {m.profile.name: _r(x) for m, x in zip(oa.members, member_means)},
            "member_range": [_r(min(member_means)), _r(max(member_means))],
        })
    return rows


def discuss_first(oa: OrgAnalysis, rows: list[dict]) -> dict:
    """The variable where disagreement meets decision sensitivity, and why."""
    org = oa.org
    base_margin, base_label = _verdict_at(org, org.theta)
    candidates = []
    all_means = oa.member_means()
    for j, row in enumerate(rows):
        means = list(all_means[:, j])
        lo_i, hi_i = int(np.argmin(means)), int(np.argmax(means))
        results = {}
        for end, i in (("low", lo_i), ("high", hi_i)):
            th = org.theta.copy()
            th[:, j] = means[i]
            results[end] = _verdict_at(org, th)
        impact = abs(results["high"][0] - results["low"][0])
        flips = results["high"][1] != results["low"][1]
        centre = row["organisation"]
        candidates.append({
            "variable": row["variable"], "name": row["name"],
            "impact": _r(impact), "verdict_changes": flips, "spread": row["spread"],
            "low": {"member": oa.members[lo_i].profile.name, "credence": _r(means[lo_i]),
                    "margin": _r(results["low"][0]), "verdict": results["low"][1]},
            "high": {"member": oa.members[hi_i].profile.name, "credence": _r(means[hi_i]),
                     "margin": _r(results["high"][0]), "verdict": results["high"][1]},
            "below": sorted(m.profile.name for m, x in zip(oa.members, means) if x < centre),
            "above": sorted(m.profile.name for m, x in zip(oa.members, means) if x >= centre),
        })
    # Verdict-changing disagreements first, then by how far the margin moves.
    candidates.sort(key=lambda c: (not c["verdict_changes"], -c["impact"], -c["spread"], c["variable"]))
    top = candidates[0]
    # Why this one, as a code: cruxfit.reports.wording words it from the top of ``ranking``.
    if len(oa.members) < 2:
        why = {"code": "one-respondent"}
    elif top["verdict_changes"]:
        why = {"code": "verdict-changes"}
    else:
        why = {"code": "largest-move"}
    return {"variable": top["variable"], "name": top["name"], "why": why,
            "base_margin": _r(base_margin), "base_verdict": base_label,
            "ranking": candidates}


def member_rows(oa: OrgAnalysis) -> list[dict]:
    rows = []
    org_label = oa.org.verdict_summary()["model_label"]
    var_ids = oa.org.library.variable_ids
    means = oa.member_means()
    for i, m in enumerate(oa.members):
        v = m.verdict_summary()
        row = {
            "name": m.profile.name, "role": m.profile.role,
            "verdict": v["label"], "p_best": v["p_best"], "p_top3": v["p_top3"],
            "margin": v["margin"], "top_approach": _listed_first(m),
            "answered": len(m.profile.answers),
            "beliefs": {vid: _r(x) for vid, x in zip(var_ids, means[i])},
            "differs": v["model_label"] != org_label,
        }
        if row["differs"]:
            row["why"] = _why_differs(oa.org, m)
        rows.append(row)
    return rows


def _listed_first(analysis: Analysis) -> str:
    """The approach :meth:`Analysis.approach_rows` lists first: highest mean value as
    rounded there, ties by slug."""
    means = analysis.values.mean(axis=0)
    slugs = analysis.value_model.slugs
    first = min(range(len(slugs)), key=lambda i: (-_r(means[i]), slugs[i]))
    return slugs[first]


def _why_differs(org: Analysis, member: Analysis) -> dict:
    """Which beliefs explain a member's different verdict: a Shapley split of the difference
    in margin (the member's minus the organisation's) among the variables, the personal fit
    and the overrides (:func:`~cruxfit.models.compare.margin_shapley`, the margin part of
    ``cruxfit compare``'s game).

    Exact when the game has at most 2^8 coalitions. The bundled library has 14 variables
    (16,384 coalitions, many seconds per member), so there the split is estimated from 32
    orderings of the players (16 random ones and their reverses) and ``method`` says so
    (with ``orderings``). The estimate still adds up exactly to the total; against the exact
    split its error was below 0.001 value points for members of a synthetic 200-member
    organisation and below 0.01 for a member a few tenths of credence from the organisation
    on nine beliefs (tests/test_org_speed.py), up to a few hundredths for members far from
    it on many beliefs at once. The orderings are drawn from a generator seeded by the
    analysis seed and the member's name, so the same input gives the same table whatever
    the member's place in it.
    """
    # Every fourth draw (1000 of an organisation's 4000): the split of a member's difference
    # among beliefs is a summary for the table, and this keeps large organisations affordable.
    rng = np.random.default_rng([int(org.seed), _name_key(member.profile.name), 0x5A4B])
    comp = margin_shapley(_thinned(org), _thinned(member), rng)
    contribs = sorted(comp["contributions"], key=lambda c: -abs(c["margin"]))
    out = {"total_margin": comp["total_margin"],
           "main": [{"variable": c["variable"], "name": c["name"], "margin": c["margin"]}
                    for c in contribs[:2]],
           "method": comp["method"]}
    if "orderings" in comp:
        out["orderings"] = comp["orderings"]
    return out


def _name_key(name: str) -> int:
    """A stable number from a member's name (Python's own hash of a string is salted)."""
    return int.from_bytes(hashlib.sha256(str(name).encode("utf-8")).digest()[:8], "big")


def _thinned(analysis: Analysis, step: int = WHY_THIN) -> Analysis:
    return dataclasses.replace(analysis, theta=analysis.theta[::step],
                               ratings=analysis.ratings[::step], values=analysis.values[::step])


def _org_quality(oa: OrgAnalysis) -> dict:
    """Data quality of an organisation: its own flags (blank, sparse when pooled answers do
    not suffice) and how many members carry each member-level flag."""
    lib = oa.org.library
    members = [data_quality(lib, m.profile.answers) for m in oa.members]
    flags = []
    if not any(m["answered"] for m in members):
        flags.append("blank")
    elif not oa.org.evidence()["enough"]:
        flags.append("sparse")
    counts = {f: sum(f in m["flags"] for m in members) for f in QUALITY_FLAGS}
    return {"flags": flags, "members_flagged": {f: n for f, n in counts.items() if n},
            "answered": sum(m["answered"] for m in members),
            "total": len(lib.statements) * len(members)}


def org_to_dict(oa: OrgAnalysis) -> dict:
    result = oa.org.to_dict()
    rows = disagreement(oa)
    result["profile"].update({
        "kind": "organisation", "respondents": len(oa.members),
        "answered": sum(len(m.profile.answers) for m in oa.members),
        "warnings": list(oa.organisation.warnings),
        "quality": _org_quality(oa),
    })
    form = getattr(oa.organisation, "form", None)
    if form:  # a form export: name the layout it was read as (see cruxes/forms.py)
        result["provenance"]["form_layout"] = {k: form[k] for k in ("layout", "label", "chosen")}
    result["members"] = member_rows(oa)
    result["disagreement"] = rows
    result["discuss_first"] = discuss_first(oa, rows)
    return result
