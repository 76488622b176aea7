"""Rounding of numbers for the JSON result, in one place."""

from __future__ import annotations


def json_round(x: float, nd: int = 4) -> float:
    """``x`` rounded to ``nd`` decimals; -0.0 becomes 0.0 so that the output is stable."""
    v = round(float(x), nd)
    return 0.0 if v == 0 else v
