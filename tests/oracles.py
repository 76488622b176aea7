"""Independent reference computations the tests check the package against.

They lived in the package but no production code used them: each is a slower or more
direct route to a number the package computes another way.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import yaml

from cruxfit.cruxes.library import Library
from cruxfit.cruxes.loading import decode_text
from cruxfit.cruxes.profile import Profile, parse_profile_text
from cruxfit.models.exact import GRID, posterior_means, posterior_on_grid
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
    return float(best - baseline)  # no clamp: a negative EVPI is a bug the tests must see


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


def posterior_sds(library: Library, profile: Profile, n: int = GRID) -> np.ndarray:
    """Exact posterior standard deviation of every credence (grid quadrature)."""
    x, w = posterior_on_grid(library, profile, n)
    m = w @ x
    return np.sqrt(w @ (x**2) - m**2)


def exact_mean_values(library: Library, profile: Profile, value_model: ValueModel | None = None) -> np.ndarray:
    """Exact posterior mean value of every ranked approach (ratings at their means)."""
    vm = value_model or ValueModel(library, profile.overrides)
    theta = posterior_means(library, profile)[None, :]
    return vm.values(theta, vm.mean_ratings(1))[0]


class _Dumper(yaml.SafeDumper):
    """Writes YAML that cruxfit's strict reader reads back unchanged (quotes '1e-3'-like text)."""


_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def dump_yaml(data: Any) -> str:
    """YAML text for plain data, in key order, that cruxfit's reader reads back unchanged."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def parse_profile_bytes(raw: bytes, name: str, library: Library, suffix: str = ".yaml") -> Profile:
    """Bytes as a profile file would hold them, decoded and read as cruxfit reads a file."""
    return parse_profile_text(decode_text(raw, name), name, library, suffix=suffix)


#: Sampler diagnostics for results built from stand-in draws (no sampler ran): every field
#: the result schema requires, describing a clean run, so such results render and validate.
STAND_IN_DIAGNOSTICS = {
    "converged": True, "r_hat_max": 1.0, "ess_bulk_min": 1000.0, "ess_tail_min": 1000.0,
    "divergences": 0, "chains": 2, "draws": 1000, "tune": 1000, "target_accept": 0.9,
    "attempts": 1, "reasons": [],
    "criteria": {"r_hat_max": 1.01, "ess_bulk_min": 400.0, "ess_tail_min": 400.0,
                 "divergences_max": 0},
}


# --------------------------------------------------------------------------- next_steps.yaml
# The hand-written reader that cruxes/next_steps.py replaced with a pydantic model, kept as
# the reference its problems are compared with (tests/test_next_steps.py).


import cruxfit.cruxes.next_steps as _NS  # noqa: E402
from collections.abc import Mapping as _Mapping  # noqa: E402
from cruxfit.cruxes.errors import InputError as _InputError, Problems as _Problems, did_you_mean as _dym, one_of as _one_of  # noqa: E402
from cruxfit.cruxes.loading import load_document as _load_document  # noqa: E402

def next_steps_reference(folder, approach_slugs
                    ):
    """Read ``folder/next_steps.yaml`` against the library's approach slugs.

    Returns the entries by slug and the problems found (empty when all is well). A missing
    file gives no entries and no problems.
    """
    path = __import__('pathlib').Path(folder) / _NS.FILE
    if not path.is_file():
        return {}, []
    label = str(path)
    try:
        data = _load_document(path, label=label)
    except _InputError as exc:
        return {}, list(exc.problems)
    problems = _Problems(label)
    slugs = list(approach_slugs)
    if not isinstance(data, _Mapping) or set(data) != {"next_steps"}:
        problems.add("(top level)", 'must be a mapping with the one key "next_steps"')
        return {}, problems.items
    table = data["next_steps"]
    if not isinstance(table, _Mapping):
        problems.add("next_steps", "must be a mapping from approach slug to its next steps")
        return {}, problems.items
    out: dict[str, NextSteps] = {}
    for slug, entry in table.items():
        key = f"next_steps.{slug}"
        if slug not in slugs:
            problems.add(key, f'"{slug}" is not an approach in approaches.yaml'
                              f"{_dym(str(slug), slugs)}; known: {_one_of(slugs)}")
            continue
        if not isinstance(entry, _Mapping):
            problems.add(key, f"must be a mapping with the keys {_one_of(_NS.FIELDS)}")
            continue
        for k in entry:
            if k not in _NS.FIELDS:
                problems.add(f"{key}.{k}", f"is not a known key{_dym(str(k), _NS.FIELDS)}; "
                                           f"allowed: {_one_of(_NS.FIELDS)}")
        lists = {}
        for field in _NS.FIELDS:
            lists[field] = _next_steps_texts(problems, f"{key}.{field}", entry.get(field))
        out[str(slug)] = _NS.NextSteps(str(slug), lists["skills"], lists["roles"], lists["read"])
    for slug in slugs:
        if slug not in table:
            problems.add(f"next_steps.{slug}", f'is missing: every approach needs next steps, '
                                               f'and "{slug}" is in approaches.yaml')
    return (out if not problems else {}), problems.items


def _next_steps_texts(problems, key: str, value):
    if value is None:
        problems.add(key, f"is missing; it must be a list of 1 to {_NS.MAX_ITEMS} short texts")
        return ()
    if not isinstance(value, list) or not value or len(value) > _NS.MAX_ITEMS:
        problems.add(key, f"must be a list of 1 to {_NS.MAX_ITEMS} short texts")
        return ()
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item) > _NS.MAX_CHARS:
            problems.add(f"{key}[{i}]", f"must be text of 1 to {_NS.MAX_CHARS} characters")
            continue
        out.append(" ".join(item.split()))
    return tuple(out)


