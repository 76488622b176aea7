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
# Ids and references only inside tags: text content (a member's name, say) may contain the
# same characters and must stay as written. Attribute values never contain "<" or ">"
# (matplotlib escapes them), so "[^<>]" keeps a match inside one tag.
_TAG = re.compile(r"<[^<>]+>")
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')
_SIZE = re.compile(r'<svg([^>]*?) width="([\d.]+)pt" height="([\d.]+)pt"')


def warm_up() -> None:
    """Draw one small figure, so that Matplotlib's fonts and caches are loaded."""
    fig = Figure(figsize=(2, 1))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("Ab")
    ax.text(0.5, 0.5, "Ab")
    _to_svg(fig, "warm", "warm-up")


def _to_svg(fig: Figure, prefix: str, title: str) -> str:
    """Serialise ``fig`` as inline-ready SVG with ids prefixed by ``prefix``."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        FigureCanvasSVG(fig)  # attach the SVG canvas: no pyplot, no global state
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches="tight", pad_inches=0.04)
    svg = _XML_HEAD.sub("", buf.getvalue(), count=1)
    svg = _METADATA.sub("", svg, count=1)
    svg = _TAG.sub(lambda t: _REF.sub(
        lambda m: f"{m.group(1)}{prefix}-{m.group(2)}",
        _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', t.group(0))), svg)
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
                prior_mean: float, posterior_mean: float, prefix: str, title: str,
                after_label: str = "after your answers",
                xlabel: str = "credence (how likely you think it is); vertical lines mark the "
                              "averages") -> str:
    """Prior density (line) and posterior (shaded histogram) of one credence, 0-100%."""
    xs = [100 * v for v in x]
    width = (xs[1] - xs[0]) if len(xs) > 1 else 2.5
    with matplotlib.rc_context(RC):
        fig = _figure(6.4, 1.7)
        ax = fig.add_subplot()
        # One filled step outline instead of a bar per bin: far fewer SVG nodes to draw.
        edges = [xs[0] - width / 2] + [v + width / 2 for v in xs]
        ax.stairs(posterior, edges, fill=True, color=MUTED, alpha=0.55, linewidth=0,
                  label=after_label)
        ax.plot(xs, prior, color=GREY, linewidth=1.4, linestyle="--", label="before (prior)")
        ax.axvline(100 * prior_mean, color=GREY, linewidth=0.9, linestyle=":")
        ax.axvline(100 * posterior_mean, color=MUTED, linewidth=1.2)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, None)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xticks(range(0, 101, 10), [f"{t}%" for t in range(0, 101, 10)])
        ax.set_xlabel(xlabel)
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


# ----------------------------------------------------------------------------- organisations
#: Diverging scale for credences, centred at 50% (orange: below, purple: above). PuOr is
#: colour-blind safe and prints legibly in grey.
CREDENCE_CMAP = "PuOr"


def _credence_colour(p: float):
    from matplotlib import colormaps

    return colormaps[CREDENCE_CMAP](min(max(float(p), 0.0), 1.0))


def _ink_on(rgba) -> str:
    """Black or white text, whichever reads better on ``rgba``."""
    r, g, b = rgba[:3]
    return "#111111" if (0.299 * r + 0.587 * g + 0.114 * b) > 0.55 else "#ffffff"


def _wrap(text: str, width: int, lines: int = 3) -> str:
    import textwrap

    # Whole words only: a long word overhangs a little rather than being split mid-word.
    parts = textwrap.wrap(str(text), width=width, break_long_words=False) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: max(width - 1, 1)].rstrip() + "…"
    return "\n".join(parts)


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _credence_legend(fig: Figure, rect: Sequence[float]) -> None:
    """A small horizontal key for the credence colours (0% to 100%, centred at 50%)."""
    from matplotlib.patches import Rectangle

    ax = fig.add_axes(rect)
    steps = 20
    for k in range(steps):
        ax.add_patch(Rectangle((k / steps, 0), 1 / steps, 1, linewidth=0,
                               facecolor=_credence_colour((k + 0.5) / steps)))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.tick_params(axis="x", labelsize=6.5, length=2, pad=1)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("credence: orange below 50%, purple above", fontsize=6.5, pad=2)


def heatmap_svg(rows: Sequence[dict], columns: Sequence[dict], prefix: str = "heatmap", *,
                title: str = "Disagreement map") -> str:
    """Members × beliefs: each cell a credence, coloured on a scale centred at 50%.

    ``rows`` are dicts with ``label``, ``values`` (one credence or None per column) and
    ``strong`` (bool: drawn in bold and set apart, for the organisation's own row).
    ``columns`` are dicts with ``label`` and ``highlight`` (bool: outlined, the crux to
    discuss first). Every cell carries its percentage as text, so the map reads without
    colour too.
    """
    from matplotlib.patches import Rectangle

    n, m = len(rows), len(columns)
    gap = 0.35  # space between the organisation's row and the members
    n_strong = sum(1 for r in rows if r.get("strong"))
    height_rows = n + (gap if n_strong else 0)
    # Room at the left for the longest row label (names are cut at 30 characters).
    longest = max((len(_short(r["label"], 30)) for r in rows), default=10)
    width = 6.8  # the full text width: the columns need every millimetre
    left = min(0.3, max(0.12, (0.058 * longest + 0.15) / width))
    with matplotlib.rc_context(RC):
        fig = _figure(width, 0.2 * height_rows + 1.7)
        ax = fig.add_axes([left, 0.13, 0.99 - left, 0.62])
        y = 0.0
        ys = []
        for i, r in enumerate(rows):
            if i and rows[i - 1].get("strong") and not r.get("strong"):
                y += gap
            ys.append(y)
            for j, v in enumerate(r["values"]):
                if v is None:
                    ax.add_patch(Rectangle((j, y), 1, 1, facecolor="#f4f4f4",
                                           edgecolor="white", linewidth=0.8))
                    ax.text(j + 0.5, y + 0.5, "—", ha="center", va="center", fontsize=6.5,
                            color=GREY)
                    continue
                colour = _credence_colour(v)
                ax.add_patch(Rectangle((j, y), 1, 1, facecolor=colour, edgecolor="white",
                                       linewidth=0.8))
                ax.text(j + 0.5, y + 0.52, f"{round(100 * float(v))}", ha="center",
                        va="center", fontsize=6.5, color=_ink_on(colour),
                        fontweight="bold" if r.get("strong") else "normal")
            y += 1
        for j, c in enumerate(columns):
            if c.get("highlight"):
                ax.add_patch(Rectangle((j, -0.06), 1, y + 0.12, fill=False, edgecolor="#111111",
                                       linewidth=1.6, clip_on=False, zorder=4))
        ax.set_xlim(0, m)
        ax.set_ylim(y, 0)  # first row at the top
        ax.set_yticks([v + 0.5 for v in ys], [_short(r["label"], 30) for r in rows])
        for label, r in zip(ax.get_yticklabels(), rows, strict=True):
            if r.get("strong"):
                label.set_fontweight("bold")
        ax.xaxis.tick_top()
        if m <= 10:
            ax.set_xticks([j + 0.5 for j in range(m)], [_wrap(c["label"], 11, 4) for c in columns],
                          fontsize=6.0, linespacing=1.05)
        else:  # many beliefs: slanted labels, so that neighbouring ones never overlap
            ax.set_xticks([j + 0.5 for j in range(m)], [_wrap(c["label"], 22, 2) for c in columns],
                          fontsize=6.0, linespacing=1.05, rotation=40, ha="left",
                          rotation_mode="anchor")
        for label, c in zip(ax.get_xticklabels(), columns, strict=True):
            if c.get("highlight"):
                label.set_fontweight("bold")
        ax.tick_params(length=0, pad=4)
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        # Figure height is in inches; keep the key's height constant whatever the row count.
        h = 0.2 * height_rows + 1.7
        ax.set_position([left, 0.45 / h, 0.99 - left, (0.2 * height_rows) / h])
        _credence_legend(fig, [0.55, 0.1 / h, 0.4, 0.09 / h])
        return _to_svg(fig, prefix, title)


def strips_svg(rows: Sequence[dict], prefix: str = "strips", *,
               title: str = "Disagreement summary") -> str:
    """One strip per belief for a large organisation: every member a dot, no names.

    ``rows`` are dicts with ``label``, ``members`` (credences), ``organisation`` (pooled
    credence), ``highlight`` (bool) and ``counts`` (text shown at the right, e.g.
    "12 below 50% · 48 above").
    """
    from matplotlib.patches import Rectangle

    n = len(rows)
    width, height = 6.8, 0.36 * n + 0.9
    with matplotlib.rc_context(RC):
        fig = _figure(width, height)
        # Fixed margins: labels at the left, the counts at the right inside the figure.
        ax = fig.add_axes([0.25, 0.5 / height, 0.6, (height - 0.8) / height])
        ys = list(range(n))
        for y, r in zip(ys, rows, strict=True):
            values = sorted(float(v) for v in r["members"])
            k = len(values)
            if k >= 4:
                q1, q3 = values[k // 4], values[(3 * k) // 4]
                ax.add_patch(Rectangle(
                    (100 * q1, y - 0.28), 100 * (q3 - q1), 0.56, facecolor="#ececec",
                    edgecolor="none", zorder=1))
            # Deterministic jitter (golden-ratio sequence) so that equal credences separate.
            jitter = [((i * 0.6180339887) % 1.0 - 0.5) * 0.44 for i in range(k)]
            ax.scatter([100 * v for v in values], [y + d for d in jitter], s=14,
                       c=[_credence_colour(v) for v in values], edgecolors="#333333",
                       linewidths=0.3, zorder=2)
            ax.plot([100 * float(r["organisation"])], [y], marker="D", markersize=6,
                    color="#111111", zorder=3, linestyle="none",
                    label="the organisation (pooled)" if y == 0 else None)
            if r.get("counts"):
                ax.text(102, y, r["counts"], va="center", ha="left", fontsize=7,
                        color="#333333", clip_on=False)
        ax.axvline(50, color="#555555", linewidth=0.8, linestyle="--", zorder=1.5)
        ax.set_xlim(0, 100)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_yticks(ys, [_wrap(r["label"], 28, 2) for r in rows], fontsize=7,
                      linespacing=1.05)
        for label, r in zip(ax.get_yticklabels(), rows, strict=True):
            if r.get("highlight"):
                label.set_fontweight("bold")
        ax.set_xticks(range(0, 101, 10), [f"{t}%" for t in range(0, 101, 10)])
        ax.set_xlabel("credence of each member (dots; grey band: the middle half of the "
                      "members)")
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=1, borderaxespad=0.2)
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        return _to_svg(fig, prefix, title)


# ----------------------------------------------------------------------------- comparison
POSITIVE = "#5e3c99"  # purple: towards B's side raises the quantity
NEGATIVE = "#e66101"  # orange: lowers it


def contributions_svg(rows: Sequence[dict], total: dict, prefix: str = "contrib", *,
                      title: str = "Contributions to the change") -> str:
    """Two diverging bar panels sharing the beliefs: change in lead and in P(first).

    ``rows`` (largest first) are dicts with ``label``, ``margin`` and ``p_best`` (the latter
    in percentage points); ``total`` has ``margin`` and ``p_best`` and is drawn as the last,
    darker row, set apart from the beliefs.
    """
    labels = [_wrap(r["label"], 30, 2) for r in rows] + ["Total change"]
    n = len(labels)
    ys = list(range(n - 1)) + [n - 1 + 0.4]
    with matplotlib.rc_context(RC):
        fig = _figure(6.4, 0.27 * n + 1.0)
        axes = fig.subplots(1, 2, sharey=True, gridspec_kw={"wspace": 0.08})
        panels = (("margin", "change in lead (value points)", "{:+.2f}"),
                  ("p_best", "change in chance of ranking first (points)", "{:+.0f}"))
        for ax, (key, xlabel, fmt) in zip(axes, panels, strict=True):
            values = [float(r[key]) for r in rows] + [float(total[key])]
            for y, v, is_total in zip(ys, values, [False] * (n - 1) + [True], strict=True):
                colour = POSITIVE if v >= 0 else NEGATIVE
                ax.barh(y, v, height=0.62, color=colour, alpha=1.0 if is_total else 0.75,
                        edgecolor="#222222" if is_total else "none", linewidth=0.6)
            lo, hi = min(values + [0.0]), max(values + [0.0])
            span = (hi - lo) or 1.0
            ax.set_xlim(lo - 0.22 * span, hi + 0.22 * span)
            for y, v in zip(ys, values, strict=True):
                text = fmt.format(v).replace("-", "−")
                ax.text(v + (0.02 * span if v >= 0 else -0.02 * span), y, text,
                        va="center", ha="left" if v >= 0 else "right", fontsize=6.5,
                        color="#222222")
            ax.axvline(0, color="#333333", linewidth=0.8)
            ax.axhline(n - 1 - 0.3, color=LIGHT, linewidth=0.6)
            ax.set_xlabel(xlabel)
            ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.tick_params(axis="y", length=0)
        axes[0].set_yticks(ys, labels, fontsize=7, linespacing=1.05)
        axes[0].get_yticklabels()[-1].set_fontweight("bold")
        axes[0].set_ylim(ys[-1] + 0.6, -0.6)
        axes[1].spines["left"].set_visible(False)
        return _to_svg(fig, prefix, title)
