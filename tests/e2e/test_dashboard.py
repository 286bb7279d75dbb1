"""The dashboard (SPEC section 15) in a real Chromium against a real ``sessionshot serve``.

One ``serve`` and one ``worker`` process on a private Redis prefix; the person is played by
Playwright in Debian's Chromium. Every page the browser shows is checked for its headers
(a strict Content-Security-Policy, no framing) and every request it made for its origin.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, Response, async_playwright

from sessions.browser import chromium_args
from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack
from tests.support.procs import RedisServer, sessionshot_bin
from tests.support.service import ADMIN_TOKEN
from tests.support.target_site import TargetSite

pytestmark = pytest.mark.timeout(180)

PAGES = ("usage", "captures", "sessions", "keys", "domains", "webhooks")
CSP = "default-src 'self'"
# Records Content-Security-Policy violations as the page sees them.
VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """The person's browser."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=chromium_args()
        )
        yield browser
        await browser.close()


@dataclass
class Visitor:
    """A browser context on the dashboard, with everything it requested and received."""

    context: BrowserContext
    page: Page
    origin: str
    requested: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def foreign(self) -> list[str]:
        """Requests to anything but the instance's own origin."""
        return [url for url in self.requested if not url.startswith(self.origin + "/")]

    async def open(self, path: str) -> Response:
        """Go to ``path`` of the dashboard, asserting the page arrived."""
        response = await self.page.goto(self.origin + path)
        assert response is not None
        return response

    async def cookie(self) -> str:
        """The dashboard sign-in cookie's value."""
        for cookie in await self.context.cookies():
            if cookie["name"] == "sessionshot_dashboard":
                return cookie["value"]
        raise AssertionError("no dashboard cookie")

    async def csrf(self) -> str:
        """The CSRF token of the page shown."""
        token = await self.page.locator("input[name=csrf_token]").first.get_attribute("value")
        assert token
        return token

    async def violations(self) -> list[str]:
        found: list[str] = await self.page.evaluate("window.__violations || []")
        return found


@pytest.fixture
async def visitor(chromium: Browser, stack: CaptureStack) -> AsyncIterator[Visitor]:
    context = await chromium.new_context()
    await context.add_init_script(VIOLATIONS)
    seen = Visitor(context, await context.new_page(), stack.base_url)

    def on_request(request: Request) -> None:
        seen.requested.append(request.url)

    def on_response(response: Response) -> None:
        seen.responses.append(response)

    context.on("request", on_request)
    context.on("response", on_response)
    yield seen
    # Whatever the test did, the browser stayed on the instance's origin, and every
    # dashboard answer carried the policy.
    assert seen.foreign() == []
    for response in seen.responses:
        if response.url.startswith(f"{seen.origin}/dashboard"):
            headers = await response.all_headers()
            assert CSP in headers.get("content-security-policy", ""), response.url
    await context.close()


async def sign_in(visitor: Visitor, api_key: str) -> None:
    """Sign in with the key form; lands on the usage page."""
    await visitor.open("/dashboard/signin")
    await visitor.page.fill("#api_key", api_key)
    await visitor.page.click("button[type=submit]")
    await visitor.page.wait_for_url("**/dashboard/usage")


def cli(stack: CaptureStack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``sessionshot`` with the stack's settings."""
    return subprocess.run(
        [sessionshot_bin(), *args], env=stack.env, capture_output=True, text=True, timeout=60
    )


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def dashboard_client(stack: CaptureStack, cookie: str) -> httpx.AsyncClient:
    """A plain HTTP client holding a dashboard cookie (no redirects followed)."""
    return httpx.AsyncClient(
        base_url=stack.base_url, cookies={"sessionshot_dashboard": cookie}, timeout=30
    )


async def admin_domains(stack: CaptureStack, ws_id: str) -> dict[str, bool]:
    answer = await stack.http.get(f"/admin/workspaces/{ws_id}/domains", headers=auth(ADMIN_TOKEN))
    assert answer.status_code == 200, answer.text
    return {d["domain"]: d["active"] for d in answer.json()["domains"]}


# Sign-in and sign-out ------------------------------------------------------------------------


async def test_sign_in_with_a_key_and_sign_out_ends_the_session(
    stack: CaptureStack, visitor: Visitor
) -> None:
    ws_id, key = await stack.new_key()
    await sign_in(visitor, key)
    assert ws_id in await visitor.page.content()
    cookies = {c["name"]: c for c in await visitor.context.cookies()}
    session = cookies["sessionshot_dashboard"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert key not in session["value"]
    # Redis keeps the workspace and the key id of the sign-in, never the key.
    stored = [k async for k in stack.redis.scan_iter(match=f"{stack.prefix}dash:*", count=1000)]
    assert stored
    for name in stored:
        assert key not in str(await stack.redis.hgetall(name))
        assert session["value"] not in str(name)

    old = await visitor.cookie()
    await visitor.page.click(".signout button")
    await visitor.page.wait_for_url("**/dashboard/signin?ended=out")
    async with dashboard_client(stack, old) as client:
        again = await client.get("/dashboard/usage")
    assert again.status_code == 303
    assert again.headers["location"].endswith("/dashboard/signin")


async def test_a_wrong_key_is_refused_inline(stack: CaptureStack, visitor: Visitor) -> None:
    await visitor.open("/dashboard/signin")
    await visitor.page.fill("#api_key", "ssk_0123456789abcdef_" + "A" * 43)
    await visitor.page.click("button[type=submit]")
    await visitor.page.locator(".error").wait_for()
    assert "not an active API key" in await visitor.page.locator(".error").inner_text()


async def test_a_one_time_link_signs_in_once(
    stack: CaptureStack, chromium: Browser, visitor: Visitor
) -> None:
    ws_id, _ = await stack.new_key()
    newer = await stack.http.post(
        f"/admin/workspaces/{ws_id}/keys", headers=auth(ADMIN_TOKEN), json={"name": "newest"}
    )
    assert newer.status_code == 201
    made = await asyncio.to_thread(
        cli, stack, "admin", "dashboard-link", "--workspace", ws_id, "--url", stack.base_url
    )
    assert made.returncode == 0, made.stderr
    link = re.search(r'"url": "([^"]+)"', made.stdout)
    assert link is not None and link.group(1).startswith(stack.base_url + "/dashboard/link?token=")

    # Fetching the page (as a chat app's link preview does) does not spend the link.
    for _ in range(2):
        assert (await stack.http.get(link.group(1))).status_code == 200
    await visitor.page.goto(link.group(1))
    await visitor.page.click("button[type=submit]")
    await visitor.page.wait_for_url("**/dashboard/usage")
    assert ws_id in await visitor.page.content()
    # A link sign-in acts as the workspace's newest active key.
    await visitor.open("/dashboard/keys")
    row = visitor.page.locator(f"tr[data-key='{newer.json()['id']}']")
    assert "(this sign-in)" in await row.inner_text()

    second = await chromium.new_context()
    try:
        page = await second.new_page()
        await page.goto(link.group(1))
        async with page.expect_response(lambda r: r.url.endswith("/dashboard/link")) as refused:
            await page.click("button[type=submit]")
        assert (await refused.value).status == 410
        assert "used already" in await page.content()
        assert not [c for c in await second.cookies() if c["name"] == "sessionshot_dashboard"]
    finally:
        await second.close()

    token = link.group(1).split("token=")[1]
    assert token not in stack.logs()  # the access log shows the path, never the token

    unknown = await asyncio.to_thread(
        cli, stack, "admin", "dashboard-link", "--workspace", "ws_0000000000000000"
    )
    assert unknown.returncode == 1


# Pages -------------------------------------------------------------------------------------


async def test_usage_totals_equal_the_usage_api(stack: CaptureStack, visitor: Visitor) -> None:
    _, key = await stack.new_key()
    for _ in range(2):
        made = await stack.http.post("/v1/sessions", headers=auth(key), json={})
        assert made.status_code == 201, made.text
        closed = await stack.http.delete(f"/v1/sessions/{made.json()['id']}", headers=auth(key))
        assert closed.status_code == 200
    await sign_in(visitor, key)
    start = await visitor.page.locator("#range-from").get_attribute("datetime")
    end = await visitor.page.locator("#range-to").get_attribute("datetime")
    report = await stack.http.get(
        "/v1/usage", headers=auth(key), params={"from": start or "", "to": end or ""}
    )
    assert report.status_code == 200, report.text
    totals = report.json()["totals"]
    assert totals["sessions"] == 2 and totals["credits"] >= 2
    for name in ("credits", "sessions", "captures"):
        shown = await visitor.page.locator(f"[data-total={name}]").inner_text()
        assert int(shown) == totals[name], name
    rows = await visitor.page.locator("#daily tbody tr").count()
    assert rows == len(report.json()["daily"]) == 30
    assert await visitor.page.locator("svg rect.bar").count() == 60


async def test_a_capture_is_listed_and_opens_its_file_without_its_cookie(
    stack: CaptureStack, target_site: TargetSite, visitor: Visitor
) -> None:
    _, key = await stack.new_key()
    canary = f"dash-cookie-{secrets.token_hex(8)}"
    body = {
        "url": target_site.url("/"),
        "auth": {"cookies": [{"name": "sid", "value": canary, "domain": "app.test"}]},
    }
    accepted = await stack.create_capture(key, body)
    final = await stack.wait_final(key, accepted["id"], 90)
    assert final["status"] == "completed", final
    original = (await stack.http.get(final["result"]["url"])).content

    await sign_in(visitor, key)
    await visitor.open("/dashboard/captures")
    row = visitor.page.locator(f"tr[data-capture='{accepted['id']}']")
    assert "completed" in await row.inner_text()
    assert "png" in await row.inner_text()
    href = await row.locator("a", has_text="Open").get_attribute("href")
    assert href
    opened = await visitor.context.request.get(visitor.origin + href)
    assert opened.ok
    assert await opened.body() == original

    for name in PAGES:
        await visitor.open(f"/dashboard/{name}")
        assert canary not in await visitor.page.content(), name


async def test_sessions_page_closes_a_session_and_opens_its_live_view(
    stack: CaptureStack, visitor: Visitor
) -> None:
    _, key = await stack.new_key()
    made = await stack.http.post("/v1/sessions", headers=auth(key), json={})
    assert made.status_code == 201, made.text
    session_id = made.json()["id"]
    await sign_in(visitor, key)
    await visitor.open("/dashboard/sessions")
    row = visitor.page.locator(f"#active tr[data-session='{session_id}']")
    await row.locator("button", has_text="Live view").click()
    await visitor.page.wait_for_url("**/live/**")
    await visitor.open("/dashboard/sessions")
    await (
        visitor.page.locator(f"#active tr[data-session='{session_id}']")
        .locator("button", has_text="Close")
        .click()
    )
    await visitor.page.wait_for_url("**/dashboard/sessions?done=closed")
    read = await stack.http.get(f"/v1/sessions/{session_id}", headers=auth(key))
    assert read.json()["status"] == "closed"
    assert await visitor.page.locator(f"#closed tr[data-session='{session_id}']").count() == 1


async def test_a_key_made_in_the_dashboard_is_shown_once_works_and_revokes(
    stack: CaptureStack, visitor: Visitor
) -> None:
    _, key = await stack.new_key()
    await sign_in(visitor, key)
    await visitor.open("/dashboard/keys")
    await visitor.page.fill("#name", "from-the-dashboard")
    await visitor.page.click("form.inline button")
    new_key = await visitor.page.locator("#new-key").inner_text()
    assert new_key.startswith("ssk_")
    await visitor.open("/dashboard/keys")
    assert new_key not in await visitor.page.content()
    assert "from-the-dashboard" in await visitor.page.content()

    works = await stack.http.get("/v1/sessions", headers=auth(new_key))
    assert works.status_code == 200
    key_id = "key_" + new_key.split("_")[1]
    await visitor.page.locator(f"tr[data-key='{key_id}'] button").click()
    await visitor.page.wait_for_url("**/dashboard/keys?done=revoked")
    refused = await stack.http.get("/v1/sessions", headers=auth(new_key))
    assert refused.status_code == 401


async def test_domains_added_and_removed_in_the_dashboard(
    stack: CaptureStack, visitor: Visitor
) -> None:
    ws_id, key = await stack.new_key()
    await sign_in(visitor, key)
    await visitor.open("/dashboard/domains")
    await visitor.page.fill("#domain", "Shots.Example.COM")
    await visitor.page.click("form.inline button")
    await visitor.page.wait_for_url("**/dashboard/domains?done=added")
    assert (await admin_domains(stack, ws_id))["shots.example.com"] is True

    await visitor.page.fill("#domain", "not a domain!")
    await visitor.page.click("form.inline button")
    await visitor.page.locator("#domain-error").wait_for()
    assert "domain" in (await visitor.page.locator("#domain-error").inner_text()).lower()

    await visitor.open("/dashboard/domains")
    await visitor.page.locator("tr[data-domain='shots.example.com'] button").click()
    await visitor.page.wait_for_url("**/dashboard/domains?done=removed")
    assert (await admin_domains(stack, ws_id))["shots.example.com"] is False
    refused = await stack.http.post(
        "/api/captures", headers=auth(key), json={"url": "https://shots.example.com/"}
    )
    assert refused.status_code == 403


async def test_a_webhook_secret_is_shown_once(stack: CaptureStack, visitor: Visitor) -> None:
    _, key = await stack.new_key()
    await sign_in(visitor, key)
    await visitor.open("/dashboard/webhooks")
    await visitor.page.fill("#url", "https://app.test/receive")
    await visitor.page.click("form.stack button[type=submit]")
    secret = await visitor.page.locator("#new-secret").inner_text()
    assert secret.startswith("whsec_")
    listed = await stack.http.get("/api/webhooks", headers=auth(key))
    assert [w["url"] for w in listed.json()["webhooks"]] == ["https://app.test/receive"]
    await visitor.open("/dashboard/webhooks")
    assert secret not in await visitor.page.content()
    assert "app.test/receive" in await visitor.page.content()


# Protections -------------------------------------------------------------------------------


async def test_forms_without_the_csrf_token_change_nothing(
    stack: CaptureStack, visitor: Visitor
) -> None:
    ws_id, key = await stack.new_key()
    await sign_in(visitor, key)
    await visitor.open("/dashboard/domains")
    token = await visitor.csrf()
    async with dashboard_client(stack, await visitor.cookie()) as client:
        for form in (
            {"domain": "csrf.example.com"},
            {"domain": "csrf.example.com", "csrf_token": "x" * len(token)},
        ):
            refused = await client.post("/dashboard/domains", data=form)
            assert refused.status_code == 403, refused.text
            assert "nothing was changed" in refused.text
        keys_before = await stack.http.get(
            f"/admin/workspaces/{ws_id}/keys", headers=auth(ADMIN_TOKEN)
        )
        refused = await client.post("/dashboard/keys", data={"name": "x"})
        assert refused.status_code == 403
        revoke = await client.post(f"/dashboard/keys/key_{key.split('_')[1]}/revoke", data={})
        assert revoke.status_code == 403
        hook = {"url": "https://app.test/hook", "events": "session.closed"}
        assert (await client.post("/dashboard/webhooks", data=hook)).status_code == 403
        hooks = await stack.http.get("/api/webhooks", headers=auth(key))
        assert hooks.json()["webhooks"] == []
        signout = await client.post("/dashboard/signout", data={})
        assert signout.status_code == 403
        still = await client.get("/dashboard/usage")
        assert still.status_code == 200
        accepted = await client.post(
            "/dashboard/domains", data={"domain": "csrf.example.com", "csrf_token": token}
        )
        assert accepted.status_code == 303
    keys_after = await stack.http.get(f"/admin/workspaces/{ws_id}/keys", headers=auth(ADMIN_TOKEN))
    # The same one key, still active (its lastUsedAt moves with every page: not compared).
    state = [(k["id"], k["revokedAt"]) for k in keys_after.json()["keys"]]
    assert state == [(k["id"], None) for k in keys_before.json()["keys"]]
    assert len(state) == 1
    assert await admin_domains(stack, ws_id) == {"app.test": True, "csrf.example.com": True}
    # A sign-in form posted from elsewhere (no form cookie) signs nobody in.
    async with httpx.AsyncClient(base_url=stack.base_url) as stranger:
        forged = await stranger.post("/dashboard/signin", data={"api_key": key, "csrf_token": "a"})
    assert forged.status_code == 403
    assert "sessionshot_dashboard" not in forged.headers.get("set-cookie", "")


async def test_every_page_is_same_origin_under_a_strict_policy(
    stack: CaptureStack, visitor: Visitor
) -> None:
    _, key = await stack.new_key()
    await visitor.open("/dashboard/signin")
    await sign_in(visitor, key)
    for name in PAGES:
        response = await visitor.open(f"/dashboard/{name}")
        assert response.status == 200, name
        assert await visitor.page.locator("link[rel=stylesheet]").count() == 1
        assert await visitor.violations() == [], name
        # The stylesheet applied (the layout is not the browser's default).
        background = await visitor.page.evaluate(
            "getComputedStyle(document.querySelector('.topbar')).backgroundColor"
        )
        assert background == "rgb(20, 26, 38)"
    assert visitor.requested and visitor.foreign() == []
    for response in visitor.responses:
        headers = await response.all_headers()
        assert CSP in headers.get("content-security-policy", ""), response.url
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers.get("x-frame-options") == "DENY", response.url
    # Each page counts against the key's rate limit like an API request.
    remaining = [
        int((await r.all_headers())["ratelimit-remaining"])
        for r in visitor.responses
        if "ratelimit-remaining" in await r.all_headers()
    ]
    assert len(remaining) >= len(PAGES) and remaining == sorted(remaining, reverse=True)


async def test_a_new_workspace_sees_what_to_do_next_on_a_phone(
    stack: CaptureStack, chromium: Browser
) -> None:
    _, key = await stack.new_key()
    context = await chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = Visitor(context, await context.new_page(), stack.base_url)
        await sign_in(phone, key)
        for name, hint in (
            ("captures", "No captures yet"),
            ("sessions", "No active session"),
            ("webhooks", "No endpoint yet"),
        ):
            await phone.open(f"/dashboard/{name}")
            assert hint in await phone.page.locator(".empty").first.inner_text(), name
            # Nothing but the tables scrolls sideways on a phone.
            overflow = await phone.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, name
    finally:
        await context.close()


async def test_revoking_the_signed_in_key_ends_the_sign_in(
    stack: CaptureStack, visitor: Visitor
) -> None:
    _, key = await stack.new_key()
    await sign_in(visitor, key)
    key_id = "key_" + key.split("_")[1]
    revoked = await stack.http.delete(f"/admin/keys/{key_id}", headers=auth(ADMIN_TOKEN))
    assert revoked.status_code == 200
    response = await visitor.open("/dashboard/captures")
    assert response.url.endswith("/dashboard/signin?ended=key")


async def test_pages_and_api_requests_share_the_key_rate_limit(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    workdir = tmp_path_factory.mktemp("dashboard-rate")
    limited = await CaptureStack.start(
        redis_server.url,
        f"dr{secrets.token_hex(4)}:",
        workdir,
        rate_limit="5/day",
        **browser_overrides(target_site, canary_site, workdir / "storage", warm_contexts=0),
    )
    try:
        _, key = await limited.new_key()
        async with httpx.AsyncClient(base_url=limited.base_url, timeout=30) as browser:
            form = await browser.get("/dashboard/signin")  # not counted: no key yet
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            data = {"api_key": key, "csrf_token": token.group(1)}
            signed = await browser.post("/dashboard/signin", data=data)  # 1
            assert signed.status_code == 303
            assert (await browser.get("/dashboard/usage")).status_code == 200  # 2
            assert (await browser.get("/dashboard/keys")).status_code == 200  # 3
            api = await browser.get("/v1/sessions", headers=auth(key))  # 4
            assert api.headers["RateLimit-Remaining"] == "1"
            assert (await browser.get("/dashboard/domains")).status_code == 200  # 5
            refused = await browser.get("/dashboard/usage")
            assert refused.status_code == 429
            assert "Retry-After" in refused.headers
            assert (await browser.get("/v1/sessions", headers=auth(key))).status_code == 429
    finally:
        await limited.aclose()


# Fuzz --------------------------------------------------------------------------------------

FORMS = (
    "/dashboard/keys",
    "/dashboard/domains",
    "/dashboard/domains/remove",
    "/dashboard/webhooks",
    "/dashboard/keys/key_0000000000000000/revoke",
    "/dashboard/webhooks/wh_nope/delete",
    "/dashboard/sessions/sess_nope/close",
    "/dashboard/sessions/sess_nope/live",
)


MARKUP = '"><script>alert(1)</script><b x="'


def bad_forms(token: str) -> list[dict[str, Any]]:
    """Request shapes no page sends: huge, repeated, typed wrong, not a form at all."""
    huge = "x" * 200_000
    nested = "[" * 5000 + "]" * 5000
    return [
        {"data": {"csrf_token": token, "name": huge, "domain": huge, "url": huge}},
        {"data": {"csrf_token": token, "domain": "\x00\ud7ff" * 50, "url": "javascript:x"}},
        {"data": {"csrf_token": token, "url": "https://hooks.app.test/", "events": "nope"}},
        {"data": {"csrf_token": token, "domain": "*.", "name": "é" * 101}},
        {"data": {"csrf_token": token, "domain": MARKUP, "name": MARKUP, "url": MARKUP}},
        {"data": {"csrf_token": [token, token], "domain": ["a.test", "b.test"]}},
        {"data": {"csrf_token": token, "events": ["session.closed"] * 50, "url": "http://x"}},
        {"json": {"csrf_token": token, "domain": {"nested": [1, 2, {"x": None}]}}},
        {"content": nested.encode(), "headers": {"Content-Type": "application/json"}},
        {
            "content": b"\xff\xfe" * 1000,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {
            "content": b"--b\r\nbroken",
            "headers": {"Content-Type": "multipart/form-data; boundary=b"},
        },
    ]


async def oversized_post(stack: CaptureStack, path: str, cookie: str) -> int:
    """The status answered to a form announcing a body over the 1 MiB limit.

    Only the headers and a first chunk are sent: the service answers from the announced
    length (sending the whole body races the server closing a connection it stopped reading).
    """
    host, port = stack.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: sessionshot_dashboard={cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {2 * 1024 * 1024}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + b"a=" + b"a" * 1000)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_forms_fuzzed_answer_4xx_or_an_inline_error_never_500(
    stack: CaptureStack, visitor: Visitor
) -> None:
    _, key = await stack.new_key()
    await sign_in(visitor, key)
    await visitor.open("/dashboard/keys")
    token = await visitor.csrf()
    async with dashboard_client(stack, await visitor.cookie()) as client:
        for path in FORMS:
            for shape in bad_forms(token):
                answer = await client.post(path, **shape)
                assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
                assert "<script>" not in answer.text, path  # echoed values are escaped
                assert answer.status_code in (303, 400, 403, 404, 409, 413) or (
                    answer.status_code == 201 and path == "/dashboard/keys"
                ), (path, answer.status_code)
        for path in ("/dashboard/signin", "/dashboard/link"):
            for shape in bad_forms(token):
                answer = await client.post(path, **shape)
                assert 400 <= answer.status_code < 500, (path, answer.status_code)
        for path in (
            "/dashboard/link?token=" + "x" * 5000,
            "/dashboard/captures/" + "y" * 3000 + "/open",
        ):
            answer = await client.get(path)
            assert answer.status_code < 500, path
    for path in FORMS:
        assert await oversized_post(stack, path, await visitor.cookie()) == 413, path
    assert await oversized_post(stack, "/dashboard/signin", "") == 413
    # The sign-in still works afterwards.
    assert (await visitor.open("/dashboard/usage")).status == 200
