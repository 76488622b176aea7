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
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cruxfit.cruxes.library import Library
from cruxfit.cruxes.profile import Organisation, Profile
from cruxfit.models.analysis import Analysis, evaluate
from cruxfit.models.compare import compare_analyses
from cruxfit.models.decision import (
    QUALITY_FLAGS,
    data_quality,
    ev_rank,
    hdi,
    margin,
    rank_summary,
    verdict_for,
)
from cruxfit.models.inference import Posterior, sample
from cruxfit.models.rounding import json_round as _r

#: Thinning of draws when explaining why a member's verdict differs (see _why_differs).
WHY_THIN = 4


@dataclass
class OrgAnalysis:
    organisation: Organisation
    org: Analysis
    members: list[Analysis]
    posterior: Posterior
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        return self.org.converged


def _org_profile(org: Organisation) -> Profile:
    return Profile(name=org.name, kind="organisation", answers={}, notes=org.notes,
                   overrides=org.overrides, source=org.source, sha256=org.sha256)


def analyse_organisation(library: Library, org: Organisation, seed: int = 0, *,
                         say: Callable[[str], None] | None = None, **kwargs) -> OrgAnalysis:
    t0 = time.perf_counter()
    kwargs.setdefault("cores", 2)
    # Strongly informed members make the pooled posterior curved; a smaller step helps.
    kwargs.setdefault("target_accept", 0.95)
    # R-hat is checked over every member's credences, hundreds of them in a large
    # organisation: start with twice the individual draws so that the first run usually
    # clears the bar instead of paying for a retry as well (the retry doubles again).
    kwargs.setdefault("draws", 2 * library.settings.draws)
    kwargs.setdefault("tune", 2 * library.settings.tune)
    post = sample(library, list(org.respondents), seed, say=say, hierarchical=True, **kwargs)
    t1 = time.perf_counter()
    diag = post.diagnostics.to_dict()
    org_an = evaluate(library, _org_profile(org), seed, post.org_theta, None, diag)
    org_an.pooled_answers = [dict(m.answers) for m in org.respondents]
    members = []
    for r, member in enumerate(org.respondents):
        # Organisation-wide overrides apply to every member; their own fit applies to them.
        prof = Profile(name=member.name, kind="individual", answers=member.answers,
                       unsure=member.unsure, notes=member.notes, overrides=org.overrides,
                       fit=member.fit, source=member.source, sha256=member.sha256, role=member.role)
        members.append(evaluate(library, prof, seed, post.theta[:, r, :], None, diag))
    seconds = {**post.seconds, "evaluate": time.perf_counter() - t1, "total": time.perf_counter() - t0}
    return OrgAnalysis(org, org_an, members, post, seconds)


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
    for j, v in enumerate(lib.variables):
        tau = oa.posterior.tau[:, j]
        lo, hi = hdi(tau)
        member_means = [float(m.theta[:, j].mean()) for m in oa.members]
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
    for j, row in enumerate(rows):
        means = [m.theta[:, j].mean() for m in oa.members]
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
    org_label = oa.org.verdict()[0]["model_label"]
    for m in oa.members:
        v, _ = m.verdict()
        approaches = m.approach_rows()
        row = {
            "name": m.profile.name, "role": m.profile.role,
            "verdict": v["label"], "p_best": v["p_best"], "p_top3": v["p_top3"],
            "margin": v["margin"], "top_approach": approaches[0]["slug"],
            "answered": len(m.profile.answers),
            "beliefs": {b["id"]: b["posterior_mean"] for b in m.belief_rows()},
            "differs": v["model_label"] != org_label,
        }
        if row["differs"]:
            row["why"] = _why_differs(oa.org, m)
        rows.append(row)
    return rows


def _why_differs(org: Analysis, member: Analysis) -> dict:
    """Which beliefs explain a member's different verdict (Shapley over variables)."""
    # Every fourth draw (500 of 2000): the split of a member's difference among beliefs is
    # a summary for the table, and this keeps large organisations affordable.
    comp = compare_analyses(_thinned(org), _thinned(member))
    contribs = sorted(comp["contributions"], key=lambda c: -abs(c.get("margin", 0.0)))
    return {"total_margin": comp["total"].get("margin"),
            "main": [{"variable": c["variable"], "name": c.get("name", c["variable"]),
                      "margin": c.get("margin")} for c in contribs[:2]]}


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
