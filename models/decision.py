"""Decision quantities from value draws: means, intervals, rank probabilities, verdict."""

from __future__ import annotations

import numpy as np

from cruxfit.cruxes.library import SEED_APPROACH, Library, VerdictRule

HDI_PROB = 0.9
INCONCLUSIVE = "inconclusive"


def hdi(samples: np.ndarray, prob: float = HDI_PROB) -> tuple[float, float]:
    """Narrowest interval holding ``prob`` of the samples (1-D)."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    k = max(1, int(np.floor(prob * n)))
    if k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k:] - x[: n - k]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k])


def ranks(values: np.ndarray) -> np.ndarray:
    """0-based rank of every approach in every draw (0 = best); ties broken by order."""
    order = np.argsort(-values, axis=1, kind="stable")
    out = np.empty_like(order)
    rows = np.arange(values.shape[0])[:, None]
    out[rows, order] = np.arange(values.shape[1])[None, :]
    return out


def rank_summary(values: np.ndarray) -> dict[str, np.ndarray]:
    r = ranks(values)
    return {
        "mean": values.mean(axis=0),
        "p_best": (r == 0).mean(axis=0),
        "p_top3": (r < 3).mean(axis=0),
        "expected_rank": r.mean(axis=0) + 1,
    }


def ranked_above(values: np.ndarray, target: int) -> np.ndarray:
    """How many approaches rank above the target over the last axis: higher values, plus
    earlier approaches with an equal one (the stable tie-break of :func:`ranks`)."""
    v = np.asarray(values, float)
    vt = v[..., target:target + 1]
    higher = (v > vt).sum(axis=-1)
    if target:
        higher = higher + (v[..., :target] == vt).sum(axis=-1)
    return higher


def ev_rank(means: np.ndarray, target: int) -> np.ndarray | int:
    """1-based place of ``target`` when approaches are ordered by mean value (last axis)."""
    out = ranked_above(means, target) + 1
    return int(out) if np.ndim(out) == 0 else out


def verdict_for(rules: tuple[VerdictRule, ...], rank: int, p_best: float,
                p_top3: float) -> VerdictRule:
    """The first rule that holds for this place by expected value and these probabilities."""
    for rule in rules:
        if rule.holds(rank, p_best, p_top3):
            return rule
    return rules[-1]


def rule_index(rules: tuple[VerdictRule, ...], rank: np.ndarray, p_best: np.ndarray,
               p_top3: np.ndarray) -> np.ndarray:
    """Vectorised :func:`verdict_for`: the index of the first rule that holds."""
    idx = np.full(np.shape(p_best), len(rules) - 1)
    for i in range(len(rules) - 1, -1, -1):
        r = rules[i]
        met = (p_best >= r.p_best_min) & (p_top3 >= r.p_top3_min)
        if r.ev_rank_max is not None:
            met = met & (np.asarray(rank) <= r.ev_rank_max)
        idx[met] = i
    return idx


def crux_answer_counts(library: Library, answer_sets) -> dict[str, int]:
    """How many answers bear on each of the seed page's cruxes (by the crux's variable),
    summed over one or more respondents' answers."""
    # Which variables each answered statement loads on, looked up once per statement.
    loads = {s.id: {ld.variable for ld in s.loads} for s in library.statements}
    out = {}
    for crux in library.seed.cruxes:
        out[crux.id] = sum(1 for answers in answer_sets for sid in answers
                           if crux.variable in loads[sid])
    return out


def evidence_status(library: Library, answers, pooled: bool = False) -> dict:
    """Whether the answers suffice for a verdict (``evidence`` in ``cruxes/model.yaml``).

    ``answers`` is one respondent's answers, or with ``pooled`` a list of several
    respondents' answers (an organisation: the counts are summed)."""
    ev = library.settings.evidence
    counts = crux_answer_counts(library, answers if pooled else [answers])
    total = sum(counts.values())
    missing = [c for c, n in counts.items() if n < ev.min_each_crux]
    return {"crux_answers": counts, "crux_total": total,
            "min_crux_answers": ev.min_crux_answers, "min_each_crux": ev.min_each_crux,
            "missing": missing,
            "enough": total >= ev.min_crux_answers and not missing}


#: Data-quality flags, in the order they are reported.
QUALITY_FLAGS = ("blank", "sparse", "straight-lined", "contradictory")
#: Straight-lining is only flagged with at least this many agree7 answers.
STRAIGHT_LINE_MIN = 5


def data_quality(library: Library, answers) -> dict:
    """Data-quality flags of one set of answers.

    blank: no answer at all. sparse: too few on the cruxes for a verdict. straight-lined:
    at least five 1-7 answers, all the same, on statements that pull both ways.
    contradictory: within one crux, strong agreement (6 or 7) with statements on both sides
    (one raising the crux's belief, one lowering it); ``pairs`` names them.
    """
    answers = dict(answers)
    statement = {s.id: s for s in library.statements}
    flags = []
    if not answers:
        flags.append("blank")
    elif not evidence_status(library, answers)["enough"]:
        flags.append("sparse")
    agree = {sid: v for sid, v in answers.items() if statement[sid].scale == "agree7"}
    signs = {statement[sid].loads[0].sign for sid in agree}
    if len(agree) >= STRAIGHT_LINE_MIN and len(set(agree.values())) == 1 and len(signs) == 2:
        flags.append("straight-lined")
    pairs = []
    for crux in library.seed.cruxes:
        pro, con = [], []
        for sid, v in agree.items():
            for ld in statement[sid].loads:
                if ld.variable == crux.variable and v >= 6:
                    (pro if ld.sign > 0 else con).append(sid)
        pairs += [{"crux": crux.id, "for": a, "against": b} for a in pro for b in con]
    if pairs:
        flags.append("contradictory")
    return {"flags": flags, "contradictions": pairs, "answered": len(answers),
            "total": len(library.statements)}


def margin(values: np.ndarray, target: int) -> float:
    """Target's mean value minus the highest mean value of any other approach."""
    means = values.mean(axis=0)
    others = np.delete(means, target)
    return float(means[target] - others.max())


def seed_index(slugs: tuple[str, ...]) -> int:
    return slugs.index(SEED_APPROACH)


def verdict_thresholds(library: Library) -> list[dict]:
    """The verdict rules as data, in the order they are tried (the first that holds wins).

    The condition of each rule in words is added by :mod:`cruxfit.reports.wording`.
    """
    return [{"label": rule.label, "ev_rank_max": rule.ev_rank_max,
             "p_best_min": rule.p_best_min, "p_top3_min": rule.p_top3_min,
             "meaning": rule.meaning}
            for rule in library.settings.verdicts]


def deciding_beliefs(result: dict, top: int = 2) -> None:
    """One order of "what decides it" for page 1, the tornado and the switching table.

    A belief whose verdict switching value lies inside its own 90% interval comes first
    (the verdict can change within what the respondent plausibly believes); then beliefs by
    swing (how far AI-assisted alignment's lead moves across that interval); then library
    order. Updates ``result`` in place: ``verdict.deciding`` (the first ``top`` beliefs that
    can change the verdict within their interval, possibly none), ``verdict.settled`` (no
    belief can), and the same order and an ``in_range`` flag on ``tornado`` and
    ``switching_values`` rows.
    """
    hdis = {b["id"]: b["hdi_90"] for b in result.get("beliefs", [])}
    order = {b["id"]: i for i, b in enumerate(result.get("beliefs", []))}
    swing = {r["variable"]: r["swing"] for r in result.get("tornado", [])}
    in_range = {}
    for row in result.get("switching_values", []):
        lo, hi = hdis.get(row["variable"], (0.0, 1.0))
        sw = row.get("verdict_switch") or {}
        in_range[row["variable"]] = any(
            side and lo <= side["credence"] <= hi for side in (sw.get("below"), sw.get("above")))
        row["in_range"] = in_range[row["variable"]]

    def key(var: str):
        return (not in_range.get(var, False), -swing.get(var, 0.0), order.get(var, 0))

    for name in ("tornado", "switching_values"):
        rows = result.get(name)
        if rows:
            for r in rows:
                r["in_range"] = in_range.get(r["variable"], False)
            rows.sort(key=lambda r: key(r["variable"]))
    ranked = sorted(order, key=key)
    verdict = result["verdict"]
    verdict["deciding"] = [v for v in ranked if in_range.get(v)][:top]
    verdict["settled"] = not any(in_range.values())
