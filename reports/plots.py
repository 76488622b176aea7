"""Vector plots for the report, as SVG text ready to inline in HTML.

Every plot is drawn with matplotlib's object API (``Figure`` + the SVG canvas, never
``pyplot``), so nothing global is touched and no display is needed. The SVG is made fit to
inline several times in one document:

* the XML declaration, doctype and the RDF metadata block are stripped;
* every ``id`` (matplotlib names clip paths and markers ``p1a2b...`` / ``m1a2b...``) gets a
  per-figure prefix, and every reference to it (``url(#...)``, ``href="#..."``) follows, so
  two inline SVGs can never point at each other's definitions;
* ``svg.hashsalt`` is fixed and the date left out, so the same data gives the same bytes
  (golden files and reproducible PDFs depend on it).

Text stays text (``svg.fonttype = 'none'``): WeasyPrint lays it out with the document's own
font (DejaVu Sans), it can be searched and copied in the PDF, and a tagged PDF carries it.
Plot functions take plain numbers from the report context, never the raw result.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; harmless when already set

from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: Colours: the seed approach stands out; everything else is quiet. Colour-blind safe pair.
HIGHLIGHT = "#b3471d"
MUTED = "#4a6fa5"
GREY = "#8a8a8a"
LIGHT = "#d9d9d9"

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "cruxfit",
    "text.parse_math": False,  # a "$" in a name is a dollar sign, not mathtext
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
}

_XML_HEAD = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def _to_svg(fig: Figure, prefix: str, title: str) -> str:
    """Serialise ``fig`` as inline-ready SVG with ids prefixed by ``prefix``."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        FigureCanvasSVG(fig)  # attach the SVG canvas: no pyplot, no global state
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches="tight", pad_inches=0.04)
    svg = _XML_HEAD.sub("", buf.getvalue(), count=1)
    svg = _METADATA.sub("", svg, count=1)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", svg)
    # Size by the layout (CSS gives width 100%); keep the drawn aspect ratio via viewBox.
    svg = _SIZE.sub(
        lambda m: (f'<svg{m.group(1)} width="{m.group(2)}pt" height="{m.group(3)}pt" '
                   f'role="img" aria-label="{_attr(title)}" class="plot"'),
        svg, count=1)
    # An accessible name for screen readers and the PDF tag tree.
    svg = svg.replace(">", f"><title>{_text(title)}</title>", 1)
    return svg.strip() + "\n"


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _figure(width_in: float, height_in: float) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width_in, height_in))


def forest_svg(rows: Sequence[dict], prefix: str = "forest") -> str:
    """Forest plot: mean and 90% interval of each approach's value, best at the top.

    ``rows`` are dicts with ``name``, ``mean``, ``lo``, ``hi`` and ``highlight`` (bool).
    """
    n = len(rows)
    with matplotlib.rc_context(RC):
        fig = _figure(6.4, 0.2 * n + 0.7)
        ax = fig.add_subplot()
        ys = list(range(n))[::-1]
        for y, r in zip(ys, rows, strict=True):
            colour = HIGHLIGHT if r["highlight"] else MUTED
            ax.hlines(y, r["lo"], r["hi"], color=colour, linewidth=2.4 if r["highlight"] else 1.6)
            ax.plot([r["mean"]], [y], marker="o", color=colour,
                    markersize=6 if r["highlight"] else 4.5, zorder=3)
        ax.set_yticks(ys, [r["name"] for r in rows])
        for label, r in zip(ax.get_yticklabels(), rows, strict=True):
            if r["highlight"]:
                label.set_color(HIGHLIGHT)
                label.set_fontweight("bold")
        ax.set_ylim(-0.7, n - 0.3)
        lo = min(min(r["lo"] for r in rows), 0.0)
        hi = max(r["hi"] for r in rows)
        pad = 0.04 * (hi - lo or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        if lo < 0:
            ax.axvline(0, color=GREY, linewidth=0.6, linestyle=":")
        ax.set_xlabel("value on the model's scale (dot: average; line: 90% interval)")
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        return _to_svg(fig, prefix, "Forest plot of each approach's value with its 90% interval")


def density_svg(x: Sequence[float], prior: Sequence[float], posterior: Sequence[float], *,
                prior_mean: float, posterior_mean: float, prefix: str, title: str) -> str:
    """Prior density (line) and posterior (shaded histogram) of one credence, 0-100%."""
    xs = [100 * v for v in x]
    width = (xs[1] - xs[0]) if len(xs) > 1 else 2.5
    with matplotlib.rc_context(RC):
        fig = _figure(6.4, 1.7)
        ax = fig.add_subplot()
        # One filled step outline instead of a bar per bin: far fewer SVG nodes to draw.
        edges = [xs[0] - width / 2] + [v + width / 2 for v in xs]
        ax.stairs(posterior, edges, fill=True, color=MUTED, alpha=0.55, linewidth=0,
                  label="after your answers")
        ax.plot(xs, prior, color=GREY, linewidth=1.4, linestyle="--", label="before (prior)")
        ax.axvline(100 * prior_mean, color=GREY, linewidth=0.9, linestyle=":")
        ax.axvline(100 * posterior_mean, color=MUTED, linewidth=1.2)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, None)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xticks(range(0, 101, 10), [f"{t}%" for t in range(0, 101, 10)])
        ax.set_xlabel("credence (how likely you think it is); vertical lines mark the averages")
        # Above the axes: inside, it would hide the bars wherever the credence sits.
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, borderaxespad=0.2)
        return _to_svg(fig, prefix, title)


def tornado_svg(rows: Sequence[dict], base: float, prefix: str = "tornado", *,
                target_name: str = "AI-assisted alignment") -> str:
    """Tornado chart of the seed approach's margin as each belief moves over its interval.

    ``rows`` (largest swing first) are dicts with ``label``, ``at_low`` and ``at_high``.
    """
    n = len(rows)
    with matplotlib.rc_context(RC):
        fig = _figure(6.4, 0.3 * n + 0.95)
        ax = fig.add_subplot()
        ys = list(range(n))[::-1]
        for y, r in zip(ys, rows, strict=True):
            ax.barh(y, r["at_low"] - base, left=base, height=0.6, color=LIGHT,
                    edgecolor=GREY, linewidth=0.5,
                    label="belief at the low end of its range" if y == ys[0] else None)
            ax.barh(y, r["at_high"] - base, left=base, height=0.6, color=MUTED,
                    label="belief at the high end of its range" if y == ys[0] else None)
        ax.axvline(base, color="#333333", linewidth=0.9)
        ax.axvline(0, color=HIGHLIGHT, linewidth=1.0, linestyle="--")
        values = [base, 0.0] + [r["at_low"] for r in rows] + [r["at_high"] for r in rows]
        lo, hi = min(values), max(values)
        pad = 0.06 * (hi - lo or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_yticks(ys, [r["label"] for r in rows])
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel(f"lead of {target_name} over the best alternative (value points)")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
        return _to_svg(fig, prefix, f"Tornado chart: how the lead of {target_name} changes as "
                                    "each belief moves across its 90% interval")
