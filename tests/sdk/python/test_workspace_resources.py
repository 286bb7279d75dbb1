"""Webhooks, profiles and schedules through ``AsyncSessionShot`` against a real service."""

from __future__ import annotations

import pytest
from sessionshot_client import AsyncSessionShot, NotFound, verify_webhook

from tests.support.service import Service
from tests.support.target_site import TargetSite
from tests.support.tls import TLSMaterial
from tests.support.waiting import eventually
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.timeout(240)


async def test_a_test_delivery_verifies_with_the_endpoint_secret(
    browser_service: Service, api_key: str, tls_material: TLSMaterial
) -> None:
    async with (
        WebhookReceiver(tls_material) as receiver,
        AsyncSessionShot(browser_service.base_url, api_key) as client,
    ):
        endpoint = await client.webhooks.create(receiver.url(), events=["capture.completed"])
        assert endpoint.secret.startswith("whsec_")
        assert [hook.id for hook in (await client.webhooks.list()).webhooks] == [endpoint.id]
        delivery = await client.webhooks.test(endpoint.id)
        await eventually(lambda: bool(receiver.by_id(delivery.id)), 30, "the test delivery")
        received = receiver.by_id(delivery.id)[0]
        event = verify_webhook(received.body, received.headers, endpoint.secret)
        assert event.type == "webhook.test"

        rotated = await client.webhooks.rotate(endpoint.id)
        assert rotated.secret != endpoint.secret
        deliveries = await client.webhooks.deliveries(endpoint.id)
        assert delivery.id in [item.id for item in deliveries.deliveries]
        assert (await client.webhooks.delete(endpoint.id)).id == endpoint.id
        assert (await client.webhooks.list()).webhooks == []


async def test_a_saved_profile_logs_a_capture_in(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        async with client.sessions.create() as session:
            await session.goto(target_site.url("/form"))
            await session.evaluate("document.cookie = 'sid=from-profile; path=/'")
            await session.evaluate("localStorage.setItem('theme', 'dark')")
            profile = await session.save_profile("logged in")
        assert profile.id.startswith("prof_") and profile.cookie_count == 1
        assert profile.origins == [target_site.origin()]
        assert [item.id for item in (await client.profiles.list()).profiles] == [profile.id]
        assert (await client.profiles.get(profile.id)).name == "logged in"

        job = await client.captures.create(
            target_site.url("/form?via=profile"), auth={"profile": profile.id}
        )
        assert (await job.wait(timeout_s=120)).status == "completed"
        seen = [r for r in target_site.requests if r.query == "via=profile"]
        assert seen and seen[0].cookies.get("sid") == "from-profile"

        assert (await client.profiles.delete(profile.id)).id == profile.id
        with pytest.raises(NotFound):
            await client.profiles.get(profile.id)


async def test_schedules_are_created_paused_resumed_and_deleted(
    browser_service: Service, api_key: str, target_site: TargetSite
) -> None:
    async with AsyncSessionShot(browser_service.base_url, api_key) as client:
        schedule = await client.schedules.create(
            "yearly",
            cron="0 3 1 1 *",
            timezone="Europe/Paris",
            capture={"url": target_site.url("/form"), "output": {"format": "jpeg"}},
            paused=True,
        )
        assert schedule.id.startswith("sch_") and schedule.paused
        assert schedule.next_run_at is None
        resumed = await client.schedules.update(schedule.id, paused=False)
        assert not resumed.paused and resumed.next_run_at is not None
        detail = await client.schedules.get(schedule.id)
        assert detail.recent_captures == [] and detail.timezone == "Europe/Paris"
        assert [item.id for item in (await client.schedules.list()).schedules] == [schedule.id]
        assert (await client.schedules.delete(schedule.id)).id == schedule.id
        with pytest.raises(NotFound):
            await client.schedules.get(schedule.id)
