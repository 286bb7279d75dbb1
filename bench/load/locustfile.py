"""The load scenario: agents driving live sessions and clients of the captures API.

Run by ``bench/load/run.py`` as a Locust process of its own (never imported by the service
or the tests: Locust patches the standard library with gevent). Configured through the
environment the runner sets:

* ``LOAD_HOSTS`` - ``id=http://127.0.0.1:PORT,...``: the API instances. Every request goes
  to one picked at random, as a load balancer without affinity would send it, so about half
  of the requests about a session reach an instance that does not own it and are forwarded
  through Redis (SPEC section 4, "Routing between instances");
* ``LOAD_API_KEY`` - the workspace's key; ``LOAD_TARGET_URL`` - the page the sessions and
  captures load (the local HTTPS site's ``/form``);
* ``LOAD_RECORDS`` - where every request and every session and capture event is appended
  (``bench/load/records.py``);
* ``LOAD_THINK_MS`` - an agent's mean pause between two actions (its model thinking);
* ``LOAD_CAPTURE_CLIENTS`` - how many capture clients run beside the agents (the rest of
  ``--users`` are agents); ``LOAD_CAPTURE_PAUSE_MS`` - a capture client's mean pause between
  two captures. Pauses are spread evenly from half to one and a half times the mean.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, ClassVar, TextIO

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

# Locust puts this file's folder on sys.path; the records module is read as part of the
# repository's ``bench`` package, as the runner reads it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.load.records import (
    ACTIONS_ENDPOINT,
    FINAL_CAPTURE_STATES,
    error_kind,
)

WAIT_S = 30
"""The long-poll read's longest wait (``GET /api/captures/{id}?wait=30``)."""


def _hosts() -> list[tuple[str, str]]:
    pairs = [item.split("=", 1) for item in os.environ["LOAD_HOSTS"].split(",") if item]
    return [(name, url) for name, url in pairs]


HOSTS = _hosts()
API_KEY = os.environ["LOAD_API_KEY"]
TARGET_URL = os.environ["LOAD_TARGET_URL"]
THINK_S = float(os.environ.get("LOAD_THINK_MS", "200")) / 1000
CAPTURE_CLIENTS = int(os.environ.get("LOAD_CAPTURE_CLIENTS", "1"))
CAPTURE_PAUSE_S = float(os.environ.get("LOAD_CAPTURE_PAUSE_MS", "2000")) / 1000


def think_s() -> float:
    """An agent's pause before its next action: ``LOAD_THINK_MS`` on average, spread
    evenly from half to one and a half times that."""
    return random.uniform(THINK_S / 2, THINK_S * 3 / 2)


class Records:
    """The records file, opened on the first write and flushed line by line."""

    _out: TextIO | None = None

    @classmethod
    def write(cls, record: dict[str, Any]) -> None:
        """Append one record."""
        if cls._out is None:
            cls._out = Path(os.environ["LOAD_RECORDS"]).open("a", buffering=1)
        cls._out.write(json.dumps(record, separators=(",", ":")) + "\n")

    @classmethod
    def close(cls) -> None:
        """Close the file (at the end of the run)."""
        if cls._out is not None:
            cls._out.close()
            cls._out = None


def _close_records(**_: Any) -> None:
    Records.close()


# Locust's EventHook.add_listener carries no annotations.
events.quitting.add_listener(_close_records)  # type: ignore[no-untyped-call]


def agent_script(url: str) -> list[dict[str, Any]]:
    """The 20 actions of one agent's session on the form page: navigation, clicks, typing,
    reads, one screenshot."""
    text = "load test text"
    steps: list[tuple[str, dict[str, Any]]] = [
        ("goto", {"url": url}),
        ("query", {"selector": "#title"}),
        ("click", {"selector": "#btn"}),
        ("type", {"selector": "#name", "text": text}),
        ("fill", {"selector": "#bio", "value": text}),
        ("query", {"selector": "#out"}),
        ("content", {"format": "text", "selector": "#out"}),
        ("click", {"selector": "#btn"}),
        ("goto", {"url": url}),
        ("fill", {"selector": "#name", "value": text}),
        ("click", {"selector": "#btn"}),
        ("query", {"selector": "#btn"}),
        ("type", {"selector": "#bio", "text": text}),
        ("content", {"format": "text", "selector": "#out"}),
        ("screenshot", {"format": "png"}),
        ("click", {"selector": "#btn"}),
        ("query", {"selector": "#name"}),
        ("fill", {"selector": "#name", "value": text}),
        ("click", {"selector": "#btn"}),
        ("content", {"format": "text", "selector": "#out"}),
    ]
    return [{"type": kind, "payload": payload} for kind, payload in steps]


class _ApiUser(FastHttpUser):
    """A client of the API behind a balancer without affinity: each request goes to an
    instance picked at random."""

    abstract = True
    host = HOSTS[0][1]
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        """Start at a random moment of the first second: users that start together and
        think alike would otherwise act in lockstep, a herd no real clients make."""
        time.sleep(random.uniform(0, 1))

    def call(
        self,
        method: str,
        path: str,
        name: str,
        expected: int,
        body: Any = None,
        action: str | None = None,
    ) -> tuple[int, Any]:
        """One request to the next instance, recorded; ``(status, parsed body or None)``."""
        instance, base = random.choice(HOSTS)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with self.client.request(
            method, base + path, name=name, headers=headers, json=body, catch_response=True
        ) as response:
            status = int(response.status_code or 0)
            text = (response.text or "") if status else ""
            error = getattr(response, "error", None)  # set only when the request failed
            failure = type(error).__name__ if error is not None else None
            kind = error_kind(status, expected, text, failure)
            if kind is None:
                response.success()
            else:
                response.failure(kind)
            owner = response.headers.get("X-Session-Owner") if status else None
            Records.write(
                {
                    "k": "req",
                    "name": name,
                    "action": action,
                    "start": response.request_meta["start_time"],
                    "ms": response.request_meta["response_time"],
                    "status": status,
                    "error": kind,
                    "routed": None if owner is None else owner != instance,
                }
            )
        parsed = json.loads(text) if kind is None and text else None
        return status, parsed


class Agent(_ApiUser):
    """Opens a session, runs the 20 actions with a pause between them, closes it."""

    wait_time = between(THINK_S / 2, THINK_S * 3 / 2)

    @task
    def session(self) -> None:
        """One session, start to close (one task, so a stopping run lets it finish)."""
        _, created = self.call("POST", "/v1/sessions", "POST /v1/sessions", 201, {})
        if created is None:
            return
        session_id = created["id"]
        Records.write({"k": "session", "event": "created", "id": session_id})
        path = f"/v1/sessions/{session_id}"
        try:
            for action in agent_script(TARGET_URL):
                time.sleep(think_s())
                self.call("POST", f"{path}/actions", ACTIONS_ENDPOINT, 200, action, action["type"])
        finally:
            _, closed = self.call("DELETE", path, "DELETE /v1/sessions/{id}", 200)
            if closed is not None:
                credits = closed["billedCredits"]
                Records.write(
                    {"k": "session", "event": "closed", "id": session_id, "credits": credits}
                )


class CaptureClient(_ApiUser):
    """Asks for a PNG capture of the page and long-polls it to its final state."""

    fixed_count = CAPTURE_CLIENTS
    wait_time = between(CAPTURE_PAUSE_S / 2, CAPTURE_PAUSE_S * 3 / 2)
    body: ClassVar[dict[str, Any]] = {"url": TARGET_URL, "output": {"format": "png"}}

    @task
    def capture(self) -> None:
        """POST, then ``GET ?wait=30`` until the capture is final."""
        started = time.time()
        _, created = self.call("POST", "/api/captures", "POST /api/captures", 202, self.body)
        if created is None:
            return
        capture_id = created["id"]
        Records.write({"k": "capture", "event": "created", "id": capture_id})
        read = f"/api/captures/{capture_id}?wait={WAIT_S}"
        while True:
            _, found = self.call("GET", read, "GET /api/captures/{id}?wait=30", 200)
            if found is None:
                return
            if found["status"] in FINAL_CAPTURE_STATES:
                break
        error = found.get("error") or {}
        Records.write(
            {
                "k": "capture",
                "event": "final",
                "id": capture_id,
                "status": found["status"],
                "errorCode": error.get("code"),
                "sessionId": found.get("sessionId"),
                "updatedAt": found.get("updatedAt"),
                "start": started,
                "ms": (time.time() - started) * 1000,
            }
        )
