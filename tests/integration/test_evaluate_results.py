"""``evaluate`` answers strict JSON for any JavaScript value (docs/sessions.md, ``evaluate``).

Every answer is parsed with a parser that refuses ``NaN`` and ``Infinity``, on both ways to
the engine: the action lane and the Quart route it stands in front of. An answer the client
got as a 200 is counted as a success.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessions.evaluation import MAX_DEPTH
from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import Client, new_client
from tests.support.canary_site import CanarySite
from tests.support.service import Service
from tests.support.target_site import TargetSite

# (expression, the documented result)
SUBSTITUTES: list[tuple[str, Any]] = [
    ("new Date(0)", "1970-01-01T00:00:00.000Z"),
    ("new Date(Date.UTC(2024, 1, 29, 12, 30, 5, 7))", "2024-02-29T12:30:05.007Z"),
    ("new Date(NaN)", None),
    ("/a+/gi", "/a+/gi"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("-0", 0),
    ("undefined", None),
    ("[undefined, 1, , 3]", [None, 1, None, 3]),
    (
        "({u: undefined, f() {}, s: Symbol('s'), n: null})",
        {"u": None, "f": None, "s": None, "n": None},
    ),
    (
        "(() => { const o = {name: 'o'}; o.self = o; return o; })()",
        {"name": "o", "self": "[Circular]"},
    ),
    ("(() => { const a = [1]; a.push(a); return a; })()", [1, "[Circular]"]),
    ("(() => { const o = {x: 1}; return [o, o]; })()", [{"x": 1}, {"x": 1}]),
    ("2n ** 70n", "1180591620717411303424"),
    ("10n", "10"),
    ("new Map([['k', 1], [2, new Date(0)]])", [["k", 1], [2, "1970-01-01T00:00:00.000Z"]]),
    ("new Set(['a', NaN])", ["a", "NaN"]),
    ("new URL('https://app.test/a?b=1')", "https://app.test/a?b=1"),
    ("new Uint8Array([1, 255])", [1, 255]),
    ("new Number(3)", 3),
    ("'\\ud800 lone'", "\ufffd lone"),
    ("document.body", "ref: <Node>"),
    ("({get broken() { throw new Error('no') }, ok: 1})", {"broken": None, "ok": 1}),
    ("Promise.resolve({at: new Date(0)})", {"at": "1970-01-01T00:00:00.000Z"}),
    ("() => [Infinity]", ["Infinity"]),
]


def strict_loads(text: str) -> Any:
    """JSON as RFC 8259 has it: ``NaN``, ``Infinity`` and ``-Infinity`` are refused."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(params=["lane", "quart"])
async def served(
    request: pytest.FixtureRequest,
    browser_service: Service,
    make_service: ServiceFactory,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
) -> Service:
    """An instance answering actions from the action lane, or from the Quart route."""
    if request.param == "lane":
        return browser_service
    overrides = browser_overrides(target_site, canary_site, tmp_path)
    return await make_service(action_lane=False, **overrides)


async def _evaluate(client: Client, session_id: str, expression: str) -> dict[str, Any]:
    """One evaluate; asserts a 200 whose body is strict JSON."""
    response = await client.act(session_id, "evaluate", expression=expression)
    assert response.status_code == 200, (expression, response.status_code, response.text)
    body: dict[str, Any] = strict_loads(response.text)
    assert body["success"] is True, body
    return body


async def test_every_value_is_strict_json_and_counted(
    served: Service, target_site: TargetSite
) -> None:
    client = await new_client(served)
    session = await client.create()
    sid = session["id"]
    await client.ok(sid, "goto", url=target_site.url("/form"))

    error = await _evaluate(client, sid, "new TypeError('bad input')")
    result = error["result"]
    assert set(result) == {"name", "message", "stack"} and error["truncated"] is False
    assert result["name"] == "TypeError" and result["message"] == "bad input"
    assert result["stack"].startswith("TypeError: bad input")

    wrong = []
    for expression, expected in SUBSTITUTES:
        body = await _evaluate(client, sid, expression)
        if body["result"] != expected or body["truncated"] is not False:
            wrong.append(f"{expression}: {body['result']!r} (truncated {body['truncated']})")
    assert not wrong, "\n".join(wrong)

    record = await client.get(sid)
    evaluated = 1 + len(SUBSTITUTES)
    assert record["actionCount"] == evaluated + 1  # and the goto
    assert record["actionSuccessCount"] == evaluated + 1
    assert record["actionErrorCount"] == 0
    assert record["actionBreakdown"]["evaluate"] == {
        "total": evaluated,
        "success": evaluated,
        "error": 0,
    }
    assert (await client.delete(sid)).status_code == 200


async def test_deep_and_large_values_are_capped(
    browser_service: Service, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    sid = (await client.create())["id"]
    await client.ok(sid, "goto", url=target_site.url("/form"))

    # Deeper than Chromium hands over (about 90 objects): cut at MAX_DEPTH instead of failing.
    deep = await _evaluate(
        client, sid, "(() => { let a = {}; for (let i = 0; i < 500; i++) a = {a}; return a; })()"
    )
    assert deep["truncated"] is True
    level, depth = deep["result"], 0
    while isinstance(level, dict):
        level, depth = level["a"], depth + 1
    assert (level, depth) == ("[Too deep]", MAX_DEPTH)

    # Over the cap: the result is the value's compact JSON text, cut at the cap.
    cap = browser_service.settings.max_content_bytes
    count = cap // 4
    big = await _evaluate(client, sid, f"Array.from({{length: {count}}}, (_, i) => [i, NaN])")
    assert big["truncated"] is True and isinstance(big["result"], str)
    whole = json.dumps([[i, "NaN"] for i in range(count)], separators=(",", ":"))
    assert len(whole) > cap and big["result"] == whole[:cap]

    text = await _evaluate(client, sid, f"'é'.repeat({cap})")
    assert text["truncated"] is True and isinstance(text["result"], str)
    assert text["result"] == ('"' + "é" * cap)[: len(text["result"])]
    assert cap - 1 <= len(text["result"].encode()) <= cap

    record = await client.get(sid)
    assert record["actionBreakdown"]["evaluate"] == {"total": 3, "success": 3, "error": 0}
    assert (await client.delete(sid)).status_code == 200


@pytest.mark.slow
async def test_a_promise_that_never_settles_fails_and_frees_the_session(
    browser_service: Service, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    session = await client.create()
    await client.ok(session["id"], "goto", url=target_site.url("/form"))
    stuck = await client.act(session["id"], "evaluate", expression="new Promise(() => {})")
    assert stuck.status_code == 422, stuck.text
    assert stuck.json()["code"] == "ACTION_FAILED" and "settle" in stuck.json()["error"]
    after = await client.ok(session["id"], "evaluate", expression="1 + 1")
    assert after["result"] == 2
