"""The organisation edition's context: the individual context plus the organisation's own.

:func:`build_org_context` starts from :func:`~cruxfit.reports.context.build_context` (the
pooled organisation is analysed exactly like one respondent, so the comparison, evaluation,
value-of-information and diagnostics sections carry over) and adds what only an
organisation has: its members and their verdicts, where they disagree, and the crux to
discuss first. Like ``build_context`` it is pure: plain data out, every number formatted
here, nothing read from the clock or the environment.

Words change with the edition ("the organisation" instead of "you"); numbers never do.
"""

from __future__ import annotations

import copy
from typing import Any

from cruxfit.reports import numbers as _numbers
from cruxfit.reports.context import (
    _finite,
    _label,
    _suggestions,
    build_context,
    num,
    pct,
    points,
    signed as _signed,
)
from cruxfit.reports.wording import ONE_RESPONDENT, STATUS_CODE

#: Up to this many members the disagreement map shows one row per member; beyond it, one
#: strip per belief (every member a dot, no names), and the report says so.
MAP_MEMBER_LIMIT = 30
#: Up to this many members a crux page lists every member's credence; beyond it, a summary.
LIST_MEMBER_LIMIT = 30
#: On page 1, each side of the crux to discuss first names at most this many members.
SIDE_NAMES_LIMIT = 8

#: Checklist statuses in the organisation's words, by status code (cruxfit.reports.wording).
ORG_STATUS = {"holds": "the organisation holds this",
              "not-held": "the organisation does not hold this",
              "undecided": "undecided"}


def build_org_context(result: dict, audience: str = "individual") -> dict:
    """The template context of the organisation edition for ``result`` and ``audience``."""
    ctx = build_context(result, audience)  # validates the common keys and the audience
    result = copy.deepcopy(result)
    profile = result["profile"]
    members = list(result.get("members") or [])
    disagreement = list(result.get("disagreement") or [])
    df = result.get("discuss_first") or {}
    inconclusive = ctx["verdict"]["inconclusive"]
    target_name = ctx["target_name"]
    belief_by_id = {b["id"]: b for b in result["beliefs"]}
    approach_name = {a["slug"]: a["name"] for a in result["approaches"]}
    dis_by_var = {d["variable"]: d for d in disagreement}
    ranking = list(df.get("ranking") or [])
    rank_by_var = {r["variable"]: r for r in ranking}

    def name_of(var: str) -> str:
        return (belief_by_id.get(var) or dis_by_var.get(var) or {}).get("name", var)

    def org_credence(var: str) -> float | None:
        d = dis_by_var.get(var)
        if d is not None and _finite(d.get("organisation")):
            return float(d["organisation"])
        b = belief_by_id.get(var)
        return float(b["posterior_mean"]) if b and _finite(b.get("posterior_mean")) else None

    # Variables in the order of how much their disagreement matters (discuss-first ranking),
    # then any the ranking leaves out, in library order.
    order = [r["variable"] for r in ranking]
    order += [d["variable"] for d in disagreement if d["variable"] not in order]
    order += [b["id"] for b in result["beliefs"] if b["id"] not in order]
    first_var = df.get("variable")
    n = len(members)
    large = n > MAP_MEMBER_LIMIT

    # ---- the organisation's pooled verdict, in its words
    verdict = ctx["verdict"]
    if not inconclusive and verdict["meaning"]:
        meaning = verdict["meaning"].replace("your", "its")
        verdict["meaning"] = ("For the organisation as a whole, with its members' views pooled: "
                              + meaning[:1].lower() + meaning[1:])

    # ---- members
    org_margin = result["verdict"].get("margin")
    member_rows = []
    tally: dict[str, int] = {}
    for i, m in enumerate(members):
        label = str(m.get("verdict") or "—")
        shown = "no verdict" if inconclusive else _label(label)
        if not inconclusive:
            tally[shown] = tally.get(shown, 0) + 1
        why = []
        if m.get("differs") and not inconclusive:
            for w in (m.get("why") or {}).get("main") or []:
                var = w.get("variable", "")
                mine = (m.get("beliefs") or {}).get(var)
                org = org_credence(var)
                if mine is None or org is None:  # a rating override or personal fit
                    why.append(f"{w.get('name') or name_of(var)}: lead {_signed(w.get('margin'))}")
                else:
                    why.append(f"{w.get('name') or name_of(var)}: {pct(mine)} (organisation "
                               f"{pct(org)}), lead {_signed(w.get('margin'))}")
        total = (m.get("why") or {}).get("total_margin")
        member_rows.append({
            "index": i + 1,
            "name": str(m.get("name", f"Member {i + 1}")),
            "role": m.get("role") or "",
            "verdict": shown,
            "css": "inconclusive" if inconclusive else _token(label),
            "p_best": pct(m.get("p_best")),
            "p_top3": pct(m.get("p_top3")),
            "lead": num(m.get("margin")),
            "top": approach_name.get(m.get("top_approach"), m.get("top_approach") or "—"),
            "answered": m.get("answered", "—"),
            "differs": bool(m.get("differs")) and not inconclusive,
            "why": why,
            # The difference of the two leads as displayed (the member's in this row, the
            # organisation's in the verdict), so that the arithmetic on the page adds up.
            "why_total": (f"In all, the lead differs by "
                          f"{_numbers.shown_difference(m.get('margin'), org_margin)} "
                          f"({num(m.get('margin'))} against the organisation's {num(org_margin)})."
                          if why and _finite(total) and _finite(m.get("margin"))
                          and _finite(org_margin) else ""),
        })
    differing = [r for r in member_rows if r["differs"]]
    verdict_order = ["Strong fit", "Good fit", "Mixed", "Less relevant"]
    member_tally = [{"label": k, "count": tally[k], "css": _token(k)}
                    for k in verdict_order + sorted(set(tally) - set(verdict_order))
                    if k in tally]

    # ---- the crux to discuss first
    discuss = _discuss_first(df, rank_by_var, members, name_of, org_credence, belief_by_id,
                             target_name, inconclusive)

    # ---- the disagreement map and table
    columns = [{"variable": v, "label": name_of(v), "highlight": v == first_var} for v in order]
    grid_rows = [{"label": "Organisation", "strong": True,
                  "values": [org_credence(v) for v in order]}]
    for m in members:
        beliefs = m.get("beliefs") or {}
        grid_rows.append({"label": str(m.get("name", "")), "strong": False,
                          "values": [beliefs.get(v) if _finite(beliefs.get(v)) else None
                                     for v in order]})
    if first_var and not large:  # members sorted by their view on the crux to discuss first
        k = order.index(first_var)
        head, rest = grid_rows[:1], grid_rows[1:]
        rest.sort(key=lambda r: -(r["values"][k] if r["values"][k] is not None else -1.0))
        grid_rows = head + rest
    strips = []
    for v in order:
        vals = [float((m.get("beliefs") or {})[v]) for m in members
                if _finite((m.get("beliefs") or {}).get(v))]
        below = sum(x < 0.5 for x in vals)
        strips.append({"label": name_of(v), "members": vals,
                       "organisation": org_credence(v) if org_credence(v) is not None else 0.5,
                       "highlight": v == first_var,
                       "counts": f"{below} below 50% · {len(vals) - below} above"})
    dis_rows = []
    for v in order:
        d = dis_by_var.get(v, {})
        r = rank_by_var.get(v, {})
        lo_hi = d.get("member_range") or [None, None]
        dis_rows.append({
            "variable": v, "name": name_of(v), "first": v == first_var,
            "organisation": pct(org_credence(v)),
            "range": (f"{pct(lo_hi[0])} to {pct(lo_hi[1])}"
                      if lo_hi and lo_hi[0] is not None else "—"),
            "spread": num(d.get("spread")),
            "spread_interval": (f"{num(d['spread_hdi_90'][0])}–{num(d['spread_hdi_90'][1])}"
                                if d.get("spread_hdi_90") else "—"),
            "impact": num(r.get("impact")),
            "flips": ("—" if inconclusive or not r else
                      "yes" if r.get("verdict_changes") else "no"),
        })

    # ---- beliefs, checklist and crux pages in the organisation's words
    for b in ctx["beliefs"]:
        d = dis_by_var.get(b["id"], {})
        lo_hi = d.get("member_range")
        b["members_range"] = f"{pct(lo_hi[0])} to {pct(lo_hi[1])}" if lo_hi else "—"
        b["spread"] = num(d.get("spread"))
    for key in ("good_fit", "less_relevant"):
        for r in ctx["checklist"][key]:
            r["status"] = ORG_STATUS.get(STATUS_CODE.get(r["status"]), r["status"])
    for c in ctx["cruxes"]:
        c["members"] = _crux_members(c["variable"], members, org_credence(c["variable"]),
                                     large=n > LIST_MEMBER_LIMIT)
        if c["density"]:
            c["density"]["title"] = (f"The organisation's credence in “{c['belief']['name']}”: "
                                     "before and after pooling the members' answers")
            c["density"]["after_label"] = "the organisation, after the members' answers"
            c["density"]["xlabel"] = ("credence (how likely it is thought to be); vertical "
                                      "lines mark the averages")

    # ---- what would change the organisation's verdict
    voi = ctx["voi"]
    if voi["switching"]:
        for row, raw in zip(voi["switching"], result.get("switching_values") or [], strict=False):
            row["sentence"] = _switch_sentence(raw, row["name"], target_name, approach_name)
    tornado_rows = result["tornado"]
    suggestions = _suggestions(voi, tornado_rows, result["cruxes"], name_of,
                               whose="the organisation's")
    if discuss["variable"] and not inconclusive and n > 1:
        suggestions = [f"Discuss “{discuss['name']}” first: it is where the members disagree "
                       "in a way that matters most for this decision (see page 1)."] + suggestions

    # ---- the grantmaker's one line
    summary = ctx["summary"]
    summary["deciding"] = "—" if inconclusive else (discuss["name"] or "—")
    summary["line"] = " — ".join([summary["name"], summary["verdict"],
                                  f"P(first) {summary['p_best']}",
                                  f"top alternative: {summary['top_alternative']}",
                                  f"{n} members",
                                  f"discuss first: {summary['deciding']}",
                                  summary["convergence"]])

    respondents = profile.get("respondents", n)
    statements = profile.get("statements", 0)
    ctx.update({
        "edition": "organisation",
        "org": True,
        "title": f"Is {target_name} a good fit? Organisation report for {profile['name']}",
        "verdict": verdict,
        "summary": summary,
        "suggestions": suggestions,
        "members": member_rows,
        "member_tally": member_tally,
        "differing": len(differing),
        "discuss": discuss,
        "disagreement": dis_rows,
        "map": {"mode": "summary" if large else "grid", "members": n,
                "limit": MAP_MEMBER_LIMIT},
        "warnings": [str(w) for w in profile.get("warnings") or []],
        "org_profile": {
            "respondents": respondents,
            "answers": profile.get("answered", 0),
            "possible": (respondents * statements) if isinstance(respondents, int) and
                        isinstance(statements, int) else 0,
        },
    })
    ctx["plots"]["map"] = ({"mode": "summary", "rows": strips} if large else
                           {"mode": "grid", "rows": grid_rows,
                            "columns": [{"label": c["label"], "highlight": c["highlight"]}
                                        for c in columns]})
    return ctx


# ----------------------------------------------------------------------------- helpers
def _token(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text).lower()).strip("-") or "x"


def _lead(margin: Any) -> str:
    if not _finite(margin):
        return "—"
    m = float(margin)
    return (f"lead the best alternative by {num(m)}" if m >= 0
            else f"trail the best alternative by {num(abs(m))}")


def _side(names: list[str], credence: dict[str, float], org: float | None,
          *, reverse: bool) -> dict:
    """Members on one side, furthest from the organisation first, at most SIDE_NAMES_LIMIT."""
    ordered = sorted(names, key=lambda nm: credence.get(nm, 0.5), reverse=reverse)
    shown = [{"name": nm, "credence": pct(credence.get(nm))} for nm in ordered[:SIDE_NAMES_LIMIT]]
    return {"count": len(names), "shown": shown, "more": max(len(names) - SIDE_NAMES_LIMIT, 0)}


def _discuss_first(df: dict, rank_by_var: dict, members: list[dict], name_of, org_credence,
                   belief_by_id: dict, target_name: str, inconclusive: bool) -> dict:
    var = df.get("variable")
    if not var:
        return {"variable": None, "name": None, "proposition": "", "sentence": "",
                "organisation": "—", "below": None, "above": None, "next": [],
                "single": len(members) < 2, "flips": False}
    r = rank_by_var.get(var, {})
    credence = {str(m.get("name")): float((m.get("beliefs") or {})[var]) for m in members
                if _finite((m.get("beliefs") or {}).get(var))}
    org = org_credence(var)
    below = r.get("below") if r.get("below") is not None else [
        nm for nm, x in credence.items() if org is not None and x < org]
    above = r.get("above") if r.get("above") is not None else [
        nm for nm, x in credence.items() if nm not in below]
    low, high = r.get("low") or {}, r.get("high") or {}
    if len(members) < 2:
        sentence = ONE_RESPONDENT
    elif low and high:
        sentence = (f"Members' credences range from {pct(low.get('credence'))} "
                    f"({low.get('member')}) to {pct(high.get('credence'))} ({high.get('member')}). "
                    f"If the organisation held {low.get('member')}'s view, {target_name} would "
                    f"{_lead(low.get('margin'))} value points")
        if not inconclusive:
            sentence += f" (verdict: {str(low.get('verdict', '—')).lower()})"
        sentence += (f"; if it held {high.get('member')}'s view, it would "
                     f"{_lead(high.get('margin'))}")
        if not inconclusive:
            sentence += f" (verdict: {str(high.get('verdict', '—')).lower()})"
        sentence += (f". Across the members' range the lead moves by {num(r.get('impact'))} "
                     "value points, ")
        if r.get("verdict_changes") and not inconclusive:
            sentence += "enough to change the verdict; no other disagreement does more."
        else:
            sentence += "more than across any other disagreement."
    else:
        sentence = str(df.get("why") or "")
    following = []
    for other in list(rank_by_var.values()):
        if other["variable"] == var:
            continue
        following.append({"name": other.get("name") or name_of(other["variable"]),
                          "impact": num(other.get("impact")),
                          "flips": bool(other.get("verdict_changes")) and not inconclusive})
        if len(following) == 2:
            break
    return {
        "variable": var,
        "name": df.get("name") or name_of(var),
        "proposition": (belief_by_id.get(var) or {}).get("proposition", ""),
        "organisation": pct(org),
        "below": _side(list(below), credence, org, reverse=False),
        "above": _side(list(above), credence, org, reverse=True),
        "sentence": sentence,
        "flips": bool(r.get("verdict_changes")) and not inconclusive,
        "impact": num(r.get("impact")),
        "next": following,
        "single": len(members) < 2,
    }


def _crux_members(var: str, members: list[dict], org: float | None, *, large: bool) -> dict:
    """Each member's credence in one crux's belief (a list, or a summary when many)."""
    rows = []
    for m in members:
        x = (m.get("beliefs") or {}).get(var)
        if not _finite(x):
            continue
        x = float(x)
        side = ("—" if org is None else
                "above" if x > org + 0.005 else "below" if x < org - 0.005 else "about the same")
        rows.append({"name": str(m.get("name", "")), "role": m.get("role") or "",
                     "credence": pct(x), "value": x,
                     "difference": points(x - org) if org is not None else "—", "side": side})
    rows.sort(key=lambda r: -r["value"])
    values = sorted(r["value"] for r in rows)
    k = len(values)
    summary = ""
    if k:
        q = lambda f: values[min(int(f * (k - 1) + 0.5), k - 1)]  # noqa: E731
        summary = (f"{k} members: from {pct(values[0])} ({rows[-1]['name']}) to {pct(values[-1])} "
                   f"({rows[0]['name']}); the middle half between {pct(q(0.25))} and "
                   f"{pct(q(0.75))}, median {pct(q(0.5))}. "
                   f"{sum(v < 0.5 for v in values)} below 50%, "
                   f"{sum(v >= 0.5 for v in values)} at or above.")
    for r in rows:
        r.pop("value")
    return {"large": large, "rows": [] if large else rows, "summary": summary}


def _switch_sentence(raw: dict, name: str, target_name: str, approach_name: dict) -> str:
    """'If the organisation's credence in X fell below 53% (now 63%), Y would overtake Z.'"""
    top = raw.get("top_switch")
    now = pct(raw.get("current"))
    if not isinstance(top, dict):
        return ""
    parts = []
    for side, verb in (("below", "fell below"), ("above", "rose above")):
        s = top.get(side)
        if not s:
            continue
        to = approach_name.get(s.get("to"), s.get("to") or "—")
        frm = approach_name.get(s.get("from"), s.get("from") or target_name)
        parts.append(f"If the organisation's credence in “{name}” {verb} "
                     f"{pct(s.get('credence'))} (now {now}), {to} would overtake {frm} as the "
                     "approach with the highest expected value.")
    return " ".join(parts)
