"""`cruxfit serve`: the questionnaire and the report in a local browser.

Starlette (routing, forms, responses) on uvicorn (the HTTP server). The app adds only what a
web front end needs on top of the same functions the CLI calls: pages, forms, sessions and
escaping. Security for a server on the user's own machine:

* it answers only requests whose Host header is the name it was bound to (a page on another
  site cannot reach it through DNS rebinding);
* every form carries a per-session CSRF token (and a cross-site Origin is refused);
* the browser never names a file: uploads are read from the request body, checked with the
  CLI's limits and readers, and a name is only ever shown, never opened;
* request bodies are capped; pages are sent with a Content-Security-Policy that forbids
  loading anything, and the only script allowed is the what-if panel, by its hash;
* everything shown is escaped by Jinja2's autoescape; bad input comes back as the form with
  the problem next to the field, and an unexpected error is a plain page, never a trace.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from cruxfit.cruxes.csvinput import read_organisation
from cruxfit.cruxes.errors import InputError
from cruxfit.cruxes.loading import MAX_INPUT_BYTES, decode_text
from cruxfit.cruxes.profile import parse_profile_text
from cruxfit.cruxes.sections import estimated_minutes
from cruxfit.pipeline import questionnaire as qn
from cruxfit.pipeline import questions as pq
from cruxfit.pipeline.jobs import Job, QueueFull, Worker
from cruxfit.reports.files import safe_stem
from cruxfit.reports.jsonout import to_json
from cruxfit.reports.whatif import script_hash

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
COOKIE = "cruxfit_session"
#: Whole request bodies are capped here; a file up to the CLI's limit fits with room to spare,
#: so an oversized file still gets the CLI's own message next to the field.
MAX_BODY = 2 * MAX_INPUT_BYTES
MAX_SESSIONS = 2_000
UPLOAD_SUFFIXES = (".yaml", ".yml", ".json", ".csv")
AUDIENCES = ("individual", "advisor", "grantmaker")
LOOPBACK_NAMES = ("localhost",)


# --------------------------------------------------------------------------- templates
@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cruxfit.pipeline", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
    )


def _csp(script_hashes: tuple[str, ...] = ()) -> str:
    scripts = " ".join(script_hashes) if script_hashes else "'none'"
    return ("default-src 'none'; "
            f"script-src {scripts}; "
            "style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


# --------------------------------------------------------------------------- sessions
@dataclass
class Session:
    id: str
    csrf: str
    state: qn.State = field(default_factory=qn.State)
    page: int = 0
    jobs: list[str] = field(default_factory=list)
    touched: float = field(default_factory=time.time)


class Sessions:
    """Server-side sessions keyed by a random cookie; progress lives here between pages."""

    def __init__(self) -> None:
        self.items: dict[str, Session] = {}
        self.lock = threading.Lock()

    def get(self, request: Request) -> Session | None:
        sid = request.cookies.get(COOKIE, "")
        with self.lock:
            s = self.items.get(sid) if sid else None
            if s is not None:
                s.touched = time.time()
            return s

    def new(self) -> Session:
        with self.lock:
            if len(self.items) >= MAX_SESSIONS:
                oldest = min(self.items.values(), key=lambda s: s.touched)
                del self.items[oldest.id]
            s = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
            self.items[s.id] = s
            return s


# --------------------------------------------------------------------------- middleware
def allowed_hosts(host: str, port: int) -> set[str]:
    """Host header values this server answers to."""
    names = {host}
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and ip.is_loopback:
        names.update(LOOPBACK_NAMES)
    if ip is not None and ip.is_unspecified:
        # Bound to every interface: the machine's own names and addresses.
        names.update({"localhost", "127.0.0.1", "::1", socket.gethostname()})
        with contextlib.suppress(OSError):
            names.update(socket.gethostbyname_ex(socket.gethostname())[2])
    out = set()
    for n in names:
        bracketed = f"[{n}]" if ":" in n else n
        out.add(f"{bracketed}:{port}".lower())
        if port == 80:
            out.add(bracketed.lower())
    return out


class Guard:
    """ASGI middleware: Host check, body cap, and security headers on every response."""

    def __init__(self, app, hosts: set[str], max_body: int = MAX_BODY):
        self.app = app
        self.hosts = hosts
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if host not in self.hosts:
            response = PlainTextResponse(
                "Refused: this cruxfit server answers only to "
                + ", ".join(sorted(self.hosts)) + ".\n", status_code=421)
            return await response(scope, receive, send)
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
            if too_big:
                response = PlainTextResponse(
                    f"Refused: the request is larger than {self.max_body:,} bytes. Files may be "
                    f"at most {MAX_INPUT_BYTES:,} bytes.\n", status_code=413)
                return await response(scope, receive, send)
        seen = 0

        async def capped_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise HTTPException(413, "request body too large")
            return message

        async def secured_send(message):
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hs}
                extra = [(b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"no-referrer"),
                         (b"x-frame-options", b"DENY"),
                         (b"cross-origin-opener-policy", b"same-origin"),
                         (b"cache-control", b"no-store")]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", _csp().encode()))
                hs.extend((k, v) for k, v in extra if k not in names)
                message = {**message, "headers": hs}
            await send(message)

        await self.app(scope, capped_receive, secured_send)


# --------------------------------------------------------------------------- the app
class App:
    """Routes and their state; :func:`create_app` wraps it in Starlette and the guard."""

    def __init__(self, library, *, host: str, port: int, seed: int = 0,
                 analyse: Callable | None = None, render: Callable | None = None,
                 render_pdf: Callable | None = None, warm: bool = True):
        self.library = library
        self.host, self.port = host, port
        self.seed = seed
        self.sessions = Sessions()
        self.worker = Worker(library, analyse=analyse, render=render, warm=warm)
        self.render_pdf = render_pdf
        self.pages = pq.pages(library)

    # ---------------------------------------------------------------- helpers
    def page(self, template: str, request: Request, session: Session | None, status: int = 200,
             **context: Any) -> HTMLResponse:
        html = environment().get_template(template).render(
            csrf=session.csrf if session else "", n_pages=len(self.pages),
            parts=[{"number": p.number, "title": p.section.title} for p in self.pages],
            progress=pq.progress(self.library, session.state) if session else None,
            **context)
        response = HTMLResponse(html, status_code=status)
        if session is not None:
            self._cookie(response, session)
        return response

    @staticmethod
    def _cookie(response: Response, session: Session) -> None:
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict", path="/")

    def session(self, request: Request) -> Session:
        return self.sessions.get(request) or self.sessions.new()

    async def form(self, request: Request, session: Session | None) -> Any:
        """The submitted form, after the CSRF and Origin checks (HTTPException 403 if not)."""
        origin = request.headers.get("origin")
        if origin and origin != "null":
            m = re.match(r"^https?://([^/]+)$", origin)
            if not m or m.group(1).lower() not in allowed_hosts(self.host, self.port):
                raise HTTPException(403, "This form was sent from another site.")
        form = await request.form(max_files=1, max_fields=500, max_part_size=64 * 1024)
        token = str(form.get("csrf", ""))
        if session is None or not secrets.compare_digest(token.encode(), session.csrf.encode()):
            raise HTTPException(
                403, "This form has expired or did not come from this page. Go back, reload "
                     "the page and send it again.")
        return form

    def redirect(self, url: str, session: Session) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self._cookie(response, session)
        return response

    # ---------------------------------------------------------------- questionnaire
    async def home(self, request: Request) -> Response:
        session = self.session(request)
        return self.page("start.html.j2", request, session, name=session.state.name or "",
                         error=None, resume=session.state.has_anything(),
                         resume_page=max(1, session.page),
                         minutes=estimated_minutes(self.library))

    async def start(self, request: Request) -> Response:
        session = self.sessions.get(request)
        form = await self.form(request, session)
        if form.get("action") == "restart":
            session.state, session.page = qn.State(), 0
            return self.redirect("/", session)
        name, error = pq.check_name(str(form.get("name", "")))
        if error:
            return self.page("start.html.j2", request, session, status=400,
                             name=str(form.get("name", ""))[:300], error=error,
                             resume=session.state.has_anything(), resume_page=max(1, session.page),
                             minutes=estimated_minutes(self.library))
        session.state.name = name or qn.DEFAULT_NAME
        session.page = max(1, session.page)
        return self.redirect(f"/part/{session.page}", session)

    def _page_or_404(self, request: Request) -> pq.Page:
        try:
            n = int(request.path_params["n"])
        except (KeyError, ValueError):
            raise HTTPException(404) from None
        if not 1 <= n <= len(self.pages):
            raise HTTPException(404)
        return self.pages[n - 1]

    async def part(self, request: Request) -> Response:
        session = self.session(request)
        page = self._page_or_404(request)
        session.page = page.number
        return self.page("part.html.j2", request, session,
                         part=pq.page_view(self.library, page, session.state), errors=False)

    async def save_part(self, request: Request) -> Response:
        session = self.sessions.get(request)
        page = self._page_or_404(request)
        form = await self.form(request, session)
        raw = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        values, errors = pq.read_page(page, raw)
        action = raw.get("action", "next")
        if errors:
            return self.page("part.html.j2", request, session, status=400, errors=True,
                             part=pq.page_view(self.library, page, session.state, raw, errors))
        pq.store(session.state, values)
        if action == "back":
            target = page.number - 1
        elif action == "review":
            target = len(self.pages) + 1
        else:
            target = page.number + 1
        if target < 1:
            session.page = 0
            return self.redirect("/", session)
        if target > len(self.pages):
            session.page = len(self.pages)
            return self.redirect("/review", session)
        session.page = target
        return self.redirect(f"/part/{target}", session)

    async def review(self, request: Request, error: list[str] | None = None,
                     status: int = 200) -> Response:
        session = self.session(request)
        rows = []
        for p in self.pages:
            qs = [q for q in p.questions if q.kind != "fit-gate"]
            given = [q for q in qs if session.state.is_answered(q)
                     and session.state.get(q) != qn.UNSURE]
            rows.append({"number": p.number, "title": p.section.title, "questions": len(qs),
                         "answered": len(given)})
        return self.page("review.html.j2", request, session, rows=rows, problems=error or [],
                         name=session.state.name or qn.DEFAULT_NAME, status=status)

    async def submit(self, request: Request) -> Response:
        session = self.sessions.get(request)
        await self.form(request, session)
        text = pq.profile_yaml(self.library, session.state)

        try:
            profile = parse_profile_text(text, "profile.yaml", self.library)
        except InputError as exc:
            return await self.review(request, [str(p) for p in exc.problems], status=400)
        try:
            return self._enqueue(session, profile, label=profile.name, audience="individual",
                                 input_name="profile.yaml", input_bytes=text.encode("utf-8"),
                                 input_type="profile")
        except QueueFull as exc:
            return await self.review(request, [str(exc)], status=503)

    def _enqueue(self, session: Session, subject, *, label: str, audience: str,
                 input_name: str, input_bytes: bytes, input_type: str) -> Response:
        """Queue an analysis and send the browser to its progress page (QueueFull if full)."""
        job = self.worker.submit(session.id, subject, label=label, audience=audience,
                                 seed=self.seed, input_name=input_name,
                                 input_bytes=input_bytes, input_type=input_type)
        session.jobs.append(job.id)
        return self.redirect(f"/job/{job.id}", session)

    # ---------------------------------------------------------------- uploads
    async def upload_form(self, request: Request) -> Response:
        session = self.session(request)
        return self.page("upload.html.j2", request, session, problems=[], audience="advisor",
                         audiences=AUDIENCES, max_bytes=MAX_INPUT_BYTES,
                         suffixes=UPLOAD_SUFFIXES)

    async def upload(self, request: Request) -> Response:
        session = self.sessions.get(request)
        form = await self.form(request, session)
        audience = str(form.get("audience", "advisor"))
        if audience not in AUDIENCES:
            audience = "advisor"
        problems, subject, display, raw, suffix = await self._read_upload(form)

        if problems:
            return self.page("upload.html.j2", request, session, status=400, problems=problems,
                             audience=audience, audiences=AUDIENCES,
                             max_bytes=MAX_INPUT_BYTES, suffixes=UPLOAD_SUFFIXES)
        label = getattr(subject, "name", display)
        try:
            return self._enqueue(
                session, subject, label=label, audience=audience, input_name=display,
                input_bytes=raw, input_type="csv" if suffix == ".csv" else "profile")
        except QueueFull as exc:
            return self.page("upload.html.j2", request, session, status=503,
                             problems=[str(exc)], audience=audience, audiences=AUDIENCES,
                             max_bytes=MAX_INPUT_BYTES, suffixes=UPLOAD_SUFFIXES)

    async def _read_upload(self, form) -> tuple[list[str], Any, str, bytes, str]:
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not getattr(upload, "filename", ""):
            return ["Choose a profile (.yaml, .yml, .json) or a form CSV (.csv) to upload."], \
                None, "", b"", ""
        display = _display_name(upload.filename)
        suffix = Path(display).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            return [f"{display}: the file name must end in "
                    + ", ".join(UPLOAD_SUFFIXES[:-1]) + f" or {UPLOAD_SUFFIXES[-1]}"], \
                None, display, b"", suffix
        size = upload.size
        raw = await upload.read(MAX_INPUT_BYTES + 1)
        if size is None or size < len(raw):
            size = len(raw)
        if size > MAX_INPUT_BYTES:
            # the same words as the CLI's reader (cruxes/loading.py)
            return [f"{display}: is {size:,} bytes; the limit is {MAX_INPUT_BYTES:,} bytes"], \
                None, display, b"", suffix
        try:
            subject = await run_in_threadpool(_parse_upload, self.library, raw, display, suffix)
        except InputError as exc:
            return [str(p) for p in exc.problems], None, display, raw, suffix
        return [], subject, display, raw, suffix

    # ---------------------------------------------------------------- jobs and reports
    def _job(self, request: Request) -> tuple[Session, Job]:
        session = self.sessions.get(request)
        job = self.worker.get(request.path_params["job"], session.id) if session else None
        if job is None or session is None:
            raise HTTPException(404, "No such report in this browser session.")
        return session, job

    async def job(self, request: Request) -> Response:
        session, job = self._job(request)
        if job.status == "done":
            return self.redirect(f"/report/{job.id}", session)
        return self.page("job.html.j2", request, session, job=job,
                         position=self.worker.position(job),
                         warming=not self.worker.ready.is_set(),
                         elapsed=time.time() - (job.started or job.created))

    async def report(self, request: Request) -> Response:
        session, job = self._job(request)
        if job.status != "done":
            return self.redirect(f"/job/{job.id}", session)
        bar = environment().get_template("_bar.html.j2").render(
            job=job, stem=_stem(job.label), seed=job.seed,
            suffix=Path(job.input_name).suffix or ".yaml")
        html = _inject_after_body(job.html, bar)

        response = HTMLResponse(html, headers={"content-security-policy": _csp((script_hash(),))})
        self._cookie(response, session)
        return response

    async def download(self, request: Request) -> Response:
        session, job = self._job(request)
        if job.status != "done":
            raise HTTPException(404, "The report is not ready yet.")
        kind = request.path_params["kind"]
        stem = _stem(job.label)
        if kind == "pdf":
            data = await run_in_threadpool(self.worker.pdf, job, self.render_pdf)
            return _attachment(data, f"{stem}.pdf", "application/pdf")
        if kind == "json":
            return _attachment(to_json(job.result).encode("utf-8"), f"{stem}.json",
                               "application/json")
        if kind == "html":
            return _attachment(job.html.encode("utf-8"), f"{stem}.html", "text/html")
        if kind == "input":
            suffix = Path(job.input_name).suffix or ".yaml"
            kind_type = "text/csv" if suffix == ".csv" else "application/yaml"
            return _attachment(job.input_bytes, f"{stem}{suffix}", kind_type)
        raise HTTPException(404)

    # ---------------------------------------------------------------- errors
    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        session = self.sessions.get(request)
        detail = str(exc.detail or "")
        if exc.status_code == 404 and detail in ("", "Not Found"):
            detail = "There is no page here."
        return self.page("message.html.j2", request, session, status=exc.status_code,
                         title="Not possible" if exc.status_code != 404 else "Not found",
                         message=detail)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
        html = environment().get_template("message.html.j2").render(
            csrf="", n_pages=len(self.pages), parts=[], progress=None, title="Something went wrong",
            message="cruxfit could not answer this request. The details are in the terminal "
                    "that runs cruxfit serve; your answers so far are kept.")
        return HTMLResponse(html, status_code=500)


def _parse_upload(library, raw: bytes, display: str, suffix: str):
    """Read an uploaded file with the CLI's readers; problems name the uploaded file."""
    if suffix == ".csv":
        import tempfile

        # The CSV reader works on files: a private temporary copy, named by us, never by the
        # browser. Problems then name the upload, not the temporary path.
        with tempfile.TemporaryDirectory(prefix="cruxfit-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(raw)
            try:
                org = read_organisation(path, library, name=Path(display).stem or None)
            except InputError as exc:
                raise InputError([type(p)(display if p.file == str(path) else p.file,
                                          p.field, p.message.replace(str(path), display))
                                  for p in exc.problems]) from None
        org = _rename_source(org, display)
        return org

    text = decode_text(raw, display)
    return parse_profile_text(text, display, library, suffix=suffix)


def _rename_source(org, display: str):
    import dataclasses

    with contextlib.suppress(TypeError, ValueError):
        return dataclasses.replace(org, source=display)
    return org


def _display_name(filename: str) -> str:
    """The last part of a browser-supplied name, reduced to safe characters (shown only)."""
    base = re.split(r"[\\/]", str(filename))[-1]
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .") or "upload"
    return safe[:100]


def _stem(label: str) -> str:
    return safe_stem(label or "report")


def _attachment(data: bytes, filename: str, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{filename}"'})


def _inject_after_body(html: str, fragment: str) -> str:
    m = re.search(r"<body\b[^>]*>", html)
    if not m:
        return fragment + html
    return html[: m.end()] + fragment + html[m.end():]


def create_app(library, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
               **kwargs) -> tuple[Any, App]:
    """The ASGI app (guarded) and the :class:`App` behind it."""
    app = App(library, host=host, port=port, **kwargs)

    @contextlib.asynccontextmanager
    async def lifespan(_):
        app.worker.start()
        yield
        app.worker.stop()

    routes = [
        Route("/", app.home, methods=["GET"]),
        Route("/start", app.start, methods=["POST"]),
        Route("/part/{n}", app.part, methods=["GET"]),
        Route("/part/{n}", app.save_part, methods=["POST"]),
        Route("/review", app.review, methods=["GET"]),
        Route("/submit", app.submit, methods=["POST"]),
        Route("/upload", app.upload_form, methods=["GET"]),
        Route("/upload", app.upload, methods=["POST"]),
        Route("/job/{job}", app.job, methods=["GET"]),
        Route("/report/{job}", app.report, methods=["GET"]),
        Route("/report/{job}/download/{kind}", app.download, methods=["GET"]),
    ]
    star = Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={HTTPException: app.http_error,
                                         Exception: app.server_error})
    return Guard(star, allowed_hosts(host, port)), app


def port_problem(host: str, port: int) -> str | None:
    """None if ``host:port`` can be bound now, else a sentence saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def serve(library, *, host: str, port: int, open_browser: bool, say: Callable[[str], None],
          seed: int = 0) -> None:
    """Run the server until Ctrl-C."""
    import uvicorn

    asgi, app = create_app(library, host=host, port=port, seed=seed)
    url_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{'[' + url_host + ']' if ':' in url_host else url_host}:{port}/"
    say(f"cruxfit serve: open {url} (Ctrl-C stops the server).")
    say("Preparing the model in the background; the first report may take a little longer.")
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(asgi, host=host, port=port, log_level="warning", access_log=False,
                            server_header=False, lifespan="on")
    uvicorn.Server(config).run()
