"""Batch runs: good, bad and clashing inputs, skipping finished work, the summary, names."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cruxfit.cli import main
from cruxfit.pipeline.batch import load_manifest, plan
from cruxfit.cruxes.library import load_library
from cruxfit.reports.files import safe_stem

ROOT = Path(__file__).resolve().parents[1]
LIB = load_library()


def _profile(path: Path, name: str, answers: dict) -> Path:
    path.write_text(json.dumps({"name": name, "answers": answers}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    inputs = tmp / "in"
    inputs.mkdir()
    _profile(inputs / "a.json", "Ada Lovelace", {"safety-sabotage": 2, "fit-careful-use": 6,
                                                 "scaling-improves": 5, "understanding-humans-lead": 5})
    _profile(inputs / "b.json", "Ada Lovelace", {"safety-sabotage": 6})  # same name: a clash
    _profile(inputs / "evil.json", "../../../etc/passwd", {"scaling-improves": 5})
    (inputs / "bad.yaml").write_text("name: Bad\nanswers:\n  safety-sabotage: 8\n", encoding="utf-8")
    (inputs / "notes.txt").write_text("not a profile", encoding="utf-8")  # ignored: not a profile suffix
    out = tmp / "out"
    res = CliRunner().invoke(main, ["batch", str(inputs), "-o", str(out), "-f", "json", "-q"])
    return tmp, inputs, out, res


@pytest.mark.slow
def test_bad_input_is_reported_and_the_rest_are_produced(batch_run):
    _, inputs, out, res = batch_run
    assert res.exit_code == 2, res.output
    assert f"Error: {inputs / 'bad.yaml'}: answers.safety-sabotage: 8 is off the 1-7 scale" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [".cruxfit-batch.json", "ada-lovelace-2.json", "ada-lovelace.json",
                     "etc-passwd.json", "summary.csv", "summary.json", "summary.pdf"]


@pytest.mark.slow
def test_summary_lists_every_input_with_its_outcome(batch_run):
    _, inputs, out, _ = batch_run
    summary = json.loads((out / "summary.json").read_text())
    rows = {Path(r["source"]).name: r for r in summary["reports"]}
    assert set(rows) == {"a.json", "b.json", "evil.json", "bad.yaml"}
    assert rows["bad.yaml"]["status"] == "failed"
    assert "8 is off the 1-7 scale" in rows["bad.yaml"]["error"]
    for key in ("a.json", "b.json", "evil.json"):
        r = rows[key]
        assert r["status"] == "done" and r["converged"] is True
        assert 0 <= r["p_best"] <= r["p_top3"] <= 1
        assert r["top_alternative"]
        assert r["total"] == len(LIB.statements)
    # Enough answers on the three cruxes: a verdict; one answer: "not enough answers".
    assert rows["a.json"]["verdict"] in ("strong fit", "good fit", "mixed", "less relevant")
    assert (rows["a.json"]["answered"], rows["a.json"]["quality"]) == (4, "ok")
    for key in ("b.json", "evil.json"):
        assert rows[key]["verdict"] == "not enough answers"
        assert (rows[key]["answered"], rows[key]["quality"]) == (1, "sparse")
    # The report named in the summary holds the same verdict.
    report = json.loads((out / rows["a.json"]["outputs"][0]).read_text())
    assert report["verdict"]["label"] == rows["a.json"]["verdict"]
    assert report["verdict"]["p_best"] == rows["a.json"]["p_best"]
    # The more sceptical Ada gets a lower chance of AI-assisted alignment ranking first.
    assert rows["b.json"]["p_best"] < rows["a.json"]["p_best"]
    assert summary["meta"]["failed"] == 1 and summary["meta"]["done"] == 3
    assert summary["meta"]["render_cpu_seconds"] > 0  # three reports were written
    # summary.pdf (rendered in a render worker) is the same table: every input and outcome.
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(out / "summary.pdf").pages)
    text = " ".join(text.split())
    assert text.count("Ada Lovelace") >= 2 and "bad.yaml" in text
    assert rows["a.json"]["verdict"] in text and "1 failed" in text
    with open(out / "summary.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 4


@pytest.mark.slow
def test_rerun_skips_up_to_date_reports_and_force_redoes_them(batch_run):
    tmp, inputs, out, _ = batch_run
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json") if p.name != "summary.json"}
    res = CliRunner().invoke(main, ["batch", str(inputs), "-o", str(out), "-f", "json"])
    assert res.exit_code == 2
    assert res.stderr.count("up to date, skipped") == 3
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json") if p.name != "summary.json"}
    assert {k: v for k, v in after.items() if k != ".cruxfit-batch.json"} == \
        {k: v for k, v in before.items() if k != ".cruxfit-batch.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["meta"]["skipped"] == 3
    assert summary["meta"]["render_cpu_seconds"] == 0  # nothing was rendered
    # A skipped report keeps its row, so the summary stays complete.
    assert all(r["verdict"] for r in summary["reports"] if r["status"] == "skipped")
    # Changing one input redoes only that one.
    _profile(inputs / "a.json", "Ada Lovelace", {"safety-sabotage": 3})
    res = CliRunner().invoke(main, ["batch", str(inputs), "-o", str(out), "-f", "json"])
    assert res.stderr.count("up to date, skipped") == 2


def test_corrupt_manifest_is_ignored_not_trusted(tmp_path):
    out = tmp_path  # a folder of its own: reading the manifest needs no batch run (no sampling)
    manifest = out / ".cruxfit-batch.json"
    manifest.write_text("{not json", encoding="utf-8")
    assert load_manifest(out) == {"version": 1, "reports": {}}
    manifest.write_text(json.dumps({"version": 99, "reports": {"x": 1}}), encoding="utf-8")
    assert load_manifest(out) == {"version": 1, "reports": {}}


@pytest.mark.parametrize("name,stem", [
    ("../../../etc/passwd", "etc-passwd"),
    ("/absolute/path", "absolute-path"),
    ("..", "profile"),
    ("CON", "profile"),
    ("Zoë O'Brien <script>", "zoe-o-brien-script"),
    ("a\x00b\nc", "a-b-c"),
    ("   ", "profile"),
])
def test_output_names_cannot_escape_the_folder(name, stem):
    assert safe_stem(name, default="profile") == stem
    assert "/" not in stem and not stem.startswith(".")


def test_clashing_names_get_distinct_stable_suffixes(tmp_path):
    for i in range(3):
        _profile(tmp_path / f"p{i}.json", "Same Name", {"safety-sabotage": 4})
    _profile(tmp_path / "s.json", "Summary", {"safety-sabotage": 4})  # must not clobber summary.*
    jobs, _ = plan(LIB, [tmp_path], rows_are_applicants=False, formats=("json",), seed=0,
                   audience="grantmaker")
    assert [j.stem for j in jobs] == ["same-name", "same-name-2", "same-name-3", "summary-2"]


def test_rows_are_applicants_turns_each_csv_row_into_a_profile(tmp_path):
    (tmp_path / "form.csv").write_text("name,safety-sabotage\nAna,2\nBen,6\n", encoding="utf-8")
    jobs, _ = plan(LIB, [tmp_path / "form.csv"], rows_are_applicants=True, formats=("json",),
                   seed=0, audience="grantmaker")
    assert [(j.subject.name, j.subject.kind) for j in jobs] == [("Ana", "individual"), ("Ben", "individual")]
    jobs, _ = plan(LIB, [tmp_path / "form.csv"], rows_are_applicants=False, formats=("json",),
                   seed=0, audience="grantmaker")
    assert [(j.subject.name, j.subject.kind) for j in jobs] == [("form", "organisation")]


def test_bad_format_list_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(main, ["batch", str(ROOT / "data"), "-o", str(tmp_path), "-f", "pdf,docx"])
    assert res.exit_code == 2
    assert "'docx' is not a format; use a comma-separated list of pdf, html, json" in res.stderr

