"""The comparison edition's context (``cruxfit compare A B -f pdf|html``).

:func:`build_compare_context` reads the comparison result (``run_compare``: ``a``, ``b``,
``total``, ``contributions``, ``verdict_change``, ``method``, ``results``, ``diagnostics``,
``provenance``) and returns plain data with every number formatted, like
:func:`~cruxfit.reports.context.build_context`: pure, deterministic, no arithmetic left for
the templates. A side whose run did not converge gets no verdict and no headline numbers,
and the page says so.
"""

from __future__ import annotations

import copy
from typing import Any

from cruxfit.reports import numbers as _numbers

from cruxfit.reports.context import (
    INCONCLUSIVE,
    ReportError,
    _diagnostics,
    _finite,
    _label,
    _shorten,
    date_text,
    lead_short,
    num,
    pct,
    points,
    signed as _signed,
)

#: Approaches shown per profile in the side-by-side ranking.
TOP_APPROACHES = 5


def build_compare_context(result: dict) -> dict:
    """The template context of the comparison of two profiles."""
    for key in ("a", "b", "total", "contributions"):
        if key not in result:
            raise ReportError(f"the comparison result has no {key!r}; was it made by "
                              "cruxfit compare?")
    result = copy.deepcopy(result)
    full = result.get("results") or {}
    diagnostics = result.get("diagnostics") or {}
    approach_names: dict[str, str] = {}
    target = "ai-assisted"
    for side in ("a", "b"):
        r = full.get(side) or {}
        for a in r.get("approaches") or []:
            approach_names.setdefault(a["slug"], a["name"])
        target = (r.get("verdict") or {}).get("approach", target)
    target_name = approach_names.get(target, "AI-assisted alignment")

    def approach(slug: str | None) -> str:
        return approach_names.get(slug or "", slug or "—")

    sides = {}
    for side in ("a", "b"):
        s = result[side]
        d = diagnostics.get(side) or (full.get(side) or {}).get("diagnostics") or {}
        converged = bool(d.get("converged", True)) and s.get("verdict") != INCONCLUSIVE
        kind = ((full.get(side) or {}).get("profile") or {}).get("kind", "individual")
        sides[side] = {
            "letter": side.upper(),
            "name": str(s.get("name", side.upper())),
            "kind": kind,
            "converged": converged,
            "label": _label(str(s.get("verdict"))) if converged else "Inconclusive",
            "css": _token(s.get("verdict")) if converged else "inconclusive",
            "reasons": [str(x) for x in d.get("reasons") or []],
            "p_best": pct(s.get("p_best")) if converged else "—",
            "p_top3": pct(s.get("p_top3")) if converged else "—",
            "margin": num(s.get("margin")) if converged else "—",
            "lead": lead_short(s.get("margin")) if converged else "—",
            "best_alternative": approach(s.get("best_alternative")) if converged else "—",
            "top": approach(s.get("top")) if converged else "—",
            "diagnostics": _diagnostics(d, not converged),
        }
    both = sides["a"]["converged"] and sides["b"]["converged"]
    unsettled = [sides[k] for k in ("a", "b") if not sides[k]["converged"]]

    total = result["total"]
    change = {
        # Differences of the values as shown on the page (reports/numbers.py), so that
        # "A 10%, B 91%" reads "+81 points" and the margins' difference adds up too.
        "p_best": (_numbers.shown_points_difference(result["a"].get("p_best"),
                                                    result["b"].get("p_best")) if both else "—"),
        "p_top3": (_numbers.shown_points_difference(result["a"].get("p_top3"),
                                                    result["b"].get("p_top3")) if both else "—"),
        "margin": (_numbers.shown_difference(result["b"].get("margin"), result["a"].get("margin"))
                   if both else "—"),
        "p_best_dir": _direction(total.get("p_best")) if both else "",
        "p_top3_dir": _direction(total.get("p_top3")) if both else "",
        "margin_dir": _direction(total.get("margin")) if both else "",
    }
    vc = result.get("verdict_change") or {}
    if both:
        verdict_line = (f"The verdict on {target_name} changes from {str(vc.get('from')).lower()} "
                        f"to {str(vc.get('to')).lower()}." if vc.get("changed") else
                        f"The verdict on {target_name} is the same for both: "
                        f"{str(vc.get('to') or result['b'].get('verdict')).lower()}.")
    else:
        verdict_line = ("No verdict is compared: the calculations for "
                        + " and ".join(f"{s['letter']} ({s['name']})" for s in unsettled)
                        + " did not settle.")

    # ---- contributions, largest effect on the lead first
    rows = []
    for c in result["contributions"]:
        rows.append({
            "variable": c.get("variable", ""),
            "name": c.get("name") or c.get("variable", ""),
            "belief": c.get("credence_a") is not None or c.get("credence_b") is not None,
            "credence_a": pct(c.get("credence_a")) if _finite(c.get("credence_a")) else "—",
            "credence_b": pct(c.get("credence_b")) if _finite(c.get("credence_b")) else "—",
            "margin": _signed(c.get("margin")),
            "p_best": points(c.get("p_best")),
            "p_top3": points(c.get("p_top3")),
            "shared": bool(c.get("shared")),
            "raw_margin": float(c["margin"]) if _finite(c.get("margin")) else 0.0,
            "raw_p_best": float(c["p_best"]) if _finite(c.get("p_best")) else 0.0,
        })
    rows.sort(key=lambda r: (-abs(r["raw_margin"]), -abs(r["raw_p_best"]), r["name"]))
    total_row = {"margin": _signed(total.get("margin")), "p_best": points(total.get("p_best")),
                 "p_top3": points(total.get("p_top3"))}
    moving = [r for r in rows if not r["shared"] and abs(r["raw_margin"]) >= 0.005]
    drivers = []
    if both:
        for r in moving[:3]:
            drivers.append(f"“{r['name']}”"
                           + (f" ({r['credence_a']} in A, {r['credence_b']} in B)"
                              if r["belief"] else "")
                           + f": {r['margin']} of the {total_row['margin']} change in lead, "
                             f"{r['p_best']} in the chance of ranking first")
    shared = [r["name"] for r in rows if r["shared"]]

    # ---- the approaches side by side
    ranking = {}
    for side in ("a", "b"):
        approaches = sorted((full.get(side) or {}).get("approaches") or [],
                            key=lambda a: -float(a.get("mean", 0.0)))
        ranking[side] = [{"name": a["name"], "highlight": a["slug"] == target,
                          "mean": num(a.get("mean")), "p_best": pct(a.get("p_best"))}
                         for a in approaches[:TOP_APPROACHES]]
        position = next((i + 1 for i, a in enumerate(approaches) if a["slug"] == target), None)
        sides[side]["target_position"] = position
    side_by_side = []
    for i in range(max(len(ranking["a"]), len(ranking["b"]))):
        side_by_side.append({"rank": i + 1,
                             "a": ranking["a"][i] if i < len(ranking["a"]) else None,
                             "b": ranking["b"][i] if i < len(ranking["b"]) else None})
    outside = [{"letter": s["letter"], "name": s["name"], "position": s["target_position"]}
               for s in (sides["a"], sides["b"])
               if s["target_position"] and s["target_position"] > TOP_APPROACHES]

    prov = result.get("provenance") or {}
    hashes = prov.get("input_sha256")
    if not isinstance(hashes, list):
        hashes = [hashes, hashes]
    timing = result.get("timing") or {}
    created = date_text(timing.get("created"))
    a_name, b_name = sides["a"]["name"], sides["b"]["name"]
    return {
        "edition": "compare",
        "title": f"What changes between {a_name} and {b_name}? A cruxfit comparison",
        "author": "cruxfit",
        "created": created,
        "created_iso": timing.get("created"),
        "target_name": target_name,
        "a": sides["a"],
        "b": sides["b"],
        "both_converged": both,
        "unsettled": unsettled,
        "short_name": _shorten(f"{a_name} → {b_name}", 48),
        "verdict_line": verdict_line,
        "change": change,
        "contributions": rows,
        "total": total_row,
        "drivers": drivers,
        "shared": shared,
        "overrides_differ": bool(result.get("overrides_differ")),
        "fit_differs": bool(result.get("fit_differs")),
        "draws": result["draws"],
        "method": str(result.get("method") or ""),
        "side_by_side": side_by_side,
        "outside_top": outside,
        "top_n": TOP_APPROACHES,
        "provenance": {
            "version": prov["cruxfit_version"],
            "seed": prov["seed"],
            "input_a": hashes[0] if hashes else "—",
            "input_b": hashes[1] if len(hashes) > 1 else "—",
            "library_sha256": prov["library_sha256"],
            "versions": sorted(prov["versions"].items()),
            "hdi_prob": pct(prov["hdi_prob"]),
            "value_draws": prov["value_draws"],
            "created": created or "—",
        },
        "plots": {"contributions": {
            "rows": [{"label": r["name"], "margin": r["raw_margin"],
                      "p_best": 100 * r["raw_p_best"]} for r in rows if not r["shared"]],
            "total": {"margin": float(total["margin"]) if _finite(total.get("margin")) else 0.0,
                      "p_best": 100 * float(total["p_best"]) if _finite(total.get("p_best"))
                      else 0.0},
        }},
    }


def _token(text: Any) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text).lower()).strip("-") or "x"


def _direction(x: Any) -> str:
    if not _finite(x) or abs(float(x)) < 0.0005:
        return ""
    return "up" if float(x) > 0 else "down"
