"""Model benchmark: cold vs warm report, and where a warm report's time goes.

Run: .venv/bin/python benchmarks/bench_model.py [--repeat N]

The machine is shared and noisy, so figures are measured side by side in one run,
interleaved, and reported as medians and ratios:

* cold: `cruxfit report --format json` in a fresh process with an empty PyTensor compile
  cache (PYTENSOR_FLAGS=base_compiledir=<new empty folder>);
* warm: the same command with the normal, already-filled cache;
* in-process breakdown of one warm analysis: import, model build, sampling (including
  PyTensor's function compilation and linking), evaluation and summary.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example.yaml"
CRUXFIT = [sys.executable, "-c", "from cruxfit.cli import entry; entry()"]


def run_cli(env_extra: dict[str, str], out: Path) -> float:
    env = {**os.environ, **env_extra}
    t0 = time.perf_counter()
    subprocess.run([*CRUXFIT, "report", str(EXAMPLE), "-f", "json", "-o", str(out), "-q"],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def cold_vs_warm(repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"warm": [], "cold": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        run_cli({}, out)  # make sure the normal cache is warm
        for i in range(repeat):
            times["warm"].append(run_cli({}, out))
            cache = Path(tmp) / f"cache{i}"
            cache.mkdir()
            times["cold"].append(run_cli({"PYTENSOR_FLAGS": f"base_compiledir={cache}"}, out))
    return times


def breakdown(repeat: int) -> dict[str, float]:
    t0 = time.perf_counter()
    from cruxfit.models.inference import import_quietly

    import_quietly()
    t_import = time.perf_counter() - t0
    from cruxfit.cruxes.library import load_library
    from cruxfit.cruxes.profile import load_profile
    from cruxfit.pipeline.run import run_analysis

    lib = load_library()
    prof = load_profile(EXAMPLE, lib)
    _, other = run_analysis(lib, load_profile(ROOT / "data" / "sceptical.yaml", lib), 0)
    run_analysis(lib, prof, 0)  # warm-up in this process
    from cruxfit.models.compare import compare_analyses
    from cruxfit.models.voi import voi_summary

    rows = []
    for seed in range(repeat):
        t = time.perf_counter()
        result, analysis = run_analysis(lib, prof, seed)
        total = time.perf_counter() - t
        s = result["timing"]["seconds"]
        t = time.perf_counter()
        analysis.to_dict()
        t_dict = time.perf_counter() - t
        t = time.perf_counter()
        voi_summary(analysis)
        t_voi = time.perf_counter() - t
        t = time.perf_counter()
        compare_analyses(analysis, other)  # example vs sceptical: every belief differs
        t_cmp = time.perf_counter() - t
        rows.append({"build": s["build"], "sample (compile + NUTS)": s["sample"],
                     "evaluate": s["evaluate"], "summaries (to_dict)": t_dict,
                     "value of information (EVPI, EVPPI, switching)": t_voi,
                     "total": total, "compare_analyses (not in a report)": t_cmp})
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return {"import pymc + arviz (once per process)": t_import, **med}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times = cold_vs_warm(args.repeat)
    warm, cold = statistics.median(times["warm"]), statistics.median(times["cold"])
    print("cruxfit model benchmark (medians; ratios measured side by side in this run)")
    print(f"  warm CLI report (json), whole process : {warm:6.2f} s  (1.00)")
    print(f"  cold CLI report (json), empty cache   : {cold:6.2f} s  ({cold / warm:.2f} x warm)")
    parts = breakdown(args.repeat)
    total = parts["total"]
    print("  in-process warm analysis, by step:")
    for k, v in parts.items():
        share = ("" if k.startswith(("import", "compare")) or k == "total"
                 else f"  ({v / total:5.1%} of analysis)")
        print(f"    {k:<40} {v:6.3f} s{share}")
    print(f"  process overhead of a warm CLI run beyond the analysis: {warm / total:.2f} x the analysis")


if __name__ == "__main__":
    main()
