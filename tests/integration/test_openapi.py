"""``GET /openapi.json``: a valid, complete document, with the limits the server enforces.

Error answers that the Schemathesis run does not reach (401, 404 of a disabled admin API,
409, 413, 429) are produced here on purpose and held to the document too.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import schemathesis
from openapi_spec_validator import validate

from tests.conftest import ServiceFactory
from tests.support.service import ADMIN_TOKEN, Service

OPERATIONS = {
    ("get", "/healthz"): "checkHealth",
    ("get", "/readyz"): "checkReadiness",
    ("get", "/metrics"): "getMetrics",
    ("post", "/api/captures"): "createCapture",
    ("get", "/api/captures/{capture_id}"): "getCapture",
    ("get", "/api/captures"): "listCaptures",
    ("post", "/api/captures/batch"): "createCaptureBatch",
    ("post", "/api/webhooks"): "createWebhook",
    ("get", "/api/webhooks"): "listWebhooks",
    ("delete", "/api/webhooks/{webhook_id}"): "deleteWebhook",
    ("post", "/api/webhooks/{webhook_id}/rotate"): "rotateWebhookSecret",
    ("get", "/api/webhooks/{webhook_id}/deliveries"): "listWebhookDeliveries",
    ("post", "/api/webhooks/{webhook_id}/test"): "testWebhook",
    ("post", "/v1/sessions"): "createSession",
    ("get", "/v1/sessions"): "listSessions",
    ("get", "/v1/sessions/{session_id}"): "getSession",
    ("delete", "/v1/sessions/{session_id}"): "closeSession",
    ("post", "/v1/sessions/{session_id}/actions"): "runAction",
    ("post", "/v1/sessions/{session_id}/tokens"): "createSessionToken",
    ("post", "/v1/sessions/{session_id}/live"): "createLiveView",
    ("delete", "/v1/sessions/{session_id}/live"): "revokeLiveViews",
    ("get", "/v1/sessions/{session_id}/live"): "openLiveView",
    ("get", "/live/{link}"): "getLiveView",
    ("get", "/v1/files/{token}"): "getFile",
    ("get", "/v1/usage"): "getUsage",
    ("post", "/v1/sessions/{session_id}/profile"): "saveProfile",
    ("get", "/api/profiles"): "listProfiles",
    ("get", "/api/profiles/{profile_id}"): "getProfile",
    ("delete", "/api/profiles/{profile_id}"): "deleteProfile",
    ("post", "/api/schedules"): "createSchedule",
    ("get", "/api/schedules"): "listSchedules",
    ("get", "/api/schedules/{schedule_id}"): "getSchedule",
    ("patch", "/api/schedules/{schedule_id}"): "updateSchedule",
    ("delete", "/api/schedules/{schedule_id}"): "deleteSchedule",
    ("post", "/admin/workspaces"): "adminCreateWorkspace",
    ("get", "/admin/workspaces"): "adminListWorkspaces",
    ("post", "/admin/workspaces/{ws_id}/keys"): "adminCreateKey",
    ("get", "/admin/workspaces/{ws_id}/keys"): "adminListKeys",
    ("delete", "/admin/keys/{key_id}"): "adminRevokeKey",
    ("post", "/admin/workspaces/{ws_id}/domains"): "adminAddDomain",
    ("get", "/admin/workspaces/{ws_id}/domains"): "adminListDomains",
    ("delete", "/admin/workspaces/{ws_id}/domains/{domain}"): "adminRemoveDomain",
    ("get", "/admin/usage"): "adminGetUsage",
}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/v1/files/{token}", "/live/{link}"}
PUBLIC_OPERATIONS = {("get", "/v1/sessions/{session_id}/live")}
"""Operations whose credential is a token in the query, on a path that otherwise needs a key."""
TAGS = {"sessions", "captures", "files", "usage", "admin", "health"}


INTERNAL_MARKUP = re.compile(r":(?:mod|func|class|meth|attr|data|obj|exc|ref):`|\bSPEC\b")
"""Sphinx roles of docstrings, and references to the internal specification."""


def _texts(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every summary, description and title in ``node``, with where it is."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for name, value in node.items():
            inner = f"{where}/{name}"
            if name in ("summary", "description", "title") and isinstance(value, str):
                found.append((inner, value))
            else:
                found.extend(_texts(value, inner))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_texts(value, f"{where}/{index}"))
    return found


async def _document(service: Service) -> dict[str, Any]:
    response = await service.http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def _component(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


async def test_the_document_is_valid_and_every_operation_answers_something(
    make_service: ServiceFactory,
) -> None:
    service = await make_service(public_url="https://api.example.test")
    document = await _document(service)
    validate(document)  # OpenAPI 3.1, every $ref resolves

    operations = _operations(document)
    assert set(operations) == set(OPERATIONS)
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids), ids
    assert document["servers"] == [{"url": "https://api.example.test"}]
    assert {tag["name"] for tag in document["tags"]} == TAGS
    for key, operation in operations.items():
        assert operation["operationId"] == OPERATIONS[key]
        assert operation["tags"] and set(operation["tags"]) <= TAGS
        assert operation["summary"], key
        responses = operation["responses"]
        successes = [status for status in responses if status[0] in "23"]
        assert successes, key  # opening a live view with a token succeeds with a redirect
        for status in successes:
            assert all("schema" in media for media in responses[status]["content"].values())
        for status, answer in responses.items():
            assert answer["description"], (key, status)
            if status[0] == "3":
                assert "Location" in answer["headers"], (key, status)
    # Texts are written for API users: no cross-reference of the code's docstrings leaks
    # into an operation, a schema, a property or a parameter.
    for where, text in _texts(document):
        assert not INTERNAL_MARKUP.search(text), (where, text)


async def test_each_route_names_its_own_credentials(make_service: ServiceFactory) -> None:
    document = await _document(await make_service())
    assert "security" not in document  # no global requirement
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == schemes["adminToken"]["scheme"] == "bearer"
    for (method, path), operation in _operations(document).items():
        if path in PUBLIC or (method, path) in PUBLIC_OPERATIONS:
            expected: list[dict[str, list[str]]] = []
        elif path.startswith("/admin/"):
            expected = [{"adminToken": []}]
        else:
            expected = [{"apiKey": []}]
        assert operation["security"] == expected, path


async def test_the_document_carries_the_validators_limits(make_service: ServiceFactory) -> None:
    service = await make_service(session_max_ttl_s=1800)
    document = await _document(service)
    operations = _operations(document)

    for model, field in (("CaptureRequest", "url"), ("GotoPayload", "url")):
        pattern = _component(document, model)["properties"][field]["pattern"]
        assert re.search(pattern, "HTTPS://app.test/") and not re.search(pattern, "http://a/")
    ttl = _component(document, "SessionOptions")["properties"]["maxTtlSeconds"]
    assert (ttl["minimum"], ttl["maximum"]) == (10, 1800)
    for key in (("get", "/v1/usage"), ("get", "/admin/usage")):
        query = {p["name"]: p for p in operations[key]["parameters"] if p["in"] == "query"}
        assert query["from"]["required"] is True and query["to"]["required"] is True
        assert query["format"]["schema"]["enum"] == ["json", "csv"]
        assert "text/csv" in operations[key]["responses"]["200"]["content"]
    live = operations[("get", "/v1/sessions/{session_id}/live")]
    token = next(p for p in live["parameters"] if p["in"] == "query")
    assert (token["name"], token["required"], token["schema"]) == (
        "token",
        True,
        {"type": "string"},
    )
    capture = operations[("get", "/api/captures/{capture_id}")]
    wait = next(p for p in capture["parameters"] if p["name"] == "wait")["schema"]
    assert (wait["minimum"], wait["maximum"]) == (0, 30)
    output = _component(document, "Output")["properties"]
    assert (output["width"]["minimum"], output["width"]["maximum"]) == (320, 3840)
    idempotency = document["components"]["parameters"]["IdempotencyKey"]
    assert idempotency["schema"]["maxLength"] == 255

    # The server holds the same line: one past the maximum is refused.
    _, api_key = await service.new_key()
    auth = {"Authorization": f"Bearer {api_key}"}
    over = await service.http.post("/v1/sessions", headers=auth, json={"maxTtlSeconds": 1801})
    assert over.status_code == 400 and "maxTtlSeconds" in over.json()["error"]


def _validator(document: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(document)


async def test_error_answers_match_the_document(make_service: ServiceFactory) -> None:
    service = await make_service(max_body_bytes=4096, rate_limit="4/minute")
    document = await _document(service)
    api = _validator(document)
    _, key = await service.new_key(("app.test",))
    auth = {"Authorization": f"Bearer {key}"}
    big = {**auth, "Content-Type": "application/json"}
    http = service.http

    answers: list[tuple[str, str, httpx.Response, int]] = [
        ("/v1/sessions", "POST", await http.post("/v1/sessions", json={}), 401),
        ("/api/captures", "POST", await http.post("/api/captures", json={}), 401),
        (
            "/admin/workspaces",
            "GET",
            await http.get("/admin/workspaces", headers={"Authorization": "Bearer nope"}),
            401,
        ),
        (
            "/api/captures",
            "POST",
            await http.post("/api/captures", headers=big, content=b"{" + b" " * 5000 + b"}"),
            413,
        ),
        (
            "/v1/sessions/{session_id}/actions",
            "POST",
            await http.post(
                "/v1/sessions/sess_x/actions", headers=big, content=b"[" + b" " * 5000 + b"]"
            ),
            413,
        ),
    ]
    body = {"url": "https://app.test/"}
    first = await http.post("/api/captures", json=body, headers={**auth, "Idempotency-Key": "k"})
    answers.append(("/api/captures", "POST", first, 202))
    other = {"url": "https://app.test/other"}
    clash = await http.post("/api/captures", json=other, headers={**auth, "Idempotency-Key": "k"})
    answers.append(("/api/captures", "POST", clash, 409))
    limited = await http.get("/v1/sessions", headers=auth)
    answers.append(("/v1/sessions", "GET", limited, 429))

    for path, method, response, status in answers:
        assert response.status_code == status, (path, response.text)
        assert str(status) in document["paths"][path][method.lower()]["responses"], path
        api[path][method].validate_response(response)
    assert limited.headers["Retry-After"].isdigit()


async def test_a_disabled_admin_api_answers_as_documented(make_service: ServiceFactory) -> None:
    service = await make_service(admin_token=None)
    document = await _document(service)
    api = _validator(document)
    response = await service.http.get(
        "/admin/workspaces", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 404
    assert "404" in document["paths"]["/admin/workspaces"]["get"]["responses"]
    api["/admin/workspaces"]["GET"].validate_response(response)
