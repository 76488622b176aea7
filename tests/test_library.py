"""The bundled crux library loads, says what the seed page says, and bad libraries are refused.

Each broken-library case breaks one or two files of a copy of the bundled library and checks
the exact problem lines: file, key and message, all reported at once.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from cruxfit.cruxes.errors import LibraryError
from cruxfit.cruxes.library import LEVELS, load_library

# --------------------------------------------------------------------------- the bundled library

#: ../shared/approaches-ratings.md, row by row:
#: slug: (tractability, value if hard, value if easy, neglectedness, crux topics)
RATINGS = {
    "ai-assisted": ("High", "Medium", "High", "Low",
                    ["safety of using AI helpers", "scaling", "loss of human understanding"]),
    "rlhf": ("High", "Low", "High", "Low",
             ["scales to superhuman systems", "genuine vs surface alignment",
              "sycophancy and reward gaming"]),
    "scalable-oversight": ("Medium", "High", "Medium", "Medium",
                           ["does debate work", "do humans stay meaningful",
                            "solves alignment or only defers it"]),
    "evals": ("High", "Medium", "High", "Low",
              ["catches what matters", "deceptive systems vs evals", "standards and adoption"]),
    "interpretability": ("Medium", "High", "Low", "Medium",
                         ["will it scale", "can it detect deception", "is completeness needed"]),
    "corrigibility": ("Low", "High", "Low", "High",
                      ["coherent concept", "achievable", "sufficient"]),
    "agent-foundations": ("Low", "High", "Low", "High",
                          ["tractable", "theory transfers to practice", "timelines"]),
    "multi-agent": ("Medium", "High", "Medium", "High",
                    ["multi-agent future is the default", "safe coordination can be designed",
                     "single-agent results transfer"]),
    "lab-culture": ("Medium", "High", "High", "Medium",
                    ["labs self-regulate", "inside positions help", "coordination between labs"]),
    "governance": ("Medium", "High", "High", "Medium",
                   ["policy keeps pace", "good policy gets adopted", "addresses the root cause"]),
    "compute-governance": ("Medium", "High", "Medium", "Medium",
                           ["compute stays a durable control point", "monitoring is feasible",
                            "control is desirable"]),
    "international": ("Low", "High", "Medium", "Medium",
                      ["great-power cooperation possible", "which form", "is it wanted"]),
    "pause": ("Low", "High", "Low", "Medium", ["feasible", "desirable", "who benefits"]),
    "open-source": ("High", "Unclear", "Positive", "Medium",
                    ["net effect on safety", "capability threshold", "compute vs weights"]),
}


def test_bundled_library_loads(library):
    assert library.sha256 and len(library.sha256) == 64
    assert load_library() is library  # cached: loading twice does not re-read the files


def test_approach_counts(library):
    assert len(library.approaches) == 14
    assert [a.slug for a in library.ranked] == [s for s in RATINGS if s != "open-source"]
    assert [a.slug for a in library.unranked] == ["open-source"]
    (open_source,) = library.unranked
    assert open_source.unranked_reason and "Unclear" in open_source.unranked_reason
    assert all(a.unranked_reason is None for a in library.ranked)


@pytest.mark.parametrize("slug", list(RATINGS))
def test_ratings_match_the_source_table(library, slug):
    tractability, hard, easy, neglectedness, topics = RATINGS[slug]
    approach = library.approach(slug)
    assert dict(approach.ratings) == {
        "tractability": tractability, "hard": hard, "easy": easy, "neglectedness": neglectedness,
    }
    assert list(approach.crux_topics) == topics


def test_ranked_ratings_are_on_the_scale(library):
    for approach in library.ranked:
        assert set(approach.ratings.values()) <= set(LEVELS), approach.slug


def test_variables(library):
    ids = set(library.variable_ids)
    assert {"safety", "scaling", "understanding", "alignment-hard", "short-timelines"} <= ids
    assert len(ids) == len(library.variables)
    for v in library.variables:
        assert 0 < v.prior.mean < 1 and v.prior.strength > 0, v.id


def test_statement_ids_are_unique_and_load_on_known_variables(library):
    assert len(set(library.statement_ids)) == len(library.statements)
    for s in library.statements:
        assert s.variable in library.variable_ids
        assert all(ld.variable in library.variable_ids for ld in s.loads)
        assert sum(ld.weight for ld in s.loads) == pytest.approx(1.0)


def test_seed_cruxes_have_nine_considerations_on_existing_statements(library):
    seed = library.seed
    assert seed.approach == "ai-assisted"
    assert [c.id for c in seed.cruxes] == ["safety", "scaling", "understanding"]
    considerations = [(c, k) for c in seed.cruxes for k in c.considerations]
    assert len(considerations) == 9
    for crux, k in considerations:
        statement = library.statement(k.statement)  # KeyError if it does not exist
        # A consideration is evidence about its own crux.
        assert crux.variable in {ld.variable for ld in statement.loads}, k.statement
    assert len({k.statement for _, k in considerations}) == 9


def test_seed_fit_beliefs(library):
    seed = library.seed
    assert len(seed.good_fit) == 4
    assert len(seed.less_relevant) == 3
    for belief in (*seed.good_fit, *seed.less_relevant):
        assert belief.statement in library.statement_ids, belief.text
        assert belief.variable in library.variable_ids


@pytest.mark.parametrize("group", ["good_fit", "less_relevant"])
def test_fit_statements_load_with_the_sign_of_holds(library, group):
    """holds: true -> agreeing raises the credence in the variable (sign +1); false -> -1."""
    for belief in getattr(library.seed, group):
        statement = library.statement(belief.statement)
        signs = {ld.variable: ld.sign for ld in statement.loads}
        assert belief.variable in signs, belief.statement
        assert signs[belief.variable] == (1 if belief.holds else -1), belief.statement
        # Agreeing with a good-fit belief favours the approach; a less-relevant one disfavours it.
        assert statement.favours == (1 if group == "good_fit" else -1), belief.statement


# --------------------------------------------------------------------------- broken libraries


def _load_yaml(folder: Path, name: str) -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def _save_yaml(folder: Path, name: str, data: Any) -> None:
    (folder / name).write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                               encoding="utf-8")


def data_edit(name: str, change: Callable[[Any], None]) -> Callable[[Path], None]:
    """Change one library file as data (it is rewritten without its comments)."""

    def apply(folder: Path) -> None:
        data = _load_yaml(folder, name)
        change(data)
        _save_yaml(folder, name, data)

    return apply


def text_edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    """Replace text that occurs exactly once in one library file."""

    def apply(folder: Path) -> None:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    return apply


def _find(items: list[dict], key: str, value: str) -> dict:
    return next(it for it in items if it.get(key) == value)


def _statement(sid: str) -> Callable[[dict], dict]:
    return lambda d: _find(d["statements"], "id", sid)


def _approach(slug: str) -> Callable[[dict], dict]:
    return lambda d: _find(d["approaches"], "slug", slug)


def _set(get: Callable[[Any], dict], key: str, value: Any) -> Callable[[Any], None]:
    return lambda d: get(d).__setitem__(key, value)


def _misspell_safety(statements: dict) -> None:
    _statement("safety-sabotage")(statements)["loads"][0]["variable"] = "safty"


def _line_of(folder: Path, name: str, text: str) -> int:
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# Each case: edits to the copied library, and the expected problems as
# (file relative to the library folder, key, message). "{line}" in a key is filled in with
# the line of the broken text, found in the edited file.
BROKEN = {
    "unknown variable in a statement": (
        [data_edit("statements.yaml", _misspell_safety)],
        [("statements.yaml", "statements[1].loads[0].variable",
          '"safty" is not a known variable (did you mean "safety"?)')],
    ),
    "duplicate statement id": (
        [data_edit("statements.yaml",
                   lambda d: d["statements"].insert(1, copy.deepcopy(d["statements"][0])))],
        [("statements.yaml", "statements[1].id",
          'duplicate statement id "safety-aligned-enough" (first defined at statements[0].id)')],
    ),
    "duplicate approach slug": (
        [data_edit("approaches.yaml",
                   lambda d: d["approaches"].insert(2, copy.deepcopy(_approach("rlhf")(d))))],
        [("approaches.yaml", "approaches[2].slug",
          'duplicate approach slug "rlhf" (first defined at approaches[1].slug)')],
    ),
    "rating off the scale": (
        [data_edit("approaches.yaml",
                   lambda d: _approach("rlhf")(d)["ratings"].__setitem__("tractability", "Hgh"))],
        [("approaches.yaml", "approaches[1].ratings.tractability",
          '"Hgh" is off the rating scale (did you mean "High"?); allowed: "Low", "Medium" or '
          '"High" (or set ranked: false with a reason)')],
    ),
    "missing field": (
        [data_edit("approaches.yaml", lambda d: _approach("rlhf")(d).pop("summary"))],
        [("approaches.yaml", "approaches[1].summary", "is missing; it must be text")],
    ),
    "missing statement text": (
        [data_edit("statements.yaml", lambda d: _statement("safety-sabotage")(d).pop("text"))],
        [("statements.yaml", "statements[1].text", "is missing; it must be text")],
    ),
    "tilt on alignment-hard": (
        [data_edit("approaches.yaml",
                   lambda d: _approach("rlhf")(d).setdefault("also", {}).__setitem__("alignment-hard", 0.2))],
        [("approaches.yaml", "approaches[1].also.alignment-hard",
          '"alignment-hard" cannot move an approach here: it already weighs the hard and easy ratings')],
    ),
    "cross-cutting tilt out of range": (
        [data_edit("approaches.yaml",
                   lambda d: _approach("rlhf")(d).setdefault("also", {}).__setitem__("coordination", 0.5))],
        [("approaches.yaml", "approaches[1].also.coordination",
          "0.5 is not allowed; a cross-cutting tilt is non-zero and at most 0.25 in size")],
    ),
    "crux tilt beyond the band without a harm": (
        [data_edit("approaches.yaml",
                   lambda d: _approach("rlhf")(d)["cruxes"][0].__setitem__("tilt", 1.2))],
        [("approaches.yaml", "approaches[1].cruxes[0].tilt",
          "1.2 is not allowed; a crux tilt is non-zero and at most 0.6 in size (a larger one "
          "needs `harm:` saying where the page says the work does harm)")],
    ),
    "variable used twice in one approach": (
        [data_edit("approaches.yaml",
                   lambda d: _approach("rlhf")(d).setdefault("also", {}).__setitem__("oversight-scales", 0.2))],
        [("approaches.yaml", "approaches[1].cruxes",
          '"oversight-scales" is used twice (in cruxes or also); a variable may enter an '
          "approach once")],
    ),
    "ranked approach without cruxes": (
        [data_edit("approaches.yaml", lambda d: _approach("rlhf")(d).pop("cruxes"))],
        [("approaches.yaml", "approaches[1].cruxes",
          "is missing; every ranked approach needs the cruxes of its own page, each mapped "
          "onto a belief variable")],
    ),
    "beliefs reach beyond the band": (
        [data_edit("model.yaml", lambda d: d["bands"].__setitem__("max_gain", 6.0))],
        [("approaches.yaml", "approaches[0].cruxes",
          "beliefs could raise this approach's value to 6.40 times its typical value; the "
          "limit (bands.max_gain in model.yaml) is 6")],
    ),
    "verdict rule without a place by expected value": (
        [data_edit("model.yaml", lambda d: d["verdicts"][1].pop("ev_rank_max"))],
        [("model.yaml", "verdicts[1]",
          "needs ev_rank_max: every verdict but the last follows the ranking by expected "
          "value, so that it never rests on spread alone")],
    ),
    "cutpoints not increasing": (
        [data_edit("model.yaml", lambda d: d["likelihood"]["agree7"].__setitem__(
            "cutpoints", [-2.5, -1.5, 0.5, -0.5, 1.5, 2.5]))],
        [("model.yaml", "likelihood.agree7.cutpoints",
          "must be six increasing numbers (one between each pair of neighbouring answers on "
          "the 1-7 scale)")],
    ),
    "last verdict has minimums": (
        [data_edit("model.yaml", lambda d: d["verdicts"][-1].__setitem__("p_top3_min", 0.05))],
        [("model.yaml", "verdicts",
          "the last verdict must have no minimums, so that every result gets a verdict")],
    ),
    "unknown key": (
        [data_edit("statements.yaml", _set(_statement("safety-sabotage"), "favors", 1))],
        [("statements.yaml", "statements[1].favors",
          'is not a known key (did you mean "favours"?); allowed: "id", "text", "scale", '
          '"loads" or "favours"')],
    ),
    "seed crux points to an unknown statement": (
        [data_edit("seed.yaml", lambda d: d["cruxes"][0]["considerations"][1].__setitem__(
            "statement", "safety-sabotag"))],
        [("seed.yaml", "cruxes[0].considerations[1].statement",
          '"safety-sabotag" is not a known statement (did you mean "safety-sabotage"?)')],
    ),
    "YAML syntax error": (
        [text_edit("approaches.yaml", "  - slug: rlhf\n", "  - slug: rlhf: oops\n")],
        [("approaches.yaml", "line {line}",
          "not valid YAML: mapping values are not allowed here")],
    ),
    "missing library file": (
        [lambda folder: (folder / "seed.yaml").unlink()],
        [("seed.yaml", "", "no such file")],
    ),
    "two mistakes in two files": (
        [data_edit("statements.yaml",
                   _misspell_safety),
         data_edit("model.yaml", lambda d: d["sampling"].__setitem__("chains", 1))],
        [("statements.yaml", "statements[1].loads[0].variable",
          '"safty" is not a known variable (did you mean "safety"?)'),
         ("model.yaml", "sampling.chains",
          "1 is too small; at least 2 (R-hat needs two chains or more)")],
    ),
    "YAML errors in two files": (
        [text_edit("approaches.yaml", "  - slug: rlhf\n", "  - slug: rlhf: oops\n"),
         data_edit("model.yaml", lambda d: d["sampling"].__setitem__("chains", "two")),
         text_edit("variables.yaml", "  - id: scaling\n", "  - id: scaling\n    id: again\n")],
        [("variables.yaml", "line {line}", 'not valid YAML: the key "id" appears twice'),
         ("approaches.yaml", "line {line}", "not valid YAML: mapping values are not allowed here")],
    ),
}

#: Where "{line}" points, per file: the text the edit put there.
_BROKEN_LINES = {"approaches.yaml": "slug: rlhf: oops", "variables.yaml": "id: again"}


@pytest.mark.parametrize("edits, expected", list(BROKEN.values()), ids=list(BROKEN))
def test_broken_library_reports_exact_problems(tmp_library, edits, expected):
    for edit in edits:
        edit(tmp_library)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_library)
    want = []
    for name, key, message in expected:
        if "{line}" in key:
            key = key.format(line=_line_of(tmp_library, name, _BROKEN_LINES[name]))
        where = f"{tmp_library / name}: {key}" if key else str(tmp_library / name)
        want.append(f"{where}: {message}")
    assert [str(p) for p in info.value.problems] == want
    assert info.value.exit_code == 2


def test_unchanged_copy_loads(tmp_library, library):
    """The copy itself is valid, so every failure above comes from its edits."""
    copied = load_library(tmp_library)
    assert copied.statement_ids == library.statement_ids
    assert copied.sha256 == library.sha256


def test_round_tripped_copy_loads(tmp_library):
    """Rewriting every file as data (as the edits do) keeps the library valid."""
    for name in ("variables.yaml", "statements.yaml", "approaches.yaml", "seed.yaml", "model.yaml"):
        _save_yaml(tmp_library, name, _load_yaml(tmp_library, name))
    load_library(tmp_library)


def test_library_folder_that_does_not_exist(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(LibraryError) as info:
        load_library(missing)
    assert [str(p) for p in info.value.problems] == [
        f"{missing}: is not a folder holding a crux library"
    ]


def test_implicit_dates_stay_text(tmp_library):
    """A date-like value (even an impossible one) is read as text, not a crash."""
    data_text = (tmp_library / "variables.yaml").read_text(encoding="utf-8")
    (tmp_library / "variables.yaml").write_text(
        data_text.replace("name: AI helpers are safe to use", "name: 2020-13-45"), encoding="utf-8"
    )
    assert load_library(tmp_library).variable("safety").name == "2020-13-45"


# --------------------------------------------------------------------------- many problems at once

#: One mistake in each of five files, and two in one record: every line, in file order.
MANY = [
    data_edit("variables.yaml", lambda d: d["variables"][0]["prior"].__setitem__("mean", 1.5)),
    data_edit("statements.yaml", _set(_statement("safety-sabotage"), "favours", 2)),
    data_edit("approaches.yaml", lambda d: _approach("rlhf")(d)["ratings"].pop("easy")),
    data_edit("approaches.yaml", _set(_approach("evals"), "sumary", "x")),
    data_edit("seed.yaml", lambda d: d["cruxes"][1].__setitem__("variable", "scalling")),
    data_edit("fit.yaml", lambda d: d["items"][0]["weights"].__setitem__("rhlf", 0.2)),
    data_edit("model.yaml", lambda d: d["sampling"].__setitem__("target_accept", "high")),
]
MANY_LINES = [
    ("variables.yaml", "variables[0].prior.mean",
     "1.5 is outside (0, 1); a prior credence must be strictly between 0 and 1"),
    ("statements.yaml", "statements[1].favours", "2 is not allowed; use 1 or -1"),
    ("approaches.yaml", "approaches[1].ratings.easy", "is missing; it must be text"),
    ("approaches.yaml", "approaches[3].sumary",
     'is not a known key (did you mean "summary"?); allowed: "slug", "name", "summary", '
     '"ratings", "crux_topics", "cruxes", "also", "ranked", "unranked_reason" or "good_fit"'),
    ("seed.yaml", "cruxes[1].variable", '"scalling" is not a known variable (did you mean "scaling"?)'),
    ("model.yaml", "sampling.target_accept", 'must be a number, not the text "high"'),
    ("fit.yaml", "items[0].weights.rhlf", '"rhlf" is not a known approach (did you mean "rlhf"?)'),
]


def _lines(folder: Path, expected) -> list[str]:
    return [f"{folder / name}: {key}: {message}" for name, key, message in expected]


def test_problems_in_many_files_are_reported_together(tmp_library):
    for edit in MANY:
        edit(tmp_library)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_library)
    assert [str(p) for p in info.value.problems] == _lines(tmp_library, MANY_LINES)


def test_cli_lists_every_library_problem_and_exits_2(tmp_library):
    from click.testing import CliRunner

    from cruxfit.cli import main

    for edit in MANY:
        edit(tmp_library)
    result = CliRunner().invoke(main, ["--library", str(tmp_library), "validate",
                                       str(Path(__file__).parent.parent / "data" / "example.yaml")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: {line}" for line in _lines(tmp_library, MANY_LINES)]
    assert "Traceback" not in result.output


# Checks that read several fields or items run only on those that are valid on their own, so
# a mistake is reported once rather than with the lines it would cause (the reader before
# the pydantic models added the second line of each of these).
ONE_LINE = {
    "cruxes not a list": (
        data_edit("approaches.yaml", _set(_approach("rlhf"), "cruxes", "oops")),
        ("approaches.yaml", "approaches[1].cruxes", 'must be a list, not the text "oops"'),
    ),
    "a broken verdict hides no other verdict check": (
        data_edit("model.yaml", lambda d: d["verdicts"][-1].pop("meaning")),
        ("model.yaml", "verdicts[3].meaning", "is missing; it must be text"),
    ),
    "a broken loading does not unbalance the weights": (
        data_edit("statements.yaml", lambda d: _find(d["statements"], "id", "safety-sabotage")[
            "loads"].extend([{"variable": "scaling", "sign": "up"}])),
        ("statements.yaml", "statements[1].loads[1].sign", 'must be a whole number, not the text "up"'),
    ),
    "an invalid prior is not used for the value bands": (
        data_edit("variables.yaml", lambda d: d["variables"][0]["prior"].__setitem__("mean", 0)),
        ("variables.yaml", "variables[0].prior.mean",
         "0 is outside (0, 1); a prior credence must be strictly between 0 and 1"),
    ),
}


@pytest.mark.parametrize("edit, line", list(ONE_LINE.values()), ids=list(ONE_LINE))
def test_one_mistake_is_one_line(tmp_library, edit, line):
    edit(tmp_library)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_library)
    assert [str(p) for p in info.value.problems] == _lines(tmp_library, [line])


def test_empty_verdicts_are_named(tmp_library):
    """Was '<folder>: could not be read'."""
    data_edit("model.yaml", lambda d: d.__setitem__("verdicts", []))(tmp_library)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_library)
    assert [str(p) for p in info.value.problems] == _lines(tmp_library, [(
        "model.yaml", "verdicts", "is empty; at least one verdict is needed, and the last one, "
        "without minimums, gives every result a verdict")])


def test_every_field_of_a_record_is_checked(tmp_library):
    """An optional field is checked even when a field before it is wrong (the old reader
    skipped a seed crux's note when its intro was wrong)."""
    def edit(d):
        d["cruxes"][0]["intro"] = 7
        d["cruxes"][0]["note"] = ["a list"]
    data_edit("seed.yaml", edit)(tmp_library)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_library)
    assert [str(p) for p in info.value.problems] == _lines(tmp_library, [
        ("seed.yaml", "cruxes[0].intro", "must be text, not the number 7"),
        ("seed.yaml", "cruxes[0].note", "must be text, not a list"),
    ])


def test_a_missing_section_lists_its_required_keys(tmp_library):
    data_edit("model.yaml", lambda d: d.pop("convergence"))(tmp_library)
    with pytest.raises(LibraryError) as info:
        load_library(tmp_library)
    assert [str(p) for p in info.value.problems] == _lines(tmp_library, [
        ("model.yaml", "convergence", "is missing; it must be a mapping"),
        *[("model.yaml", f"convergence.{key}", f"is missing; it must be {kind}")
          for key, kind in (("r_hat_max", "a number"), ("ess_bulk_min", "a number"),
                            ("ess_tail_min", "a number"), ("divergences_max", "a whole number"))],
    ])


def test_the_models_are_not_built_on_import():
    """Importing the library module stays cheap: the pydantic models come with the first load."""
    import subprocess
    import sys

    code = ("import sys, cruxfit.cruxes.library; "
            "print('cruxfit.cruxes.library_model' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
