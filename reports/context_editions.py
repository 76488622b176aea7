"""The short editions: the two-page handout, the grantmaker's one-page memo, and the
advisor's discussion questions and session plan.

Each is built on top of :func:`cruxfit.reports.context.build_context`, so every number is
the one the full report prints (formatted once, in :mod:`cruxfit.reports.numbers`): the
editions differ in what they say and to whom, never in a number. Labels, counts and belief
names are read from the analysis result, never assumed.

Editions
--------
=============  ==========================  ===============================================
audience       ``--length short``          ``--length full`` (default)
=============  ==========================  ===============================================
individual     handout (two pages)         the full report
advisor        handout + session plan      session plan + the full report
grantmaker     memo (one page)             memo (one page); ``--appendix`` adds the full
                                           report after it
=============  ==========================  ===============================================
"""

from __future__ import annotations

import copy
from typing import Any

from cruxfit.reports import numbers as N
from cruxfit.reports.context import build_context, discussion_questions
from cruxfit.reports.wording import STATUS_CODE

LENGTHS = ("full", "short")

#: A credence this close (in probability) to a switching value makes a discussion question.
NEAR_SWITCH = 0.10
#: Agreement answers at or above this are "strong agreement"; at or below LOW, "strong
#: disagreement" (1-7 scale).
STRONG_AGREE = 6
STRONG_DISAGREE = 2
#: A deciding belief held at or beyond these credences is a "firm view" worth testing.
FIRM_HIGH = 0.75
FIRM_LOW = 0.25


def edition_name(result: dict, audience: str, length: str = "full", appendix: bool = False) -> str:
    """Which edition ``audience`` and ``length`` ask for: full, handout, advisor or memo."""
    if length not in LENGTHS:
        raise ValueError(f"length must be one of {', '.join(LENGTHS)}, not {length!r}")
    if audience == "grantmaker":
        return "memo"
    org = (result.get("profile") or {}).get("kind") == "organisation"
    if length == "short" and not org:
        return "handout"
    if audience == "advisor" and not org:
        return "advisor"
    return "full"


# ----------------------------------------------------------------------------- voice
class Voice:
    """Second person for the person who answered, third person for a grantmaker."""

    def __init__(self, third: bool, organisation: bool = False):
        self.third = third
        who = "the organisation" if organisation else "the applicant"
        self.subject = who if third else "you"
        self.possessive = f"{who}'s" if third else "your"
        self.Subject = self.subject[:1].upper() + self.subject[1:]
        self.Possessive = self.possessive[:1].upper() + self.possessive[1:]
        self.is_ = "is" if third else "are"

    def recast(self, text: str) -> str:
        """A library sentence written to "you" recast for this voice."""
        if not self.third or not text:
            return text
        out = text
        for a, b in (("your ", f"{self.possessive} "), ("Your ", f"{self.Possessive} "),
                     (" you ", f" {self.subject} "), ("You ", f"{self.Subject} ")):
            out = out.replace(a, b)
        return out


def leaning(p: Any, voice: Voice) -> str:
    """A credence in plain words: "you lean towards yes (66%)"."""
    if not N.finite(p):
        return "no estimate"
    p = float(p)
    s = voice.subject
    verb = "leans" if voice.third else "lean"
    is_ = voice.is_
    if p < 0.2:
        words = f"{s} {'doubts' if voice.third else 'doubt'} it strongly"
    elif p < 0.4:
        words = f"{s} {verb} towards no"
    elif p <= 0.6:
        words = f"{s} {is_} undecided"
    elif p <= 0.8:
        words = f"{s} {verb} towards yes"
    else:
        words = f"{s} {is_} fairly sure it is true"
    return f"{words} ({N.probability(p)})"


# ----------------------------------------------------------------------------- pieces
def value_anchor(result: dict, voice: Voice | str) -> str:
    """One sentence tying "value points" to the rating scale, from the ratings used."""
    levels: dict[str, list[float]] = {}
    for a in result.get("approaches") or []:
        for dim in ("hard", "easy"):
            u = (a.get("ratings_used") or {}).get(dim) or {}
            if N.finite(u.get("mean")) and u.get("level"):
                levels.setdefault(str(u["level"]), []).append(float(u["mean"]))
    means = sorted(((sum(v) / len(v), k) for k, v in levels.items()))
    if not means:
        return ("Value points are the model's scale of how much good an approach does, built "
                "from the ratings in the evaluation table.")
    scale = ", ".join(f"“{k}” about {N.value(m, 0) if float(m).is_integer() else N.value(m, 1)}"
                      for m, k in means)
    return (f"Value points measure how much good an approach does on the evaluation table's "
            f"own scale: a value rating of {scale} points, before tractability, neglectedness "
            f"and {voice if isinstance(voice, str) else voice.possessive} beliefs adjust it.")


def ranked(result: dict) -> list[dict]:
    """The ranked approaches, best expected value first."""
    rows = [a for a in result.get("approaches") or [] if N.finite(a.get("mean"))]
    return sorted(rows, key=lambda a: -float(a["mean"]))


def top_three(result: dict, target: str, steps: dict) -> list[dict]:
    out = []
    for i, a in enumerate(ranked(result)[:3]):
        s = steps.get(a["slug"]) or {}
        out.append({
            "rank": i + 1, "slug": a["slug"], "name": a["name"], "highlight": a["slug"] == target,
            "summary": s.get("summary") or "",
            "mean": N.value(a["mean"]), "p_best": N.probability(a.get("p_best")),
            "fit": (f"× {float(a['personal_fit']):.2f}" if N.finite(a.get("personal_fit"))
                    and abs(float(a["personal_fit"]) - 1) > 1e-9 else ""),
            "skills": list(s.get("skills") or []), "roles": list(s.get("roles") or []),
            "read": list(s.get("read") or []),
        })
    return out


def switch_lines(result: dict, voice: Voice, approach_name, limit: int = 3) -> list[str]:
    """Plain sentences: at which credence the verdict or the best approach changes."""
    rows = []
    for r in result.get("switching_values") or []:
        cur = r.get("current")
        name = r.get("name") or r.get("variable", "")
        for kind in ("verdict_switch", "top_switch"):
            sw = r.get(kind)
            if not isinstance(sw, dict):
                continue
            for side in ("below", "above"):
                s = sw.get(side)
                if not s or not N.finite(s.get("credence")) or not N.finite(cur):
                    continue
                gap = abs(float(s["credence"]) - float(cur))
                to = s.get("to")
                if kind == "verdict_switch":
                    what = f"the verdict would become “{str(to).lower()}”"
                else:
                    what = f"{approach_name(to)} would become the best approach"
                direction = "less" if side == "below" else "more"
                sentence = (f"If {voice.subject} became {direction} sure that “{name}” "
                            f"({side} {N.probability(s['credence'])}; now "
                            f"{N.probability(cur)}), {what}.")
                rows.append((gap, sentence))
    rows.sort(key=lambda t: t[0])
    seen, out = set(), []
    for _, s in rows:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out[:limit]


def evidence_line(result: dict, voice: Voice, approach_name) -> str | None:
    """The one belief most worth finding out about, in plain words (from EVPPI)."""
    rows = sorted([r for r in result.get("evppi") or [] if N.finite(r.get("value"))
                   and float(r["value"]) > 0], key=lambda r: -float(r["value"]))
    if not rows:
        return None
    r = rows[0]
    name = r.get("name") or r.get("variable", "")
    t, f = r.get("best_if_true"), r.get("best_if_false")
    if t and f and t != f:
        return (f"The one thing most worth finding out: whether “{name}” is true. If it is, "
                f"{approach_name(t)} is {voice.possessive} best choice; if not, "
                f"{approach_name(f)}.")
    return f"The one thing most worth finding out: whether “{name}” is true."


def deciding_beliefs(ctx: dict, result: dict, voice: Voice, target_name: str) -> list[dict]:
    tornado = {r["variable"]: r for r in result.get("tornado") or []}
    beliefs = {b["id"]: b for b in result.get("beliefs") or []}
    out = []
    for d in ctx["verdict"]["deciding"][:3]:
        b = beliefs.get(d["id"], {})
        t = tornado.get(d["id"])
        effect = ""
        if t is not None and N.finite(t.get("margin_at_low")) and N.finite(t.get("margin_at_high")):
            lo, hi = float(t["margin_at_low"]), float(t["margin_at_high"])
            if (lo < 0) != (hi < 0):
                effect = (f"Within the range {voice.possessive} answers allow, this belief "
                          f"decides whether {target_name} leads or trails.")
            elif lo >= 0:
                effect = (f"{target_name} stays ahead across the range {voice.possessive} "
                          f"answers allow, but by more the surer {voice.subject} {voice.is_}.")
            else:
                effect = (f"{target_name} stays behind across the range {voice.possessive} "
                          f"answers allow; this belief sets by how much.")
        org = (result.get("profile") or {}).get("kind") == "organisation"
        out.append({"name": d["name"], "proposition": d["proposition"],
                     "leaning": leaning(b.get("posterior_mean"), voice),
                     "answers": None if org else b.get("answers", 0), "effect": effect})
    return out


# ----------------------------------------------------------------------------- advisor
def advisor_questions(result: dict, limit: int = 6) -> list[dict]:
    """Discussion questions drawn from this client's own answers.

    Three sources, in this order: contradictions within a crux (strong agreement, or strong
    disagreement, with statements on both poles of the same crux), beliefs whose credence
    sits near a switching value, and disagreement with the seed page's good-fit list (or
    agreement with its less-relevant list). When none applies, the library's generic
    question for the crux with the most value of information.
    """
    beliefs = {b["id"]: b for b in result.get("beliefs") or []}
    approaches = {a["slug"]: a["name"] for a in result.get("approaches") or []}
    out: list[dict] = []

    for c in result.get("cruxes") or []:
        answers = [k.get("answer") for k in c.get("considerations") or []]
        answers += list(c.get("other_statements") or [])
        rated = [a for a in answers if a and N.finite(a.get("value"))
                 and a.get("scale", "agree7") == "agree7" and a.get("favours") in (1, -1)]
        for strong, word in ((lambda v: v >= STRONG_AGREE, "agreed strongly"),
                             (lambda v: v <= STRONG_DISAGREE, "disagreed strongly")):
            pro = [a for a in rated if a["favours"] == 1 and strong(float(a["value"]))]
            con = [a for a in rated if a["favours"] == -1 and strong(float(a["value"]))]
            if pro and con:
                out.append({
                    "kind": "contradiction", "crux": c.get("title", ""),
                    "question": (f"On “{c.get('title', '')}” you {word} with both “{pro[0]['text']}” "
                                 f"and “{con[0]['text']}”, which pull in opposite directions. "
                                 "How do you reconcile the two?"),
                    "why": "answers within one crux pull both ways",
                })

    for r in result.get("switching_values") or []:
        cur = r.get("current")
        if not N.finite(cur):
            continue
        best = None
        for kind in ("verdict_switch", "top_switch"):
            sw = r.get(kind)
            for side in ("below", "above"):
                s = (sw or {}).get(side) if isinstance(sw, dict) else None
                if s and N.finite(s.get("credence")):
                    gap = abs(float(s["credence"]) - float(cur))
                    if gap <= NEAR_SWITCH and (best is None or gap < best[0]):
                        best = (gap, kind, side, s)
        if best is None:
            continue
        gap, kind, side, s = best
        to = s.get("to")
        what = (f"the verdict would become “{str(to).lower()}”" if kind == "verdict_switch"
                else f"{approaches.get(to, to)} would become your best approach")
        name = r.get("name") or beliefs.get(r.get("variable"), {}).get("name", r.get("variable"))
        where = (f"right at the point where {what}" if N.probability(cur) == N.probability(s["credence"])
                 else f"close to {N.probability(s['credence'])}, where {what}")
        out.append({
            "kind": "near-switch", "crux": name, "variable": r.get("variable"),
            "question": (f"Your credence that “{name}” is {N.probability(cur)}, {where}. "
                         f"What evidence would "
                         f"move you {'down' if side == 'below' else 'up'} that far, and how "
                         "likely are you to meet it?"),
            "why": f"{N.points(abs(gap)).lstrip('+').replace('points', 'percentage points')} "
                   "from where the advice changes",
            "gap": gap,
        })

    # Firm convictions on the beliefs that decide the verdict: worth testing, however
    # comfortable the verdict they give.
    near_vars = {q.get("variable") for q in out if q["kind"] == "near-switch"}
    for var in (result.get("verdict") or {}).get("deciding") or []:
        b = beliefs.get(var) or {}
        p = b.get("posterior_mean")
        if var in near_vars or not N.finite(p) or FIRM_LOW < float(p) < FIRM_HIGH:
            continue
        # The same words for a credence as the handout uses (leaning()).
        out.append({
            "kind": "firm", "crux": b.get("name", var),
            "question": (f"On “{b.get('name', var)}” {leaning(p, Voice(third=False))}, and "
                         "the verdict leans on it. What is the strongest case against your "
                         "view that you know of, and who would make it best?"),
            "why": "a firm view on a deciding belief",
        })

    checklist = result.get("checklist") or {}
    for row in checklist.get("good_fit") or []:
        if STATUS_CODE.get(row.get("status")) == "not-held":
            out.append({
                "kind": "good-fit", "crux": row.get("text", ""),
                "question": (f"The page says the approach suits people who believe “{row['text']}”; "
                             f"you lean against it ({N.probability(row.get('agreement'))}). Is that "
                             "a considered view, and what would it take to change it?"),
                "why": "disagrees with the page's good-fit list",
            })
    good = checklist.get("good_fit") or []
    if good and all(STATUS_CODE.get(row.get("status")) == "holds" for row in good):
        out.append({
            "kind": "good-fit", "crux": "good-fit list",
            "question": (f"You hold all {len(good)} beliefs the page lists for people the approach "
                         "suits. Which of them did you hold before you met the approach, and "
                         "which would you give up first?"),
            "why": "agrees with the whole good-fit list",
        })
    for row in checklist.get("less_relevant") or []:
        if STATUS_CODE.get(row.get("status")) == "holds":
            out.append({
                "kind": "less-relevant", "crux": row.get("text", ""),
                "question": (f"You agree that “{row['text']}” "
                             f"({N.probability(row.get('agreement'))}), a belief the page says "
                             "makes the approach less relevant. How firmly do you hold it?"),
                "why": "agrees with the page's less-relevant list",
            })

    if not out:
        rows = sorted([r for r in result.get("evppi") or [] if N.finite(r.get("value"))],
                      key=lambda r: -float(r["value"]))
        var = rows[0].get("variable") if rows else None
        crux = next((c for c in result.get("cruxes") or [] if c.get("variable") == var),
                    (result.get("cruxes") or [None])[0])
        if crux is not None:
            for q in (discussion_questions().get(crux.get("id")) or [])[:2]:
                out.append({"kind": "generic", "crux": crux.get("title", ""), "question": q,
                            "why": "no answer of yours stands out; the crux worth most to settle"})
    near = sorted([q for q in out if q["kind"] == "near-switch"], key=lambda q: q["gap"])
    # At most two of a kind, so one kind of question does not crowd out the others.
    ordered = []
    for kind in ("contradiction", "near-switch", "firm", "good-fit", "less-relevant", "generic"):
        group = near if kind == "near-switch" else [q for q in out if q["kind"] == kind]
        ordered += group[:2]
    for q in ordered:
        q.pop("gap", None)
        q.pop("variable", None)
    return ordered[:limit]


def session_plan(ctx: dict, questions: list[dict], top: list[dict], look: str | None) -> list[dict]:
    """A short plan for a 45-minute session, built from this client's report."""
    v = ctx["verdict"]
    plan = [{"minutes": 5, "what": "The verdict and what it means",
             "detail": (f"{v['label']}: {v['meaning']}" if not v["inconclusive"] else
                        "The run is inconclusive: agree to rerun it before discussing a verdict.")}]
    if questions:
        counts: dict[str, int] = {}
        for q in questions:
            counts[q["kind"]] = counts.get(q["kind"], 0) + 1
        words = {"contradiction": ("answer pair that pulls both ways", "answer pairs that pull both ways"),
                 "near-switch": ("belief close to where the advice changes",
                                 "beliefs close to where the advice changes"),
                 "firm": ("firm view on a deciding belief", "firm views on deciding beliefs"),
                 "good-fit": ("point on the page's good-fit list", "points on the page's good-fit list"),
                 "less-relevant": ("belief from the page's less-relevant list",
                                   "beliefs from the page's less-relevant list"),
                 "generic": ("question on the crux worth most to settle",
                             "questions on the crux worth most to settle")}
        parts = [f"{n} {words.get(k, (k, k))[n != 1]}" for k, n in counts.items()]
        plan.append({"minutes": 20, "what": "The questions below, in order",
                     "detail": "; ".join(parts) + "."})
    if top:
        plan.append({"minutes": 10, "what": "The top three approaches and their next steps",
                     "detail": ", ".join(t["name"] for t in top) + "."})
    plan.append({"minutes": 10, "what": "Agree what to do next",
                 "detail": look or "Choose one step from the next steps and a date to review it."})
    return plan


# ----------------------------------------------------------------------------- contexts
def _flags(ctx: dict, result: dict, questions: list[dict]) -> list[str]:
    """Data-quality flags for the memo, from the result (never assumed)."""
    p = result.get("profile") or {}
    flags = []
    answered, total = p.get("answered"), p.get("statements")
    org = p.get("kind") == "organisation"
    if org:
        flags.append(f"{p.get('respondents', '?')} respondents pooled, {answered} answers in all "
                     f"to {total} statements")
    elif answered is not None and total:
        flags.append(f"{answered} of {total} statements answered"
                     + (f"; {len(p.get('unsure') or [])} marked unsure" if p.get("unsure") else ""))
    quality = p.get("quality") or {}
    named = {"blank": "blank: no answers at all",
             "sparse": "sparse: too few answers on the three cruxes for a verdict",
             "straight-lined": "straight-lined: every 1-7 answer the same",
             "contradictory": "contradictory: strong agreement with both sides of one crux"}
    flags.extend(named.get(f, f) for f in quality.get("flags") or [])
    for f, n in (quality.get("members_flagged") or {}).items():
        flags.append(f"{n} member(s) {named.get(f, f).split(':')[0]}")
    silent = [] if org else [b["name"] for b in result.get("beliefs") or [] if not b.get("answers")]
    if silent:  # a long list would crowd the one-page memo: name up to three
        shown = ", ".join(f"“{s}”" for s in silent[:3])
        more = f" and {len(silent) - 3} more" if len(silent) > 3 else ""
        flags.append(f"no answers on {len(silent)} belief(s) ({shown}{more}): the starting point "
                     "stands in")
    contradictions = [q["crux"] for q in questions if q["kind"] == "contradiction"]
    if contradictions:
        flags.append("answers pull both ways within " + ", ".join(f"“{c}”" for c in contradictions))
    if result.get("overrides"):
        flags.append(f"{len(result['overrides'])} rating(s) overridden by the applicant, with reasons")
    d = ctx["diagnostics"]
    flags.append("calculations settled (all convergence checks passed)" if d["converged"]
                 else "calculations did NOT settle: " + ("; ".join(d["reasons"]) or "see the diagnostics"))
    return flags


def _common(result: dict, audience: str, voice: Voice) -> dict:
    ctx = build_context(result, audience)
    steps = copy.deepcopy(result.get("next_steps") or {})
    names = {a["slug"]: a["name"] for a in result.get("approaches") or []}
    target = (result.get("verdict") or {}).get("approach", "ai-assisted")

    def approach_name(slug):
        return names.get(slug, slug or "—")

    top = top_three(result, target, steps) if not ctx["verdict"]["inconclusive"] else []
    margin = (result.get("verdict") or {}).get("margin")
    lead_sentence = ""
    if N.finite(margin) and not ctx["verdict"]["inconclusive"]:
        lead_sentence = (f"On average it is worth {N.value(abs(float(margin)))} value points "
                         f"{'more' if float(margin) >= 0 else 'less'} than "
                         f"{voice.possessive} best alternative, "
                         f"{ctx['verdict']['best_alternative']}.")
    return {
        **ctx,
        "voice": voice,
        "anchor": value_anchor(result, voice),
        "lead_sentence": lead_sentence,
        "deciding_plain": deciding_beliefs(ctx, result, voice, ctx["target_name"]),
        "top_three": top,
        "has_fit": bool((result.get("profile") or {}).get("has_fit")),
        "switch_lines": switch_lines(result, voice, approach_name),
        "look_into": evidence_line(result, voice, approach_name),
        "meaning": voice.recast(ctx["verdict"]["meaning"]),
        "approach_name": approach_name,
    }


def build_handout_context(result: dict, audience: str = "individual") -> dict:
    """The two-page handout (and, for an advisor, the session plan after it)."""
    ctx = _common(result, audience, Voice(third=False))
    questions = advisor_questions(result) if audience == "advisor" else []
    ctx.update(edition="handout", questions=questions,
               plan=session_plan(ctx, questions, ctx["top_three"], ctx["look_into"])
               if audience == "advisor" else [])
    return ctx


def build_advisor_context(result: dict) -> dict:
    """The advisor's session plan and questions (shown before the full report)."""
    ctx = _common(result, "advisor", Voice(third=False))
    questions = advisor_questions(result)
    ctx.update(edition="advisor", questions=questions,
               plan=session_plan(ctx, questions, ctx["top_three"], ctx["look_into"]))
    return ctx


def build_memo_context(result: dict) -> dict:
    """The grantmaker's one-page memo, in the third person."""
    org = (result.get("profile") or {}).get("kind") == "organisation"
    voice = Voice(third=True, organisation=org)
    ctx = _common(result, "grantmaker", voice)
    v = ctx["verdict"]
    questions = advisor_questions(result)
    ranking = ranked(result)
    plan_slug = (result.get("profile") or {}).get("plan")
    plan = None
    if plan_slug:
        pos = next((i for i, a in enumerate(ranking) if a["slug"] == plan_slug), None)
        if pos is None:
            plan = {"stated": True, "name": ctx["approach_name"](plan_slug), "agreement": "unknown",
                    "sentence": "The model does not rank this approach."}
        else:
            a = ranking[pos]
            top = ranking[0]
            agreement = ("agrees" if pos == 0 else "partly agrees" if pos < 3 else "disagrees")
            if v["inconclusive"]:
                agreement = "cannot say (inconclusive run)"
            sentence = (f"The model ranks it {pos + 1} of {len(ranking)}: best in "
                        f"{N.probability(a.get('p_best'))} of scenarios, average "
                        f"{N.value(a['mean'])} value points"
                        + ("." if pos == 0 else
                           f" against {N.value(top['mean'])} for the model's first choice, "
                           f"{top['name']} (a gap of "
                           f"{N.shown_difference(top['mean'], a['mean']).lstrip('+')})."))
            plan = {"stated": True, "name": a["name"], "agreement": agreement,
                    "sentence": sentence}
    else:
        top = ranking[0] if ranking else None
        plan = {"stated": False, "name": "",
                "agreement": "no plan stated",
                "sentence": ("The profile names no plan (add plan: followed by an approach's "
                             "short name to the profile)"
                             + (f"; the model's first choice is {top['name']}." if top else "."))}
    line_parts = [ctx["summary"]["name"], ctx["summary"]["verdict"]]
    if not v["inconclusive"]:
        line_parts += [f"best option in {v['p_best']} of modelled worlds",
                       f"top alternative {v['best_alternative']}"]
    line_parts += [f"deciding belief {ctx['summary']['deciding']}", ctx["summary"]["convergence"]]
    ctx.update(edition="memo", flags=_flags(ctx, result, questions), plan_check=plan,
               memo_line=" · ".join(line_parts), who=voice.subject)
    return ctx


__all__ = ["LENGTHS", "edition_name", "build_handout_context", "build_memo_context",
           "build_advisor_context", "advisor_questions", "value_anchor"]
