"""``SessionShot`` (the synchronous client) against a real API instance and capture worker.

The sync client blocks, and the API and the test sites run on this test's event loop: each
scenario runs in a thread.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sessionshot_client import DomainNotAllowed, SessionShot
from sessionshot_client.models import ClickStep, Output

from sessions.render import image_size
from tests.support.hosts import OTHER_HOST
from tests.support.service import Service
from tests.support.target_site import TargetSite

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUTTON_REF = re.compile(r'button "Click me"[^\n]*\[ref=(e\d+)\]')

pytestmark = pytest.mark.timeout(240)


async def test_capture_completes_and_downloads(
    browser_service: Service, api_key: str, target_site: TargetSite, tmp_path: Path
) -> None:
    def scenario() -> None:
        with SessionShot(browser_service.base_url, api_key) as client:
            job = client.captures.create(
                target_site.url("/form"),
                output=Output(format="png", width=800, height=600),
                actions=[ClickStep(selector="#btn")],
                metadata={"run": "sdk"},
            )
            assert job.id.startswith("cap_") and job.status == "queued"
            assert job.metadata == {"run": "sdk"}
            capture = job.wait(timeout_s=120)
            assert capture.status == "completed", capture
            assert capture.result is not None and capture.result.format == "png"
            data = client.captures.download(capture, tmp_path / "shot.png")
            assert data.startswith(PNG_SIGNATURE)
            assert image_size(data) == (capture.result.width, capture.result.height) == (800, 600)
            assert (tmp_path / "shot.png").read_bytes() == data
            listed = client.captures.list(limit=5)
            assert [item.id for item in listed.captures] == [job.id]

    await asyncio.to_thread(scenario)


async def test_session_context_manager_closes_the_session(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    def scenario() -> str:
        with SessionShot(browser_service.base_url, api_key) as client:
            with client.sessions.create(max_ttl_seconds=120) as session:
                assert session.info.status == "active"
                session.goto(target_site.url("/form"))
                clicked = session.click("#btn")
                assert clicked.matched and clicked.tag_name == "button"
                text = session.query("#out")
                assert text.element_text == "clicked 1"
                snap = session.snapshot("ai")
                assert snap.ref_count and snap.snapshot
                match = BUTTON_REF.search(snap.snapshot)
                assert match, snap.snapshot
                by_ref = session.click(ref=match.group(1))
                assert by_ref.element_text == "Click me"
                assert session.query("#out").element_text == "clicked 2"
                page = session.content("markdown")
                assert page.content and "# Form page" in page.content
                assert session.evaluate("window.clicks").result == 2
                session_id = session.id
            final = session.info
            assert final.status == "closed"
            return session_id

    session_id = await asyncio.to_thread(scenario)
    response = await browser_service.http.get(
        f"/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.json()["status"] == "closed"
    assert response.json()["closeReason"] == "closed"


async def test_domain_not_allowed_is_a_typed_error(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    def scenario() -> None:
        with SessionShot(browser_service.base_url, api_key) as client:
            with pytest.raises(DomainNotAllowed) as refused:
                client.captures.create(target_site.url("/form", host=OTHER_HOST))
            assert refused.value.code == "DOMAIN_NOT_ALLOWED"
            assert refused.value.status == 403
            with client.sessions.create() as session, pytest.raises(DomainNotAllowed) as goto:
                session.goto(target_site.url("/form", host=OTHER_HOST))
            assert goto.value.status == 403 and goto.value.message

    await asyncio.to_thread(scenario)


async def test_usage_report_counts_the_closed_session(
    browser_service: Service, api_key: str
) -> None:
    def scenario() -> None:
        with SessionShot(browser_service.base_url, api_key) as client:
            with client.sessions.create():
                pass
            today = datetime.now(UTC).date()
            report = client.usage.get(today, today + timedelta(days=1))
            assert report.totals.sessions == 1 and report.totals.captures == 0
            assert report.totals.credits == 1
            assert [day.sessions for day in report.daily] == [1]
            assert len(report.by_key) == 1 and report.by_key[0].credits == 1
            rows = client.usage.csv(today, today + timedelta(days=1)).strip().splitlines()
            assert rows[0].startswith("sessionId,kind,keyId") and len(rows) == 2

    await asyncio.to_thread(scenario)


def test_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONSHOT_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("SESSIONSHOT_API_KEY", "ssk_from_env")
    with httpx.Client() as http:
        client = SessionShot(http_client=http)
        assert client.config.base_url == "http://127.0.0.1:9"
        assert client.config.api_key == "ssk_from_env"
        assert "ssk_from_env" not in repr(client.config)
