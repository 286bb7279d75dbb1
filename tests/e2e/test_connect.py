"""Connect sessions over CDP and scoped tokens (SPEC section 12), against real processes.

Two instances (``a`` and ``b``) share one Redis prefix; the clients are Playwright's
``connect_over_cdp``, Puppeteer's ``connect`` (Node) and a bare WebSocket speaking CDP. The
browsers load the loopback HTTPS target site; the canary on 127.0.0.2 must see nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.conftest import instances_a_and_b
from tests.support.canary_site import CanarySite
from tests.support.cluster import Cluster, Instance
from tests.support.procs import RedisServer, descendants
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SECRET_FILE = "/etc/hostname"
"""A server file no client may read (present on every Linux machine)."""


@pytest.fixture(scope="module")
async def cluster(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """Instances ``a`` and ``b`` on one prefix, one warm connect browser each."""
    workdir = tmp_path_factory.mktemp("connect")
    async with instances_a_and_b(
        redis_server, target_site, canary_site, workdir, "c", connect_warm=1
    ) as shared:
        yield shared


@pytest.fixture(scope="module")
async def key(cluster: Cluster) -> str:
    _, api_key = await cluster.new_key(("app.test",))
    return api_key


@pytest.fixture
def a(cluster: Cluster) -> Instance:
    return cluster.instances["a"]


@pytest.fixture
def b(cluster: Cluster) -> Instance:
    return cluster.instances["b"]


async def connect_session(inst: Instance, key: str, **body: Any) -> dict[str, Any]:
    """A new connect session on ``inst`` (closed by the test)."""
    response = await inst.create_session(key, connect=True, **body)
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    assert session["options"]["connect"] is True
    return session


def cdp_url(inst: Instance, session_id: str, token: str | None = None) -> str:
    """The CDP endpoint of a session on ``inst``."""
    url = f"ws://127.0.0.1:{inst.port}/v1/sessions/{session_id}/cdp"
    return url if token is None else f"{url}?token={token}"


async def new_token(inst: Instance, key: str, session_id: str, scope: str) -> str:
    response = await inst.request(
        "POST", f"/v1/sessions/{session_id}/tokens", key, json={"scope": scope}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


class Cdp:
    """A bare CDP client: numbered calls, answers by id, events dropped."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next = 0

    async def call(self, method: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        self._next += 1
        call_id = self._next
        await self.ws.send(
            json.dumps({"id": call_id, "method": method, "params": params or {}, **extra})
        )
        while True:
            answer = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if answer.get("id") == call_id:
                return answer


async def raw_cdp(url: str, key: str | None = None) -> ClientConnection:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await connect(url, additional_headers=headers, max_size=None)


async def page_session(cdp: Cdp) -> str:
    """Attach to the session's page; the flat session id."""
    targets = (await cdp.call("Target.getTargets"))["result"]["targetInfos"]
    page = next(t for t in targets if t["type"] == "page")
    attached = await cdp.call(
        "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
    )
    session_id: str = attached["result"]["sessionId"]
    return session_id


async def evaluate(cdp: Cdp, session: str, expression: str) -> Any:
    answer = await cdp.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, sessionId=session
    )
    return answer["result"]["result"].get("value")


async def test_playwright_drives_the_session_page_and_rest_sees_it(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    session = await connect_session(a, key)
    sid = session["id"]
    assert session["connectUrl"] == f"ws://127.0.0.1:{a.port}/v1/sessions/{sid}/cdp"
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            session["connectUrl"], headers={"Authorization": f"Bearer {key}"}
        )
        page = browser.contexts[0].pages[0]
        await page.goto(target_site.url("/form"))
        await page.fill("#name", "from playwright")
        # REST sees what the CDP client did ...
        read = await a.act(key, sid, "query", selector="#name")
        assert read.status_code == 200, read.text
        assert read.json()["url"] == target_site.url("/form")
        value = await a.act(
            key, sid, "evaluate", expression="document.querySelector('#name').value"
        )
        assert value.json()["result"] == "from playwright"
        # ... and the CDP client sees what REST did, on the same page.
        clicked = await a.act(key, sid, "click", selector="#btn")
        assert clicked.status_code == 200, clicked.text
        assert await page.text_content("#out") == "clicked 1"
        await browser.close()  # the client's connection only: the session lives on
    assert (await a.get_session(key, sid)).json()["status"] == "active"
    # Through the other instance: relayed to the owner, same page.
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            cdp_url(b, sid), headers={"Authorization": f"Bearer {key}"}
        )
        page = browser.contexts[0].pages[0]
        assert page.url == target_site.url("/form")
        await page.click("#btn")
        assert await page.text_content("#out") == "clicked 2"
        await browser.close()
    closed = await b.request("DELETE", f"/v1/sessions/{sid}", key)
    assert closed.json()["status"] == "closed"
    assert closed.json()["actionCount"] == 3


async def test_a_session_without_connect_has_no_cdp_endpoint(a: Instance, key: str) -> None:
    plain = (await a.create_session(key)).json()
    assert "connectUrl" not in plain and plain["options"]["connect"] is False
    with pytest.raises(InvalidStatus) as refused:
        await raw_cdp(cdp_url(a, plain["id"]), key)
    assert refused.value.response.status_code == 409
    assert json.loads(refused.value.response.body)["code"] == "CONNECT_NOT_ENABLED"
    await a.request("DELETE", f"/v1/sessions/{plain['id']}", key)


async def test_credentials_of_the_cdp_endpoint(
    a: Instance, b: Instance, key: str, cluster: Cluster
) -> None:
    one = await connect_session(a, key)
    two = await connect_session(b, key)
    _, other_key = await cluster.new_key(("app.test",))
    for url, credential in [
        (cdp_url(a, one["id"]), None),
        (cdp_url(a, one["id"]), other_key),  # another workspace: as unknown
        (cdp_url(a, "sess_unknown"), key),
    ]:
        with pytest.raises(InvalidStatus) as refused:
            await raw_cdp(url, credential)
        assert refused.value.response.status_code in (401, 404)
    token = await new_token(a, key, one["id"], "cdp")
    # A token works without the key, on any instance ...
    for inst in (a, b):
        ws = await raw_cdp(cdp_url(inst, one["id"], token))
        cdp = Cdp(ws)
        assert "product" in (await cdp.call("Browser.getVersion"))["result"]
        await ws.close()
    # ... for its session and scope only.
    live_token = await new_token(a, key, one["id"], "live-view")
    for url in (
        cdp_url(a, two["id"], token),
        cdp_url(a, one["id"], live_token),
        cdp_url(a, one["id"], token[:-2] + "xx"),
    ):
        with pytest.raises(InvalidStatus) as refused:
            await raw_cdp(url)
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["code"] == "UNAUTHENTICATED"
    await a.request("DELETE", f"/v1/sessions/{one['id']}", key)
    await a.request("DELETE", f"/v1/sessions/{two['id']}", key)
    # Dead with the session.
    with pytest.raises(InvalidStatus) as refused:
        await raw_cdp(cdp_url(a, one["id"], token))
    assert refused.value.response.status_code == 409


REFUSED_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("Page.navigate", {"url": f"file://{SECRET_FILE}"}),
    ("Page.navigate", {"url": "chrome://version"}),
    ("Page.navigate", {"url": f"view-source:file://{SECRET_FILE}"}),
    ("Target.createTarget", {"url": f"file://{SECRET_FILE}"}),
    ("Target.createTarget", {"url": "devtools://devtools/bundled/inspector.html"}),
    ("DOM.setFileInputFiles", {"files": [SECRET_FILE], "nodeId": 1}),
    ("Browser.close", {}),
    ("Target.exposeDevToolsProtocol", {"targetId": "x"}),
    ("Target.createBrowserContext", {"proxyServer": "direct://"}),
    ("Network.loadNetworkResource", {"url": f"file://{SECRET_FILE}", "options": {}}),
]


async def test_refused_methods_answer_errors_and_the_connection_stays(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    session = await connect_session(a, key)
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    page = await page_session(cdp)
    secret = Path(SECRET_FILE).read_text().strip()
    for method, params in REFUSED_CALLS:
        answer = await cdp.call(method, params, sessionId=page)
        assert "error" in answer, (method, answer)
        # The connection is still usable, and nothing of the file reached the page.
        assert await evaluate(cdp, page, "1 + 1") == 2
    text = await evaluate(cdp, page, "document.documentElement.outerHTML")
    assert secret not in (text or "")
    assert not (await evaluate(cdp, page, "location.href")).startswith(("file:", "chrome:"))
    # A page's own attempt at a file URL fails too (Chromium refuses it for web pages).
    await cdp.call("Page.navigate", {"url": target_site.url("/form")}, sessionId=page)
    await eventually(lambda: _is_loaded(cdp, page), 15, "the form page")
    await evaluate(cdp, page, f"location.href = 'file://{SECRET_FILE}'")
    await asyncio.sleep(0.5)  # a navigation that would start has started by then
    assert (await evaluate(cdp, page, "location.href")) == target_site.url("/form")
    # The download-behaviour calls clients make on connect are answered as successes.
    for method in ("Browser.setDownloadBehavior", "Page.setDownloadBehavior"):
        answer = await cdp.call(method, {"behavior": "allow", "downloadPath": "/tmp"})
        assert answer.get("result") == {}, answer
    await ws.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def _is_loaded(cdp: Cdp, page: str) -> bool:
    return bool(await evaluate(cdp, page, "document.readyState") == "complete")


async def test_a_file_upload_of_a_server_path_reveals_nothing(
    a: Instance, key: str, target_site: TargetSite
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
    for files in ([SECRET_FILE], ["/proc/self/environ"], [f"file://{SECRET_FILE}"]):
        answer = await cdp.call(
            "DOM.setFileInputFiles", {"files": files, "nodeId": node}, sessionId=page
        )
        assert "error" in answer, answer
    assert await evaluate(cdp, page, "document.querySelector('#f').files.length") == 0
    await ws.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def test_the_canary_gets_nothing_from_a_cdp_client(
    a: Instance, key: str, canary_site: CanarySite
) -> None:
    session = await connect_session(a, key)
    watch = canary_site.watch()
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    page = await page_session(cdp)
    for url in (canary_site.url("/"), canary_site.url("/", host="127.0.0.2")):
        await cdp.call("Page.navigate", {"url": url}, sessionId=page)
        await cdp.call("Target.createTarget", {"url": url})
    await cdp.call(
        "Runtime.evaluate", {"expression": f"fetch('{canary_site.url('/f')}')"}, sessionId=page
    )
    await asyncio.sleep(1)
    assert not watch.touched, watch.describe()
    await ws.close()
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


async def test_two_connect_sessions_cannot_see_each_other(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    one = await connect_session(a, key)
    two = await connect_session(a, key)
    await a.act(key, one["id"], "goto", url=target_site.url("/form"))
    await a.act(key, two["id"], "goto", url=target_site.url("/secret"))
    for mine, theirs in ((one, "/secret"), (two, "/form")):
        ws = await raw_cdp(mine["connectUrl"], key)
        targets = (await Cdp(ws).call("Target.getTargets"))["result"]["targetInfos"]
        assert targets and all(theirs not in t.get("url", "") for t in targets)
        await ws.close()
    # Their browsers' memory (and the warm one's) is counted in /metrics.
    metrics = (await a.request("GET", "/metrics")).text
    assert gauge(metrics, "sessionshot_connect_memory_bytes") > 50 * 1024 * 1024
    for session in (one, two):
        await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


def gauge(metrics: str, name: str) -> float:
    """A gauge's value in a Prometheus text answer."""
    line = next(row for row in metrics.splitlines() if row.startswith(name + " "))
    return float(line.split()[1])


async def test_closing_the_session_closes_its_cdp_connections(
    a: Instance, b: Instance, key: str
) -> None:
    session = await connect_session(a, key)
    direct = await raw_cdp(session["connectUrl"], key)
    routed = await raw_cdp(cdp_url(b, session["id"]), key)
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)
    for ws in (direct, routed):
        await asyncio.wait_for(ws.wait_closed(), 10)


async def test_cdp_traffic_counts_as_activity(a: Instance, key: str) -> None:
    session = await connect_session(a, key, idleTimeoutSeconds=3)
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    for _ in range(5):  # 5 s of CDP calls: longer than the idle timeout
        await cdp.call("Browser.getVersion")
        await asyncio.sleep(1)
    assert (await a.get_session(key, session["id"])).json()["status"] == "active"
    await ws.close()

    async def idle_closed() -> bool:
        found = (await a.get_session(key, session["id"])).json()
        return bool(found["status"] == "closed" and found["closeReason"] == "idle_timeout")

    await eventually(idle_closed, 15, "the idle timeout")


async def test_puppeteer_connects(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    # `make test` installs Node and the clients (make test-npm): missing, the set-up is broken.
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("Node or puppeteer-core is not installed: run make test-npm")
    session = await connect_session(a, key)
    token = await new_token(a, key, session["id"], "cdp")
    for url in (session["connectUrl"] + f"?token={token}", cdp_url(b, session["id"], token)):
        done = await asyncio.to_thread(
            subprocess.run,
            ["node", str(NODE_DIR / "puppeteer_connect.mjs"), url, target_site.url("/form")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=NODE_DIR,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["title"] == "Form page"
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)


def connect_browsers(inst: Instance) -> set[int]:
    """The main processes of ``inst``'s connect browsers (sessions' and warm ones)."""
    found = set()
    for pid in descendants(inst.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        launched_here = any(
            arg.startswith(b"--user-data-dir=") and b"sessionshot-connect-" in arg for arg in argv
        )
        if launched_here and not any(arg.startswith(b"--type=") for arg in argv):
            found.add(pid)
    return found


@pytest.mark.slow
async def test_a_crashed_connect_browser_closes_its_session_alone(
    cluster: Cluster, key: str, target_site: TargetSite
) -> None:
    (c,) = await cluster.start("c")
    try:
        plain = (await c.create_session(key)).json()
        session = await connect_session(c, key)
        # The session's browser, and the warm one launched to replace the one it took.
        await eventually(lambda: len(connect_browsers(c)) == 2, 30, "two connect browsers")
        for pid in connect_browsers(c):
            os.kill(pid, signal.SIGKILL)

        async def crashed() -> bool:
            found = (await c.get_session(key, session["id"])).json()
            return bool(found["status"] == "closed" and found["closeReason"] == "browser_crashed")

        await eventually(crashed, 20, "the connect session closed as browser_crashed")
        assert (await c.get_session(key, plain["id"])).json()["status"] == "active"
        moved = await c.act(key, plain["id"], "goto", url=target_site.url("/form"))
        assert moved.status_code == 200, moved.text
        # The instance still makes connect sessions, and they work.
        again = await connect_session(c, key)
        ws = await raw_cdp(again["connectUrl"], key)
        assert "product" in (await Cdp(ws).call("Browser.getVersion"))["result"]
        await ws.close()
        for sid in (plain["id"], again["id"]):
            await c.request("DELETE", f"/v1/sessions/{sid}", key)
    finally:
        await cluster.terminate(c)
