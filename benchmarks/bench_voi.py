"""Value of information per report: the first in a process against later ones (batch).

Run: .venv/bin/python benchmarks/bench_voi.py [--repeat 7]

The 2^V configuration coefficients are cached per crux library (models/voi.py), so in a
batch every report after the first skips 16 value-model passes over 16,384 configurations.
Both timings come from one process, interleaved (cache emptied before each "first" run), on
stand-in credence draws (no sampling); the ratio is the figure to quote.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.profile import load_profile
from cruxfit.models import voi
from cruxfit.models.analysis import evaluate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    lib = load_library(None)
    profile = load_profile(ROOT / "data" / "example.yaml", lib)
    theta = np.random.default_rng(1).beta(3, 3, size=(2000, len(lib.variables)))
    analysis = evaluate(lib, profile, 0, theta, None, {})
    first, later = [], []
    for _ in range(args.repeat):
        voi._CONFIG_COEF.clear()
        t = time.perf_counter()
        voi.voi_summary(analysis)
        first.append(time.perf_counter() - t)
        t = time.perf_counter()
        voi.voi_summary(analysis)
        later.append(time.perf_counter() - t)
    f, l_ = statistics.median(first), statistics.median(later)
    print(f"voi_summary, medians of {args.repeat}: first report in a process {f:.3f} s, "
          f"later reports {l_:.3f} s, ratio {l_ / f:.2f}")


if __name__ == "__main__":
    main()
