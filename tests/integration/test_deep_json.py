"""A JSON body of any nesting depth gets 400 (or 413), never 500, on every endpoint (SPEC 18).

Python's decoder recurses once per level: ten thousand levels end in ``RecursionError``, which
no handler expects. Each endpoint that takes a body is sent arrays and objects nested that
deep, and one just past the documented bound inside an otherwise valid body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.jsonbody import MAX_JSON_DEPTH
from tests.conftest import ServiceFactory
from tests.support.service import ADMIN_TOKEN, Service

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
JSON = {"Content-Type": "application/json"}
LEVELS = 10_000

DEEP_BODIES = {
    "arrays": b"[" * LEVELS + b"]" * LEVELS,
    "objects": b'{"a":' * LEVELS + b"1" + b"}" * LEVELS,
}


def nested(levels: int) -> Any:
    """A value of ``levels`` nested objects."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def assert_validation_error(response: Any, path: str) -> None:
    assert response.status_code == 400, f"{path}: {response.status_code} {response.text[:200]}"
    body = response.json()
    if path.startswith("/v1/"):
        assert body["success"] is False and body["code"] == "VALIDATION_ERROR", body
    else:
        assert set(body) == {"error"} and body["error"]["code"] == "VALIDATION_ERROR", body


@pytest.fixture
async def services(make_service: ServiceFactory) -> dict[str, Service]:
    """One instance with the action lane in front, one answering actions through Quart."""
    return {
        "lane": await make_service(),
        "quart": await make_service(action_lane=False),
    }


@pytest.mark.parametrize("kind", sorted(DEEP_BODIES))
async def test_the_documented_endpoints_answer_400(services: dict[str, Service], kind: str) -> None:
    lane = services["lane"]
    ws_id, key = await lane.new_key(("app.test",))
    auth = {"Authorization": f"Bearer {key}"}
    targets = [
        (lane, "/api/captures", auth),
        (lane, "/v1/sessions", auth),
        (lane, "/v1/sessions/sess_unknown/actions", auth),
        (services["quart"], "/v1/sessions/sess_unknown/actions", auth),
        (lane, "/admin/workspaces", ADMIN),
        (lane, f"/admin/workspaces/{ws_id}/keys", ADMIN),
        (lane, f"/admin/workspaces/{ws_id}/domains", ADMIN),
    ]
    for service, path, headers in targets:
        response = await service.http.post(
            path, content=DEEP_BODIES[kind], headers={**headers, **JSON}
        )
        assert_validation_error(response, path)


async def test_every_route_with_a_body_refuses_deep_json(service: Service) -> None:
    _, key = await service.new_key(("app.test",))
    auth = {"Authorization": f"Bearer {key}"}
    seen = 0
    for rule in service.app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            path = rule.rule.replace("<", "").replace(">", "")
            headers = {**(ADMIN if path.startswith("/admin") else auth), **JSON}
            for body in DEEP_BODIES.values():
                response = await service.http.request(method, path, content=body, headers=headers)
                assert response.status_code < 500, f"{method} {path}: {response.text[:200]}"
                seen += 1
    assert seen >= 10, "the app's routes were enumerated"


async def test_a_body_just_past_the_bound_is_refused_and_one_within_it_accepted(
    service: Service,
) -> None:
    _, key = await service.new_key(("app.test",))
    auth = {"Authorization": f"Bearer {key}", **JSON}
    capture = {"url": "https://app.test/"}
    too_deep = json.dumps({**capture, "metadata": nested(MAX_JSON_DEPTH)})
    response = await service.http.post("/api/captures", content=too_deep, headers=auth)
    assert_validation_error(response, "/api/captures")
    assert str(MAX_JSON_DEPTH) in response.json()["error"]["message"]
    within = {**capture, "metadata": nested(MAX_JSON_DEPTH - 1)}  # the body is one level
    accepted = await service.http.post("/api/captures", json=within, headers=auth)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["metadata"] == within["metadata"]
