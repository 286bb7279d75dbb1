"""``/docs`` (Swagger UI) and ``/redoc`` (Redoc) load nothing from another origin (SPEC 7, 15).

The real Chromium opens each page of an in-process instance and renders the API. NETWORK
RULE: every request the page makes to anything but the instance is recorded and aborted
before it is sent (``page.route``), and ``--host-resolver-rules`` resolves no name but the
instance's. The instance is reached by a name, ``docs.test``, as a deployment would be:
Swagger UI treats localhost addresses specially (no validator badge).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Response, Route, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from sessions.browser import chromium_args
from tests.support.service import Service

CHROMIUM = Path("/usr/bin/chromium")
DOCS_HOST = "docs.test"
READY_TIMEOUT_MS = 30_000
OPERATION = "/v1/sessions"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# Records Content-Security-Policy violations as the page sees them (init scripts run
# outside the page's policy).
VIOLATION_RECORDER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = [e.sourceFile, e.lineNumber, e.columnNumber].join(":");
  window.__violations.push([e.violatedDirective, e.blockedURI, e.sample, where].join(" "));
});
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium that resolves ``docs.test`` to loopback and no other name."""
    rules = f"MAP {DOCS_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*chromium_args(), f"--host-resolver-rules={rules}"],
        )
        try:
            yield launched
        finally:
            await launched.close()
    finally:
        await playwright.stop()


@dataclass
class Visit:
    """What the browser did while showing one page."""

    origin: str
    status: int = 0
    rendered: bool = False
    csp: str = ""
    requested: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    content_types: dict[str, str] = field(default_factory=dict)

    def foreign(self) -> list[str]:
        """Requests to anything but the instance's own origin."""
        return [url for url in self.requested if not url.startswith(self.origin + "/")]


async def visit(browser: Browser, service: Service, path: str, ready: str) -> Visit:
    """Open ``path`` and wait until ``ready`` (a selector) shows the rendered API."""
    port = urlsplit(service.base_url).port
    found = Visit(origin=f"http://{DOCS_HOST}:{port}")

    async def only_own_origin(route: Route) -> None:
        if route.request.url.startswith(found.origin + "/"):
            await route.continue_()
        else:
            found.aborted.append(route.request.url)
            await route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.console_errors.append(message.text)

    async def on_response(response: Response) -> None:
        headers = await response.all_headers()
        found.content_types[urlsplit(response.url).path] = headers.get("content-type", "")

    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.route("**/*", only_own_origin)
        await page.add_init_script(VIOLATION_RECORDER)
        page.on("request", lambda request: found.requested.append(request.url))
        page.on("console", on_console)
        page.on("pageerror", lambda error: found.console_errors.append(str(error)))
        page.on("response", on_response)
        response = await page.goto(found.origin + path)
        assert response is not None
        found.status = response.status
        found.csp = response.headers.get("content-security-policy", "")
        if found.status == 200:
            with contextlib.suppress(PlaywrightTimeoutError):  # asserted after what it tried
                await page.wait_for_selector(ready, state="attached", timeout=READY_TIMEOUT_MS)
                found.rendered = True
            await page.wait_for_load_state("networkidle")
            found.violations = await page.evaluate("window.__violations")
    finally:
        await context.close()
    return found


def assert_self_contained(found: Visit) -> None:
    """The page rendered from its own origin alone, under a strict policy, without errors."""
    assert found.status == 200
    assert found.aborted == [], "requests to other origins were attempted"
    assert found.foreign() == []
    assert found.rendered, "the API did not show"
    assert found.csp.startswith("default-src 'self';"), found.csp
    assert "unsafe-inline" not in found.csp and "unsafe-eval" not in found.csp
    assert found.violations == [], found.violations
    assert found.console_errors == [], found.console_errors


def assert_asset_types(found: Visit) -> None:
    """Every asset the page loaded came with the content type of its kind."""
    assets = {p: t for p, t in found.content_types.items() if p.startswith("/docs/assets/")}
    assert assets
    for path, content_type in assets.items():
        assert content_type == CONTENT_TYPES[Path(path).suffix], path


async def test_swagger_ui_renders_the_api_from_its_own_origin(
    browser: Browser, service: Service
) -> None:
    found = await visit(
        browser, service, "/docs", f".opblock-summary-path[data-path='{OPERATION}']"
    )
    assert_self_contained(found)
    assert_asset_types(found)
    loaded = {Path(p).name for p in found.content_types}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "swagger-init.js"} <= loaded


async def test_redoc_renders_the_api_from_its_own_origin(
    browser: Browser, service: Service
) -> None:
    found = await visit(browser, service, "/redoc", f'text="{OPERATION}"')
    assert_self_contained(found)
    assert_asset_types(found)
    loaded = {Path(p).name for p in found.content_types}
    assert {"redoc.standalone.js", "redoc-init.js"} <= loaded


async def test_assets_are_versioned_typed_and_cached_for_good(service: Service) -> None:
    urls: set[str] = set()
    for path in ("/docs", "/redoc"):
        page = await service.http.get(path)
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'self';")
        urls |= set(re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text))
    assert len(urls) == 7, urls
    for url in sorted(urls):
        asset = await service.http.get(url)  # no API key: the pages are public
        assert asset.status_code == 200, url
        assert asset.headers["content-type"] == CONTENT_TYPES[Path(url).suffix], url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        again = await service.http.get(url, headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    some = sorted(urls)[0]
    _, _, _, tag, name = some.split("/")
    for missing in (f"/docs/assets/0.0.0/{name}", f"/docs/assets/{tag}/oauth2-redirect.js"):
        refused = await service.http.get(missing)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "NOT_FOUND"
    paths = (await service.http.get("/openapi.json")).json()["paths"]
    assert OPERATION in paths and not [p for p in paths if p.startswith(("/docs", "/redoc"))]
