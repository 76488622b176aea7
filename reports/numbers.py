"""One way to print a number, for every output cruxfit writes.

The terminal, the PDF and HTML reports, the batch summary (PDF, CSV, JSON) and the
comparison all format their numbers here, so a probability, a lead or a change in points
reads the same wherever it appears, and displayed arithmetic adds up: a difference shown
next to two values is the difference of the values *as shown* (see :func:`shown_difference`).

Conventions
-----------
* Probabilities counted from draws are never exactly 0 or 1: they read "<1%" and ">99%".
  Computed quantities (``exact=True``) may read "0%".
* Values (value points, leads) have two decimals, a true minus sign "−" and no "−0.00".
* Changes in a probability or credence are in percentage points: "+2.2 points",
  "−100.0 points", "no change".
* ``ascii=True`` gives a plain "-" instead of "−" (for a terminal that may not be UTF-8 and
  for CSV cells that spreadsheets must read as numbers).

This module imports nothing heavy, so the CLI can use it without loading the reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

MINUS = "−"
#: Decimals of a value on the model's scale (value points, leads).
VALUE_DECIMALS = 2
#: Decimals of a change in percentage points.
POINT_DECIMALS = 1
DASH = "—"


def finite(x: Any) -> bool:
    """True for a real, finite number (bools and text are not numbers here)."""
    if isinstance(x, bool):
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _minus(text: str, ascii: bool) -> str:
    return text if ascii else text.replace("-", MINUS)


def probability(p: Any, exact: bool = False, *, ascii: bool = False) -> str:
    """A probability or credence as a whole percentage: "73%", "<1%", ">99%".

    Probabilities estimated from a few thousand draws are never exactly 0 or 1, so the
    ends read "<1%" and ">99%" rather than a falsely certain 0% or 100%; ``exact``
    quantities (computed, not counted) show a true 0 as "0%".
    """
    if not finite(p):
        return "-" if ascii else DASH
    p = float(p)
    if exact and p == 0:
        return "0%"
    if p < 0.005:
        return "<1%"
    if p > 0.995:
        return ">99%"
    return f"{round(100 * p)}%"


def value(x: Any, nd: int = VALUE_DECIMALS, *, ascii: bool = False) -> str:
    """A value on the model's scale: "3.41", "−0.56" (never "−0.00")."""
    if not finite(x):
        return "-" if ascii else DASH
    text = f"{float(x):.{nd}f}"
    if float(text) == 0:
        text = f"{0:.{nd}f}"
    return _minus(text, ascii)


def signed(x: Any, nd: int = VALUE_DECIMALS, *, ascii: bool = False) -> str:
    """A difference of values with its sign: "+1.52", "−0.14", "0.00"."""
    text = value(x, nd, ascii=ascii)
    if text in (DASH, "-") or text.startswith(("-", MINUS)) or float(text) == 0:
        return text
    return "+" + text


def rounded(x: Any, nd: int = VALUE_DECIMALS) -> float:
    """The number a reader sees when ``x`` is shown with ``nd`` decimals."""
    return round(float(x), nd) + 0.0


def shown_difference(a: Any, b: Any, nd: int = VALUE_DECIMALS, *, ascii: bool = False) -> str:
    """``a − b`` computed from the two values as displayed, with its sign.

    Shown beside "3.41" and "−0.56" this gives "+3.97", never a "+4.02" computed from
    unrounded or differently averaged numbers.
    """
    if not (finite(a) and finite(b)):
        return "-" if ascii else DASH
    return signed(rounded(a, nd) - rounded(b, nd), nd, ascii=ascii)


def points(x: Any, *, ascii: bool = False, unit: str = "points") -> str:
    """A change in a probability or credence, in percentage points: "+2.2 points".

    ``x`` is on the 0–1 scale (0.022 is 2.2 points). Under 0.05 points reads "no change".
    """
    if not finite(x):
        return "-" if ascii else DASH
    v = 100 * float(x)
    if abs(v) < 0.05:
        return "no change"
    sign = "+" if v > 0 else ("-" if ascii else MINUS)
    return f"{sign}{abs(v):.{POINT_DECIMALS}f} {unit}".rstrip()


def shown_points_difference(p_from: Any, p_to: Any, *, ascii: bool = False) -> str:
    """The change from one probability to another, as shown beside them: "+81 points".

    Both are shown as whole percentages (:func:`probability`), so the change is the
    difference of those whole numbers; where one end reads "<1%" or ">99%" the change is
    rounded to whole points from the unrounded values ("−100 points" from ">99%" to "<1%").
    """
    if not (finite(p_from) and finite(p_to)):
        return "-" if ascii else DASH
    a, b = float(p_from), float(p_to)

    def whole(p: float) -> int | None:
        return None if p < 0.005 or p > 0.995 else round(100 * p)

    wa, wb = whole(a), whole(b)
    diff = (wb - wa) if wa is not None and wb is not None else round(100 * (b - a))
    if diff == 0:
        return "no change"
    sign = "+" if diff > 0 else ("-" if ascii else MINUS)
    return f"{sign}{abs(diff)} points"


def interval(pair: Iterable[Any] | None, fmt=value) -> str:
    """"1.47 to 4.59" (or "—")."""
    if not pair:
        return DASH
    lo, hi = list(pair)
    return f"{fmt(lo)} to {fmt(hi)}"


def lead(margin: Any, against: str = "the best alternative") -> str:
    """"lead the best alternative by 1.05" / "trail the best alternative by 0.30"."""
    if not finite(margin):
        return DASH
    if float(margin) >= 0:
        return f"lead {against} by {value(margin)}"
    return f"trail {against} by {value(abs(float(margin)))}"


def lead_short(margin: Any) -> str:
    """"lead by 1.05" / "trail by 0.30"."""
    if not finite(margin):
        return DASH
    return (f"lead by {value(margin)}" if float(margin) >= 0
            else f"trail by {value(abs(float(margin)))}")


def strength(x: Any) -> str:
    """How hard one answer pulls a belief, in words, from its size in points.

    The thresholds are in percentage points of credence: under 1 "barely", under 4
    "slightly", under 10 "moderately", else "strongly".
    """
    if not finite(x):
        return DASH
    v = abs(100 * float(x))
    if v < 1:
        return "barely"
    if v < 4:
        return "slightly"
    if v < 10:
        return "moderately"
    return "strongly"


def pull(x: Any, *, up: str = "up", down: str = "down") -> str:
    """The direction and strength of one answer's pull on a belief: "strongly up (+12.0 points)"."""
    if not finite(x):
        return DASH
    if abs(100 * float(x)) < 0.05:
        return "no pull"
    direction = up if float(x) > 0 else down
    return f"{strength(x)} {direction} ({points(x)})"


def summary_cells(row: dict) -> dict:
    """The shown text of a batch summary row's numbers (for the PDF, CSV and JSON alike)."""
    def shown(p: Any) -> str:
        return probability(p, ascii=True) if finite(p) else ""

    return {"p_best_text": shown(row.get("p_best")), "p_top3_text": shown(row.get("p_top3"))}
