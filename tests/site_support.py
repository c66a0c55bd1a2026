"""Helpers for the site tests: build the demo site, serve a folder on 127.0.0.1, parse pages."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from stopsearch.outputs.site import SiteReport, build_site
from stopsearch.warehouse import connect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'"
)


class Visit:
    """A page of the shared browser with its console errors and every URL it requested."""

    def __init__(self, browser, url: str, viewport: dict | None = None):
        self.page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url, wait_until="load")

    def foreign(self, base: str) -> list[str]:
        return [u for u in self.requests if not (u.startswith(base) or u.startswith("data:"))]


def build_demo_site(warehouse: Path, out: Path, **kwargs) -> SiteReport:
    """Build the site from a (read-only) demo warehouse into `out`."""
    with connect(warehouse, read_only=True) as con:
        return build_site(con, out, demo=kwargs.pop("demo", True), **kwargs)


def shared_demo_site(warehouse: Path, tmp_path_factory) -> tuple[Path, SiteReport]:
    """One demo build per test run (shared by xdist workers), read-only for the site tests."""
    from tests.shared import build_once

    folder, report = build_once(
        tmp_path_factory, "demo-site", lambda out: build_demo_site(warehouse, out / "site")
    )
    return folder / "site", report


def _real_site_build(warehouse: Path, tmp_path_factory) -> tuple[Path, tuple]:
    """One build of the real site, with its record-level extracts in `downloads/`, per test run
    from the shared real warehouse: (folder, (export report, site report)); read-only."""
    from stopsearch.outputs.extracts import export
    from tests.shared import build_once

    def build(out: Path) -> tuple:
        with connect(warehouse, read_only=True) as con:
            exported = export(con, out / "site" / "downloads", record_level=True, demo=False)
            return exported, build_site(con, out / "site", demo=False)

    return build_once(tmp_path_factory, "real-site", build)


def shared_real_site(warehouse: Path, tmp_path_factory) -> tuple[Path, SiteReport]:
    """The shared real site (read-only) and its build report."""
    folder, (_, report) = _real_site_build(warehouse, tmp_path_factory)
    return folder / "site", report


def shared_real_export(warehouse: Path, tmp_path_factory) -> tuple[Path, Any]:
    """The shared real site's record-level extracts folder (read-only) and its export report."""
    folder, (report, _) = _real_site_build(warehouse, tmp_path_factory)
    return folder / "site" / "downloads", report


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 (threaded, a free port); yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Resources(HTMLParser):
    """URLs a page would load (script src, link href, img src...) and its CSP meta."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.csp: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for attr in ("src", "href", "srcset", "data", "poster"):
            if tag in ("a",) and attr == "href":
                continue
            if found.get(attr):
                self.urls.append((tag, str(found[attr])))
        if tag == "meta" and (found.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(found.get("content") or "")
        if found.get("style"):
            self.styles.append(str(found["style"]))


_EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(https?:)?//", re.IGNORECASE)


def external_urls(html: str) -> list[str]:
    """Every http(s) or protocol-relative URL the page would load from elsewhere."""
    parser = Resources()
    parser.feed(html)
    bad = [f"{tag}: {url}" for tag, url in parser.urls if _EXTERNAL.match(url)]
    bad += [f"style: {s}" for s in parser.styles if _CSS_URL.search(s)]
    for block in re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S | re.I):
        if _CSS_URL.search(block):
            bad.append("style block with an external url()")
    return bad


def csp_of(html: str) -> list[str]:
    parser = Resources()
    parser.feed(html)
    return parser.csp


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


class _Text(HTMLParser):
    """The text a reader sees (no script, style or JSON blocks), with tooltips and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for attr, value in attrs:
            if attr in ("title", "aria-label", "alt", "content") and value:
                self.parts.append(f" {value} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", "".join(parser.parts))


def codes_without_names(text: str, names: dict[str, str], near: int = 160) -> list[str]:
    """Area codes in `text` whose name is not within `near` characters of them."""
    bad = []
    for code, name in names.items():
        for match in re.finditer(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text):
            window = text[max(0, match.start() - near) : match.end() + near]
            if name not in window:
                context = text[max(0, match.start() - 60) : match.end() + 20]
                bad.append(f"{code} ({name}): ...{context}...")
    return bad


def shared_protected_demo_site(warehouse: Path, tmp_path_factory) -> Path:
    """One build per test run of the demo site as if its records were not public
    (``record_level = false``), from the protected demo warehouse; read-only."""
    from stopsearch.thresholds import ReleaseRules
    from tests.shared import build_once

    def build(out: Path) -> None:
        rules = ReleaseRules(record_level=False)
        build_demo_site(warehouse, out / "site", record_level=False, rules=rules)

    return build_once(tmp_path_factory, "protected-demo-site", build)[0] / "site"
