"""`cruxfit serve` and the what-if panel in a real browser (Debian's chromium via Playwright).

Tests that do not sample use a stand-in analysis (synthetic credence draws through the real
value model, summaries and renderer) and run in the default suite; the one that runs the
sampler is marked slow. Without chromium these tests are skipped, except in CI (CI=true),
where a missing browser is a failure.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

from cruxfit.cruxes.library import SEED_APPROACH
from cruxfit.cruxes.profile import parse_profile_text
from cruxfit.cruxes.sections import Question, question_order
from cruxfit.models import whatif
from cruxfit.models.analysis import evaluate
from cruxfit.pipeline import questionnaire as qn
from cruxfit.pipeline.run import complete

CHROMIUM = os.environ.get("CRUXFIT_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("CRUXFIT_SCREENSHOTS")  # a folder to keep screenshots in
from oracles import STAND_IN_DIAGNOSTICS  # noqa: E402

DIAG = STAND_IN_DIAGNOSTICS


def _browser_or_skip():
    have = Path(CHROMIUM).exists() or shutil.which(CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        have = False
    if not have:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a browser: {CHROMIUM} or playwright is missing "
                        "(.ci/run installs chromium with apt)")
        pytest.skip(f"no browser here ({CHROMIUM} or playwright missing)")


# ----------------------------------------------------------------------------- stand-ins
ANALYSES: dict[str, object] = {}


def synthetic_run(library, subject, seed, say=lambda m: None, n=600):
    """Like run_any for an individual, with Beta draws in place of the sampler."""
    say("Sampling (stand-in for tests).")
    rng = np.random.default_rng(seed + 7)
    k = len(library.variables)
    means = rng.uniform(0.3, 0.7, k)
    theta = rng.beta(means * 8, (1 - means) * 8, size=(n, k))
    analysis = evaluate(library, subject, seed, theta, None, dict(DIAG))
    result = analysis.to_dict()
    complete(result, analysis)
    ANALYSES[subject.name] = analysis
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, library, **kwargs):
        import uvicorn

        from cruxfit.pipeline.serve import create_app

        self.port = _free_port()
        self.asgi, self.app = create_app(library, host="127.0.0.1", port=self.port, **kwargs)
        config = uvicorn.Config(self.asgi, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(library):
    live = LiveServer(library, analyse=synthetic_run, warm=False)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()


def _shot(pg, name, locator=None):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (locator or pg).screenshot(path=str(Path(SHOTS) / f"{name}.png"),
                                   **({} if locator else {"full_page": True}))


def _answer_for(q: Question, i: int) -> tuple[str, str]:
    """(how, value) for question number i: varied answers, some unsure."""
    if q.scale == "probability":
        return "fill", ["70%", "0.35", ""][i % 3]
    if q.scale == "yesno":
        return "check", "yes"
    return "check", ["5", "2", "unsure", "6", "7", "3", "4"][i % 7]


def _expected(q: Question, how_value: tuple[str, str]):
    how, value = how_value
    if value in ("", "unsure"):
        return qn.UNSURE
    if q.scale == "probability":
        return qn.interpret("probability", value).value
    return int(value)


def _fill_part(pg, part, offset=0):
    for i, q in enumerate(part.questions):
        from cruxfit.pipeline.questions import field_name

        how, value = _answer_for(q, offset + i)
        name = field_name(q)
        if how == "fill":
            pg.fill(f'input[name="{name}"]', value)
        else:
            pg.check(f'input[name="{name}"][value="{value}"]')


# ----------------------------------------------------------------------------- questionnaire
@pytest.mark.heavy
def test_questionnaire_to_report_with_downloads(server, page, library):
    from cruxfit.pipeline.questions import pages

    parts = pages(library)
    page.goto(server.url + "/")
    _shot(page, "start")
    page.fill("#name", "Ada <b>Tester</b>")
    page.click("button[value=start]")
    offset = 0
    for part in parts:
        assert page.url.endswith(f"/part/{part.number}")
        # every statement of the part is on the page, in the library's order
        texts = page.locator("fieldset.q legend").all_inner_texts()
        assert texts == [q.text for q in part.questions]
        if part.number == 1:
            _shot(page, "form-part-1")
        _fill_part(page, part, offset)
        offset += len(part.questions)
        page.click("button[value=next]")
    assert page.url.endswith("/review")
    page.click("#get-report")
    page.wait_for_selector("#whatif.whatif-ready", timeout=60_000)
    assert page.url.startswith(server.url + "/report/")
    assert page.errors == []  # the panel's script ran under the page's CSP
    # the name is shown as text, never as markup
    assert page.locator("b", has_text="Tester").count() == 0
    _shot(page, "report")
    _shot(page, "whatif", page.locator("#whatif"))

    # downloads: the profile comes back as the YAML assess would write
    with page.expect_download() as d:
        page.click("#dl-input")
    text = Path(d.value.path()).read_text(encoding="utf-8")
    prof = parse_profile_text(text, "profile.yaml", library)
    assert prof.name == "Ada <b>Tester</b>"
    i = 0
    for part in parts:
        for q in part.questions:
            how_value = _answer_for(q, i)
            i += 1
            if q.kind == "fit-gate":
                continue
            want = _expected(q, how_value)
            if q.kind == "fit":
                assert prof.fit.get(q.id) == (None if want == qn.UNSURE else want)
            elif want == qn.UNSURE:
                assert q.id in prof.unsure
            else:
                assert prof.answers[q.id] == pytest.approx(want)
    with page.expect_download() as d:
        page.click("#dl-json")
    result = json.loads(Path(d.value.path()).read_text(encoding="utf-8"))
    assert result["profile"]["name"] == "Ada <b>Tester</b>"
    assert result["whatif"]["available"]


@pytest.mark.heavy
def test_reload_keeps_progress(server, page, library):
    from cruxfit.pipeline.questions import field_name, pages

    first = pages(library)[0]
    page.goto(server.url + "/")
    page.fill("#name", "Reloader")
    page.click("button[value=start]")
    _fill_part(page, first)
    page.click("button[value=next]")
    # The form posts and is redirected: let that navigation finish before reloading, or
    # the reload can race it ("Not attached to an active page", seen once under -n 2).
    page.wait_for_url("**/part/2")
    page.wait_for_load_state("load")
    page.reload()
    page.wait_for_load_state("load")
    page.goto(server.url + "/")  # the start page offers to continue where we were
    assert "Continue at part 2" in page.locator("button[value=start]").inner_text()
    page.click("button[value=start]")
    assert page.url.endswith("/part/2")
    page.click("button[value=back]")
    assert page.url.endswith("/part/1")
    for i, q in enumerate(first.questions):
        how, value = _answer_for(q, i)
        sel = f'input[name="{field_name(q)}"]'
        if how == "fill":
            assert page.input_value(sel) == value
        else:
            assert page.is_checked(f'{sel}[value="{value}"]')


@pytest.mark.heavy
def test_bad_answer_comes_back_beside_its_field(server, page, library):
    from cruxfit.pipeline.questions import field_name, pages

    part = next(p for p in pages(library) if any(q.scale == "probability" for q in p.questions))
    q = next(q for q in part.questions if q.scale == "probability")
    page.goto(server.url + "/")
    page.click("button[value=start]")
    page.goto(server.url + f"/part/{part.number}")
    page.fill(f'input[name="{field_name(q)}"]', "70")
    page.click("button[value=next]")
    err = page.locator(f"#err-{field_name(q)}")
    assert err.count() == 1
    want = qn.interpret("probability", "70").message
    assert err.inner_text().startswith(want.split(". ")[0] + ".")  # the terminal's words...
    assert "b = back" not in err.inner_text()  # ...without the terminal's keys
    assert err.inner_text().endswith("leave the box empty if you are unsure.")
    assert page.url.endswith(f"/part/{part.number}")
    _shot(page, "form-error")


# ----------------------------------------------------------------------------- what-if panel
@pytest.fixture(scope="module")
def report_file(library, tmp_path_factory):
    from cruxfit.cruxes.profile import load_profile
    from cruxfit.reports.render import render_html

    prof = load_profile(Path(__file__).resolve().parent.parent / "data" / "example.yaml", library)
    result = synthetic_run(library, prof, 4)
    path = tmp_path_factory.mktemp("whatif") / "report.html"
    path.write_text(render_html(result), encoding="utf-8")
    return path, ANALYSES[prof.name], result


def _panel_values(pg):
    rows = pg.locator("#whatif-table tbody tr")
    out = []
    for i in range(rows.count()):
        r = rows.nth(i)
        out.append((r.get_attribute("data-slug"), float(r.get_attribute("data-value")),
                    int(r.get_attribute("data-rank"))))
    return out


@pytest.mark.heavy
def test_sliders_agree_with_python_at_any_credence_vector(browser, report_file):
    path, analysis, _ = report_file
    vm = analysis.value_model
    pg = browser.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(path.as_uri())  # offline, from a file
    pg.wait_for_selector("#whatif.whatif-ready")
    rng = np.random.default_rng(17)
    ids = list(vm.var_ids)
    # the number boxes hold the exact starting credences (a range input rounds to its step)
    theta = np.array([float(pg.input_value(f"#whatif-var-{v} input.whatif-number"))
                      for v in ids])
    assert list(theta) == json.loads(pg.locator("#whatif").get_attribute("data-theta"))
    for trial in range(4):
        # move some beliefs with the slider (0.001 steps) and type exact values into others
        for j in rng.choice(len(ids), size=3, replace=False):
            if trial % 2:
                x = round(float(rng.uniform(0, 1)), 3)
                pg.locator(f"#whatif-in-{ids[j]}").fill(str(x))
            else:
                x = float(rng.uniform(0, 1))
                pg.locator(f"#whatif-var-{ids[j]} input.whatif-number").fill(repr(x))
            theta[j] = x
        got = _panel_values(pg)
        want = vm.values(theta[None], vm.mean_ratings(1))[0]
        for slug, value, _ in got:
            assert abs(value - want[vm.index(slug)]) <= 1e-9 * max(1.0, abs(want[vm.index(slug)]))
        order = [s for s, _, _ in got]
        assert [vm.slugs[i] for i in sorted(range(len(want)), key=lambda i: (-want[i], vm.slugs[i]))] == order
        assert [r for _, _, r in got] == list(range(1, len(want) + 1))
        summary = pg.locator("#whatif-summary")
        assert summary.get_attribute("data-top") == order[0]
        assert int(summary.get_attribute("data-target-rank")) == order.index(SEED_APPROACH) + 1
    # reset returns every slider to the posterior mean
    pg.click("#whatif-reset")
    start = [float(pg.input_value(f"#whatif-var-{v} input.whatif-number")) for v in ids]
    posterior = {b["id"]: b["posterior_mean"] for b in report_file[2]["beliefs"]}
    assert start == [posterior[v] for v in ids]
    assert json.loads(pg.locator("#whatif").get_attribute("data-theta")) == start
    assert errors == []
    pg.close()


@pytest.mark.heavy
def test_switching_values_are_marked_on_their_sliders(browser, report_file):
    path, analysis, _ = report_file
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.wait_for_selector("#whatif.whatif-ready")
    data = json.loads(pg.locator("#whatif-data").inner_text())
    for v in data["variables"]:
        marks = pg.locator(f"#whatif-var-{v['id']} .whatif-switch")
        assert marks.count() == len(v["switches"])
        got = sorted(float(marks.nth(i).get_attribute("data-credence"))
                     for i in range(marks.count()))
        assert got == sorted(s["credence"] for s in v["switches"])
    pg.close()


# ----------------------------------------------------------------------------- uploads
HOSTILE_YAML = "name: !!python/object/apply:os.system ['touch /tmp/cruxfit-pwned']\nanswers: {}\n"


@pytest.mark.heavy
@pytest.mark.parametrize("filename,content,needle", [
    ("evil.yaml", HOSTILE_YAML, "evil.yaml"),
    ("../../etc/passwd.yaml", "name: x\nanswers: {nonsense-statement: 9}\n", "passwd.yaml"),
    ("huge.csv", "a" * (5 * 1024 * 1024 + 10), "huge.csv: is 5,242,890 bytes; the limit is "
                                                "5,242,880 bytes"),
    ("team.csv", "name,favourite colour\nAda,blue\n", "team.csv"),
    ("utf16.yaml", "name: x".encode("utf-16").decode("latin-1"), "UTF-16"),
    ("notes.txt", "hello", "must end in"),
])
def test_hostile_upload_gets_the_error_beside_the_field(server, page, filename, content, needle,
                                                        tmp_path):
    page.goto(server.url + "/upload")
    page.set_input_files("#file", files=[{"name": filename, "mimeType": "text/plain",
                                          "buffer": content.encode("latin-1")}])
    page.click("#upload-form button[type=submit]")
    problems = page.locator("#file-problems")
    assert problems.count() == 1, page.content()[:2000]
    text = problems.inner_text()
    assert needle in text
    assert "Traceback" not in page.content()
    assert page.get_attribute("#file", "aria-describedby") == "file-problems"
    assert not Path("/tmp/cruxfit-pwned").exists()
    if filename.startswith("../"):
        assert "/etc" not in text and ".." not in text
    if filename == "evil.yaml":
        _shot(page, "upload-error")
    if filename == "team.csv":
        assert "upload.csv" not in text and "cruxfit-upload-" not in text


@pytest.mark.heavy
def test_upload_of_a_valid_profile_gives_the_report(server, page, library):
    text = (Path(__file__).resolve().parent.parent / "data" / "example.yaml").read_text()
    page.goto(server.url + "/upload")
    page.set_input_files("#file", files=[{"name": "client.yaml", "mimeType": "text/yaml",
                                          "buffer": text.encode()}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#whatif.whatif-ready", timeout=60_000)
    assert page.errors == []


# ----------------------------------------------------------------------------- security
def _request(server, method, path, host=None, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    hs = {"Host": host if host is not None else f"127.0.0.1:{server.port}", **(headers or {})}
    conn.request(method, path, body=body, headers=hs)
    r = conn.getresponse()
    data = r.read().decode("utf-8", "replace")
    conn.close()
    return r, data


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}",
                                  "127.0.0.1:1", ""])
def test_foreign_host_header_is_refused(server, host):
    r, body = _request(server, "GET", "/", host=host.format(port=server.port))
    assert r.status == 421
    assert body.startswith("Refused: this cruxfit server answers only to")
    assert f"127.0.0.1:{server.port}" in body


def test_own_host_names_are_served_with_a_strict_csp(server):
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        r, body = _request(server, "GET", "/", host=host)
        assert r.status == 200
        csp = r.getheader("content-security-policy")
        assert "default-src 'none'" in csp and "script-src 'none'" in csp
        assert "http" not in csp
        assert r.getheader("x-frame-options") == "DENY"


@pytest.mark.heavy
def test_browser_refuses_a_foreign_host_through_dns_rebinding(server, browser):
    """A rebinding attack: another site's name resolves to this machine. The browser then
    sends that name as Host, and the server refuses to answer."""
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP attacker.example 127.0.0.1"])
    try:
        pg = b.new_page()
        response = pg.goto(f"http://attacker.example:{server.port}/")
        assert response.status == 421
        assert "Refused" in pg.content()
        response = pg.goto(f"http://127.0.0.1:{server.port}/")  # the real name still works
        assert response.status == 200
    finally:
        b.close()


def test_forms_without_the_csrf_token_are_refused(server):
    r, body = _request(server, "POST", "/start", body="name=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 403
    assert "expired" in body and "Traceback" not in body
    r, _ = _request(server, "POST", "/start", body="name=x&csrf=abc",
                    headers={"Content-Type": "application/x-www-form-urlencoded",
                             "Origin": "http://evil.example"})
    assert r.status == 403


def test_oversized_request_is_refused_before_reading(server):
    from cruxfit.pipeline.serve import MAX_BODY

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/upload", skip_host=True)
    conn.putheader("Host", f"127.0.0.1:{server.port}")
    conn.putheader("Content-Length", str(MAX_BODY + 1))
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413
    conn.close()


@pytest.mark.heavy
def test_reports_belong_to_their_browser_session(server, page, library):
    text = (Path(__file__).resolve().parent.parent / "data" / "example.yaml").read_text()
    page.goto(server.url + "/upload")
    page.set_input_files("#file", files=[{"name": "mine.yaml", "mimeType": "text/yaml",
                                          "buffer": text.encode()}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#whatif.whatif-ready", timeout=60_000)
    path = urllib.parse.urlsplit(page.url).path
    r, body = _request(server, "GET", path)  # no session cookie
    assert r.status == 404
    assert "Traceback" not in body


def test_unknown_page_is_a_plain_404(server):
    r, body = _request(server, "GET", "/part/999")
    assert r.status == 404 and "Traceback" not in body


# ----------------------------------------------------------------------------- real sampling
@pytest.mark.heavy
@pytest.mark.slow
def test_questionnaire_to_a_real_report(library, browser):
    from cruxfit.pipeline.questions import pages

    live = LiveServer(library, warm=True)
    try:
        pg = browser.new_page()
        pg.goto(live.url + "/")
        pg.fill("#name", "Sampled")
        pg.click("button[value=start]")
        offset = 0
        for part in pages(library):
            _fill_part(pg, part, offset)
            offset += len(part.questions)
            pg.click("button[value=next]")
        pg.click("#get-report")
        assert "/job/" in pg.url
        pg.wait_for_selector("#whatif.whatif-ready", timeout=300_000)
        with pg.expect_download() as d:
            pg.click("#dl-pdf")
        assert Path(d.value.path()).read_bytes()[:5] == b"%PDF-"
        with pg.expect_download() as d:
            pg.click("#dl-json")
        result = json.loads(Path(d.value.path()).read_text(encoding="utf-8"))
        assert result["diagnostics"]["converged"] in (True, False)
        table = result["whatif"]
        means = np.array([[b["posterior_mean"] for b in result["beliefs"]]])
        shown = {r: float(v) for r, v, _ in _panel_values(pg)}
        exact = whatif.evaluate(table["tables"], means)[0]
        for i, slug in enumerate(table["approaches"]):
            assert shown[slug] == pytest.approx(exact[i], rel=1e-9, abs=1e-12)
        pg.close()
    finally:
        live.stop()


# ----------------------------------------------------------------------------- the command
def test_serve_refuses_a_port_in_use(runner):
    from cruxfit.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = runner.invoke(main, ["serve", "--port", str(port)])
    assert r.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.output


def test_serve_warns_when_not_on_loopback(runner, monkeypatch):
    from cruxfit.cli import main
    from cruxfit.pipeline import serve as serve_mod

    calls = []
    monkeypatch.setattr(serve_mod, "serve", lambda lib, **kw: calls.append(kw))
    monkeypatch.setattr(serve_mod, "port_problem", lambda host, port: None)
    r = runner.invoke(main, ["serve", "--host", "0.0.0.0", "--port", "9999"])
    assert r.exit_code == 0, r.output
    assert "Warning: listening on 0.0.0.0" in r.stderr
    assert calls and calls[0]["host"] == "0.0.0.0"
    r = runner.invoke(main, ["serve", "--port", "9999"])
    assert "Warning" not in r.stderr
    assert calls[-1]["host"] == "127.0.0.1" and calls[-1]["open_browser"] is False


def test_wildcard_binding_still_refuses_other_names():
    from cruxfit.pipeline.serve import allowed_hosts

    hosts = allowed_hosts("0.0.0.0", 8765)
    assert "127.0.0.1:8765" in hosts and "localhost:8765" in hosts
    assert "evil.example:8765" not in hosts and "127.0.0.1:8766" not in hosts
    assert allowed_hosts("127.0.0.1", 8765) == {"127.0.0.1:8765", "localhost:8765"}


@pytest.mark.heavy
def test_one_analysis_at_a_time_and_the_queue_is_shown(library, browser):
    running, most, release = [0], [0], threading.Event()
    lock = threading.Lock()

    def blocking(lib, subject, seed, say):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        say("Stand-in sampler is busy.")
        release.wait(30)
        try:
            return synthetic_run(lib, subject, seed, say)
        finally:
            with lock:
                running[0] -= 1

    live = LiveServer(library, analyse=blocking, warm=False)
    text = (Path(__file__).resolve().parent.parent / "data" / "example.yaml").read_bytes()
    contexts = [browser.new_context() for _ in range(3)]
    try:
        pages_ = []
        for i, ctx in enumerate(contexts):
            pg = ctx.new_page()
            pg.goto(live.url + "/upload")
            pg.set_input_files("#file", files=[{"name": f"c{i}.yaml", "mimeType": "text/yaml",
                                                "buffer": text}])
            pg.click("#upload-form button[type=submit]")
            pages_.append(pg)
        time.sleep(0.5)
        # read each progress page with its browser's cookie (the pages refresh themselves)
        status = []
        for ctx, pg in zip(contexts, pages_):
            assert "/job/" in pg.url
            html = ctx.request.get(pg.url, max_redirects=0).text()
            status.append(" ".join(html.split()))
        assert "Stand-in sampler is busy." in status[0]
        assert "Waiting: 1 analysis before yours" in status[1]
        assert "Waiting: 2 analyses before yours" in status[2]
        release.set()
        for pg in pages_:  # the progress page refreshes itself into the report
            pg.wait_for_selector("#whatif.whatif-ready", timeout=60_000)
        assert most[0] == 1
    finally:
        release.set()
        for ctx in contexts:
            ctx.close()
        live.stop()


def test_web_pages_ask_what_assess_asks_in_the_same_order(library):
    from cruxfit.pipeline.questions import pages

    flat = [q for p in pages(library) for q in p.questions]
    assert flat == question_order(library)
    statements = [q.id for q in flat if q.kind == "statement"]
    assert sorted(statements) == sorted(s.id for s in library.statements)


def test_form_answers_are_read_like_terminal_answers(library):
    from cruxfit.pipeline.questions import field_name, pages, read_page

    for page in pages(library):
        for q in page.questions:
            name = field_name(q)
            for raw in ("5", "0.7", "70%", "", "unsure", "8", "abc", "?", "q", "1e400"):
                if q.scale == "yesno":
                    continue
                values, errors = read_page(page, {name: raw})
                reply = qn.interpret(q.scale, raw)
                if reply.action == "answer":
                    assert values[q] == reply.value and name not in errors
                elif reply.action == "unsure":
                    assert values[q] == qn.UNSURE and name not in errors
                else:
                    assert name in errors and q not in values


@pytest.mark.heavy
def test_panel_applies_expected_value_verdict_rules_when_the_library_has_them(
        browser, report_file, tmp_path):
    """A verdict rule on the expected-value rank is checked live; probability rules are not
    faked (the labels here are made up, as a future library might name them)."""
    from cruxfit.reports.render import render_html

    path, analysis, result = report_file
    r = json.loads(json.dumps(result))
    r["verdict"]["thresholds"] = [
        {"label": "alpha", "rank_max": 1, "meaning": "", "condition": ""},
        {"label": "beta", "rank_max": 3, "p_top3_min": 0.5, "meaning": "", "condition": ""},
        {"label": "gamma", "meaning": "", "condition": "otherwise"},
    ]
    file = tmp_path / "rules.html"
    file.write_text(render_html(r), encoding="utf-8")
    vm = analysis.value_model
    ids = list(vm.var_ids)
    pg = browser.new_page()
    pg.goto(file.as_uri())
    pg.wait_for_selector("#whatif.whatif-ready")
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(12):
        theta = rng.uniform(0, 1, len(ids))
        for v, x in zip(ids, theta):
            pg.locator(f"#whatif-var-{v} input.whatif-number").fill(repr(float(x)))
        values = vm.values(theta[None], vm.mean_ratings(1))[0]
        rank = 1 + int(np.sum(values > values[vm.index(SEED_APPROACH)]))
        want = "alpha" if rank == 1 else "beta" if rank <= 3 else "gamma"
        line = pg.locator("#whatif-verdict")
        assert line.get_attribute("data-label") == want
        assert ("if the chances" in line.inner_text()) == (want == "beta")
        seen.add(want)
    assert len(seen) >= 2  # the credences drawn moved the verdict
    pg.close()
