"""JSON output: stable key order and float formatting so that a seed reproduces bytes."""

from __future__ import annotations

import json
import math
from typing import Any


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        return obj
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj


def to_json(result: dict) -> str:
    return json.dumps(_clean(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def report_schema() -> dict:
    """The published JSON Schema of the report JSON (`cruxfit schema --report`): the shape
    declared in models/result.py, with its title and description in words."""
    from cruxfit.models.result import SCHEMA_VERSION, report_json_schema  # pydantic: only here

    schema = report_json_schema()
    return {
        "$schema": schema.pop("$schema"),
        "title": "cruxfit analysis result",
        "description": (f"schema_version {SCHEMA_VERSION}: an individual, an organisation or "
                        "a comparison of two profiles. Numbers that are NaN in the "
                        "analysis are written as null."),
        **schema,
    }
