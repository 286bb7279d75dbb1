"""Smoke tests for the loopback test sites, with plain clients and real Chromium.

NETWORK RULE: everything goes to 127.0.0.0/8. Chromium gets ``--host-resolver-rules``
(only here: the service under test uses its own proxy), ending in ``MAP * ~NOTFOUND`` so
no other name is ever looked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from sessions.browser import chromium_args
from tests.support.attack_pages import ATTACK_VECTORS
from tests.support.canary_site import CanarySite, CanaryWatch
from tests.support.hosts import (
    APP_HOST,
    BROWSER_SERVICE_HOSTS,
    CANARY_IP,
    TARGET_IP,
    THIRDPARTY_HOST,
    chromium_host_resolver_rules,
    host_map,
)
from tests.support.pages import BIG_PAGE_TEXT_BYTES
from tests.support.target_site import TargetSite
from tests.support.tls import TLSMaterial
from tests.support.waiting import eventually

CHROMIUM = Path("/usr/bin/chromium")


def test_chromium_is_installed() -> None:
    # `make test` installs it; without it every browser test below would be meaningless.
    assert CHROMIUM.exists()


# --------------------------------------------------------------------------- helpers


async def http_get(
    tls: TLSMaterial,
    ip: str,
    port: int,
    path: str,
    host: str = APP_HOST,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 GET over TLS to ``ip:port`` with SNI/Host ``host``, verifying the cert."""
    context = tls.client_context()
    context.set_alpn_protocols(["http/1.1"])
    reader, writer = await asyncio.open_connection(ip, port, ssl=context, server_hostname=host)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):  # ssl.SSLError is an OSError
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    response_headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), response_headers, body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser(target_site: TargetSite, canary_site: CanarySite) -> AsyncIterator[Browser]:
    """Debian's Chromium, names pinned to loopback with host-resolver rules."""
    rules = chromium_host_resolver_rules(target_site, canary_site)
    rules += ", MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 127.0.0.2"
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


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh context that accepts the throwaway certificates."""
    ctx = await browser.new_context(ignore_https_errors=True)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> Page:
    """A page in the fresh context."""
    return await context.new_page()


# --------------------------------------------------------------------------- plain clients


def test_host_map(target_site: TargetSite, canary_site: CanarySite) -> None:
    pinned = ",".join(f"{name}=0.0.0.0" for name in BROWSER_SERVICE_HOSTS)
    assert host_map(target_site, canary_site) == (
        "app.test=127.0.0.1,other.test=127.0.0.1,thirdparty.test=127.0.0.1,canary.test=127.0.0.2,"
        + pinned
    )
    assert chromium_host_resolver_rules(target_site, canary_site) == (
        "MAP app.test 127.0.0.1, MAP canary.test 127.0.0.2, "
        "MAP other.test 127.0.0.1, MAP thirdparty.test 127.0.0.1"
    )


def test_tls_material_files(tls_material: TLSMaterial) -> None:
    assert tls_material.ca_pem.startswith("-----BEGIN CERTIFICATE-----")
    assert tls_material.ca_cert_path.read_text() == tls_material.ca_pem
    assert tls_material.key_path.stat().st_mode & 0o077 == 0
    context = tls_material.server_context()
    assert isinstance(context, ssl.SSLContext)


@pytest.mark.parametrize("name", ["app.test", "x.app.test", "other.test", "localhost"])
async def test_target_certificate_names(
    tls_material: TLSMaterial, target_site: TargetSite, name: str
) -> None:
    status, _, _ = await http_get(tls_material, TARGET_IP, target_site.port, "/", host=name)
    assert status == 200


async def test_echo_json_and_recording(tls_material: TLSMaterial, target_site: TargetSite) -> None:
    status, headers, body = await http_get(
        tls_material,
        TARGET_IP,
        target_site.port,
        "/echo.json?x=1",
        host="other.test",
        headers={"X-Probe": "42", "Cookie": "a=1; b=two"},
    )
    assert status == 200
    assert headers["content-type"] == "application/json"
    seen = json.loads(body)
    assert seen["headers"]["x-probe"] == "42"
    assert "remote-addr" not in seen["headers"]  # only what was really sent
    assert seen["cookies"] == {"a": "1", "b": "two"}
    recorded = target_site.requests_to("/echo.json", hostname="other.test")[-1]
    assert recorded.query == "x=1"
    assert recorded.headers["x-probe"] == "42"
    assert recorded.cookies == {"a": "1", "b": "two"}
    assert recorded.http_version == "1.1"


async def test_status_redirect_and_big(tls_material: TLSMaterial, target_site: TargetSite) -> None:
    port = target_site.port
    assert (await http_get(tls_material, TARGET_IP, port, "/status/404"))[0] == 404
    assert (await http_get(tls_material, TARGET_IP, port, "/status/500"))[0] == 500
    assert (await http_get(tls_material, TARGET_IP, port, "/no-such-page"))[0] == 404
    assert target_site.requests_to("/no-such-page"), "unrouted requests are recorded too"
    status, headers, _ = await http_get(
        tls_material, TARGET_IP, port, "/redirect?to=https://app.test/form"
    )
    assert (status, headers["location"]) == (302, "https://app.test/form")
    status, _, body = await http_get(tls_material, TARGET_IP, port, "/slow?ms=10")
    assert status == 200
    assert b"slept 10 ms" in body
    status, _, body = await http_get(tls_material, TARGET_IP, port, "/big")
    assert status == 200
    assert len(body) > BIG_PAGE_TEXT_BYTES
    assert body.rstrip().endswith(b"</html>")


async def test_attack_page_options(tls_material: TLSMaterial, target_site: TargetSite) -> None:
    port = target_site.port
    _, _, default = await http_get(tls_material, TARGET_IP, port, "/attack")
    assert b"/v/img" in default
    assert b"turn:" not in default  # WebRTC is opt-in (see OPTIONAL_ATTACK_VECTORS)
    _, _, custom = await http_get(
        tls_material, TARGET_IP, port, "/attack?skip=img,iframe&with=webrtc-turn-tcp"
    )
    assert b"/v/img" not in custom
    assert b"/v/iframe" not in custom
    assert f"turn:{CANARY_IP}:{target_site.canary_port}?transport=tcp".encode() in custom


async def test_canary_counts_cleartext_and_tls(
    tls_material: TLSMaterial, canary_site: CanarySite, canary_baseline: CanaryWatch
) -> None:
    status, _, body = await http_get(
        tls_material, CANARY_IP, canary_site.port, "/tls", "canary.test"
    )
    assert (status, body) == (200, b"canary")
    reader, writer = await asyncio.open_connection(CANARY_IP, canary_site.port)
    writer.write(b"GET /plain HTTP/1.1\r\nHost: canary.test\r\n\r\n")
    assert (await reader.read()).endswith(b"\r\n\r\ncanary")
    writer.close()
    await writer.wait_closed()
    # A connection that never sends a byte still counts.
    _, silent = await asyncio.open_connection(CANARY_IP, canary_site.port)
    silent.close()
    await silent.wait_closed()
    # The accept of the silent one may trail the client's close.
    await eventually(lambda: canary_baseline.new_connections >= 3, 10, "three connections")
    mine = [(r.target, r.tls) for r in canary_baseline.new_requests if r.target != "/"]
    assert mine == [("/tls", True), ("/plain", False)]
    assert canary_baseline.touched


# --------------------------------------------------------------------------- chromium


async def test_echo_shows_cookie(
    context: BrowserContext, page: Page, target_site: TargetSite
) -> None:
    await context.add_cookies([{"name": "sid", "value": "abc123", "url": target_site.url("/")}])
    await page.goto(target_site.url("/echo"))
    await page.wait_for_selector("#status:has-text('done')")
    assert json.loads(await page.text_content("#cookies") or "") == {"sid": "abc123"}
    headers = json.loads(await page.text_content("#headers") or "")
    assert headers["host"] == f"app.test:{target_site.port}"
    assert await page.text_content("#webdriver") == "true"  # Playwright-driven Chromium
    assert "Chrome/" in (await page.text_content("#ua") or "")
    assert await page.text_content("#tz")
    assert await page.text_content("#lang")
    assert await page.evaluate("window.__lsAtStart") == {}
    recorded = target_site.requests_to("/echo", hostname=APP_HOST)[-1]
    assert recorded.cookies == {"sid": "abc123"}
    assert recorded.http_version == "2"  # Chromium negotiates h2 with Hypercorn


async def test_local_storage_visible_at_start(page: Page, target_site: TargetSite) -> None:
    await page.goto(target_site.url("/"))
    await page.evaluate("localStorage.setItem('k', 'v')")
    await page.goto(target_site.url("/echo"))
    await page.wait_for_selector("#status:has-text('done')")
    assert json.loads(await page.text_content("#ls") or "") == {"k": "v"}
    assert await page.evaluate("window.__lsAtStart") == {"k": "v"}


async def test_form_page(page: Page, target_site: TargetSite, canary_site: CanarySite) -> None:
    await page.goto(target_site.url("/form"))
    assert await page.text_content("#title") == "Form page"
    await page.click("#btn")
    await page.click("#btn")
    assert await page.text_content("#out") == "clicked 2"
    await page.hover("#hover-target")
    assert await page.text_content("#out") == "hovered"
    await page.press("#name", "Enter")
    assert await page.text_content("#lastkey") == "Enter"
    assert not await page.is_visible("#hidden")
    await page.wait_for_selector("#delayed")
    assert await page.get_attribute("#to-canary", "href") == canary_site.url("/")
    assert await page.get_attribute("#to-other", "href") == target_site.url("/form", "other.test")
    await page.click("#to-other")
    await page.wait_for_url(target_site.url("/form", "other.test"))


async def test_canary_counts_direct_visit(
    page: Page, canary_site: CanarySite, canary_baseline: CanaryWatch
) -> None:
    response = await page.goto(canary_site.url("/visited"))
    assert response is not None
    assert await response.text() == "canary"
    assert canary_baseline.touched
    assert canary_baseline.new_connections >= 1
    assert "/visited" in [r.target for r in canary_baseline.new_requests]


async def test_third_party_hosts(page: Page, target_site: TargetSite) -> None:
    await page.goto(target_site.url("/third-party"))
    await page.wait_for_selector("#status:has-text('done')")
    results = json.loads(await page.text_content("#results") or "")
    assert results == {"pixel": "load", "api": "ok: 200"}
    assert target_site.requests_to("/pixel.png", hostname=THIRDPARTY_HOST)
    assert target_site.requests_to("/api", hostname=THIRDPARTY_HOST)


async def test_secret_page(page: Page, target_site: TargetSite) -> None:
    await page.goto(target_site.url("/secret"))
    assert await page.text_content("#card") == "CARD 4242 4242 4242 4242"
    await page.click("#reveal")
    assert await page.text_content(".private#late-private") == "LATE SECRET 9999"


async def test_websocket_echo(page: Page, target_site: TargetSite) -> None:
    await page.goto(target_site.url("/"))
    url = target_site.url("/ws").replace("https://", "wss://")
    echoed = await page.evaluate(
        """(url) => new Promise((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.onopen = () => ws.send("ping");
            ws.onmessage = (event) => { ws.close(); resolve(event.data); };
            ws.onerror = () => reject(new Error("websocket failed"));
        })""",
        url,
    )
    assert echoed == "ping"
    assert [r for r in target_site.requests_to("/ws") if r.websocket]


async def test_attack_page_reaches_canary_without_a_guard(
    page: Page, target_site: TargetSite, canary_baseline: CanaryWatch
) -> None:
    """With nothing in the way, the attack page must really reach the canary."""
    await page.goto(target_site.url("/attack"))
    await page.wait_for_selector("#status:has-text('done')")
    results = json.loads(await page.text_content("#results") or "")
    assert set(results) == set(ATTACK_VECTORS), results
    paths = {r.target for r in canary_baseline.new_requests}
    for vector in ("img", "iframe", "fetch", "xhr", "script-redirect", "ip-literal", "worker"):
        assert f"/v/{vector}" in paths, (vector, sorted(paths), results)
    assert "/ws" in paths  # the WebSocket upgrade request
    assert canary_baseline.new_connections >= 1
