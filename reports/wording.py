"""The analysis result in words: every sentence that the numbers layer leaves as a code.

The modules under :mod:`cruxfit.models` return numbers and structured codes only. Where the
JSON result carries a sentence (a value of information, a switching value, a comparison
row, the organisation's crux to discuss first, a method note, a checklist status, a verdict
rule's condition), the model puts a code there: a short string such as ``"not-held"`` or
``"exact-voi"``, or a dict ``{"code": ..., ...}`` holding the names and *unrounded* numbers
the sentence needs. :func:`add_wording` replaces each code in place (same key, same
position, so the JSON keeps its shape and key order) before the result is written or
rendered; the pipeline calls it once per result.

It is idempotent: text that is already words is left alone, so a stored result (a golden
fixture, an older JSON file) passes through unchanged.

One unit name is used everywhere: amounts on the model's scale are "value points", as in the
PDF and HTML reports.
"""

from __future__ import annotations

from typing import Any

#: The unit of the model's values, as every report names it.
UNIT = "value points"

#: Checklist statuses: the code the model gives and how the result states it.
CHECKLIST_STATUS = {
    "holds": "you hold this",
    "not-held": "you do not hold this",
    "undecided": "undecided",
}
#: The same statuses read back from their words (reports key their styling on the code).
STATUS_CODE = {text: code for code, text in CHECKLIST_STATUS.items()}

#: How each quantity is computed, by the method code the model gives.
METHODS = {
    # cruxfit.models.voi: the whole value-of-information section
    "exact-voi": (
        "Value of information is computed from the posterior draws without re-sampling. EVPI "
        "is the expected gain from learning everything before choosing: every belief's yes/no "
        "world state and the true rating values. Because an approach's value is linear in each "
        "belief, the 2^V world configurations are enumerated exactly for every draw: EVPI = "
        "mean over draws of sum over configurations of P(configuration) x the best approach's "
        "value in it, minus the best expected value now. EVPPI of a belief is the same for "
        "learning that one world state only; it is exact (weighted means over the draws) and "
        "never exceeds EVPI. When the enumeration would be large (14 beliefs: 16,384 "
        "configurations), both use the same evenly spaced subset of the draws (voi_draws in "
        "the JSON). EVPPI of the ratings is estimated by the regression method of Strong, "
        "Oakley & Brennan (2014). Switching values move one credence so that its mean is x "
        "(each posterior draw moved proportionally towards 0 or 1; the other beliefs and the "
        "ratings keep their draws) and find where the verdict on AI-assisted alignment, or the "
        "approach with the highest expected value, changes. Both are exact: in every draw each "
        "other approach overtakes or falls behind AI-assisted alignment at most once as x "
        "moves, at a point found in closed form, and mean values are straight lines in x on "
        "either side of the current credence."),
    # cruxfit.models.voi: one belief's EVPPI, and the ratings' EVPPI
    "exact-conditional-means":
        "exact: conditional means over the posterior draws (yes/no world state)",
    "regression-strong-2014": (
        "Strong, Oakley & Brennan (2014) single-sample regression: each approach's value "
        "regressed on its own four rating draws (all 16 products of the cells, least squares); "
        "EVPPI = mean of the largest fitted value minus the largest mean fitted value"),
    # cruxfit.models.compare
    "exact-shapley": (
        "Exact Shapley decomposition over the belief variables. For every coalition of "
        "variables the credence draws of those variables are taken from profile B and the rest "
        "from profile A (draws paired by index); each variable's contribution is its average "
        "marginal effect over all orders in which the variables could be switched from A to B, "
        "so the contributions add up exactly to the total difference. Both profiles are "
        "evaluated on the same rating draws, so only beliefs differ; if the profiles override "
        "ratings or answer the personal-fit questions differently, each of those is one more "
        "player. A belief whose answers (and those of every belief linked to it through a "
        "shared statement) are identical in both profiles uses A's draws on both sides and "
        "contributes exactly zero."),
    # cruxfit.models.whatif
    "multilinear-corners": (
        "The value of every approach is linear in each belief taken one at a time, so its "
        "expected value at any set of credences follows exactly from its value in each yes/no "
        "combination of the beliefs it depends on; the rating uncertainty averages out exactly "
        "because ratings are independent of beliefs, so rating means are used. The panel "
        "treats each credence as a single number (no uncertainty around it)."),
}


# ----------------------------------------------------------------------------- small pieces
def quoted(name: str) -> str:
    """A belief's name in curly quotes."""
    return f"\u201c{name}\u201d"


def amount(v: float) -> str:
    """A value of information: two decimals, two significant digits below 0.01, "0" if none."""
    if v <= 0:
        return "0"
    return f"{v:.2f}" if v >= 0.01 else f"{v:.2g}"


def share(s: float) -> str:
    """A share of EVPI as a whole percentage ("less than 1%" rather than a misleading 0%)."""
    if s <= 0:
        return "0%"
    if s < 0.005:
        return "less than 1%"
    return f"{s:.0%}"


def signed(x: float) -> str:
    """A change with its sign and a true minus sign: "+0.12", "\u22120.05"."""
    return f"{x:+.2f}".replace("-", "\u2212")


def method(code: Any) -> Any:
    """The method note for a method code (anything else is returned as it is)."""
    return METHODS.get(code, code) if isinstance(code, str) else code


def checklist_status(code: Any) -> Any:
    """A checklist status in words (text that is already words is returned as it is)."""
    return CHECKLIST_STATUS.get(code, code) if isinstance(code, str) else code


def condition(rule: dict) -> str:
    """When a verdict rule holds, from its thresholds (``ev_rank_max``, ``p_*_min``)."""
    conds = []
    rank_max = rule.get("ev_rank_max")
    if rank_max is not None:
        conds.append("the highest expected value of all approaches" if rank_max == 1
                     else f"an expected value among the {rank_max} highest")
    if rule.get("p_best_min"):
        conds.append(f"probability of ranking first at least {rule['p_best_min']:.0%}")
    if rule.get("p_top3_min"):
        conds.append(f"probability of being in the top three at least {rule['p_top3_min']:.0%}")
    return " and ".join(conds) if conds else "otherwise"


def meaning(code: dict) -> str:
    """What a verdict status without a verdict means (the library words the verdicts)."""
    if code.get("code") == "not-converged":
        return ("The sampler did not converge, so no verdict is given: "
                + "; ".join(reason(r) for r in code.get("reasons") or []))
    raise ValueError(f"no wording for verdict meaning code {code.get('code')!r}")


def reason(code: Any) -> str:
    """Why a sampling run falls short of the library's convergence bar, in words.

    ``code`` is one of :func:`cruxfit.models.inference.check_convergence`'s codes; text that
    is already words (a stored result) is returned as it is.
    """
    if not _coded(code):
        return code
    kind = code["code"]
    if kind == "r-hat":
        return f"R-hat {code['value']:.3f} is above {code['limit']} (chains disagree)"
    if kind in ("ess-bulk", "ess-tail"):
        which = "bulk" if kind == "ess-bulk" else "tail"
        return (f"{which} effective sample size {code['value']:.0f} is below "
                f"{code['limit']:.0f}")
    if kind == "divergences":
        return f"{code['value']} divergent transitions (allowed: {code['limit']})"
    if kind == "checked-by-caller":
        return "not checked here: checked per respondent by the caller"
    raise ValueError(f"no wording for convergence code {kind!r}")


def notice(event: Any) -> str:
    """A progress notice from the models (a code) in words; text passes through."""
    if not _coded(event):
        return event
    if event["code"] == "retry":
        return ("The first sampling run did not converge ("
                + "; ".join(reason(r) for r in event["reasons"])
                + "); retrying once with twice the tuning and twice the draws.")
    raise ValueError(f"no wording for notice code {event['code']!r}")


# ----------------------------------------------------------------------------- sentences
def evppi_sentence(code: dict) -> str:
    """What settling one belief (or the ratings) would be worth (cruxfit.models.voi)."""
    kind = code["code"]
    if kind == "no-change":
        return (f"Knowing for certain whether {quoted(code['belief'])} is true would not change "
                f"your best choice: {code['best']} has the highest expected value either way, "
                "so settling it is worth nothing for this decision.")
    if kind == "changes":
        return (f"Knowing for certain whether {quoted(code['belief'])} is true would change "
                f"your best choice often enough to be worth {amount(code['value'])} {UNIT} "
                f"({share(code['share'])} of what perfect knowledge of everything would be "
                f"worth): if it is true, {code['best_if_true']} is best; if not, "
                f"{code['best_if_false']}.")
    if kind == "ratings":
        return ("Knowing every approach's ratings (tractability, value if alignment is hard or "
                "easy, neglectedness) exactly instead of as Low/Medium/High ranges would be "
                f"worth about {amount(code['value'])} {UNIT} ({share(code['share'])} of what "
                "perfect knowledge of everything would be worth).")
    if kind == "ratings-no-change":
        return "Knowing every approach's ratings exactly would not change your best choice."
    raise ValueError(f"no wording for value-of-information code {kind!r}")


def switching_sentence(code: dict) -> str:
    """Where moving one credence would change the verdict or the top approach."""
    if code["code"] != "switching":
        raise ValueError(f"no wording for switching-value code {code['code']!r}")
    q, target = quoted(code["belief"]), code["target"]
    below, above = (code.get("verdict") or {}).get("below"), (code.get("verdict") or {}).get("above")
    lead = f"If your credence in {q}"
    now = f"(now {code['current']:.2f})"
    if not below and not above:
        text = (f"No change of your credence in {q} anywhere between 0 and 1 would change the "
                f"verdict on {target} ({code['verdict_now']}).")
    elif below and above:
        text = (f"{lead} fell below {below['credence']:.2f} {now}, the verdict on {target} "
                f"would change from {below['from']} to {below['to']}; if it rose above "
                f"{above['credence']:.2f}, from {above['from']} to {above['to']}.")
    elif below:
        text = (f"{lead} fell below {below['credence']:.2f} {now}, the verdict on {target} "
                f"would change from {below['from']} to {below['to']}.")
    else:
        text = (f"{lead} rose above {above['credence']:.2f} {now}, the verdict on {target} "
                f"would change from {above['from']} to {above['to']}.")
    texts = [text]
    hits = (("Below", code.get("top_below")), ("Above", code.get("top_above")))
    if not any(hit for _, hit in hits):
        texts.append(f"{code['top']} keeps the highest expected value at any credence.")
    for word, hit in hits:
        if hit:
            texts.append(f"{word} {hit['credence']:.2f}, {hit['to']} would overtake "
                         f"{hit['from']} as the approach with the highest expected value.")
    return " ".join(texts)


#: What differs between two profiles for the comparison's non-belief players.
PLAYER_WHAT = {"rating-overrides": "rating overrides", "personal-fit": "personal-fit answers"}


def contribution_sentence(code: dict) -> str:
    """How much of the difference between two profiles one belief (or player) explains."""
    kind = code["code"]
    if kind == "shared":
        return (f"The answers bearing on {quoted(code['belief'])} are the same in both "
                "profiles, so this belief explains none of the difference.")
    moves = (f"the probability that {code['target']} ranks first by {signed(code['p_best'])}, "
             f"of being in the top three by {signed(code['p_top3'])}, and its margin by "
             f"{signed(code['margin'])} {UNIT}.")
    if kind == "credence-change":
        return (f"The change in credence in {quoted(code['belief'])} from "
                f"{code['credence_a']:.2f} ({code['name_a']}) to {code['credence_b']:.2f} "
                f"({code['name_b']}) moves {moves}")
    if kind in PLAYER_WHAT:
        return f"The profiles' different {PLAYER_WHAT[kind]} move {moves}"
    raise ValueError(f"no wording for comparison code {kind!r}")


#: Why an organisation of one has no crux to discuss first.
ONE_RESPONDENT = "With one respondent there is no disagreement to discuss."


def discuss_why(code: dict, top: dict) -> str:
    """Why the organisation should discuss this belief first; ``top`` is the first row of
    ``discuss_first.ranking``."""
    kind = code["code"]
    if kind == "one-respondent":
        return ONE_RESPONDENT
    low, high = top["low"], top["high"]
    why = (f"Members' credence in \"{top['name']}\" ranges from {low['credence']:.2f} "
           f"({low['member']}) to {high['credence']:.2f} ({high['member']}). Across that range "
           "AI-assisted alignment's margin over the best alternative moves by "
           f"{top['impact']:.2f} {UNIT}")
    if kind == "verdict-changes":
        return why + f" and the verdict changes from \"{low['verdict']}\" to \"{high['verdict']}\"."
    if kind == "largest-move":
        return why + "; no other disagreement moves it as much."
    raise ValueError(f"no wording for discuss-first code {kind!r}")


def whatif_reason(code: dict) -> str:
    """Why a report has no what-if panel (cruxfit.models.whatif)."""
    kind = code["code"]
    if kind == "too-many-beliefs":
        return (f"the library has {code['beliefs']} beliefs; the exact table is built for at "
                f"most {code['limit']}")
    if kind == "not-multilinear":
        return ("the value model is not multilinear in the credences (the table missed it by "
                f"{code['missed_by']:.3g}), so no exact what-if can be offered")
    raise ValueError(f"no wording for what-if code {kind!r}")


# ----------------------------------------------------------------------------- the result
def _coded(x: Any) -> bool:
    return isinstance(x, dict) and "code" in x


def add_wording(result: dict) -> dict:
    """Replace every code in an analysis or comparison result by its words, in place.

    Handles the keys of an individual's and an organisation's result (``verdict``,
    ``checklist``, ``evppi``, ``switching_values``, ``voi_method``, ``whatif``,
    ``discuss_first``) and of a comparison (``contributions``, ``method``); missing keys are
    skipped. Returns ``result`` for convenience.
    """
    diagnostics = result.get("diagnostics")
    if isinstance(diagnostics, dict) and "reasons" in diagnostics:
        diagnostics["reasons"] = [reason(r) for r in diagnostics["reasons"] or []]
    verdict = result.get("verdict")
    if isinstance(verdict, dict):
        if _coded(verdict.get("meaning")):
            verdict["meaning"] = meaning(verdict["meaning"])
        for rule in verdict.get("thresholds") or []:
            if "condition" not in rule:
                rule["condition"] = condition(rule)
    for rows in (result.get("checklist") or {}).values():
        for row in rows:
            row["status"] = checklist_status(row.get("status"))
    for row in result.get("evppi") or []:
        row["method"] = method(row.get("method"))
        if _coded(row.get("sentence")):
            row["sentence"] = evppi_sentence(row["sentence"])
    for row in result.get("switching_values") or []:
        if _coded(row.get("sentence")):
            row["sentence"] = switching_sentence(row["sentence"])
    if "voi_method" in result:
        result["voi_method"] = method(result["voi_method"])
    whatif = result.get("whatif")
    if isinstance(whatif, dict):
        if "method" in whatif:
            whatif["method"] = method(whatif["method"])
        if _coded(whatif.get("reason")):
            whatif["reason"] = whatif_reason(whatif["reason"])
    df = result.get("discuss_first")
    if isinstance(df, dict) and _coded(df.get("why")):
        df["why"] = discuss_why(df["why"], (df.get("ranking") or [{}])[0])
    if "contributions" in result:
        for row in result["contributions"] or []:
            if _coded(row.get("sentence")):
                row["sentence"] = contribution_sentence(row["sentence"])
        if "method" in result:
            result["method"] = method(result["method"])
    return result
