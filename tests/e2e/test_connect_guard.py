"""What a connect session's CDP client cannot do (SPEC section 12), against real processes.

Two instances (``a`` and ``b``) share one Redis prefix. A bare WebSocket speaking CDP and
Playwright's ``connect_over_cdp`` try what the relay refuses or the egress guard stops: the
server's files by URL or path, downloads, the canary on 127.0.0.2, another session's browser.
Each refusal leaves the connection usable. The connect browsers are compared with the shared
one, process by process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import FilePayload, async_playwright
from websockets.asyncio.client import ClientConnection

from sessions.browser import chromium_args
from sessions.egress import BROWSER_RESOLVER_FLAG
from tests.conftest import two_instances
from tests.support.browser_procs import (
    argv_of,
    browsers_if,
    connect_browsers,
    listening_ports,
    shared_browser,
)
from tests.support.canary_site import CanarySite
from tests.support.cdp_client import (
    Cdp,
    connect_session,
    evaluate,
    page_session,
    page_target,
    raw_cdp,
)
from tests.support.cluster import Instance
from tests.support.hosts import CANARY_IP
from tests.support.metrics import gauge
from tests.support.procs import free_port
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    """A file of the server's (the test shares its machine) no client may read."""
    path = tmp_path / "secret.txt"
    path.write_text(f"server-secret-{secrets.token_hex(8)}")
    return str(path)


cluster = two_instances("connect-guard", "g", connect_warm=1)
"""Instances ``a`` and ``b`` on one prefix, one warm connect browser each."""


_LOAD_OPTIONS = {"disableCache": True, "includeCredentials": False}


def refused_calls(target: str, secret_file: str) -> list[tuple[str, dict[str, Any], bool]]:
    """One or more calls of each kind the relay refuses: ``(method, params, on_page)``, sent
    on the page's session when ``on_page``, else at browser level, where the browser itself
    would run them. ``target`` is the page's target id, ``secret_file`` a server file."""
    secret_url = f"file://{secret_file}"
    inspector = "devtools://devtools/bundled/inspector.html"
    drop = {"items": [], "files": [secret_file], "dragOperationsMask": 1}
    fedcm = {"dialogId": "d", "accountIndex": 0, "accountUrlType": "TermsOfService"}
    return [
        # Server files and the browser's own pages, by URL.
        ("Page.navigate", {"url": secret_url}, True),
        ("Page.navigate", {"url": f" \tFILE://{secret_file}"}, True),
        ("Page.navigate", {"url": "chrome://version"}, True),
        ("Page.navigate", {"url": "about:version"}, True),
        ("Page.navigate", {"url": f"view-source:{secret_url}"}, True),
        ("Page.navigate", {"url": inspector}, True),
        ("Page.navigate", {"url": "filesystem:https://app.test/temporary/x"}, True),
        ("Target.createTarget", {"url": secret_url}, False),
        ("Target.createTarget", {"url": "chrome://settings"}, False),
        ("Target.createTarget", {"url": inspector}, False),
        ("Fetch.continueRequest", {"requestId": "interception-job-1.0", "url": secret_url}, True),
        ("Network.loadNetworkResource", {"url": secret_url, "options": _LOAD_OPTIONS}, True),
        # Server files, by path.
        ("DOM.setFileInputFiles", {"files": [secret_file], "nodeId": 1}, True),
        ("Input.dispatchDragEvent", {"type": "drop", "x": 5, "y": 5, "data": drop}, True),
        ("Tracing.start", {"perfettoConfig": "CgQIgIAE"}, False),
        ("Tracing.start", {"tracingBackend": "system"}, False),
        ("Extensions.loadUnpacked", {"path": "/tmp"}, False),
        # Past the egress guard.
        ("Target.createBrowserContext", {"proxyServer": "direct://"}, False),
        ("Target.createBrowserContext", {"proxyServer": ""}, False),
        ("Target.createBrowserContext", {"proxyBypassList": "*"}, False),
        ("Target.createBrowserContext", {"originsWithUniversalNetworkAccess": ["file://"]}, False),
        ("Target.setRemoteLocations", {"locations": [{"host": "127.0.0.2", "port": 9222}]}, False),
        ("FedCm.openUrl", fedcm, True),
        ("Cast.enable", {}, True),
        ("Tethering.bind", {"port": free_port()}, False),
        ("PWA.install", {"manifestId": "https://app.test/manifest.json"}, False),
        # The browser's own lifecycle, the server's description, unscreened connections.
        ("Browser.close", {}, False),
        ("Browser.crash", {}, False),
        ("Browser.crashGpuProcess", {}, False),
        ("Page.crash", {}, True),
        ("Browser.getBrowserCommandLine", {}, False),
        ("SystemInfo.getInfo", {}, False),
        ("SystemInfo.getProcessInfo", {}, False),
        ("Browser.executeBrowserCommand", {"commandId": "openTabSearch"}, False),
        ("Browser.addPrivacySandboxEnrollmentOverride", {"url": "https://app.test"}, False),
        ("Target.exposeDevToolsProtocol", {"targetId": target}, False),
        ("Target.openDevTools", {"targetId": target}, False),
        ("Target.getDevToolsTarget", {"targetId": target}, False),
        (
            "Target.sendMessageToTarget",
            {"targetId": target, "message": json.dumps({"id": 1, "method": "Page.crash"})},
            False,
        ),
        ("Nope.enable", {}, False),
    ]


UNREADABLE: list[tuple[str, int]] = [
    # (message, the id of its error answer)
    ("not json", 0),
    ('{"id": 41, "method": "Page.enable", "method": "Browser.close"}', 0),
    ('{"id": 42, "method": "Browser.close", "params": []}', 42),
    ('{"id": 2000000001, "method": "Browser.close"}', 2000000001),
]


async def error_answer(ws: ClientConnection, answer_id: int) -> dict[str, Any]:
    """The next error answer with ``answer_id`` (events and other answers skipped)."""
    while True:
        answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if answer.get("id") == answer_id and "error" in answer:
            error: dict[str, Any] = answer["error"]
            return error


async def test_refused_methods_answer_errors_and_the_connection_stays(
    a: Instance, key: str, target_site: TargetSite, secret_file: str
) -> None:
    session = await connect_session(a, key)
    await a.act(key, session["id"], "goto", url=target_site.url("/form"))
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    target, page = await page_target(cdp)
    secret = Path(secret_file).read_text()
    for method, params, on_page in refused_calls(target, secret_file):
        answer = await cdp.call(method, params, **({"sessionId": page} if on_page else {}))
        # The relay's answer, not the browser's (which knows none of these as refusals) ...
        error = answer.get("error") or {}
        assert error.get("code") == -32000, (method, params, answer)
        assert error["message"].startswith(f"SessionShot refuses {method} "), (method, answer)
        assert answer.get("sessionId") == (page if on_page else None), answer
        # ... and the connection, the browser and the page are still there.
        assert await evaluate(cdp, page, "1 + 1") == 2, method
    for text, answer_id in UNREADABLE:
        await ws.send(text)
        error = await error_answer(ws, answer_id)
        assert error["message"].startswith("SessionShot could not read this message"), error
        assert await evaluate(cdp, page, "1 + 1") == 2, text
    assert "product" in (await cdp.call("Browser.getVersion"))["result"]
    targets = (await cdp.call("Target.getTargets"))["result"]["targetInfos"]
    assert [t["url"] for t in targets if t["type"] == "page"] == [target_site.url("/form")]
    text = await evaluate(cdp, page, "document.documentElement.outerHTML")
    assert secret not in (text or "")
    # A page's own attempt at a file URL fails too (Chromium refuses it for web pages).
    await evaluate(cdp, page, f"location.href = 'file://{secret_file}'")
    await asyncio.sleep(0.5)  # a navigation that would start has started by then
    assert (await evaluate(cdp, page, "location.href")) == target_site.url("/form")
    # The download-behaviour calls clients make on connect are answered as successes.
    for method in ("Browser.setDownloadBehavior", "Page.setDownloadBehavior"):
        answer = await cdp.call(method, {"behavior": "allow", "downloadPath": "/tmp"})
        assert answer.get("result") == {}, answer
    await ws.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def test_a_file_upload_of_a_server_path_reveals_nothing(
    a: Instance, key: str, target_site: TargetSite, secret_file: str
) -> None:
    session = await connect_session(a, key)
    await a.act(key, session["id"], "goto", url=target_site.url("/form"))
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    page = await page_session(cdp)
    await evaluate(
        cdp, page, "document.body.insertAdjacentHTML('beforeend', '<input type=file id=f>')"
    )
    root = (await cdp.call("DOM.getDocument", {}, sessionId=page))["result"]["root"]["nodeId"]
    found = await cdp.call("DOM.querySelector", {"nodeId": root, "selector": "#f"}, sessionId=page)
    node = found["result"]["nodeId"]
    refusals = set()
    for files in (
        [secret_file],
        ["/proc/self/environ"],
        [f"file://{secret_file}"],
        ["/no/such/file"],
        ["/etc"],
    ):
        answer = await cdp.call(
            "DOM.setFileInputFiles", {"files": files, "nodeId": node}, sessionId=page
        )
        assert "error" in answer, answer
        refusals.add(json.dumps(answer["error"]))
    # One answer whatever the path: not even whether a file exists is told.
    assert len(refusals) == 1, refusals
    assert await evaluate(cdp, page, "document.querySelector('#f').files.length") == 0
    await ws.close()
    # A client sets a file's contents instead, as Playwright does with a payload.
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            session["connectUrl"], headers={"Authorization": f"Bearer {key}"}
        )
        shown = browser.contexts[0].pages[0]
        payload = FilePayload(name="note.txt", mimeType="text/plain", buffer=b"from the client")
        await shown.set_input_files("#f", files=[payload])
        read = "document.querySelector('#f').files[0].text()"
        assert await shown.evaluate(read) == "from the client"
        await browser.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def test_the_canary_gets_nothing_from_a_cdp_client(
    a: Instance, key: str, target_site: TargetSite, canary_site: CanarySite
) -> None:
    session = await connect_session(a, key)
    await a.act(key, session["id"], "goto", url=target_site.url("/form"))
    watch = canary_site.watch()
    canaries = (canary_site.url("/"), canary_site.url("/", host=CANARY_IP))
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    page = await page_session(cdp)
    made = await cdp.call("Target.createBrowserContext", {"disposeOnDetach": True})
    context = made["result"]["browserContextId"]
    for url in canaries:
        await cdp.call("Page.navigate", {"url": url}, sessionId=page)
        await cdp.call("Target.createTarget", {"url": url})
        await cdp.call("Target.createTarget", {"url": url, "browserContextId": context})
        options = {"url": url, "options": _LOAD_OPTIONS}
        await cdp.call("Network.loadNetworkResource", options, sessionId=page)
    await cdp.call("Page.navigate", {"url": target_site.url("/form")}, sessionId=page)
    await ws.close()
    # Through Playwright: the default context and a new one, fetches, a WebSocket, and a
    # request rewritten on its way out.
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            session["connectUrl"], headers={"Authorization": f"Bearer {key}"}
        )
        shown = browser.contexts[0].pages[0]
        for url in canaries:
            await shown.evaluate("url => fetch(url).catch(() => null)", url)
            socket_url = url.replace("https://", "wss://")
            await shown.evaluate("url => { new WebSocket(url); }", socket_url)
        await shown.route(
            "**/secret", lambda route: route.continue_(url=canary_site.url("/rewritten"))
        )
        with pytest.raises(PlaywrightError):
            await shown.goto(target_site.url("/secret"))
        fresh = await browser.new_context()
        other = await fresh.new_page()
        for url in canaries:
            with pytest.raises(PlaywrightError):
                await other.goto(url)
        await fresh.close()
        await browser.close()
    await asyncio.sleep(1)  # anything on its way has arrived by then
    assert not watch.touched, watch.describe()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def test_two_connect_sessions_cannot_see_each_other(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    one = await connect_session(a, key)
    two = await connect_session(a, key)
    await a.act(key, one["id"], "goto", url=target_site.url("/form"))
    await a.act(key, two["id"], "goto", url=target_site.url("/secret"))
    # Each in a Chromium of its own: the two sessions' and the warm one that replaces them.
    await eventually(lambda: len(connect_browsers(a)) == 3, 30, "three connect browsers")
    sockets = [await raw_cdp(s["connectUrl"], key) for s in (one, two)]
    clients = [Cdp(ws) for ws in sockets]
    pages = [(await page_target(cdp))[0] for cdp in clients]
    for cdp, theirs, their_page in (
        (clients[0], "/secret", pages[1]),
        (clients[1], "/form", pages[0]),
    ):
        targets = (await cdp.call("Target.getTargets"))["result"]["targetInfos"]
        assert targets and all(theirs not in t.get("url", "") for t in targets)
        assert their_page not in {t["targetId"] for t in targets}
        # The other session's page is not there to attach to, activate or close.
        for method in ("Target.attachToTarget", "Target.activateTarget", "Target.closeTarget"):
            answer = await cdp.call(method, {"targetId": their_page, "flatten": True})
            assert "error" in answer or answer["result"].get("success") is False, answer
    for ws in sockets:
        await ws.close()
    for session, path in ((one, "/form"), (two, "/secret")):
        read = await a.act(key, session["id"], "evaluate", expression="location.href")
        assert read.json()["result"] == target_site.url(path)
    # Their browsers' memory (and the warm one's) is counted in /metrics.
    metrics = (await a.request("GET", "/metrics")).text
    assert gauge(metrics, "sessionshot_connect_memory_bytes") > 50 * 1024 * 1024
    for session in (one, two):
        await a.request("DELETE", f"/v1/sessions/{session['id']}", key)
    await eventually(lambda: len(connect_browsers(a)) == 1, 30, "the warm browser alone")


async def test_a_connect_session_takes_the_warm_browser(a: Instance, key: str) -> None:
    """The warm browser is launched before the request, with the shared browser's flags and
    the instance's egress guard as its proxy; the session takes it and it ends with it."""
    (warm,) = await eventually(lambda: browsers_if(a, 1), 30, "a warm browser")

    async def warm_gauge() -> float:
        return gauge((await a.request("GET", "/metrics")).text, "sessionshot_connect_warm_browsers")

    assert await eventually(warm_gauge, 30, "the warm browser counted") == 1
    argv = argv_of(warm)
    shared = argv_of(shared_browser(a))
    for flag in [*chromium_args(), BROWSER_RESOLVER_FLAG]:
        assert flag in argv and flag in shared, flag
    proxy = next(arg for arg in argv if arg.startswith("--proxy-server="))
    host, port = proxy.removeprefix("--proxy-server=http://").split(":")
    assert host == "127.0.0.1" and int(port) in listening_ports(a.pid), proxy
    assert "--proxy-bypass-list=<-loopback>" in argv  # loopback goes through the guard too

    session = await connect_session(a, key)
    # The session drives the browser that was waiting; another is launched to replace it.
    both = await eventually(lambda: browsers_if(a, 2), 30, "a new warm one")
    assert warm in both
    ws = await raw_cdp(session["connectUrl"], key)
    assert "product" in (await Cdp(ws).call("Browser.getVersion"))["result"]
    await ws.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)
    await eventually(
        lambda: connect_browsers(a) == both - {warm}, 30, "the session's browser to exit"
    )


async def test_downloads_stay_off_whatever_the_client_asks(
    a: Instance, key: str, target_site: TargetSite, tmp_path: Path
) -> None:
    session = await connect_session(a, key)
    await a.act(key, session["id"], "goto", url=target_site.url("/form"))
    folder = tmp_path / "downloads"
    folder.mkdir()
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    page = await page_session(cdp)
    made = await cdp.call("Target.createBrowserContext", {})
    context = made["result"]["browserContextId"]
    allow = {"behavior": "allow", "downloadPath": str(folder), "eventsEnabled": True}
    for params in (allow, {**allow, "browserContextId": context}):
        assert (await cdp.call("Browser.setDownloadBehavior", params)).get("result") == {}
    assert (await cdp.call("Page.setDownloadBehavior", allow, sessionId=page)).get("result") == {}
    # A page of its own in the new context. (The service trusts the test site's certificate
    # in the contexts it makes; the client does in its own.)
    ignored = await cdp.call("Security.setIgnoreCertificateErrors", {"ignore": True})
    assert ignored.get("result") == {}, ignored
    created = await cdp.call(
        "Target.createTarget", {"url": target_site.url("/form"), "browserContextId": context}
    )
    attached = await cdp.call(
        "Target.attachToTarget", {"targetId": created["result"]["targetId"], "flatten": True}
    )
    other = attached["result"]["sessionId"]
    form = target_site.url("/form")
    await eventually(lambda: _shows(cdp, other, form), 15, "the new context's page")
    download = """name => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob(['downloaded'], {type: 'text/plain'}));
      a.download = name;
      document.body.append(a);
      a.click();
      return true;
    }"""
    for where, name in ((page, "default.txt"), (other, "created.txt")):
        assert await evaluate(cdp, where, f"({download})({json.dumps(name)})") is True
    await asyncio.sleep(2)  # a download that would start has been written by then
    assert list(folder.iterdir()) == []
    await ws.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def _shows(cdp: Cdp, page: str, url: str) -> bool:
    expression = "document.readyState === 'complete' && location.href"
    answer = await cdp.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, sessionId=page
    )
    # An evaluation can meet the navigation half way (no context yet): asked again.
    return bool(answer.get("result", {}).get("result", {}).get("value") == url)
