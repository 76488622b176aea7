"""cruxfit's own version, as installed: the one place it is looked up."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def cruxfit_version() -> str:
    """The installed version of cruxfit ("0+unknown" when run from an uninstalled tree)."""
    try:
        return version("cruxfit")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "0+unknown"
