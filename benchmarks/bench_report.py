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

Start-up (issue 18; whole processes, rounds interleaved after one warm-up of each): a warm
``cruxfit report PROFILE -o x.pdf`` (as it runs, without the render worker of
pipeline/render_worker.py, and without the compiled-model store of
pipeline/compiled_store.py) and ``-f json`` beside the floor of a separate process:
``import pymc`` in a process of its own plus WeasyPrint laying out the report's own HTML in
a process of its own. Printed per round and as medians: wall seconds, CPU seconds (user +
system, children included) and the ratio PDF report / floor (target: at most 1.25).
``--baseline DIR`` times another version's PDF report in the same rounds (DIR holds its
``cruxfit`` package, e.g. a link to an older checkout). ``--startup-only`` skips the
in-process pairs; ``--startup-repeat 0`` skips the start-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example.yaml"
TARGET = 2.5
STARTUP_TARGET = 1.25
CLI = [sys.executable, "-c", "from cruxfit.cli import entry; entry()"]
RENDER_ALONE = (
    "import sys\n"
    "from cruxfit.reports.render import _html_to_pdf\n"
    "html = open(sys.argv[1], encoding='utf-8').read()\n"
    "open(sys.argv[2], 'wb').write(_html_to_pdf(html, b'floor'))\n"
)


def _run(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, waited-for children included) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _env(step: str, baseline: Path | None) -> dict:
    if "no worker" in step:
        return {"CRUXFIT_RENDER_WORKER": "0"}
    if "no store" in step:
        return {"CRUXFIT_NO_CACHE": "1"}
    if "baseline" in step:
        # A folder holding a `cruxfit` package (e.g. a link to an older checkout) comes first
        # on the path, ahead of the installed one.
        return {"PYTHONPATH": str(baseline)}
    return {}


def startup(profile: Path, audience: str, seed: int, repeat: int,
            baseline: Path | None = None) -> None:
    """Whole-process start-up beside its floor (see the module's docstring)."""
    import json

    from cruxfit.reports.render import render_html

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out_json = tmp / "r.json"
        common = [str(profile), "-q", "--seed", str(seed), "--audience", audience]
        subprocess.run([*CLI, "report", *common, "-f", "json", "-o", str(out_json)],
                       check=True, capture_output=True)
        html = tmp / "r.html"
        html.write_text(render_html(json.loads(out_json.read_text()), audience), encoding="utf-8")
        steps = {
            "report PDF": [*CLI, "report", *common, "-o", str(tmp / "x.pdf")],
            "report PDF, no worker": [*CLI, "report", *common, "-o", str(tmp / "y.pdf")],
            "report PDF, no store": [*CLI, "report", *common, "-o", str(tmp / "z.pdf")],
            "report JSON": [*CLI, "report", *common, "-f", "json", "-o", str(tmp / "x.json")],
            **({"report PDF, baseline": [sys.executable, "-c", "from cruxfit.cli import main; main()",
                                         "report", *common, "-o", str(tmp / "b.pdf")]}
               if baseline else {}),
            "import pymc": [sys.executable, "-c", "import pymc"],
            "WeasyPrint alone": [sys.executable, "-c", RENDER_ALONE, str(html), str(tmp / "f.pdf")],
        }
        for k, cmd in steps.items():  # warm-up: compile caches, fonts, file system
            _run(cmd, _env(k, baseline))
        wall: dict[str, list[float]] = {k: [] for k in steps}
        cpu: dict[str, list[float]] = {k: [] for k in steps}
        for i in range(repeat):
            for k, cmd in steps.items():
                w, c = _run(cmd, _env(k, baseline))
                wall[k].append(w)
                cpu[k].append(c)
            floor = wall["import pymc"][-1] + wall["WeasyPrint alone"][-1]
            print(f"  round {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in wall.items())
                  + f" | ratio {wall['report PDF'][-1] / floor:.2f}", flush=True)
    med = {k: statistics.median(v) for k, v in wall.items()}
    cmed = {k: statistics.median(v) for k, v in cpu.items()}
    floor = med["import pymc"] + med["WeasyPrint alone"]
    rounds = [a + b for a, b in zip(wall["import pymc"], wall["WeasyPrint alone"])]
    print(f"\nstart-up, whole processes, medians of {repeat} interleaved rounds "
          f"(load average {os.getloadavg()[0]:.1f} at the end):")
    for k in steps:
        print(f"  {k:26}{med[k]:7.2f} s wall {cmed[k]:7.2f} s CPU")
    print(f"  {'floor (import + layout)':26}{floor:7.2f} s wall "
          f"{cmed['import pymc'] + cmed['WeasyPrint alone']:7.2f} s CPU")
    for k in [k for k in steps if k.startswith("report PDF")]:
        per_round = statistics.median(t / f for t, f in zip(wall[k], rounds))
        print(f"  ratio {k} / floor: {med[k] / floor:.2f} of medians, "
              f"{per_round:.2f} median of rounds (target <= {STARTUP_TARGET})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured pairs (default 5)")
    parser.add_argument("--profile", type=Path, default=EXAMPLE, help="profile to analyse")
    parser.add_argument("--audience", default="individual")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup-repeat", type=int, default=5,
                        help="interleaved whole-process rounds (default 5; 0 skips them)")
    parser.add_argument("--startup-only", action="store_true",
                        help="measure only the whole-process start-up")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a folder holding another version's `cruxfit` package (for "
                             "example a link to an older checkout): its PDF report is timed "
                             "in the same rounds")
    args = parser.parse_args()
    if args.startup_repeat:
        startup(args.profile, args.audience, args.seed, args.startup_repeat, args.baseline)
    if args.startup_only:
        return

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
