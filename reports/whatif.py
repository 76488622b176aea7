"""The what-if panel of an HTML report: its data, script and styles.

The numbers come from ``result["whatif"]`` (built by :mod:`cruxfit.models.whatif` from the
value model of the run); this module only gathers what the panel shows next to them (belief
names, posterior means and 90% intervals, switching values, verdict thresholds) and embeds it
as JSON that the page's script reads. Everything is inline, so a report file works offline
and the server's Content-Security-Policy can allow exactly this script by its hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from typing import Any

from markupsafe import Markup

from cruxfit.cruxes.library import SEED_APPROACH
from cruxfit.reports.render import static_dir


def _static(name: str) -> str:
    return (static_dir() / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def script() -> str:
    """The panel's JavaScript (inlined in every HTML report)."""
    return _static("whatif.js")


@functools.lru_cache(maxsize=1)
def styles() -> str:
    return _static("whatif.css")


def script_hash() -> str:
    """The CSP source expression that allows exactly the inlined panel script."""
    digest = hashlib.sha256(script().encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _json_for_script(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in, whatever the strings hold."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _switches(row: dict | None, names: dict[str, str]) -> list[dict]:
    out = []
    if not row:
        return out
    target = names.get(SEED_APPROACH, SEED_APPROACH)
    verdict_sw = row.get("verdict_switch")
    top_sw = row.get("top_switch")
    verdict_sw = verdict_sw if isinstance(verdict_sw, dict) else {}  # older, simpler shapes
    top_sw = top_sw if isinstance(top_sw, dict) else {}
    for side in ("below", "above"):
        vs = verdict_sw.get(side)
        if vs:
            word = "below" if side == "below" else "above"
            out.append({"credence": vs["credence"], "kind": "verdict",
                        "text": f"{word} {vs['credence']:.2f}: the verdict on {target} changes "
                                f"from {vs['from']} to {vs['to']}"})
        ts = top_sw.get(side)
        if ts:
            word = "below" if side == "below" else "above"
            out.append({"credence": ts["credence"], "kind": "top",
                        "text": f"{word} {ts['credence']:.2f}: {names.get(ts['to'], ts['to'])} "
                                f"overtakes {names.get(ts['from'], ts['from'])} as the approach "
                                "with the highest expected value"})
    return out


def panel_context(result: dict) -> dict | None:
    """What ``_whatif.html.j2`` needs, or None when the result carries no what-if table
    (results written before the panel existed render exactly as before)."""
    table = result.get("whatif") if isinstance(result, dict) else None
    if not isinstance(table, dict):
        return None
    if not table.get("available"):
        return {"available": False, "reason": str(table.get("reason", "not available"))}
    names = {a["slug"]: a["name"] for a in result.get("approaches", [])}
    beliefs = {b["id"]: b for b in result.get("beliefs", [])}
    switching = {s["variable"]: s for s in result.get("switching_values", [])}
    variables = []
    for vid in table["variables"]:
        b = beliefs.get(vid, {})
        mean = b.get("posterior_mean", b.get("prior_mean", 0.5))
        variables.append({
            "id": vid, "name": b.get("name", vid), "proposition": b.get("proposition", ""),
            "mean": mean, "hdi": b.get("hdi_90") or [mean, mean],
            "switches": _switches(switching.get(vid), names),
        })
    verdict = result.get("verdict") or {}
    data = {
        "variables": variables,
        "approaches": [{"slug": s, "name": names.get(s, s)} for s in table["approaches"]],
        "tables": table["tables"],
        "encoding": table["encoding"],
        "target": SEED_APPROACH,
        "verdict": {"label": verdict.get("label"), "thresholds": verdict.get("thresholds", [])},
    }
    return {
        "available": True,
        "data": Markup(_json_for_script(data)),
        "script": Markup(script()),
        "styles": Markup(styles()),
        "method": table.get("method", ""),
        "target_name": names.get(SEED_APPROACH, SEED_APPROACH),
        "n_variables": len(variables),
    }
