"""Service workers are off in every session and capture (SPEC sections 5 and 18).

``/sw-probe`` tries ``navigator.serviceWorker.register("/sw.js")`` in the page, in a
cross-origin iframe and in a popup, and shows each outcome. Without the block the test
site's CA is not trusted by Chromium, so a real registration would fail too, but only after
the browser fetched ``/sw.js``: the site's request log is what proves the script was never
fetched, and the outcomes prove ``register()`` does not pretend to succeed.
"""

from __future__ import annotations

from urllib.parse import quote

from tests.integration.sessions_helpers import new_client
from tests.support.hosts import OTHER_HOST
from tests.support.procs import ServiceProcess
from tests.support.service import Service
from tests.support.target_site import TargetSite

OUTCOMES = ("outcome", "frame-outcome", "popup-outcome")


def probe_url(site: TargetSite) -> str:
    """The probe with a cross-origin iframe and a popup, each a probe of its own."""
    frame = quote(site.url("/sw-probe", host=OTHER_HOST), safe="")
    popup = quote(site.url("/sw-probe"), safe="")
    return site.url(f"/sw-probe?frame={frame}&popup={popup}")


def fetched_scripts(site: TargetSite) -> int:
    return len(site.requests_to("/sw.js"))


async def test_pages_of_a_live_session_cannot_register_service_workers(
    browser_service: Service, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    sid = (await client.create())["id"]
    scripts, probes = fetched_scripts(target_site), len(target_site.requests_to("/sw-probe"))
    await client.ok(sid, "goto", url=probe_url(target_site))
    await client.ok(sid, "waitForSelector", selector="#status:text('done')", timeout=15000)
    for outcome in OUTCOMES:
        found = await client.ok(sid, "content", format="text", selector=f"#{outcome}")
        text = found["content"].strip()
        assert text == "absent" or text.startswith("rejected"), (outcome, text)
    assert len(target_site.requests_to("/sw-probe")) == probes + 3, "page, iframe and popup ran"
    await client.ok(sid, "wait", ms=500)  # room for a late script fetch to show up
    assert fetched_scripts(target_site) == scripts


async def test_capture_pages_cannot_register_service_workers(
    browser_service: Service, capture_worker: ServiceProcess, target_site: TargetSite
) -> None:
    _, key = await browser_service.new_key(("app.test", OTHER_HOST))
    headers = {"Authorization": f"Bearer {key}"}
    scripts = fetched_scripts(target_site)
    # The capture completes only if every probe saw registration fail.
    wait = {"type": "waitForSelector", "selector": "body[data-sw='blocked']", "timeout": 15000}
    created = await browser_service.http.post(
        "/api/captures", headers=headers, json={"url": probe_url(target_site), "actions": [wait]}
    )
    assert created.status_code == 202, created.text
    status_url = created.json()["statusUrl"]
    body = (await browser_service.http.get(f"{status_url}?wait=30", headers=headers)).json()
    assert body["status"] == "completed", (body, capture_worker.stderr[-3000:])
    assert fetched_scripts(target_site) == scripts
