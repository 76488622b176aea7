"""Reading organisations from form exports, side by side with the same data as YAML.

Run: .venv/bin/python benchmarks/bench_forms.py [--n 500] [--repeat 5]

Builds one organisation of N respondents answering every statement and writes it four
ways: a YAML profile, a plain CSV headed by statement ids, a Google-Forms-style CSV headed by
the questions' titles from `cruxfit form` (with a timestamp and an e-mail column), and that
export as .xlsx. Prints the median time to read each and its ratio to the YAML profile.
Reading is a small part of a report (sampling and rendering take seconds); this shows the
form-export path does not change that.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import tempfile
import time
from pathlib import Path

import openpyxl
import yaml

from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.csvinput import read_organisation
from cruxfit.cruxes.profile import load_profile
from cruxfit.reports.formspec import form_csv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    lib = load_library()
    items = [r for r in csv.DictReader(io.StringIO(form_csv(lib, fit=False))) if r["kind"] == "statement"]
    ids = [r["id"] for r in items]

    def answer(k: int, j: int, r: dict, percent_as: str) -> str:
        if r["answer"] == "percent":
            return f"{(k + j) % 10 * 10 + 5}{percent_as}"
        return str((k + j) % 7 + 1)

    folder = Path(tempfile.mkdtemp(prefix="bench-forms-"))
    people = [f"Person {k}" for k in range(args.n)]
    org = {"name": "Bench", "kind": "organisation", "respondents": [
        {"name": p, "answers": {r["id"]: (float(answer(k, j, r, "")) / 100 if r["answer"] == "percent"
                                           else int(answer(k, j, r, "")))
                                for j, r in enumerate(items)}} for k, p in enumerate(people)]}
    (folder / "org.yaml").write_text(yaml.safe_dump(org, sort_keys=False), encoding="utf-8")
    with open(folder / "plain.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", *ids])
        for k, p in enumerate(people):
            w.writerow([p, *[answer(k, j, r, "%") for j, r in enumerate(items)]])
    google = [["Timestamp", "Email Address", "Your name", *[r["title"] for r in items]]]
    for k, p in enumerate(people):
        google.append(["2026/11/02 9:14:03 AM GMT", f"p{k}@example.org", p,
                       *[answer(k, j, r, "") for j, r in enumerate(items)]])
    with open(folder / "google.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(google)
    book = openpyxl.Workbook()
    for row in google:
        book.active.append(row)
    book.save(folder / "google.xlsx")

    def timed(fn) -> float:
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs)

    cases = [("YAML organisation", lambda: load_profile(folder / "org.yaml", lib)),
             ("plain CSV (ids)", lambda: read_organisation(folder / "plain.csv", lib)),
             ("Google Forms CSV (titles)", lambda: read_organisation(folder / "google.csv", lib)),
             ("Google Forms export as .xlsx", lambda: read_organisation(folder / "google.xlsx", lib))]
    base = None
    print(f"{args.n} respondents x {len(ids)} statements, median of {args.repeat}:")
    for label, fn in cases:
        t = timed(fn)
        base = base or t
        print(f"  {label:<30} {t * 1000:8.1f} ms   x{t / base:.2f}")


if __name__ == "__main__":
    main()
