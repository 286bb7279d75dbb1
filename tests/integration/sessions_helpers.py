"""Helpers for the live-session tests: a key with allowed domains, actions, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.service import Service
from tests.support.waiting import eventually

ALLOWED = ("app.test", "other.test")


@dataclass
class Client:
    """One API key of a fresh workspace, talking to a service."""

    service: Service
    workspace_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def create(self, **body: Any) -> dict[str, Any]:
        response = await self.service.http.post("/v1/sessions", headers=self.headers, json=body)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    async def act(self, session_id: str, kind: str, **payload: Any) -> httpx.Response:
        return await self.service.http.post(
            f"/v1/sessions/{session_id}/actions",
            headers=self.headers,
            json={"type": kind, "payload": payload},
        )

    async def ok(self, session_id: str, kind: str, **payload: Any) -> dict[str, Any]:
        response = await self.act(session_id, kind, **payload)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        assert data["success"] is True
        return data

    async def get(self, session_id: str) -> dict[str, Any]:
        response = await self.service.http.get(f"/v1/sessions/{session_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def delete(self, session_id: str) -> httpx.Response:
        return await self.service.http.delete(f"/v1/sessions/{session_id}", headers=self.headers)

    async def wait_closed(self, session_id: str, timeout_s: float = 30) -> dict[str, Any]:
        """The session once it reads ``closed`` (asking again until ``timeout_s``)."""

        async def closed() -> dict[str, Any] | None:
            session = await self.get(session_id)
            return session if session["status"] == "closed" else None

        return await eventually(closed, timeout_s, f"session {session_id} to close")


async def new_client(service: Service, domains: tuple[str, ...] = ALLOWED) -> Client:
    """A fresh workspace and key allowed on ``domains``."""
    ws_id, key = await service.new_key(domains)
    return Client(service, ws_id, key)
