"""``AsyncSessionShot`` against a real API instance and capture worker."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sessionshot_client import (
    AsyncSessionShot,
    DomainNotAllowed,
    RefNotFound,
    SelectorTimeout,
    SessionClosed,
)

from sessions.render import image_size
from tests.support.hosts import OTHER_HOST
from tests.support.service import Service
from tests.support.target_site import TargetSite

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUTTON_REF = re.compile(r'button "Click me"[^\n]*\[ref=(e\d+)\]')

pytestmark = pytest.mark.timeout(240)


async def test_capture_completes_and_downloads(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        job = await client.captures.create(
            target_site.url("/form"),
            output={"format": "png", "fullPage": False},
            actions=[{"type": "waitForSelector", "selector": "#btn"}],
        )
        capture = await job.wait(timeout_s=120)
        assert capture.status == "completed", capture
        assert capture.session_id and capture.session_id.startswith("sess_")
        data = await client.captures.download(capture.id)
        assert data.startswith(PNG_SIGNATURE)
        assert image_size(data) == (1280, 800)
        assert capture.result is not None and len(data) == capture.result.bytes


async def test_a_failed_capture_carries_its_code(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        job = await client.captures.create(
            target_site.url("/form"),
            actions=[{"type": "waitForSelector", "selector": "#never", "timeout": 500}],
        )
        capture = await job.wait(timeout_s=120)
        assert capture.status == "failed"
        assert capture.error is not None and capture.error.code == "SELECTOR_TIMEOUT"
        with pytest.raises(SelectorTimeout):
            await client.captures.download(capture)


async def test_session_context_manager_closes_the_session(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        async with client.sessions.create(viewport={"width": 1024, "height": 700}) as session:
            await session.goto(target_site.url("/form"))
            await session.fill("#name", value="Ada")
            filled = await session.query("#name")
            assert filled.matched and filled.tag_name == "input"
            typed = await session.evaluate("document.getElementById('name').value")
            assert typed.result == "Ada"
            snap = await session.snapshot("ai")
            assert snap.snapshot is not None
            match = BUTTON_REF.search(snap.snapshot)
            assert match, snap.snapshot
            clicked = await session.click(ref=match.group(1))
            assert clicked.clicked_point is not None
            assert (await session.query("#out")).element_text == "clicked 1"
            with pytest.raises(RefNotFound):
                await session.click(ref="e99999")
            shot = await session.screenshot(inline=True)
            assert shot.result is not None
            session_id = session.id
        after = await client.sessions.get(session_id)
        assert after.status == "closed" and after.close_reason == "closed"
        assert after.action_breakdown["click"].total == 2
        with pytest.raises(SessionClosed) as closed:
            await session.wait(10)
        assert closed.value.session is not None and closed.value.session.status == "closed"

        opened = await client.sessions.create()
        assert opened.info.status == "active"
        await opened.close()
        assert (await client.sessions.get(opened.id)).status == "closed"


async def test_domain_not_allowed_is_a_typed_error(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        with pytest.raises(DomainNotAllowed) as refused:
            await client.captures.create(target_site.url("/", host=OTHER_HOST))
        assert (refused.value.code, refused.value.status) == ("DOMAIN_NOT_ALLOWED", 403)
        async with client.sessions.create() as session:
            with pytest.raises(DomainNotAllowed):
                await session.goto(target_site.url("/", host=OTHER_HOST))


async def test_usage_report_counts_sessions_and_captures(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        async with client.sessions.create():
            pass
        capture = await (await client.captures.create(target_site.url("/form"))).wait()
        assert capture.status == "completed"
        today = datetime.now(UTC).date()
        report = await client.usage.get(today, today + timedelta(days=1))
        assert (report.totals.sessions, report.totals.captures) == (2, 1)
        assert report.totals.credits == sum(key.credits for key in report.by_key) == 2
        assert report.from_.date() == today
