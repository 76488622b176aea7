"""Which kind of analysis result a result dict is, told from its keys.

No single key names the kind: a comparison carries the two results it compares (``results``)
and no ``profile`` of its own; an individual's and an organisation's result say their kind
in ``profile.kind``. Light on purpose (no NumPy, no pydantic): the renderer's dispatch and
the result schema's discriminator both use it.
"""

from __future__ import annotations

from typing import Any


def result_kind(value: Any) -> str:
    """"compare", "organisation" or "individual" ("individual" for anything unrecognised)."""
    if not isinstance(value, dict):
        return "individual"
    if "results" in value and "profile" not in value:
        return "compare"
    profile = value.get("profile")
    kind = profile.get("kind") if isinstance(profile, dict) else None
    return "organisation" if kind == "organisation" else "individual"
