"""`cruxfit serve` benchmark: a report through the warm server beside the same report alone,
and the what-if panel's slider moves in headless chromium.

Run: .venv/bin/python benchmarks/bench_serve.py [--repeat N] [--profile FILE] [--no-browser]

In one process, interleaved, after one warm-up of each:

* alone: ``run_analysis`` + ``render_html`` of the profile (what the server's worker does,
  with nothing around it);
* server: the same profile uploaded to a live ``cruxfit serve`` app (uvicorn in a thread of
  this process) over HTTP, timed from the upload to the report page received, following the
  progress page as a browser would (it polls once a second by meta refresh; here the
  progress page is polled every 50 ms so that polling granularity is not what is measured).

Reported: medians and the ratio server / alone (target: at most 1.3).

Slider moves: the report page opened in headless chromium from a file; the belief sliders
are moved 40 times each and the panel's own timer (recompute + table update) is read, plus
the time until the next animation frame (layout and paint included). Done twice: on the
report of the profile, and on a worst case of 14 approaches that each depend on 13 beliefs
(2^13 corner values each). Target: under 50 ms per move.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example.yaml"
TARGET_SERVER = 1.3
TARGET_SLIDER_MS = 50.0


class Client:
    """A minimal browser: one cookie, forms with their CSRF token, redirects followed."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        hs = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookie:
            hs["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=hs)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        cookie = r.getheader("set-cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        return r.status, dict(r.getheaders()), data

    def upload(self, name: str, data: bytes) -> str:
        status, _, page = self.request("GET", "/upload")
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        boundary = "cruxfitbench"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n',
            f'--{boundary}\r\nContent-Disposition: form-data; name="audience"\r\n\r\n'
            "individual\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/yaml\r\n\r\n",
        ]
        body = "".join(parts).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        status, headers, _ = self.request(
            "POST", "/upload", body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert status == 303, status
        return headers["location"]

    def report(self, name: str, data: bytes, poll: float = 0.05) -> bytes:
        location = self.upload(name, data)
        while True:
            status, headers, page = self.request("GET", location)
            if status == 303:
                location = headers["location"]
                continue
            if location.startswith("/report/"):
                assert status == 200 and b'id="whatif"' in page, status
                return page
            assert b'data-status="failed"' not in page
            time.sleep(poll)


def bench_server(args) -> None:
    import uvicorn

    from cruxfit.cruxes.library import load_library
    from cruxfit.models.inference import import_quietly
    from cruxfit.cruxes.profile import load_profile
    from cruxfit.pipeline.run import run_analysis
    from cruxfit.pipeline.serve import create_app
    from cruxfit.reports.render import render_html

    import_quietly()
    library = load_library()
    profile = load_profile(args.profile, library)
    data = args.profile.read_bytes()

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    asgi, app = create_app(library, host="127.0.0.1", port=port, seed=args.seed)
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    app.worker.ready.wait()
    client = Client(port)

    def alone() -> float:
        t0 = time.perf_counter()
        result, _ = run_analysis(library, profile, args.seed)
        render_html(result)
        return time.perf_counter() - t0

    def served() -> float:
        t0 = time.perf_counter()
        client.report(args.profile.name, data)
        return time.perf_counter() - t0

    alone(), served()  # warm-up of each
    a, s = [], []
    for i in range(args.repeat):
        a.append(alone())
        s.append(served())
        print(f"  pair {i + 1}: alone {a[-1]:.2f} s, server {s[-1]:.2f} s, "
              f"ratio {s[-1] / a[-1]:.2f}", flush=True)
    ratio = statistics.median(s) / statistics.median(a)
    ok = "ok" if ratio <= TARGET_SERVER else "ABOVE TARGET"
    print(f"report alone: median {statistics.median(a):.2f} s; through the warm server: median "
          f"{statistics.median(s):.2f} s; ratio {ratio:.2f} (target <= {TARGET_SERVER}) {ok}")
    server.should_exit = True
    thread.join(timeout=10)


def _worst_case(result: dict, n_vars: int = 13, n_approaches: int = 14) -> dict:
    """The result with a what-if table where every approach depends on every belief."""
    r = json.loads(json.dumps(result))
    rng = np.random.default_rng(0)
    beliefs = r["beliefs"]
    while len(beliefs) < n_vars:
        b = dict(beliefs[0])
        b["id"] = f"extra-{len(beliefs)}"
        b["name"] = f"Extra belief {len(beliefs)}"
        beliefs.append(b)
    approaches = r["approaches"]
    while len(approaches) < n_approaches:
        a = dict(approaches[-1])
        a["slug"] = f"extra-{len(approaches)}"
        a["name"] = f"Extra approach {len(approaches)}"
        approaches.append(a)
    r["whatif"]["variables"] = [b["id"] for b in beliefs[:n_vars]]
    r["whatif"]["approaches"] = [a["slug"] for a in approaches[:n_approaches]]
    r["whatif"]["tables"] = [
        {"variables": list(range(n_vars)),
         "values": base64.b64encode(rng.uniform(0, 3, 2**n_vars).astype("<f8").tobytes())
         .decode()}
        for _ in range(n_approaches)]
    return r


def bench_slider(args) -> None:
    from playwright.sync_api import sync_playwright

    from cruxfit.cruxes.library import load_library
    from cruxfit.cruxes.profile import load_profile
    from cruxfit.pipeline.run import run_analysis
    from cruxfit.reports.render import render_html

    library = load_library()
    result, _ = run_analysis(library, load_profile(args.profile, library), args.seed)
    cases = {"report": result, "worst case 14 x 2^13": _worst_case(result)}
    move = """async (moves) => {
        const ranges = Array.from(document.querySelectorAll('#whatif .whatif-range'));
        const root = document.getElementById('whatif');
        const own = [], frame = [];
        for (let i = 0; i < moves; i++) {
          const r = ranges[i % ranges.length];
          r.value = String(((i * 37) % 1000) / 1000);
          const t0 = performance.now();
          r.dispatchEvent(new Event('input', {bubbles: true}));
          await new Promise(res => requestAnimationFrame(() => res()));
          frame.push(performance.now() - t0);
          own.push(parseFloat(root.dataset.lastMs));
        }
        return {own, frame};
    }"""
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        for label, res in cases.items():
            path = Path(tmp) / "report.html"
            path.write_text(render_html(res), encoding="utf-8")
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(path.as_uri())
            page.wait_for_selector("#whatif.whatif-ready")
            page.locator("#whatif").scroll_into_view_if_needed()
            n_app = len(res["whatif"]["approaches"])
            out = page.evaluate(move, 40 * len(res["whatif"]["variables"]))
            own, frame = np.array(out["own"]), np.array(out["frame"])
            ok = "ok" if np.percentile(frame, 95) < TARGET_SLIDER_MS else "ABOVE TARGET"
            print(f"slider move, {label} ({n_app} approaches, {len(own)} moves): recompute + "
                  f"table median {np.median(own):.2f} ms, max {own.max():.2f} ms; to the next "
                  f"frame median {np.median(frame):.1f} ms, 95th percentile "
                  f"{np.percentile(frame, 95):.1f} ms (target < {TARGET_SLIDER_MS:.0f}) {ok}")
            page.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured pairs (default 5)")
    parser.add_argument("--profile", type=Path, default=EXAMPLE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-browser", action="store_true", help="skip the slider benchmark")
    args = parser.parse_args()
    bench_server(args)
    if not args.no_browser:
        bench_slider(args)


if __name__ == "__main__":
    main()
