"""All cruxfit benchmarks in one run: model, report, batch and organisations.

Run: make bench   (or .venv/bin/python benchmarks/bench.py [--quick])

Each part prints its own figures as ratios measured side by side within the part; see the
docstrings of bench_model.py, bench_report.py and bench_batch.py. --quick uses fewer repeats
and a batch of 30 (for a sanity check, not for the figures quoted in issues).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    parts = [
        ("bench_model.py", ["--repeat", "1" if args.quick else "3"]),
        ("bench_report.py", ["--repeat", "2" if args.quick else "5"]),
        ("bench_batch.py", ["--n", "30", "--org-sizes", "10"] if args.quick else []),
        ("bench_editions.py", ["--repeat", "2", "--n", "30"] if args.quick else []),
    ]
    for script, extra in parts:
        print(f"\n=== {script} {' '.join(extra)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *extra], check=True)


if __name__ == "__main__":
    main()
