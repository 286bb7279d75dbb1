"""``proxy: true`` sessions chain through the upstream proxy; expired links answer 410."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import new_client
from tests.support.canary_site import CanarySite
from tests.support.loopback import UpstreamConnectProxy
from tests.support.target_site import TargetSite


async def test_proxy_sessions_chain_through_the_upstream(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> None:
    async with UpstreamConnectProxy() as upstream:
        overrides = browser_overrides(target_site, canary_site, tmp_path / "storage")
        service = await make_service(
            upstream_proxy=f"http://127.0.0.1:{upstream.port}", **overrides
        )
        client = await new_client(service)
        proxied = (await client.create(proxy=True))["id"]
        assert (await client.get(proxied))["options"]["proxy"] is True
        await client.ok(proxied, "goto", url=target_site.url("/"))
        seen = len(upstream.heads)
        assert seen >= 1
        # The upstream is asked for the address the guard checked, never for a name.
        assert all(head.split(b" ")[1].startswith(b"127.0.0.1:") for head in upstream.heads)

        direct = (await client.create())["id"]
        await client.ok(direct, "goto", url=target_site.url("/form"))
        assert len(upstream.heads) == seen, "sessions without proxy go direct"
        await client.delete(proxied)
        await client.delete(direct)


async def test_expired_links_answer_410(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> None:
    overrides = browser_overrides(target_site, canary_site, tmp_path / "storage")
    service = await make_service(signed_url_ttl_s=1, **overrides)
    client = await new_client(service)
    sid = (await client.create())["id"]
    await client.ok(sid, "goto", url=target_site.url("/"))
    url = (await client.ok(sid, "screenshot"))["result"]["url"]
    await asyncio.sleep(2.2)  # behaviour after expiry, not a timing assert
    async with httpx.AsyncClient() as http:
        expired = await http.get(url)
    assert expired.status_code == 410
    assert expired.json() == {
        "success": False,
        "error": "This link has expired.",
        "code": "LINK_EXPIRED",
    }
    stored = list((tmp_path / "storage").rglob("*.png"))
    assert len(stored) == 1, "expiry does not touch the stored file"
