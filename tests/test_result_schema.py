"""The declared result (models/result.py) and its published JSON Schema (`cruxfit schema --report`).

Fresh results come from the real pipeline functions (``run_analysis``, ``run_org_analysis``,
``run_compare``) with Beta draws standing in for the sampler, so nothing here samples: the
shape is the pipeline's own, only the numbers are made up. The stored fixtures in
``tests/golden/`` (real runs) must fit the same schema, and broken copies must not.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pydantic import ValidationError

import cruxfit.models.organisation as organisation
import cruxfit.pipeline.run as run
from cruxfit.cli import main
from cruxfit.cruxes.profile import Profile, load_profile
from cruxfit.models.analysis import SCHEMA_VERSION, evaluate
from cruxfit.models.inference import Diagnostics, Posterior
from cruxfit.models.result import checked, report_json_schema
from cruxfit.models.values import RATING_DIMS
from cruxfit.reports.jsonout import to_json

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FIXTURES = sorted([*GOLDEN.glob("*_result.json"), *GOLDEN.glob("editions_*.json")])
DRAWS = 400


# ----------------------------------------------------------------------------- stand-ins
def _diagnostics(reasons=(), r_hat=1.003) -> dict:
    return Diagnostics(r_hat_max=r_hat, ess_bulk_min=850.0, ess_tail_min=700.0, divergences=0,
                       chains=2, draws=DRAWS // 2, tune=200, target_accept=0.8,
                       reasons=list(reasons),
                       criteria={"r_hat_max": 1.01, "ess_bulk_min": 400.0,
                                 "ess_tail_min": 400.0, "divergences_max": 0}).to_dict()


def _beta_draws(rng, shape_lead, k):
    means = rng.uniform(0.3, 0.7, k)
    return rng.beta(means * 8, (1 - means) * 8, size=(*shape_lead, k))


def _stand_in(diag: dict):
    """Replacements for analyse / analyse_organisation that draw instead of sampling."""

    def analyse(library, profile, seed, say=None, **kwargs):
        theta = _beta_draws(np.random.default_rng(seed + 7), (DRAWS,), len(library.variables))
        a = evaluate(library, profile, seed, theta, None, dict(diag))
        a.seconds = {"sample": 0.0, "evaluate": 0.0, "total": 0.0}
        return a

    def analyse_organisation(library, org, seed, say=None, **kwargs):
        rng = np.random.default_rng(seed + 11)
        k, n_members = len(library.variables), len(org.respondents)
        # Members far apart, so that some members' verdicts differ from the organisation's.
        means = rng.uniform(0.1, 0.9, (n_members, k))
        theta = rng.beta(means * 8, (1 - means) * 8, size=(DRAWS, n_members, k))
        org_theta = theta.mean(axis=1)
        tau = rng.gamma(4.0, 0.1, size=(DRAWS, k))
        org_an = evaluate(library, organisation._org_profile(org), seed, org_theta, None, dict(diag))
        org_an.pooled_answers = [dict(m.answers) for m in org.respondents]
        members = [
            evaluate(library, Profile(name=m.name, kind="individual", answers=m.answers,
                                      unsure=m.unsure, notes=m.notes, overrides=org.overrides,
                                      fit=m.fit, source=m.source, sha256=m.sha256, role=m.role),
                     seed, theta[:, r, :], None, dict(diag))
            for r, m in enumerate(org.respondents)
        ]
        post = Posterior(theta, None, None, None, {}, org_theta=org_theta, tau=tau)
        return organisation.OrgAnalysis(org, org_an, members, post, {"total": 0.0})

    return analyse, analyse_organisation


@pytest.fixture(scope="module")
def no_sampler():
    """Make the pipeline draw instead of sample; yields a function to change diagnostics.

    The value of information (most of a stand-in run's time) is computed for real by the
    first run only; later runs reuse it, so that the module stays fast. Its shape is what
    is checked here, and that does not depend on the profile.
    """
    import cruxfit.models.voi as voi

    mp = pytest.MonkeyPatch()
    real, first = voi.voi_summary, {}

    def voi_once(analysis, *args, **kwargs):
        if not first:
            first["voi"] = real(analysis, *args, **kwargs)
        return copy.deepcopy(first["voi"])

    def use(diag: dict) -> None:
        analyse, analyse_org = _stand_in(diag)
        mp.setattr(run, "analyse", analyse)
        mp.setattr(run, "analyse_organisation", analyse_org)  # run imports it by name

    mp.setattr(voi, "voi_summary", voi_once)
    use(_diagnostics())
    yield use
    mp.undo()


@pytest.fixture(scope="module")
def schema() -> dict:
    return report_json_schema()


@pytest.fixture(scope="module")
def validator(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _fits(validator, data) -> None:
    errors = list(validator.iter_errors(json.loads(to_json(data))))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        pytest.fail(f"{len(errors)} schema error(s), e.g. at {list(best.absolute_path)}: "
                    f"{best.message[:300]}")
    checked(data)


def _fails(validator, data) -> None:
    with pytest.raises(ValidationError):
        checked(data)
    assert not validator.is_valid(json.loads(to_json(data)))


# ----------------------------------------------------------------------------- fresh results
def test_fresh_individual_result_fits_the_schema(library, no_sampler, validator):
    profile = load_profile(ROOT / "data" / "example.yaml", library)
    result, _ = run.run_analysis(library, profile, 0)
    assert result["schema_version"] == SCHEMA_VERSION == 2
    assert result["verdict"]["status"] == "verdict"
    _fits(validator, result)


def test_fresh_organisation_result_fits_the_schema(library, no_sampler, validator):
    org = load_profile(GOLDEN / "org_team.yaml", library)
    result, _ = run.run_org_analysis(library, org, 0)
    assert result["profile"]["kind"] == "organisation"
    assert any(m["differs"] for m in result["members"])  # so that "why" is checked too
    _fits(validator, result)


def test_fresh_comparison_fits_the_schema(library, no_sampler, validator):
    a = load_profile(ROOT / "data" / "mixed.yaml", library)
    b = load_profile(GOLDEN / "org_team.yaml", library)
    result = run.run_compare(library, a, b, 0)
    assert result["results"]["b"]["profile"]["kind"] == "organisation"
    _fits(validator, result)


def test_not_enough_answers_fits_the_schema(library, no_sampler, validator):
    profile = load_profile(ROOT / "data" / "example.yaml", library)
    few = dataclasses.replace(profile, answers=dict(list(profile.answers.items())[:1]),
                              unsure=(), fit={})
    result, _ = run.run_analysis(library, few, 0)
    assert result["verdict"]["status"] == "not-enough-answers"
    _fits(validator, result)


def test_unconverged_run_with_nan_diagnostics_fits_the_schema(library, no_sampler, validator):
    # A chain stuck on one value gives NaN R-hat: NaN in Python, null in the JSON file.
    no_sampler(_diagnostics(reasons=[{"code": "r-hat", "value": math.nan, "limit": 1.01}],
                            r_hat=math.nan))
    try:
        profile = load_profile(ROOT / "data" / "sceptical.yaml", library)
        result, _ = run.run_analysis(library, profile, 0)
    finally:
        no_sampler(_diagnostics())
    assert result["verdict"]["status"] == "not-converged"
    assert result["diagnostics"]["reasons"] == ["R-hat nan is above 1.01 (chains disagree)"]
    assert math.isnan(result["diagnostics"]["r_hat_max"])
    assert json.loads(to_json(result))["diagnostics"]["r_hat_max"] is None
    _fits(validator, result)


def test_the_pipeline_refuses_a_result_that_breaks_the_schema(library, no_sampler, monkeypatch):
    profile = load_profile(ROOT / "data" / "example.yaml", library)
    real = run.deciding_beliefs

    def broken(result, *args, **kwargs):
        real(result, *args, **kwargs)
        result["verdict"]["p_best"] = 1.3

    monkeypatch.setattr(run, "deciding_beliefs", broken)
    with pytest.raises(ValidationError, match=r"verdict\.p_best"):
        run.run_analysis(library, profile, 0)


def test_checked_returns_the_same_object_unchanged():
    result = json.loads((GOLDEN / "example_result.json").read_text(encoding="utf-8"))
    before = copy.deepcopy(result)
    assert checked(result) is result
    assert result == before


# ----------------------------------------------------------------------------- stored fixtures
def test_there_are_fixtures_to_check():
    names = {p.name for p in FIXTURES}
    assert {"example_result.json", "org_result.json", "org60_result.json",
            "compare_result.json", "editions_example.json"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_stored_fixture_fits_the_schema(path, validator):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data.get("schema_version", data.get("results", {}).get("a", {}).get("schema_version")) \
        == SCHEMA_VERSION
    _fits(validator, data)


# ----------------------------------------------------------------------------- broken results
def _set(path: str, value):
    def edit(r: dict) -> None:
        *parents, last = path.split(".")
        node = r
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return edit


def _delete(path: str):
    def edit(r: dict) -> None:
        *parents, last = path.split(".")
        node = r
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]
    return edit


BROKEN = {
    "probability above 1": _set("verdict.p_best", 1.3),
    "negative probability": _set("approaches.0.p_top3", -0.01),
    "credence above 1": _set("beliefs.0.posterior_mean", 1.0001),
    "number as text": _set("verdict.margin", "0.42"),
    "list as text": _set("beliefs.0.hdi_90", "0.1-0.9"),
    "interval of three": _set("beliefs.0.hdi_90", [0.1, 0.5, 0.9]),
    "bool as text": _set("diagnostics.converged", "yes"),
    "unknown verdict status": _set("verdict.status", "maybe"),
    "older schema version": _set("schema_version", 1),
    "missing verdict": _delete("verdict"),
    "missing p_best": _delete("verdict.p_best"),
    "missing whatif": _delete("whatif"),
    "extra top-level key": _set("surprise", 1),
    "extra nested key": _set("approaches.0.colour", "red"),
    "extra key in a switch": _set("switching_values.0.typo", None),
    "unknown rating dimension": _set("approaches.0.overridden", {"beauty": {
        "from": "Low", "to": "High", "reason": "x"}}),
    "organisation keys on an individual": _set("members", []),
}


@pytest.fixture(scope="module")
def individual() -> dict:
    return json.loads((GOLDEN / "example_result.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_result_is_refused(name, individual, validator):
    r = copy.deepcopy(individual)
    BROKEN[name](r)
    _fails(validator, r)


def test_broken_nested_result_in_a_comparison_is_refused(validator):
    compare = json.loads((GOLDEN / "compare_result.json").read_text(encoding="utf-8"))
    _fits(validator, compare)
    r = copy.deepcopy(compare)
    r["results"]["b"]["verdict"]["p_top3"] = 1.3
    _fails(validator, r)
    r = copy.deepcopy(compare)
    del r["results"]["a"]["profile"]["kind"]  # neither an individual nor an organisation
    _fails(validator, r)


def test_organisation_keys_are_required_of_an_organisation(validator):
    org = json.loads((GOLDEN / "org_result.json").read_text(encoding="utf-8"))
    for key in ("members", "disagreement", "discuss_first"):
        r = copy.deepcopy(org)
        del r[key]
        _fails(validator, r)


def test_why_is_given_exactly_when_a_member_differs(validator):
    org = json.loads((GOLDEN / "org_result.json").read_text(encoding="utf-8"))
    differs = next(i for i, m in enumerate(org["members"]) if m["differs"])
    same = next(i for i, m in enumerate(org["members"]) if not m["differs"])
    r = copy.deepcopy(org)
    del r["members"][differs]["why"]
    _fails(validator, r)
    r = copy.deepcopy(org)
    r["members"][same]["why"] = org["members"][differs]["why"]
    _fails(validator, r)


def test_rating_dimensions_match_the_value_model(schema):
    defs = schema["$defs"]
    assert list(defs["RatingLevels"]["properties"]) == list(RATING_DIMS)
    assert list(defs["RatingsUsed"]["properties"]) == list(RATING_DIMS)


# ----------------------------------------------------------------------------- the command
def test_schema_report_prints_the_published_schema(runner, schema):
    result = runner.invoke(main, ["schema", "--report"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed.pop("title") == "cruxfit analysis result"
    assert printed.pop("description").startswith(f"schema_version {SCHEMA_VERSION}:")
    assert printed == schema  # the declared shape, with a title and a description in words
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_plain_schema_still_prints_the_profile_schema(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["title"] == "cruxfit belief profile"


def test_schema_report_does_not_load_the_sampler():
    heavy = ("pymc", "pytensor", "arviz", "weasyprint", "matplotlib")
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from cruxfit.cli import main\n"
        "result = CliRunner().invoke(main, ['schema', '--report'])\n"
        "assert result.exit_code == 0, result.output\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
