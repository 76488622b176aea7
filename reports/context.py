"""From the analysis result to what the report template shows.

:func:`build_context` is a pure function: it reads the result dict (the JSON the analysis
produces, see ``Analysis.to_dict``) and the audience, and returns plain data, with every
number already formatted as text. It never changes its input and never looks at the clock,
the environment or the installed version, so the same result always gives the same context
and the templates contain no arithmetic. Plots are drawn later from the plain numbers kept
under ``plots``.

The audience changes emphasis, never a number: every number is formatted here, once, by
the same code for every audience.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import importlib.resources
import math
from collections.abc import Iterable
from typing import Any

import yaml
from cruxfit.reports import numbers as _numbers
from cruxfit.reports.wording import STATUS_CODE

AUDIENCES = ("individual", "advisor", "grantmaker")
INCONCLUSIVE = "inconclusive"

DIMENSIONS = (
    ("tractability", "Tractability"),
    ("hard", "Value if alignment is hard"),
    ("easy", "Value if alignment is easy"),
    ("neglectedness", "Neglectedness"),
)
DIMENSION_LABEL = dict(DIMENSIONS)

#: How the report marks each checklist status as the result states it: by its code
#: (cruxfit.reports.wording), which the stylesheet's status-* classes use.
STATUS_CLASS = STATUS_CODE


class ReportError(ValueError):
    """The result dict lacks something the report needs (names the key)."""


# ----------------------------------------------------------------------------- formatting
def pct(p: float | None, exact: bool = False) -> str:
    """A probability or credence as a whole percentage (see :mod:`cruxfit.reports.numbers`)."""
    return _numbers.probability(p, exact)


def num(x: float | None, nd: int = 2) -> str:
    """A value on the model's scale, with a true minus sign and no "-0.00"."""
    return _numbers.value(x, nd)


def signed(x: float | None, nd: int = 2) -> str:
    """A difference on the model's scale with its sign: "+1.52", "−0.14", "0.00"."""
    return _numbers.signed(x, nd)


def points(x: float | None) -> str:
    """A change in credence, in percentage points (0.022 -> "+2.2 points")."""
    return _numbers.points(x)


def interval(pair: Iterable[float] | None, fmt=num) -> str:
    return _numbers.interval(pair, fmt)


def date_text(iso: str | None) -> str | None:
    """'2026-11-27T06:54:10+00:00' -> '27 November 2026' (None when absent or unreadable)."""
    if not iso:
        return None
    try:
        d = _dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _label(label: str) -> str:
    return label[:1].upper() + label[1:]


def _css_token(text: str) -> str:
    """A class-name token from a library label (letters, digits and '-')."""
    return "".join(c if c.isalnum() else "-" for c in str(text).lower()).strip("-") or "x"


def lead_phrase(margin: float) -> str:
    """'lead the best alternative by 1.05' / 'trail the best alternative by 0.30'."""
    return _numbers.lead(margin)


def lead_short(margin: float) -> str:
    """'lead by 1.05' / 'trail by 0.30'."""
    return _numbers.lead_short(margin)


# ----------------------------------------------------------------------------- static data
@functools.lru_cache(maxsize=1)
def discussion_questions() -> dict[str, list[str]]:
    """Discussion questions per crux id (advisor audience), from templates/discussion.yaml."""
    text = importlib.resources.files("cruxfit.reports").joinpath("templates", "discussion.yaml")
    data = yaml.safe_load(text.read_text(encoding="utf-8")) or {}
    return {str(k): [str(q) for q in v] for k, v in data.get("cruxes", {}).items()}


def _questions_for(crux: dict) -> list[str]:
    known = discussion_questions().get(crux["id"])
    if known:
        return list(known)
    title = crux.get("title") or crux["id"]
    return [f"What would you need to see to change your answer to “{title}”?",
            f"Who do you know who answers “{title}” differently, and what do they know?"]


# ----------------------------------------------------------------------------- the context
def build_context(result: dict, audience: str = "individual") -> dict:
    """The template context for ``result`` and ``audience``; pure and deterministic.

    Parameters
    ----------
    result
        The analysis result (``Analysis.to_dict`` plus ``timing`` and optional
        value-of-information keys ``evpi``, ``evppi``, ``switching_values``).
    audience
        One of ``individual`` (explains every statistical term), ``advisor`` (adds
        discussion questions and puts what to investigate first) or ``grantmaker`` (adds a
        one-line summary fit for a table).
    """
    if audience not in AUDIENCES:
        raise ReportError(f"unknown audience {audience!r}; choose one of {', '.join(AUDIENCES)}")
    for key in ("profile", "verdict", "approaches", "beliefs", "cruxes", "checklist"):
        if key not in result:
            raise ReportError(f"the analysis result has no {key!r}; was it made by cruxfit?")
    result = copy.deepcopy(result)  # nothing below can change the caller's dict

    beliefs = result["beliefs"]
    belief_by_id = {b["id"]: b for b in beliefs}
    approaches = result["approaches"]
    approach_by_slug = {a["slug"]: a for a in approaches}
    v = result["verdict"]
    target = v.get("approach", "ai-assisted")
    target_name = approach_by_slug.get(target, {}).get("name", target)
    diagnostics = result.get("diagnostics") or {}
    inconclusive = v.get("label") == INCONCLUSIVE or not v.get("converged", True)
    reasons = list(diagnostics.get("reasons") or [])
    tornado_rows = result["tornado"]
    tornado_by_var = {r["variable"]: r for r in tornado_rows}

    def name_of(var: str) -> str:
        return belief_by_id.get(var, {}).get("name", var)

    profile = result["profile"]
    timing = result.get("timing") or {}
    created = date_text(timing.get("created"))

    # ---- verdict
    deciding = []
    for var in v.get("deciding") or []:
        b = belief_by_id.get(var, {})
        t = tornado_by_var.get(var)
        entry = {
            "id": var,
            "name": name_of(var),
            "proposition": b.get("proposition", ""),
            "credence": pct(b.get("posterior_mean")),
            "interval": interval(b.get("hdi_90"), pct),
            "sentence": None,
        }
        if t is not None:
            entry["sentence"] = (
                f"At the low end of your range ({pct(t['low_credence'])}) {target_name} would "
                f"{lead_phrase(t['margin_at_low'])}; at the high end "
                f"({pct(t['high_credence'])}), {lead_short(t['margin_at_high'])}.")
        deciding.append(entry)

    best_alt = approach_by_slug.get(v.get("best_alternative", ""), {})
    evidence = v.get("evidence") or {}
    crux_titles = {c["id"]: c["title"] for c in result.get("cruxes") or []}
    not_enough = (not inconclusive) and v.get("status") == "not-enough-answers"
    top_slug = v.get("top_approach")
    verdict = {
        "not_enough": not_enough,
        "missing": [crux_titles.get(c, c) for c in evidence.get("missing") or []],
        "crux_answers": [{"title": crux_titles.get(c, c), "n": n}
                         for c, n in (evidence.get("crux_answers") or {}).items()],
        "min_crux_answers": evidence.get("min_crux_answers"),
        "min_each_crux": evidence.get("min_each_crux"),
        "model_label": _label(v.get("model_label", "")),
        "ev_rank": v.get("ev_rank"),
        "ranked_approaches": v.get("ranked_approaches"),
        "top_approach": approach_by_slug.get(top_slug, {}).get("name", top_slug),
        "settled": bool(v.get("settled")),
        "inconclusive": inconclusive,
        "label": "Inconclusive" if inconclusive else _label(v["label"]),
        "css": "inconclusive" if inconclusive else _css_token(v["label"]),
        "meaning": v.get("meaning", ""),
        "reasons": reasons,
        "p_best": pct(v.get("p_best")),
        "p_top3": pct(v.get("p_top3")),
        "margin": num(v.get("margin")),
        "lead": lead_phrase(v.get("margin", float("nan"))),
        "lead_short": lead_short(v.get("margin", float("nan"))),
        "best_alternative": best_alt.get("name", v.get("best_alternative", "—")),
        "deciding": deciding,
    }
    thresholds = [
        {"label": _label(t["label"]), "condition": t["condition"], "meaning": t["meaning"],
         "current": (not inconclusive) and (not not_enough)
                   and t["label"] == v.get("model_label", v.get("label"))}
        for t in v.get("thresholds") or []
    ]

    # ---- comparison
    rank_rows, forest = [], []
    for a in approaches:
        hi = a["slug"] == target
        rank_rows.append({
            "slug": a["slug"], "name": a["name"], "highlight": hi,
            "mean": num(a["mean"]), "interval": interval(a["hdi_90"]),
            "p_best": pct(a["p_best"]), "p_top3": pct(a["p_top3"]),
            "expected_rank": f"{float(a['expected_rank']):.1f}",
        })
        forest.append({"name": a["name"], "mean": float(a["mean"]), "lo": float(a["hdi_90"][0]),
                       "hi": float(a["hdi_90"][1]), "highlight": hi})
    # ---- personal fit: worldview value, the fit factor and the two combined, side by side
    profile = result["profile"]
    fit_rows, fit_answers = [], []
    if profile.get("has_fit"):
        for a in approaches:
            fit_rows.append({
                "name": a["name"], "highlight": a["slug"] == target,
                "worldview": num(a.get("worldview_mean", a["mean"])),
                "factor": f"× {float(a.get('personal_fit', 1.0)):.2f}",
                "combined": num(a["mean"]),
            })
        fit_answers = [{"text": f["text"], "answer": (f"{int(f['answer'])} of 7" if f.get("answer") is not None
                                                     else "not answered")}
                       for f in profile.get("fit") or []]
    unranked = [
        {"name": u["name"], "reason": u.get("reason", ""),
         "ratings": [(DIMENSION_LABEL.get(d, d), lvl)
                     for d, lvl in (u.get("ratings") or {}).items()]}
        for u in result.get("unranked") or []
    ]

    # ---- evaluation table
    evaluation = []
    for a in sorted(approaches, key=lambda a: (a["slug"] != target, a["name"].lower())):
        used = a.get("ratings_used") or {}
        cells = []
        for dim, _ in DIMENSIONS:
            u = used.get(dim) or {"level": (a.get("ratings") or {}).get(dim, "—")}
            cells.append({
                "level": u.get("level", "—"),
                "numbers": (f"{num(u['mean'])} ± {num(u['sd'])}" if "mean" in u else ""),
                "overridden": dim in (a.get("overridden") or {}),
            })
        evaluation.append({"name": a["name"], "highlight": a["slug"] == target, "cells": cells})
    overrides = [
        {"approach": approach_by_slug.get(o["slug"], {}).get("name", o["slug"]),
         "dimension": DIMENSION_LABEL.get(o["dimension"], o["dimension"]),
         "from": o.get("from", "—"), "to": o.get("to", "—"), "reason": o.get("reason") or ""}
        for o in result.get("overrides") or []
    ]

    # ---- beliefs and cruxes
    belief_rows = [_belief_row(b) for b in beliefs]
    crux_vars = {c["variable"] for c in result["cruxes"]}
    cruxes = []
    for i, c in enumerate(result["cruxes"]):
        b = c["belief"]
        var = c["variable"]
        considerations = []
        for k in c["considerations"]:
            ans = k.get("answer")
            considerations.append({
                "favourable": k["favourable"], "unfavourable": k["unfavourable"],
                "text": k["text"], **_answer_bits(ans, var, name_of),
            })
        cruxes.append({
            "id": c["id"], "number": i + 1, "title": c["title"], "intro": c.get("intro") or "",
            "note": c.get("note") or "", "variable": var,
            "belief": _belief_row(b),
            "considerations": considerations,
            "other": [{"text": a["text"], **_answer_bits(a, var, name_of)}
                      for a in c.get("other_statements") or []],
            "questions": _questions_for(c),
            "density": _density(b, prefix=f"crux{i + 1}",
                                title=f"Your credence in “{b['name']}”: before and after "
                                      "your answers"),
        })

    checklist = {
        key: [{"text": r["text"], "belief": name_of(r["variable"]),
               "agreement": pct(r["agreement"]), "status": r["status"],
               "css": STATUS_CLASS.get(r["status"], "undecided")}
              for r in result["checklist"].get(key, [])]
        for key in ("good_fit", "less_relevant")
    }
    good = result["checklist"].get("good_fit", [])
    less = result["checklist"].get("less_relevant", [])
    fit_counts = {
        "good_held": sum(STATUS_CODE.get(r["status"]) == "holds" for r in good),
        "good_total": len(good),
        "less_held": sum(STATUS_CODE.get(r["status"]) == "holds" for r in less),
        "less_total": len(less),
    }

    # ---- what would change your mind
    base = tornado_rows[0]["base_margin"] if tornado_rows else v.get("margin", 0.0)
    tornado = {
        "base": num(base),
        "base_lead": lead_phrase(base),
        "rows": [{"name": r["name"],
                  "range": f"{pct(r['low_credence'])} to {pct(r['high_credence'])}",
                  "at_low": num(r["margin_at_low"]), "at_high": num(r["margin_at_high"]),
                  "swing": num(r["swing"]),
                  "flips": (float(r["margin_at_low"]) < 0) != (float(r["margin_at_high"]) < 0),
                  "crux": r["variable"] in crux_vars}
                 for r in tornado_rows],
    }
    def approach_name(slug: str | None) -> str:
        if not slug:
            return "—"
        return approach_by_slug.get(slug, {}).get("name", slug)

    voi = _voi(result, name_of, approach_name)
    suggestions = _suggestions(voi, tornado_rows, result["cruxes"], name_of)

    # ---- grantmaker's one line
    deciding_crux = (deciding[0]["name"] if deciding
                     else "none within range" if verdict["settled"] else "—")
    top_alt = verdict["best_alternative"]
    convergence = ("converged" if not inconclusive else "did NOT converge")
    if inconclusive:  # no number from an unsettled run goes into a table row
        summary = {"name": profile["name"], "verdict": "Inconclusive", "p_best": "—",
                   "top_alternative": "—", "deciding": "—", "convergence": convergence}
    else:
        summary = {"name": profile["name"], "verdict": verdict["label"],
                   "p_best": verdict["p_best"], "top_alternative": top_alt,
                   "deciding": deciding_crux, "convergence": convergence}
    summary["line"] = " — ".join([summary["name"], summary["verdict"],
                                  f"P(first) {summary['p_best']}",
                                  f"top alternative: {summary['top_alternative']}",
                                  f"deciding: {summary['deciding']}", convergence])

    provenance = result.get("provenance") or {}
    answers = [{"text": a["text"], "id": a["id"], **_answer_bits(a, a.get("variable"), name_of,
                                                               all_moves=True)}
               for a in result.get("answers") or []]

    return {
        "edition": "individual",
        "org": False,  # the organisation edition sets True (see context_org.py)
        "audience": audience,
        "explain": audience == "individual",
        "advisor": audience == "advisor",
        "grantmaker": audience == "grantmaker",
        "title": f"Is {target_name} a good fit? Report for {profile['name']}",
        "author": "cruxfit",
        "created": created,
        "created_iso": timing.get("created"),
        "target_name": target_name,
        "profile": {
            "name": profile["name"],
            "short_name": _shorten(str(profile["name"]), 48),
            "kind": profile.get("kind", "individual"),
            "notes": profile.get("notes") or "",
            "answered": profile.get("answered", 0),
            "statements": profile.get("statements", 0),
            "unsure": len(profile.get("unsure") or []),
        },
        "verdict": verdict,
        "thresholds": thresholds,
        "summary": summary,
        "ranks": rank_rows,
        "fit_rows": fit_rows,
        "fit_answers": fit_answers,
        "unranked": unranked,
        "evaluation": evaluation,
        "dimensions": [label for _, label in DIMENSIONS],
        "overrides": overrides,
        "beliefs": belief_rows,
        "cruxes": cruxes,
        "checklist": checklist,
        "fit_counts": fit_counts,
        "tornado": tornado,
        "value_anchor": _value_anchor(result, "the applicant's" if audience == "grantmaker"
                                      else "your"),
        "voi": voi,
        "suggestions": suggestions,
        "diagnostics": _diagnostics(diagnostics, inconclusive),
        "provenance": {
            "version": provenance["cruxfit_version"],
            "seed": provenance["seed"],
            "input_sha256": provenance["input_sha256"],
            "library_sha256": provenance["library_sha256"],
            "versions": sorted(provenance["versions"].items()),
            "hdi_prob": pct(provenance["hdi_prob"]),
            "value_draws": provenance["value_draws"],
            "form_layout": provenance.get("form_layout"),
            "created": created or "—",
        },
        "answers": answers,
        "plots": {
            "forest": forest,
            "tornado": {"base": float(base),
                        "rows": [{"label": f"{r['name']} ({pct(r['low_credence'])}–"
                                           f"{pct(r['high_credence'])})",
                                  "at_low": float(r["margin_at_low"]),
                                  "at_high": float(r["margin_at_high"])} for r in tornado_rows]},
        },
    }


def _value_anchor(result: dict, possessive: str) -> str:
    """The sentence tying value points to the rating scale (reports/context_editions.py)."""
    from cruxfit.reports.context_editions import value_anchor

    return value_anchor(result, possessive)


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters on one line (for the running header)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _belief_row(b: dict) -> dict:
    return {
        "id": b["id"], "name": b["name"], "proposition": b.get("proposition", ""),
        "prior": pct(b.get("prior_mean")), "prior_interval": interval(b.get("prior_hdi_90"), pct),
        "posterior": pct(b.get("posterior_mean")), "interval": interval(b.get("hdi_90"), pct),
        "shift": points(b.get("shift")), "answers": b.get("answers", 0),
        "justification": b.get("justification") or "",
    }


def _answer_bits(ans: dict | None, var: str | None, name_of, all_moves: bool = False) -> dict:
    """The answer label and how far it moved the belief ``var`` (others listed after)."""
    if ans is None:
        return {"answer": "not answered", "unsure": True, "moved": "no effect",
                "moved_other": []}
    unsure = ans.get("value") is None
    moved = ans.get("moved") or {}
    # The evidence a reader expects: which way, and how hard, this answer on its own pulls
    # the belief from its starting point (``alone``). The leave-one-out effect (``moved``)
    # is kept for the appendix only: with other answers present it can even point the
    # other way, which readers took for a bug.
    alone = ans.get("alone") or {}
    main = alone.get(var) if var in alone else None
    others = [(name_of(k), _numbers.pull(x)) for k, x in alone.items() if k != var or all_moves]
    if all_moves:
        main_text = "; ".join(f"{n}: {p}" for n, p in others) if not unsure else "no effect"
        loo = "; ".join(f"{name_of(k)}: {points(x)}" for k, x in moved.items())
        others = []
    else:
        main_text = "no effect" if unsure else _numbers.pull(main)
        loo = ""
    return {"answer": ans.get("label", "—"), "unsure": unsure, "moved": main_text,
            "loo": loo if not unsure else "—",
            "moved_other": [f"{n}: {p}" for n, p in others] if not unsure else []}


def _density(b: dict, *, prefix: str, title: str) -> dict | None:
    d = b.get("density")
    if not d or not d.get("x"):
        return None
    return {"x": [float(x) for x in d["x"]], "prior": [float(y) for y in d["prior"]],
            "posterior": [float(y) for y in d["posterior"]],
            "prior_mean": float(b["prior_mean"]), "posterior_mean": float(b["posterior_mean"]),
            "prefix": prefix, "title": title}


def _voi(result: dict, name_of, approach_name) -> dict:
    """EVPI, EVPPI and switching values when the analysis provides them (else None each).

    Tolerant of shape: a switch may be a bare credence or ``{"below": {...}, "above": {...}}``
    with ``credence``, ``from`` and ``to`` (verdict labels or approach slugs).
    """
    evpi = result.get("evpi")
    evppi = result.get("evppi")
    switching = result.get("switching_values")
    out: dict[str, Any] = {"evpi": num(evpi) if _finite(evpi) else None,
                           "evppi": None, "switching": None, "method": result.get("voi_method")}
    if evppi:
        rows = sorted(evppi, key=lambda r: -float(r.get("value") or 0.0))
        out["evppi"] = [{
            "variable": r.get("variable", ""),
            "name": r.get("name") or name_of(r.get("variable", "")),
            "value": num(r.get("value"), 2),
            "raw": float(r["value"]) if _finite(r.get("value")) else 0.0,
            "share": pct(r["share"], exact=True) if _finite(r.get("share")) else "—",
            "if_true": approach_name(r.get("best_if_true")),
            "if_false": approach_name(r.get("best_if_false")),
            "sentence": r.get("sentence") or "",
        } for r in rows]
    if switching:
        out["switching"] = [{
            "name": r.get("name") or name_of(r.get("variable", "")),
            "current": pct(r.get("current")),
            "verdict_switch": _switch_text(r.get("verdict_switch"), _label),
            "top_switch": _switch_text(r.get("top_switch"), approach_name),
            "top_changes": bool(r.get("top_switch")),
            "sentence": r.get("sentence") or "",
        } for r in switching]
    return out


def _switch_text(switch: Any, name) -> list[str]:
    """Lines such as 'below 63%: good fit' for one switching value; ['never'] if none."""
    if switch is None:
        return ["never, at any credence"]
    if _finite(switch):
        return [f"at {pct(switch)}"]
    lines = []
    for side in ("below", "above"):
        s = (switch or {}).get(side) if isinstance(switch, dict) else None
        if s:
            to = s.get("to")
            lines.append(f"{side} {pct(s.get('credence'))}: {name(to) if to else '—'}")
    return lines or ["never, at any credence"]


def _suggestions(voi: dict, tornado_rows: list[dict], cruxes: list[dict], name_of,
                 whose: str = "your") -> list[str]:
    """What to investigate first: by EVPPI when known, else by the tornado's swing.

    ``whose`` is the possessive for the decision maker ("your", "the organisation's").
    """
    crux_title = {c["variable"]: c["title"] for c in cruxes}
    out = []
    if voi["evppi"]:
        for r in [r for r in voi["evppi"] if r["raw"] > 0][:3]:
            if r["if_true"] != "—" and r["if_true"] != r["if_false"]:
                stakes = (f" If it is true, {r['if_true']} is {whose} best choice; if not, "
                          f"{r['if_false']}.")
            else:
                stakes = ""
            out.append(f"Look for evidence on “{r['name']}”: settling it is worth {r['value']} "
                       f"value points to this decision ({r['share']} of what knowing "
                       f"everything would be worth).{stakes}")
        if out:
            return out
        out.append("No single belief is worth investigating for this decision: learning the "
                   "truth about any one of them would not change which approach is best.")
    else:
        for k, r in enumerate(tornado_rows[:2]):
            where = (f" (the crux “{crux_title[r['variable']]}”)" if r["variable"] in crux_title
                     else "")
            out.append(f"Discuss “{r['name']}”{where}: across its plausible range the lead of the "
                       f"approach moves by {num(r['swing'])} value points"
                       + (", more than for any other belief." if k == 0 else "."))
    return out


def _diagnostics(d: dict, inconclusive: bool) -> dict:
    def fmt(key: str, nd: int) -> str:
        x = d.get(key)
        if not _finite(x):
            return "—"
        return f"{float(x):.{nd}f}"

    criteria = d.get("criteria") or {}
    return {
        "converged": bool(d.get("converged", False)) and not inconclusive,
        "r_hat_max": fmt("r_hat_max", 3),
        "ess_bulk_min": fmt("ess_bulk_min", 0),
        "ess_tail_min": fmt("ess_tail_min", 0),
        "divergences": d["divergences"],
        "chains": d["chains"],
        "draws": d["draws"],
        "tune": d["tune"],
        "target_accept": d["target_accept"],
        "attempts": d["attempts"],
        "reasons": list(d["reasons"]),
        "criteria": sorted(criteria.items()),
    }
