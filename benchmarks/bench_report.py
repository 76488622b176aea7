"""Report benchmark: warm end-to-end time for one report beside its rendering floor.

Run: .venv/bin/python benchmarks/bench_report.py [--repeat N] [--profile FILE] [--audience A]

Both figures are measured in one process, interleaved, after one warm-up of each, so that
the shared machine's noise hits them alike:

* end to end: ``run_analysis`` (sampling, evaluation, summaries, value of information) on
  the bundled example, then ``render_pdf`` of its result: what a warm ``cruxfit report``
  does, without process start-up and imports;
* floor: ``render_pdf`` of the same, already computed result (plots, template, WeasyPrint).

Reported: medians of each, and the ratio end-to-end / floor (target: at most 2.5), per run
and of the medians. The per-run ratios are the fair figure: both halves of a pair ran
within a few seconds of each other.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example.yaml"
TARGET = 2.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured pairs (default 5)")
    parser.add_argument("--profile", type=Path, default=EXAMPLE, help="profile to analyse")
    parser.add_argument("--audience", default="individual")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from cruxfit.cruxes.library import load_library
    from cruxfit.models.inference import import_quietly
    from cruxfit.cruxes.profile import load_profile
    from cruxfit.pipeline.run import run_analysis
    from cruxfit.reports.render import render_pdf

    import_quietly()
    library = load_library()
    profile = load_profile(args.profile, library)

    def end_to_end() -> tuple[float, float, dict, int]:
        t0 = time.perf_counter()
        result, _ = run_analysis(library, profile, args.seed)
        t1 = time.perf_counter()
        pdf = render_pdf(result, args.audience)
        return time.perf_counter() - t0, t1 - t0, result, len(pdf)

    def floor(result: dict) -> float:
        t0 = time.perf_counter()
        render_pdf(result, args.audience)
        return time.perf_counter() - t0

    print(f"profile {args.profile.name}, audience {args.audience}, seed {args.seed}; "
          f"{args.repeat} interleaved pairs after one warm-up")
    _, _, result, size = end_to_end()  # warm-up: compile caches, fonts, matplotlib
    floor(result)
    rows = []
    for i in range(args.repeat):
        e2e, analysis, result, size = end_to_end()
        fl = floor(result)
        rows.append((e2e, analysis, fl))
        print(f"  pair {i + 1}: end-to-end {e2e:6.2f} s (analysis {analysis:5.2f} s) | "
              f"floor {fl:5.2f} s | ratio {e2e / fl:4.2f}")
    e2e_med = statistics.median(r[0] for r in rows)
    an_med = statistics.median(r[1] for r in rows)
    fl_med = statistics.median(r[2] for r in rows)
    ratios = [r[0] / r[2] for r in rows]
    print()
    print(f"{'':28}{'median':>10}")
    print(f"{'end to end (warm)':28}{e2e_med:9.2f} s")
    print(f"{'  of which analysis':28}{an_med:9.2f} s")
    print(f"{'floor (render only)':28}{fl_med:9.2f} s")
    print(f"ratio end-to-end / floor: median of pairs {statistics.median(ratios):.2f}, "
          f"of medians {e2e_med / fl_med:.2f} (target <= {TARGET}); "
          f"PDF {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
