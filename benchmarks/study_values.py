"""Fairness study of the value model (issue 13): how far beliefs can move each approach.

For every ranked approach it prints the typical value (every credence at the library's
prior mean, ratings at their means), the highest and lowest value over every combination
of extreme beliefs (each credence 0 or 1) as multiples of the typical value, and a belief
profile under which the approach ranks first (the corner where its lead is largest), or
that none exists. Everything is exact: the value model is multilinear in the credences and
the ratings enter through their means, so expected values at a credence vector are values
at that vector. Run: `.venv/bin/python benchmarks/study_values.py` (no sampling; < 1 s).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np

from cruxfit.cruxes.library import load_library, value_band
from cruxfit.models.values import ValueModel


def corners(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def study(library=None) -> list[dict]:
    lib = library or load_library()
    vm = ValueModel(lib)
    prior = vm.prior_means
    typical = vm.values(prior[None, :], vm.mean_ratings(1))[0]
    z = corners(len(prior))
    vals = vm.values(z, vm.mean_ratings(len(z)))
    means = {v.id: v.prior.mean for v in lib.variables}
    rows = []
    for i, a in enumerate(vm.approaches):
        gain, low = value_band({v: means[v] for v in a.tilts}, a.tilts, a.ratings,
                               lib.settings.levels, means["alignment-hard"])
        others = np.delete(vals, i, axis=1).max(axis=1)
        lead = vals[:, i] - others
        k = int(np.argmax(lead))
        first = lead[k] > 0
        rows.append({
            "slug": a.slug, "typical": float(typical[i]),
            "max_ratio": float(vals[:, i].max() / typical[i]),
            "min_ratio": float(vals[:, i].min() / typical[i]),
            "band_gain": gain, "band_low": low,
            "can_rank_first": bool(first),
            "profile": {v: bool(z[k, j]) for j, v in enumerate(vm.var_ids)} if first else None,
            "lead": float(lead[k]),
            "harm": [c.topic for c in a.cruxes if c.harm],
        })
    return rows


def main() -> int:
    lib = load_library()
    rows = study(lib)
    print(f"{'approach':20} {'typical':>7} {'max x':>6} {'min x':>6}  first?  profile that puts it first "
          "(beliefs held true; all others false)")
    for r in rows:
        held = ", ".join(v for v, on in (r["profile"] or {}).items() if on) or "-"
        print(f"{r['slug']:20} {r['typical']:7.3f} {r['max_ratio']:6.2f} {r['min_ratio']:6.2f}  "
              f"{'yes' if r['can_rank_first'] else 'NO ':3}     {held if r['can_rank_first'] else '(none)'}")
    print(f"\nband (cruxes/model.yaml): max_gain {lib.settings.bands.max_gain}; "
          "negative values only where a crux states a harm: "
          + "; ".join(f"{r['slug']} ({', '.join(r['harm'])})" for r in rows if r["harm"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
