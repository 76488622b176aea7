"""Organisations: CSV reading, pooling, disagreement and the crux to discuss first."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cruxfit.cli import main
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.library import load_library
from cruxfit.cruxes.csvinput import read_organisation
from cruxfit.models.organisation import analyse_organisation, org_to_dict
from cruxfit.cruxes.profile import Organisation, parse_profile
from cruxfit.reports.wording import add_wording

LIB = load_library()
ROOT = Path(__file__).resolve().parents[1]
IDS = [s.id for s in LIB.statements]


def write(tmp_path, text, name="team.csv", bom=False):
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return p


# ----------------------------------------------------------------- CSV reading


def test_form_export_with_bom_labels_blanks_and_extra_columns(tmp_path):
    p = write(tmp_path, "Timestamp,Name,Role,safety-sabotage,world-short-timelines,Email\n"
                        "2026-01-01,Ana,Lead,Strongly agree,70%,a@x\n"
                        "2026-01-02,Ben,,,0.2,b@x\n"
                        "2026-01-03,,,3 - Somewhat disagree,,c@x\n", bom=True)
    org = read_organisation(p, LIB)
    assert [m.name for m in org.respondents] == ["Ana", "Ben", "Respondent 3"]
    ana, ben, third = org.respondents
    assert ana.answers == {"safety-sabotage": 7, "world-short-timelines": 0.7}
    assert ana.role == "Lead" and ben.role is None
    assert ben.answers == {"world-short-timelines": 0.2}
    assert ben.unsure == ("safety-sabotage",)  # blank cell = unsure, never the midpoint
    assert third.answers == {"safety-sabotage": 3}
    assert org.warnings == (f"{p}: ignored 2 Google Forms administrative column(s): Timestamp, "
                            "Email (e-mail and IP addresses are never read)",)
    assert org.name == "team"


def test_semicolon_separated_export(tmp_path):
    p = write(tmp_path, "name;safety-sabotage;fit:ml-engineering\nAna;Agree;6\n")
    (ana,) = read_organisation(p, LIB).respondents
    assert ana.answers == {"safety-sabotage": 6}
    assert ana.fit == {"ml-engineering": 6}


def test_duplicate_names_get_suffixes_with_a_warning(tmp_path):
    p = write(tmp_path, "name,safety-sabotage\nAna,1\nAna,2\n")
    org = read_organisation(p, LIB)
    assert [m.name for m in org.respondents] == ["Ana", "Ana (2)"]
    assert any('"Ana" is used more than once' in w for w in org.warnings)


NO_STATEMENT = ("no column is a statement; name columns after the statements' ids or texts "
                "(`cruxfit questions`, `cruxfit form`): " + ", ".join(IDS) + " (plus optional name and role)")


@pytest.mark.parametrize("text,expected", [
    ("Timestamp,Email\n1,2\n", [("header", NO_STATEMENT)]),
    ("name,safety-sabotage\nAna,8\n",
     [("row 2, column safety-sabotage", "8 is off the 1-7 scale; allowed: a whole number from 1 "
       "(strongly disagree) to 7 (strongly agree), a label such as \"Strongly agree\", or blank for unsure")]),
    ("name,world-short-timelines\nAna,170%\n",
     [("row 2, column world-short-timelines",
       "1.7 is outside 0 to 1; allowed: a probability from 0 to 1 (for example 0.3), a percentage "
       "such as \"30%\", or blank for unsure")]),
    ("name,safety-sabotge\nAna,1\n",
     [("header", NO_STATEMENT + '. Close: column 2 "safety-sabotge" (did you mean "safety-sabotage"?)')]),
    ("name,safety-sabotage,safety-sabotage\nAna,1,2\n",
     [("column 3", '"safety-sabotage" is a duplicate of column 2')]),
    ("name,safety-sabotage\n", [("", "has a header but no respondents")]),
    ("name,safety-sabotage\nAna,1,extra\n",
     [("row 2", "has 3 cells but the header has 2; check the quoting and the delimiter of this row")]),
])
def test_bad_csv_gives_precise_problems(tmp_path, text, expected):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_organisation(p, LIB)
    assert [(pr.field, pr.message) for pr in info.value.problems] == expected
    assert all(pr.file == str(p) for pr in info.value.problems)


def test_csv_with_no_statement_columns_exits_2_listing_expected_ids(tmp_path):
    p = write(tmp_path, "Timestamp,Email\n1,2\n")
    res = CliRunner().invoke(main, ["report", str(p), "-f", "json", "-o", str(tmp_path / "o.json")])
    assert res.exit_code == 2
    assert "no column is a statement" in res.stderr
    assert "safety-sabotage" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert not (tmp_path / "o.json").exists()


def test_organisation_yaml_round_trips(tmp_path):
    data = {"name": "Lab", "kind": "organisation", "overrides": {
        "governance": {"tractability": "Low", "reason": "slow"}},
        "respondents": [{"name": "A", "role": "CEO", "answers": {"safety-sabotage": 2}},
                        {"name": "B", "answers": {"world-short-timelines": 0.4}}]}
    org = parse_profile(data, LIB)
    assert isinstance(org, Organisation)
    assert [m.name for m in org.respondents] == ["A", "B"]
    assert org.respondents[0].role == "CEO"
    again = parse_profile(org.to_data(), LIB)
    assert again.respondents == org.respondents
    assert again.overrides == org.overrides


# ----------------------------------------------------------------- pooling and disagreement


def _team(split_on_safety: bool, n=6):
    """Members who agree on everything; optionally split into two camps on safety."""
    members = []
    for i in range(n):
        answers = {sid: 4 for sid in IDS if LIB.statement(sid).scale == "agree7"}
        answers.update({"world-alignment-hard": 0.5, "world-short-timelines": 0.5})
        if split_on_safety:
            camp = i % 2
            for st in LIB.statements:
                if st.loads[0].variable == "safety" and len(st.loads) == 1:
                    answers[st.id] = (7 if camp else 1) if st.loads[0].sign > 0 else (1 if camp else 7)
        members.append({"name": f"M{i}", "answers": answers})
    return parse_profile({"name": "T", "kind": "organisation", "respondents": members}, LIB)


@pytest.fixture(scope="module")
def split_team():
    oa = analyse_organisation(LIB, _team(True), seed=1)
    return oa, org_to_dict(oa)


@pytest.mark.slow
def test_split_team_is_flagged_on_the_variable_it_splits_on(split_team):
    oa, res = split_team
    assert oa.converged, res["diagnostics"]
    assert res["discuss_first"]["variable"] == "safety"
    spread = {r["variable"]: r["spread"] for r in res["disagreement"]}
    others = [v for k, v in spread.items() if k != "safety"]
    assert spread["safety"] > 3 * max(others)
    first = res["discuss_first"]["ranking"][0]
    assert set(first["below"]) == {"M0", "M2", "M4"} and set(first["above"]) == {"M1", "M3", "M5"}


@pytest.mark.slow
def test_unanimous_variables_show_near_zero_spread(split_team):
    _, res = split_team
    for row in res["disagreement"]:
        if row["variable"] != "safety":
            lo, hi = row["member_range"]
            assert hi - lo < 0.05, row  # members' credences coincide
            assert row["spread"] < 0.45, row  # and the pooled spread is small


@pytest.mark.slow
def test_organisation_json_has_members_and_verdicts(split_team):
    _, res = split_team
    assert len(res["members"]) == 6
    verdicts = {m["name"]: m["verdict"] for m in res["members"]}
    # The two camps get different verdicts; the sceptical camp finds it less relevant.
    assert verdicts["M0"] == "less relevant"
    assert verdicts["M1"] in ("strong fit", "good fit")
    assert res["verdict"]["label"] in ("strong fit", "good fit", "mixed", "less relevant")
    differing = [m for m in res["members"] if m["differs"]]
    assert differing and all(m["why"]["main"][0]["variable"] == "safety" for m in differing)


@pytest.mark.slow
def test_discuss_first_why_is_a_code_worded_from_the_top_row(split_team):
    _, res = split_team
    df = res["discuss_first"]
    assert df["why"] == {"code": "verdict-changes" if df["ranking"][0]["verdict_changes"]
                         else "largest-move"}
    worded = add_wording({"discuss_first": dict(df)})["discuss_first"]["why"]
    top = df["ranking"][0]
    assert worded.startswith(f"Members' credence in \"{top['name']}\" ranges from "
                             f"{top['low']['credence']:.2f} ({top['low']['member']})")
    assert f"moves by {top['impact']:.2f} value points" in worded


def _simulate_safety_answers(rng, theta):
    from scipy.special import expit, logit

    s = LIB.settings
    cuts = np.array(s.cutpoints)
    answers = {}
    for st in LIB.statements:
        if len(st.loads) != 1 or st.scale != "agree7" or st.loads[0].variable != "safety":
            continue
        x = st.loads[0].sign * logit(theta)
        cdf = np.concatenate([[0.0], expit(cuts - s.discrimination * x), [1.0]])
        answers[st.id] = int(rng.choice(7, p=np.diff(cdf))) + 1
    return answers


@pytest.mark.slow
def test_pooling_recovers_a_known_organisation_mean():
    """Members simulated around a known organisation credence: the pooled estimate finds it."""
    from scipy.special import expit, logit

    from cruxfit.models.decision import hdi

    rng = np.random.default_rng(7)
    true_mu, true_tau = logit(0.75), 0.4
    members = [{"name": f"M{i}", "answers": _simulate_safety_answers(
        rng, expit(true_mu + true_tau * rng.standard_normal()))} for i in range(25)]
    org = parse_profile({"name": "Sim", "kind": "organisation", "respondents": members}, LIB)
    oa = analyse_organisation(LIB, org, seed=3)
    assert oa.converged, oa.org.diagnostics
    j = LIB.variable_ids.index("safety")
    est = oa.posterior.org_theta[:, j]
    lo, hi = hdi(est)
    assert lo < 0.75 < hi
    assert abs(est.mean() - 0.75) < 0.08
    # A variable nobody answered stays at its prior mean (pooling invents nothing).
    k = LIB.variable_ids.index("coordination")
    assert abs(oa.posterior.org_theta[:, k].mean() - LIB.variable("coordination").prior.mean) < 0.05
