"""A connect session's CDP endpoint as the tests drive it (SPEC section 12).

Helpers to create a connect session on a test instance, build its endpoint's URL (with or
without a scoped token) and speak CDP over a bare WebSocket: numbered calls answered by id,
flat sessions on the page. Shared by the connect and live view end-to-end tests.

NETWORK RULE: every URL here points at a test instance on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.support.cluster import Instance


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


async def page_target(cdp: Cdp) -> tuple[str, str]:
    """Attach to the session's page: its target id and the flat session id."""
    targets = (await cdp.call("Target.getTargets"))["result"]["targetInfos"]
    page = next(t for t in targets if t["type"] == "page")
    attached = await cdp.call(
        "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
    )
    return page["targetId"], attached["result"]["sessionId"]


async def page_session(cdp: Cdp) -> str:
    """Attach to the session's page; the flat session id."""
    return (await page_target(cdp))[1]


async def evaluate(cdp: Cdp, session: str, expression: str) -> Any:
    answer = await cdp.call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True}, sessionId=session
    )
    return answer["result"]["result"].get("value")
