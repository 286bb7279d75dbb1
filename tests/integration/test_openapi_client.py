"""A client generated from the live ``/openapi.json`` drives a session with typed answers.

openapi-python-client turns the document into a package (offline, no post-hooks); the
package is imported and used as an API user would: every answer parses into one of its
typed models, errors included, or the document is missing something.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sessions_helpers import new_client
from tests.support.service import Service
from tests.support.target_site import TargetSite

# The file answers of GET /v1/files/{token} are bytes to a client.
GENERATOR_CONFIG = """\
package_name_override: {package}
post_hooks: []
content_type_overrides:
  image/png: application/octet-stream
  image/jpeg: application/octet-stream
  application/pdf: application/octet-stream
"""


class Generated:
    """The generated package: ``api(tag, operation)`` and ``models`` of it."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.models = importlib.import_module(f"{package}.models")
        self.client = importlib.import_module(f"{package}.client")

    def api(self, tag: str, operation: str) -> Any:
        """The module of one operation (``api("sessions", "run_action")``)."""
        return importlib.import_module(f"{self.package}.api.{tag}.{operation}")


@pytest.fixture
async def generated(browser_service: Service, tmp_path: Path) -> AsyncIterator[Generated]:
    """A client package generated from the running service's document."""
    document = (await browser_service.http.get("/openapi.json")).json()
    package = f"sessionshot_client_{secrets.token_hex(4)}"
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    (tmp_path / "config.yaml").write_text(GENERATOR_CONFIG.format(package=package))
    command = [
        sys.executable,
        "-m",
        "openapi_python_client",
        "generate",
        "--path",
        str(tmp_path / "openapi.json"),
        "--config",
        str(tmp_path / "config.yaml"),
        "--meta",
        "none",
        "--output-path",
        str(tmp_path / package),
        "--fail-on-warning",  # a part of the document it cannot use fails the test
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield Generated(package)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def _parsed(response: Any, model: type, status: int) -> Any:
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model), type(response.parsed)
    return response.parsed


async def test_a_generated_client_runs_a_session_with_typed_answers(
    browser_service: Service, target_site: TargetSite, generated: Generated
) -> None:
    caller = await new_client(browser_service)
    m = generated.models
    async with generated.client.AuthenticatedClient(
        base_url=browser_service.base_url, token=caller.key
    ) as client:
        create = generated.api("sessions", "create_session")
        made = await create.asyncio_detailed(
            client=client, body=m.SessionOptions(max_ttl_seconds=60)
        )
        session = _parsed(made, m.Session, 201)
        assert session.status == m.SessionStatus.ACTIVE and session.options.max_ttl_seconds == 60

        run = generated.api("sessions", "run_action")
        goto = m.GotoAction(type_="goto", payload=m.GotoPayload(url=target_site.url("/form")))
        went = _parsed(
            await run.asyncio_detailed(session.id, client=client, body=goto), m.ActionResult, 200
        )
        assert went.success is True and went.status == 200
        query = m.QueryAction(type_="query", payload=m.QueryPayload(selector="#btn"))
        found = _parsed(
            await run.asyncio_detailed(session.id, client=client, body=query), m.ActionResult, 200
        )
        assert found.matched is True and found.tag_name == "button"
        assert isinstance(found.bounding_box, m.BoundingBox) and found.bounding_box.width > 0

        get = generated.api("sessions", "get_session")
        missing = _parsed(await get.asyncio_detailed("sess_unknown", client=client), m.V1Error, 404)
        assert missing.code == "NOT_FOUND"

        close = generated.api("sessions", "close_session")
        closed = _parsed(await close.asyncio_detailed(session.id, client=client), m.Session, 200)
        assert closed.status == m.SessionStatus.CLOSED and closed.action_count == 2
        assert isinstance(closed.action_breakdown, m.SessionActionBreakdown)
