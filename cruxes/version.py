"""Versions as installed: cruxfit's own and its numerical dependencies'; looked up here only."""

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


#: The packages whose versions every result records (its provenance).
NUMERICAL_PACKAGES = ("pymc", "pytensor", "arviz", "numpy")


@cache
def package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """The installed versions of ``packages``, by name ("unknown" for one not installed)."""
    found = {}
    for pkg in packages:
        try:
            found[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies of cruxfit
            found[pkg] = "unknown"
    return found


def dependency_versions() -> dict[str, str]:
    """The installed versions of :data:`NUMERICAL_PACKAGES`, by name."""
    return package_versions(NUMERICAL_PACKAGES)
