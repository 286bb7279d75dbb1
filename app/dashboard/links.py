"""One-time sign-in links: issued by ``sessionshot admin dashboard-link``, used once.

This module imports no web framework, so the command line stays quick to start.
"""

from __future__ import annotations

import secrets
from typing import Any

from app.dashboard.keys import LINK_TTL_S, DashboardKeys
from sessions.redis_types import RedisClient, text
from sessions.timefmt import iso_ms, now_ms

LINK_PATH = "/dashboard/link?token="
"""Where a link points, on the service's public URL, followed by the token (in the query,
which access logs leave out)."""


async def issue_link(
    redis: RedisClient, prefix: str, workspace_id: str, public_url: str
) -> dict[str, Any]:
    """A fresh link that signs its first user into ``workspace_id`` within 10 minutes.

    The caller checks that the workspace exists. Only the token's hash is stored.
    """
    token = secrets.token_urlsafe(32)
    await redis.set(DashboardKeys(prefix).link(token), workspace_id, ex=LINK_TTL_S)
    return {
        "url": f"{public_url.rstrip('/')}{LINK_PATH}{token}",
        "workspaceId": workspace_id,
        "expiresAt": iso_ms(now_ms() + LINK_TTL_S * 1000),
    }


async def use_link(redis: RedisClient, keys: DashboardKeys, token: str) -> str | None:
    """The workspace id of a valid link, which no longer works afterwards; else None.

    ``GETDEL`` reads and deletes in one step, so two browsers racing with the same link
    cannot both get in.
    """
    if not token or len(token) > 128:
        return None
    found = await redis.getdel(keys.link(token))
    return text(found) if found is not None else None
