"""Organisation benchmark: whole `cruxfit report` runs on synthetic organisations of several
sizes, with seconds per member, peak memory of the process tree and convergence.

Run: .venv/bin/python benchmarks/bench_org.py [--sizes 100,500,2000] [--models integrated,explicit]
     [--format json]

Each size runs with each organisation model (``CRUXFIT_ORG_MODEL``), one after the other in
this process, so ratios between models and sizes are taken side by side. The explicit model
is skipped above 500 members, where it is refused. Members are generated as in
bench_batch.make_org_csv (a shared lean plus noise; every statement answered).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import CLI, make_org_csv, timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,500,2000")
    ap.add_argument("--models", default="integrated,explicit")
    ap.add_argument("--format", default="json", choices=("json", "pdf"))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    models = [m for m in args.models.split(",") if m]
    print(f"cruxfit organisation benchmark ({os.cpu_count()} cores; whole processes, one at a time)")
    print(f"  {'members':>7} {'model':<10} {'wall s':>8} {'s/member':>9} {'peak MiB':>9} "
          f"{'R-hat':>6} {'ESS bulk':>8} {'ESS tail':>8} converged  sample s  members s  tables s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in sizes:
            csv = tmp / f"org{n}.csv"
            make_org_csv(csv, n)
            for model in models:
                if model == "explicit" and n > 500:
                    continue
                out = tmp / f"org{n}-{model}.{args.format}"
                os.environ["CRUXFIT_ORG_MODEL"] = model
                wall, peak = timed([*CLI, "report", str(csv), "-f", args.format, "-o", str(out), "-q"])
                if args.format == "json":
                    res = json.loads(out.read_text())
                else:
                    json_out = tmp / f"org{n}-{model}.json"
                    timed([*CLI, "report", str(csv), "-f", "json", "-o", str(json_out), "-q"])
                    res = json.loads(json_out.read_text())
                d = res["diagnostics"]
                secs = res.get("timing", {}).get("seconds", {})
                print(f"  {n:7d} {model:<10} {wall:8.1f} {wall / n:9.3f} {peak / 2**20:9.0f} "
                      f"{d['r_hat_max']:6.3f} {d['ess_bulk_min']:8.0f} {d['ess_tail_min']:8.0f} "
                      f"{d['converged']!s:>9}  {secs.get('sample', float('nan')):8.1f}  "
                      f"{secs.get('members', float('nan')):9.1f}  {secs.get('tables', float('nan')):8.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
