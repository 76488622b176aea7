"""Personal fit in the report: worldview value, fit factor and combined value side by side."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from cruxfit.reports.render import render_html

FIXTURE = Path(__file__).parent / "golden" / "example_result.json"


def _with_fit():
    result = copy.deepcopy(json.loads(FIXTURE.read_text()))
    result["profile"]["has_fit"] = True
    result["profile"]["fit"] = [{"id": "maths-philosophy", "text": "Strong at maths.", "answer": 7},
                                {"id": "policy", "text": "Policy experience.", "answer": None}]
    for a in result["approaches"]:
        factor = 1.45 if a["slug"] == "agent-foundations" else 1.0
        a["worldview_mean"] = a["mean"]
        a["personal_fit"] = factor
        a["mean"] = round(a["mean"] * factor, 4)
    return result


def test_fit_table_shows_worldview_fit_and_combined_side_by_side():
    html = render_html(_with_fit())
    table = html[html.index('id="fit-table"'):]
    table = table[:table.index("</table>")]
    row = re.search(r"<td>Agent foundations</td>(.*?)</tr>", table, re.S).group(1)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    result = _with_fit()
    af = next(a for a in result["approaches"] if a["slug"] == "agent-foundations")
    assert cells == [f"{af['worldview_mean']:.2f}", "× 1.45", f"{af['mean']:.2f}"]
    assert "Strong at maths." in html and "7 of 7" in html and "not answered" in html


def test_no_fit_table_without_fit_answers():
    result = json.loads(FIXTURE.read_text())
    assert not result["profile"].get("has_fit")
    assert 'id="fit-table"' not in render_html(result)
