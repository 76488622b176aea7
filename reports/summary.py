"""The batch summary: one table to decide from, as PDF, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cruxfit.reports.files import write_atomic, write_atomic_text
from cruxfit.reports.numbers import summary_cells
from cruxfit.reports.render import (
    PDF_VARIANT,
    _stylesheet,
    _weasyprint,
    environment,
    make_fetcher,
    static_dir,
)

COLUMNS = ("name", "verdict", "p_best", "p_top3", "top_alternative", "deciding_belief",
           "answered", "total", "quality", "converged", "status", "source", "outputs", "error",
           "p_best_text", "p_top3_text")


def with_shown_numbers(rows: list[dict]) -> list[dict]:
    """Rows with the shown text of their probabilities ("<1%", ">99%", "73%") added, from
    :mod:`cruxfit.reports.numbers`, so the PDF, CSV and JSON summaries and the reports agree."""
    return [{**row, **summary_cells(row)} for row in rows]


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        r = dict(row)
        r["outputs"] = " ".join(row.get("outputs") or [])
        for k in ("name", "source", "error", "top_alternative", "deciding_belief"):
            # Spreadsheets execute cells that start with = + - @: neutralise them.
            if isinstance(r.get(k), str) and r[k][:1] in ("=", "+", "-", "@"):
                r[k] = "'" + r[k]
        w.writerow(r)
    return out.getvalue()


def _html(rows: list[dict], meta: dict) -> str:
    env = environment()
    template = env.get_template("summary.html.j2")
    return template.render(rows=with_shown_numbers(rows), meta=meta, css=_stylesheet())


def summary_pdf(rows: list[dict], meta: dict) -> bytes:
    """The summary table as PDF bytes (the batch runs this in a warm render worker)."""
    HTML, _, _ = _weasyprint()
    return HTML(string=_html(rows, meta), base_url=static_dir().as_uri() + "/",
                url_fetcher=make_fetcher(), media_type="print").write_pdf(pdf_variant=PDF_VARIANT)


def write_summary(outdir: Path, rows: list[dict], meta: dict, pdf: bytes | None = None) -> list[str]:
    """Write summary.json, summary.csv and summary.pdf (rendered here unless ``pdf`` is given)."""
    outdir = Path(outdir)
    rows = with_shown_numbers(rows)
    write_atomic_text(outdir / "summary.json", json.dumps({"meta": meta, "reports": rows},
                                                          indent=2, ensure_ascii=False) + "\n")
    write_atomic_text(outdir / "summary.csv", _csv(rows))
    write_atomic(outdir / "summary.pdf", pdf if pdf is not None else summary_pdf(rows, meta))
    return ["summary.pdf", "summary.csv", "summary.json"]
