"""Independent reference computations the tests check the package against.

They lived in the package but no production code used them: each is a slower or more
direct route to a number the package computes another way.
"""

from __future__ import annotations

import numpy as np

from cruxfit.models.exact import exact_mean_values
from cruxfit.models.values import ValueModel


def evpi_from_configurations(config_values: np.ndarray, config_probs: np.ndarray,
                             baseline: float | None = None) -> float:
    """EVPI from values per draw and configuration.

    ``config_values`` (n, K, A): value of each approach in draw n's configuration k;
    ``config_probs`` (n, K): their probabilities (rows sum to 1). ``baseline`` is
    ``max_a E[V_a]``; by default computed from the same arrays.
    """
    best = (config_probs * config_values.max(axis=2)).sum(axis=1).mean()
    if baseline is None:
        baseline = float(np.einsum("nk,nka->a", config_probs, config_values).max()
                         / config_values.shape[0])
    return max(0.0, float(best - baseline))


def top_switches_scan(whatif, points: int = 1001) -> list[tuple[float, int, int]]:
    """Brute-force grid scan of the top approach of a :class:`~cruxfit.models.voi.WhatIf`:
    [(midpoint, top below, top above)] wherever the top changes between grid points."""
    xs = np.linspace(0.0, 1.0, points)
    tops = np.argmax(whatif.means(xs), axis=1)
    return [((xs[i] + xs[i + 1]) / 2, int(tops[i]), int(tops[i + 1]))
            for i in range(points - 1) if tops[i] != tops[i + 1]]


def exact_margin(library, profile) -> float:
    """AI-assisted alignment's mean value minus the best other mean value, exactly (grid
    quadrature, :func:`cruxfit.models.exact.exact_mean_values`)."""
    vm = ValueModel(library, profile.overrides)
    means = exact_mean_values(library, profile, vm)
    t = vm.index("ai-assisted")
    return float(means[t] - np.delete(means, t).max())
