"""Open every page of the built book in headless Chromium and check what a reader would see.

    usage: python scripts/site_check.py [_build/html] [--out _build/site_check] [--chromium PATH]

The pages are served from 127.0.0.1 and driven over the Chrome DevTools protocol on a pipe
(`--remote-debugging-pipe`: NUL-separated JSON messages on file descriptors 3 and 4), so nothing
beyond the standard library and Debian's `chromium` is needed. On every page it checks:

- math: every `.math` element holds a MathJax rendering, MathJax came from this server, and no
  raw TeX delimiter is left in the page's text;
- widgets: every saved widget view (the tqdm progress bars) was rendered from the saved state;
- images: every `<img>` loaded;
- requests: the page asked for nothing outside 127.0.0.1;
- Colab: a lab page links to its own notebook on Colab;
- accessibility: axe-core (book/_assets, pinned in its package-lock.json and installed by `npm ci`
  there) is injected into the page once it has settled and runs its default rules (WCAG 2.x A
  and AA, and best practices); a violation of serious or critical impact fails the page, the
  others are reported.

It writes one screenshot per page and report.json into --out, prints a table, and exits 1 if
any page fails a check.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}
LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome-extension:")
AXE = Path(__file__).resolve().parents[1] / "book" / "_assets" / "node_modules" / "axe-core"
FAIL_IMPACTS = ("serious", "critical")  # axe's impact levels: minor, moderate, serious, critical

# Runs in the page after axe.min.js; returns each violated rule with the elements that break it.
AXE_RUN = r"""
(async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.length,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
})()
"""

# Runs in the page; returns what the checks need as plain JSON.
COLLECT = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const skip = "script,style,pre,code,textarea,mjx-container,.highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest(skip) ? NodeFilter.FILTER_REJECT
                                                   : NodeFilter.FILTER_ACCEPT});
  const rawTex = [];
  while (walker.nextNode()) {
    const t = walker.currentNode.nodeValue;
    const tex = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac|\\mathrm/;
    if (tex.test(t)) rawTex.push(t.trim().slice(0, 80));
  }
  const math = [...document.querySelectorAll(".math")];
  const views = [...document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = views.filter(s => s.parentElement.querySelector(".jupyter-widgets"));
  const images = [...document.images];
  return {
    mathjax: (window.MathJax && MathJax.version) || null,
    mathjaxSrc: [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s)),
    math: math.length,
    mathRendered: math.filter(e => e.querySelector("mjx-container")).length,
    rawTex: rawTex.slice(0, 5),
    widgetState: document.querySelectorAll(
        'script[type="application/vnd.jupyter.widget-state+json"]').length,
    widgets: views.length,
    widgetsRendered: rendered.length,
    progressBars: document.querySelectorAll(".jupyter-widgets .progress, .widget-hprogress").length,
    images: images.length,
    brokenImages: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    colab: [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map(a => a.href),
  };
})()
"""


class Browser:
    """Headless Chromium and one tab, driven over the DevTools protocol on a pipe."""

    def __init__(self, binary: str, width: int = 1280, height: int = 1000):
        self._profile = tempfile.mkdtemp(prefix="site-check-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        flags = [
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            # Belt and braces: nothing but loopback resolves, so no request can leave the
            # machine even before the check reports it.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--user-data-dir={self._profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        # The protocol expects the pipe on fds 3 (commands in) and 4 (replies out).
        wrapper = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.proc = subprocess.Popen(
            ["bash", "-c", wrapper, binary, *flags],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._cond = threading.Condition()
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=self.session)

    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                buf += chunk
                *messages, buf = buf.split(b"\0")
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        with self._cond:
                            self._replies[msg["id"]] = msg
                            self._cond.notify_all()
                    else:
                        self.events.put(msg)

    def send(self, method: str, session: str | None = None, timeout: float = 60, **params):
        with self._cond:
            self._next_id += 1
            msg_id = self._next_id
        msg = {"id": msg_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"Chromium did not answer {method} within {timeout} s")
                self._cond.wait(min(left, 1.0))
            reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def tab(self, method: str, **params):
        return self.send(method, session=self.session, **params)

    def visit(self, url: str, timeout: float = 60) -> list[str]:
        """Load url and wait for its load event; return every URL the page requested."""
        while not self.events.empty():
            self.events.get_nowait()
        self.tab("Page.navigate", url=url)
        requested: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=1)
            except queue.Empty:
                continue
            if event.get("method") == "Network.requestWillBeSent":
                requested.append(event["params"]["request"]["url"])
            elif event.get("method") == "Page.loadEventFired":
                return requested
        raise RuntimeError(f"{url} did not finish loading within {timeout} s")

    def requests_since(self) -> list[str]:
        urls = []
        while not self.events.empty():
            event = self.events.get_nowait()
            if event.get("method") == "Network.requestWillBeSent":
                urls.append(event["params"]["request"]["url"])
        return urls

    def evaluate(self, expression: str):
        result = self.tab(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.tab("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except RuntimeError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def pages(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if not SKIP_DIRS.intersection(rel.parts[:-1]):
            found.append(rel)
    return found


def settle(browser: Browser, timeout: float = 30) -> dict:
    """Collect the page's state once MathJax has typeset and the widget views have rendered."""
    deadline = time.monotonic() + timeout
    while True:
        state = browser.evaluate(COLLECT)
        if state["widgetsRendered"] >= state["widgets"] or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def blocking(violations: list[dict]) -> list[dict]:
    """The axe violations that fail a page: those of serious or critical impact."""
    for v in violations:
        if v.get("impact") not in (None, "minor", "moderate", *FAIL_IMPACTS):
            raise ValueError(f"axe rule {v.get('id')!r} has an unknown impact {v['impact']!r}")
    return [v for v in violations if v.get("impact") in FAIL_IMPACTS]


def judge(
    rel: Path, state: dict, requested: list[str], origin: str, violations: list[dict] | None = None
) -> dict:
    """Each check's verdict for one page: True (passed), False (failed) or None (not applicable).
    violations: axe-core's for the page, or None where the scan did not run."""
    external = [
        u for u in requested if not u.startswith(origin) and not u.startswith(LOCAL_SCHEMES)
    ]
    math_ok = None
    if state["math"]:
        math_ok = (
            state["mathRendered"] == state["math"]
            and not state["rawTex"]
            and bool(state["mathjax"])
            and all(src.startswith(origin) for src in state["mathjaxSrc"])
        )
    elif state["rawTex"]:
        math_ok = False
    is_lab = rel.parts[0] == "labs" and len(rel.parts) == 2
    colab_ok = None
    if is_lab:
        notebook = f"/labs/{rel.stem}.ipynb"
        colab_ok = any(href.endswith(notebook) for href in state["colab"])
    return {
        "page": rel.as_posix(),
        "math": math_ok,
        "math_elements": state["math"],
        "raw_tex": state["rawTex"],
        "widgets": (state["widgetsRendered"] == state["widgets"]) if state["widgets"] else None,
        "widget_views": state["widgets"],
        "progress_bars": state["progressBars"],
        "images": not state["brokenImages"] if state["images"] else None,
        "image_count": state["images"],
        "broken_images": state["brokenImages"],
        "colab": colab_ok,
        "colab_links": state["colab"],
        "external_requests": external,
        "a11y": None if violations is None else not blocking(violations),
        "a11y_violations": violations or [],
    }


def redirect_target(path: Path) -> str | None:
    """Where a meta-refresh stub page sends the reader, or None for a real page."""
    m = re.search(
        r'http-equiv="refresh"[^>]*url=([^"\'>]+)', path.read_text(errors="replace"), re.I
    )
    return m.group(1).strip() if m else None


def redirect_row(rel: Path, target: str, root: Path) -> dict:
    """A stub is checked for one thing: that it points at a page of the book."""
    ok = "://" not in target and (root / rel.parent / target.split("#")[0]).exists()
    row = dict.fromkeys(("math", "widgets", "images", "colab", "a11y"))
    row |= {"math_elements": 0, "widget_views": 0, "image_count": 0, "progress_bars": 0}
    row |= {"raw_tex": [], "broken_images": [], "colab_links": [], "a11y_violations": []}
    return row | {
        "page": f"{rel.as_posix()} (redirect to {target})",
        "redirect_ok": ok,
        "external_requests": [] if ok else [target],
    }


def passed(row: dict) -> bool:
    checks = (row["math"], row["widgets"], row["images"], row["colab"], row.get("a11y"))
    return all(c is not False for c in checks) and not row["external_requests"]


def table(rows: list[dict]) -> str:
    def mark(ok, n=None):
        if ok is None:
            return "-"
        return ("ok" if ok else "FAIL") + (f" ({n})" if n is not None else "")

    lines = [
        "| page | math | widgets | images | Colab link | external requests | accessibility |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        found = r.get("a11y_violations", [])
        a11y = mark(r.get("a11y"), len(blocking(found)))
        if r.get("a11y") is not None and len(found) > len(blocking(found)):
            a11y += f", {len(found) - len(blocking(found))} minor or moderate"
        lines.append(
            f"| {r['page']} | {mark(r['math'], r['math_elements'])} "
            f"| {mark(r['widgets'], r['widget_views'])} | {mark(r['images'], r['image_count'])} "
            f"| {mark(r['colab'])} | {len(r['external_requests'])} | {a11y} |"
        )
    return "\n".join(lines)


def describe(violation: dict) -> str:
    """One line per violated rule: impact, rule id, what it asks, how many elements, a few."""
    where = ", ".join(violation.get("targets", [])[:3])
    return (
        f"{violation['impact']} {violation['id']}: {violation['help']} "
        f"({violation['nodes']} element(s): {where})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html", nargs="?", type=Path, default=Path("_build/html"))
    p.add_argument("--out", type=Path, default=Path("_build/site_check"))
    p.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    p.add_argument("--axe", type=Path, default=AXE / "axe.min.js", help="axe-core's axe.min.js")
    args = p.parse_args(argv)
    if not (args.html / "index.html").exists():
        print(f"[site] error: no {args.html}/index.html; build the book first", file=sys.stderr)
        return 2
    if not args.axe.exists():
        print(
            f"[site] error: no {args.axe}; install the pinned web assets (cd book/_assets && "
            "npm ci), which scripts/book.sh and scripts/site_check.sh do",
            file=sys.stderr,
        )
        return 2
    # The book's pages load RequireJS: with `define` hidden, axe's bundle takes its plain-script
    # path and sets window.axe instead of registering AMD modules that RequireJS never asked for.
    axe_source = "(function (define) {\n" + args.axe.read_text() + "\n}).call(window);"
    todo = pages(args.html)
    args.out.mkdir(parents=True, exist_ok=True)
    server, origin = serve(args.html)
    browser = Browser(args.chromium)
    rows = []
    try:
        for rel in todo:
            target = redirect_target(args.html / rel)
            if target is not None:  # index.html: a stub that sends the reader to the first page
                rows.append(redirect_row(rel, target, args.html))
                continue
            requested = browser.visit(origin + rel.as_posix())
            state = settle(browser)
            requested += browser.requests_since()
            browser.screenshot(args.out / (rel.as_posix().replace("/", "__") + ".png"))
            browser.evaluate(axe_source)  # after the screenshot: the page as a reader sees it
            violations = browser.evaluate(AXE_RUN)
            rows.append(judge(rel, state, requested, origin, violations))
    finally:
        browser.close()
        server.shutdown()
    (args.out / "report.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    failed = [r for r in rows if not passed(r)]
    for r in failed:
        details = {k: r[k] for k in ("raw_tex", "broken_images", "external_requests") if r[k]}
        print(f"[site] FAIL {r['page']}: {details or 'see report.json'}", file=sys.stderr)
        for v in blocking(r["a11y_violations"]):
            print(f"[site]   {describe(v)}", file=sys.stderr)
    print(
        f"[site] {len(rows) - len(failed)} of {len(rows)} pages passed; screenshots in {args.out}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
