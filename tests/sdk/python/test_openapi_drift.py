"""The Python client against the API's own ``/openapi.json``: no field it does not know."""

from __future__ import annotations

import copy
from typing import Any

from tests.sdk.python.drift import drift, reachable
from tests.support.service import Service


async def _document(service: Service) -> dict[str, Any]:
    response = await service.http.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_client_knows_every_body_of_the_api(service: Service) -> None:
    document = await _document(service)
    names = reachable(document)
    assert {"CaptureRequest", "Capture", "Session", "ActionResult", "WorkspaceUsage"} <= names
    assert "Workspace" not in names, "the admin API is not the client's"
    assert drift(document) == []


async def test_the_drift_check_bites(service: Service) -> None:
    document = await _document(service)
    schemas = document["components"]["schemas"]

    grown = copy.deepcopy(document)
    grown["components"]["schemas"]["Capture"]["properties"]["retentionDays"] = {"type": "integer"}
    assert drift(grown) == ["Capture -> Capture: lacks ['retentionDays']"]

    nested = copy.deepcopy(document)
    nested["components"]["schemas"]["Quota"] = {
        "type": "object",
        "properties": {"remaining": {"type": "integer"}},
    }
    nested["components"]["schemas"]["Session"]["properties"]["quota"] = {
        "$ref": "#/components/schemas/Quota"
    }
    assert drift(nested) == [
        "Quota: no client model",
        "Session -> Session: lacks ['quota']",
    ]

    endpoint = copy.deepcopy(document)
    endpoint["components"]["schemas"]["Invoice"] = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
    }
    endpoint["paths"]["/api/invoices"] = {
        "get": {
            "responses": {
                "200": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}}
                    }
                }
            }
        }
    }
    assert drift(endpoint) == ["Invoice: no client model"]

    request = copy.deepcopy(document)
    request["components"]["schemas"]["SessionOptions"]["properties"]["region"] = {"type": "string"}
    assert drift(request) == ["SessionOptions -> SessionCreate: lacks ['region']"]

    assert schemas == document["components"]["schemas"], "the copies were changed, not this"
