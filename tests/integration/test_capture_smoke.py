"""A first capture end to end: API in-process, a real worker process, the local site."""

from __future__ import annotations

import httpx

from sessions.render import image_size
from tests.support.procs import ServiceProcess
from tests.support.service import Service
from tests.support.target_site import TargetSite


async def test_png_capture_completes(
    browser_service: Service, capture_worker: ServiceProcess, target_site: TargetSite
) -> None:
    _, key = await browser_service.new_key(("app.test",))
    headers = {"Authorization": f"Bearer {key}"}
    created = await browser_service.http.post(
        "/api/captures", headers=headers, json={"url": target_site.url("/form")}
    )
    assert created.status_code == 202, created.text
    capture = created.json()
    done = await browser_service.http.get(f"{capture['statusUrl']}?wait=30", headers=headers)
    body = done.json()
    assert body["status"] == "completed", (body, capture_worker.stderr[-3000:])
    async with httpx.AsyncClient() as http:
        file = await http.get(body["result"]["url"])
    assert file.status_code == 200 and image_size(file.content) == (1280, 800)
    metrics = (await browser_service.http.get("/metrics")).text
    completed = [
        line for line in metrics.splitlines() if line.startswith("sessionshot_captures_final{")
    ]
    assert any('status="completed"' in line and not line.endswith(" 0.0") for line in completed)
    assert "sessionshot_capture_queue_depth 0.0" in metrics
