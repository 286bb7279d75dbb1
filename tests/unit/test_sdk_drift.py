"""The client drift check on small made-up documents (the real one: tests/sdk/python)."""

from __future__ import annotations

from typing import Any

from tests.sdk.python.drift import drift, reachable


def _body(name: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{name}"}
    return {"content": {"application/json": {"schema": schema}}}


def _document(**schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "paths": {
            "/v1/usage": {"get": {"responses": {"200": _body("WorkspaceUsage")}}},
            "/admin/workspaces": {"get": {"responses": {"200": _body("Workspace")}}},
        },
        "components": {"schemas": schemas},
    }


def _usage(**extra: Any) -> dict[str, Any]:
    properties = {"from": {}, "to": {}, "workspaceId": {}, "byKey": {}, **extra}
    return {"type": "object", "properties": properties}


def test_a_known_schema_passes_and_the_admin_api_is_left_out() -> None:
    document = _document(WorkspaceUsage=_usage(), Workspace={"properties": {"id": {}}})
    assert reachable(document) == {"WorkspaceUsage"}
    assert drift(document) == []


def test_a_new_property_fails_by_its_json_name() -> None:
    document = _document(WorkspaceUsage=_usage(invoiceUrl={"type": "string"}))
    assert drift(document) == ["WorkspaceUsage -> WorkspaceUsage: lacks ['invoiceUrl']"]


def test_a_schema_without_a_client_model_fails_wherever_it_is_used() -> None:
    usage = _usage(plan={"anyOf": [{"$ref": "#/components/schemas/Plan"}, {"type": "null"}]})
    document = _document(WorkspaceUsage=usage, Plan={"properties": {"tier": {}}})
    assert drift(document) == [
        "Plan: no client model",
        "WorkspaceUsage -> WorkspaceUsage: lacks ['plan']",
    ]


def test_discriminated_variants_are_followed() -> None:
    request = {
        "oneOf": [{"$ref": "#/components/schemas/ZoomAction"}],
        "discriminator": {"mapping": {"zoom": "#/components/schemas/ZoomAction"}},
    }
    zoom = {"properties": {"type": {}, "payload": {"$ref": "#/components/schemas/ZoomPayload"}}}
    document = _document(
        WorkspaceUsage=_usage(),
        ActionRequest=request,
        ZoomAction=zoom,
        ZoomPayload={"properties": {"factor": {}}},
    )
    document["paths"]["/v1/sessions/{id}/actions"] = {
        "post": {"requestBody": _body("ActionRequest"), "responses": {}}
    }
    assert drift(document) == ["ZoomPayload: no client model"]
