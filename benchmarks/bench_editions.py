"""Editions benchmark (issue 16): what the short editions cost next to the full report.

Run: .venv/bin/python benchmarks/bench_editions.py [--repeat 7] [--n 100] [--skip-batch]

Figures, each measured side by side in this one run:

* render time of one PDF from the same analysis result (tests/golden/editions_example.json),
  in one warm process, editions interleaved round-robin so that drift on a shared machine
  falls on all of them alike: the full report, the two-page handout and the one-page
  grantmaker memo; target: handout and memo each at most 1/3 of the full report;
* a batch of N applicants (default 100, PDF + JSON), once with full reports
  (``--audience individual``: what a grantmaker batch wrote before issue 16) and once with
  memos (``--audience grantmaker``, the batch default now); reports per hour of each and
  their ratio; target: at least 3x. The two batches run back to back on the same inputs,
  each into a fresh folder, so each samples and renders everything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLI = [sys.executable, "-c", "from cruxfit.cli import entry; entry()"]
FIXTURE = ROOT / "tests" / "golden" / "editions_example.json"

EDITIONS = {
    "full report": {"audience": "individual"},
    "handout": {"audience": "individual", "length": "short"},
    "memo": {"audience": "grantmaker"},
}


def render_times(repeat: int) -> dict[str, list[float]]:
    from cruxfit.reports.render import render_pdf

    result = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for kw in EDITIONS.values():  # warm: imports, fonts, template compilation
        render_pdf(result, **kw)
    times: dict[str, list[float]] = {k: [] for k in EDITIONS}
    for _ in range(repeat):
        for name, kw in EDITIONS.items():
            t = time.perf_counter()
            render_pdf(result, **kw)
            times[name].append(time.perf_counter() - t)
    return times


def batch_wall(inputs: Path, out: Path, audience: str) -> float:
    t = time.perf_counter()
    proc = subprocess.run([*CLI, "batch", str(inputs), "-o", str(out), "-f", "pdf,json",
                           "--audience", audience, "-q"], capture_output=True, text=True)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--skip-batch", action="store_true")
    args = ap.parse_args()

    times = render_times(args.repeat)
    full = statistics.median(times["full report"])
    print(f"Render one PDF from the same result, median of {args.repeat} (interleaved):")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:<12} {med:6.2f} s   {med / full:5.2f} x the full report"
              + ("" if name == "full report" else f"   (target <= 0.33: "
                 f"{'met' if med / full <= 1 / 3 else 'NOT met'})"))

    if args.skip_batch:
        return
    sys.path.insert(0, str(HERE))
    from bench_batch import make_profiles

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = tmp / "in"
        inputs.mkdir()
        make_profiles(inputs, args.n)
        subprocess.run([*CLI, "warmup"], check=True, capture_output=True)
        walls = {"full reports": batch_wall(inputs, tmp / "full", "individual"),
                 "memos": batch_wall(inputs, tmp / "memo", "grantmaker")}
        print(f"\nBatch of {args.n} applicants (PDF + JSON), back to back on the same inputs:")
        for name, w in walls.items():
            print(f"  {name:<12} {w:7.1f} s wall   {args.n / w * 3600:8.0f} reports an hour")
        ratio = walls["full reports"] / walls["memos"]
        print(f"  memos / full reports, reports an hour: {ratio:.2f} x (target >= 3: "
              f"{'met' if ratio >= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
