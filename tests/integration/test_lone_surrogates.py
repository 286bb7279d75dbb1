"""A page's text may hold a lone surrogate (JavaScript strings can); every action that returns
text still answers 200 with valid UTF-8 JSON, on both action paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import Client, new_client
from tests.support.canary_site import CanarySite
from tests.support.target_site import TargetSite

PLANT = """(() => {
  const b = document.querySelector('#btn');
  b.textContent = 'a\\uD800b';
  b.setAttribute('title', 'x\\uDC00y');
  return true;
})()"""


@pytest.mark.parametrize("lane", [True, False], ids=["lane", "quart"])
async def test_text_with_a_lone_surrogate_answers_valid_json(
    make_service: ServiceFactory,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
    lane: bool,
) -> None:
    service = await make_service(
        action_lane=lane, **browser_overrides(target_site, canary_site, tmp_path)
    )
    client: Client = await new_client(service)
    session = await client.create()
    await client.ok(session["id"], "goto", url=target_site.url("/form"))
    await client.ok(session["id"], "evaluate", expression=PLANT)
    for kind, payload in (
        ("content", {"format": "text"}),
        ("content", {"format": "html"}),
        ("query", {"selector": "#btn"}),
    ):
        response = await client.act(session["id"], kind, **payload)
        assert response.status_code == 200, (kind, response.text)
        body = json.loads(response.content.decode("utf-8"))  # strict: valid UTF-8
        text = json.dumps(body, ensure_ascii=False)
        assert "a" in text and "b" in text, kind
    after = await client.get(session["id"])
    assert after["actionErrorCount"] == 0
