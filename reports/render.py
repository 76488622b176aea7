"""Render the report: HTML with jinja2, PDF with WeasyPrint.

One template environment (package loader, autoescape on, undefined names are errors) renders
the context that :func:`cruxfit.reports.context.build_context` builds from the analysis
result. The PDF engine may read nothing but ``data:`` URLs and the package's own ``static``
folder: :class:`StaticOnlyFetcher` refuses everything else and records what it was asked
for, so a test can prove that nothing was fetched.
"""

from __future__ import annotations

import functools
import importlib.resources
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup

from cruxfit.models.kinds import result_kind
from cruxfit.reports import context_editions as E
from cruxfit.reports.context import build_context
from cruxfit.reports.context_compare import build_compare_context
from cruxfit.reports.context_editions import edition_name
from cruxfit.reports.context_org import build_org_context

#: Tagged PDF for accessibility (structure tree, language, /MarkInfo). WeasyPrint 70 accepts
#: this variant; set to None to fall back to an untagged PDF.
PDF_VARIANT: str | None = "pdf/ua-1"

# ----------------------------------------------------------------------------- templates
@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one template environment of cruxfit's reports."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cruxfit.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


def static_dir() -> Path:
    """The package's static folder, resolved (the only place the PDF engine may read)."""
    return Path(str(importlib.resources.files("cruxfit.reports").joinpath("static"))).resolve()


@functools.lru_cache(maxsize=1)
def _stylesheet() -> str:
    return (static_dir() / "report.css").read_text(encoding="utf-8")


def figures_for(ctx: dict) -> dict:
    """Inline SVG for every plot in the context (trusted markup: we generate it)."""
    from cruxfit.reports import plots  # Matplotlib (~0.5 s): only when a figure is drawn

    p = ctx["plots"]
    cruxes = []
    for c in ctx["cruxes"]:
        d = c["density"]
        words = {k: d[k] for k in ("after_label", "xlabel") if d and k in d}
        cruxes.append(Markup(plots.density_svg(
            d["x"], d["prior"], d["posterior"], prior_mean=d["prior_mean"],
            posterior_mean=d["posterior_mean"], prefix=d["prefix"], title=d["title"], **words))
            if d else Markup(""))
    tornado = p["tornado"]
    figures = {}
    m = p.get("map")
    if m and m["mode"] == "grid" and len(m["rows"]) > 1:
        figures["map"] = Markup(plots.heatmap_svg(
            m["rows"], m["columns"], prefix="map",
            title="Disagreement map: each member's credence in each belief, and the "
                  "organisation's pooled credence"))
    elif m and m["mode"] == "summary":
        figures["map"] = Markup(plots.strips_svg(
            m["rows"], prefix="map",
            title="Disagreement summary: the members' credences in each belief, one dot per "
                  "member, and the organisation's pooled credence"))
    elif m:
        figures["map"] = Markup("")
    return {
        **figures,
        "forest": Markup(plots.forest_svg(p["forest"])) if p["forest"] else Markup(""),
        "tornado": (Markup(plots.tornado_svg(tornado["rows"], tornado["base"],
                                             target_name=ctx["target_name"]))
                    if tornado["rows"] else Markup("")),
        "cruxes": cruxes,
    }


def is_organisation(result: dict) -> bool:
    """True when ``result`` is an organisation's (rendered as the organisation edition)."""
    profile = result.get("profile") if isinstance(result, dict) else None
    return isinstance(profile, dict) and profile.get("kind") == "organisation"


@functools.lru_cache(maxsize=1)
def _edition_stylesheet() -> str:
    return (static_dir() / "editions.css").read_text(encoding="utf-8")


def render_document(result: dict, fmt: str, audience: str = "individual", *,
                    length: str = "full", appendix: bool = False) -> bytes:
    """The bytes of a PDF or HTML report of any result: individual, organisation or comparison."""
    if result_kind(result) == "compare":
        return (render_compare_html(result).encode("utf-8") if fmt == "html"
                else render_compare_pdf(result))
    if fmt == "html":
        return render_html(result, audience=audience, length=length,
                           appendix=appendix).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(result, audience=audience, length=length, appendix=appendix)
    raise ValueError(f"a document is pdf or html, not {fmt!r}")


def render_html(result: dict, audience: str = "individual", *, length: str = "full",
                appendix: bool = False) -> str:
    """The report as one self-contained HTML document (styles and plots inline).

    An organisation's result (``profile.kind == "organisation"``) gets the organisation
    edition: the pooled verdict, the crux to discuss first, the disagreement map and the
    members, then the same sections as an individual report in the organisation's words.

    ``length="short"`` gives the two-page handout (individual and advisor audiences); the
    grantmaker audience always gets the one-page memo, with the full report after it only
    when ``appendix`` is set; the advisor's full edition starts with a session plan. See
    :mod:`cruxfit.reports.context_editions`.
    """
    edition = edition_name(result, audience, length, appendix)
    if edition != "full":
        return _render_edition(result, audience, edition, appendix)
    return _render_full(result, audience)


def _render_edition(result: dict, audience: str, edition: str, appendix: bool) -> str:
    if edition == "memo":
        ctx = E.build_memo_context(result)
    elif edition == "advisor":
        ctx = E.build_advisor_context(result)
    else:
        ctx = E.build_handout_context(result, audience)
    full_body = None
    if edition == "advisor" or (edition == "memo" and appendix):
        full_body = Markup(_body_of(_render_full(result, audience)))
    template = environment().get_template(f"{edition if edition != 'advisor' else 'handout'}"
                                          ".html.j2")
    return template.render(**ctx, full_body=full_body, appendix=appendix,
                           css=Markup(_stylesheet()), edition_css=Markup(_edition_stylesheet()))


def _body_of(html: str) -> str:
    """The inside of <body> of a rendered report (to append it to another edition)."""
    start = html.index(">", html.index("<body")) + 1
    return html[start:html.rindex("</body>")]


def _render_full(result: dict, audience: str) -> str:
    if is_organisation(result):
        ctx = build_org_context(result, audience)
        template = environment().get_template("org_report.html.j2")
    else:
        ctx = build_context(result, audience)
        template = environment().get_template("report.html.j2")
    from cruxfit.reports.whatif import panel_context  # whatif imports this module

    return template.render(**ctx, figures=figures_for(ctx), css=Markup(_stylesheet()),
                           whatif=panel_context(result))


def render_compare_html(result: dict) -> str:
    """The comparison of two profiles (``cruxfit compare``) as one self-contained HTML page."""
    from cruxfit.reports import plots  # Matplotlib (~0.5 s): only when a figure is drawn

    ctx = build_compare_context(result)
    p = ctx["plots"]
    figures = {"contributions": Markup(plots.contributions_svg(
        p["contributions"]["rows"], p["contributions"]["total"], prefix="contrib",
        title="Contributions of each belief to the change in lead and in the chance of "
              "ranking first")) if p["contributions"]["rows"] else Markup("")}
    template = environment().get_template("compare.html.j2")
    return template.render(**ctx, figures=figures, css=Markup(_stylesheet()))


# ----------------------------------------------------------------------------- PDF
def _weasyprint():
    from weasyprint import HTML  # imported lazily: it is slow to import
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    return HTML, URLFetcher, URLFetcherResponse


def make_fetcher(root: Path | None = None):
    """A :class:`StaticOnlyFetcher` (created lazily so importing this module stays cheap)."""
    return _fetcher_class()(root)


@functools.lru_cache(maxsize=1)
def _fetcher_class():
    _, URLFetcher, URLFetcherResponse = _weasyprint()

    class StaticOnlyFetcher(URLFetcher):
        """Serve ``data:`` URLs and files inside the static folder; refuse everything else.

        Every URL asked for is kept in ``requested``; refused ones also in ``refused``. A
        refusal raises ``ValueError``, which WeasyPrint logs and skips (the resource is left
        out, the report still renders).
        """

        def __init__(self, root: Path | None = None):
            super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False,
                             timeout=1)
            self.root = (root or static_dir()).resolve()
            self.requested: list[str] = []
            self.refused: list[str] = []
            self.served: list[str] = []

        def fetch(self, url, headers=None):
            self.requested.append(url)
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                self.served.append(url)
                return super().fetch(url, headers)
            if scheme == "file":
                path = self._inside_root(url)
                if path is not None:
                    self.served.append(url)
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            self.refused.append(url)
            raise ValueError(f"cruxfit reports load nothing from outside: refused {url[:200]}")

        def _inside_root(self, url: str) -> Path | None:
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                return None
            try:
                path = Path(unquote(parts.path)).resolve()
            except (OSError, RuntimeError, ValueError):
                return None
            if path != self.root and self.root in path.parents and path.is_file():
                return path
            return None

    return StaticOnlyFetcher


def render_pdf(result: dict, audience: str = "individual", *, url_fetcher=None,
               pdf_variant: str | None = PDF_VARIANT, length: str = "full",
               appendix: bool = False) -> bytes:
    """The report as PDF bytes.

    Parameters
    ----------
    url_fetcher
        The fetcher WeasyPrint must use; by default a fresh :class:`StaticOnlyFetcher`.
        Tests pass their own to inspect what was asked for.
    pdf_variant
        ``"pdf/ua-1"`` (tagged PDF for accessibility) by default; None for a plain PDF.
    """
    key = audience if (length, appendix) == ("full", False) else f"{audience}:{length}:{appendix}"
    return _html_to_pdf(render_html(result, audience, length=length, appendix=appendix),
                        _identifier(result, key), url_fetcher=url_fetcher,
                        pdf_variant=pdf_variant)


def render_compare_pdf(result: dict, *, url_fetcher=None,
                       pdf_variant: str | None = PDF_VARIANT) -> bytes:
    """The comparison of two profiles as PDF bytes (same engine and rules as a report)."""
    return _html_to_pdf(render_compare_html(result), _identifier(result, "compare"),
                        url_fetcher=url_fetcher, pdf_variant=pdf_variant)


def warm_up() -> None:
    """Pay the first-use costs of rendering now, before a result exists (the render worker).

    Measured on the example: the first report's HTML in a process takes 0.97 s and the second
    0.44 s; compiling every template and drawing one small figure beforehand (0.25 s, off the
    critical path) makes the first as fast as the second. A small document laid out with the
    report's stylesheet loads the fonts. Nothing here changes what is rendered later.
    """
    env = environment()
    for name in env.list_templates(filter_func=lambda n: n.endswith(".j2")):
        env.get_template(name)
    from cruxfit.reports import plots

    plots.warm_up()
    _html_to_pdf(f"<html><head><style>{_stylesheet()}</style></head><body><h1>A</h1>"
                 "<p>b <b>c</b> <i>d</i></p><table><tr><td>1</td></tr></table></body></html>",
                 b"warm-up")


def _html_to_pdf(html: str, identifier: bytes, *, url_fetcher=None,
                 pdf_variant: str | None = PDF_VARIANT) -> bytes:
    HTML, _, _ = _weasyprint()
    fetcher = url_fetcher if url_fetcher is not None else make_fetcher()
    base_url = static_dir().as_uri() + "/"
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher, media_type="print")
    return document.write_pdf(pdf_variant=pdf_variant, pdf_identifier=identifier)


def _identifier(result: dict, audience: str) -> bytes:
    """A stable PDF file identifier from the inputs, so that the same run gives the same id."""
    import hashlib

    prov = result.get("provenance") or {}
    key = f"{prov.get('input_sha256')}:{prov.get('library_sha256')}:{prov.get('seed')}:{audience}"
    return hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest().encode("ascii")
