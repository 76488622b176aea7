"""No module under models/ holds a user-facing sentence (issue #15).

The models return numbers and codes; reports/wording.py words them. This test reads every
models/*.py and flags
string constants of three or more words: a sentence or a phrase meant for a reader. Not
flagged: docstrings, dictionary keys, and the messages of raised exceptions (programming
errors, for a developer). An f-string counts by its literal parts, each placeholder read as
one word.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[1] / "models"
#: Modules this check leaves alone, with the reason.
EXEMPT: dict[str, str] = {}
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")
MIN_WORDS = 3


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else " X " for v in node.values)
    return None


def _exempt_nodes(tree: ast.AST) -> set[int]:
    """ids of string nodes that are docstrings, dict keys or inside a raise statement."""
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)):
            out.add(id(body[0].value))
        if isinstance(node, ast.Dict):
            out.update(id(k) for k in node.keys if k is not None)
        if isinstance(node, ast.Raise):
            out.update(id(n) for n in ast.walk(node))
    return out


def sentences(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant of MIN_WORDS or more words, exemptions aside."""
    tree = ast.parse(source)
    exempt = _exempt_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        # The literal parts of an f-string are judged with the whole f-string.
        if isinstance(node, ast.JoinedStr):
            exempt.update(id(v) for v in node.values)
        text = _text(node)
        if text is not None and " " in text.strip() and len(WORD.findall(text)) >= MIN_WORDS:
            found.append((node.lineno, text))
    return sorted(found)


def test_the_detector_flags_sentences_and_skips_what_is_allowed():
    source = '''
"""Module docstring with many words in it."""
LABEL = "no sentence"
SAY = "This is a sentence for the reader."
def f(x):
    """A docstring, also words."""
    note = f"Knowing {x} would change little"
    keyed = {"a key of words": 1}
    if x:
        raise ValueError(f"x must be positive, not {x}")
    return "two words"
'''
    assert [line for line, _ in sentences(source)] == [4, 7]


@pytest.mark.parametrize("path", sorted(p for p in MODELS.glob("*.py") if p.name not in EXEMPT),
                         ids=lambda p: p.name)
def test_models_hold_no_sentences(path):
    found = sentences(path.read_text(encoding="utf-8"))
    assert not found, (f"{path.name} holds user-facing text (move it to reports/wording.py and "
                       "leave a code): " + "; ".join(f"line {n}: {t!r}" for n, t in found))


def test_convergence_codes_are_worded_as_before():
    """The sampler's reasons are codes now; their words are the ones users saw before."""
    from cruxfit.reports.wording import notice, reason

    assert reason({"code": "r-hat", "value": 1.0234, "limit": 1.01}) == \
        "R-hat 1.023 is above 1.01 (chains disagree)"
    assert reason({"code": "ess-bulk", "value": 312.4, "limit": 400.0}) == \
        "bulk effective sample size 312 is below 400"
    assert reason({"code": "ess-tail", "value": float("nan"), "limit": 400.0}) == \
        "tail effective sample size nan is below 400"
    assert reason({"code": "divergences", "value": 4, "limit": 0}) == \
        "4 divergent transitions (allowed: 0)"
    assert reason("already words") == "already words"
    assert notice({"code": "retry", "reasons": [{"code": "divergences", "value": 2, "limit": 0}]}) == (
        "The first sampling run did not converge (2 divergent transitions (allowed: 0)); "
        "retrying once with twice the tuning and twice the draws.")
    with pytest.raises(ValueError):
        reason({"code": "no-such-code"})
