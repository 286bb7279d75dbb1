"""Cookies are checked at the edge as Chromium checks them (docs/captures.md, ``auth.cookies``).

A cookie Chromium would refuse is a 400 naming the field, on ``POST /v1/sessions`` and on
``POST /api/captures`` alike, and the error never repeats the cookie's value. Cookies at the
edges of what is allowed reach the page as given. Generated cookie objects get a 201 or a
400, never anything else.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from sessions.models import MAX_COOKIE_EXPIRES
from tests.integration.sessions_helpers import Client, new_client
from tests.support.service import Service
from tests.support.target_site import TargetSite

SECRET = "s3cr3tV4lu3"
"""In every refused cookie's value: it must not come back in an error."""


def _cookie(**fields: Any) -> dict[str, Any]:
    return {"name": "sid", "value": SECRET, "domain": "app.test", **fields}


# (label, cookie, the field its error names)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("name with ';'", _cookie(name="a;b"), "name"),
    ("empty name", _cookie(name=""), "name"),
    ("expires -5", _cookie(expires=-5), "expires"),
    ("expires 1e300", _cookie(expires=1e300), "expires"),
    ("expires past year 9999", _cookie(expires=MAX_COOKIE_EXPIRES + 1), "expires"),
    ("4096-character value", _cookie(value=(SECRET * 400)[:4096]), "value"),
    ("name and value over 4096 bytes", _cookie(name="n" * 200, value=SECRET * 360), "value"),
    ("value with ';'", _cookie(value=SECRET + ";x"), "value"),
    ("value with a control", _cookie(value=SECRET + "\t"), "value"),
    ("value with a space at its end", _cookie(value=SECRET + " "), "value"),
    ("name with '='", _cookie(name="a=b"), "name"),
    ("sameSite None without secure", _cookie(sameSite="None"), "secure"),
    ("__Secure- without secure", _cookie(name="__Secure-sid"), "secure"),
    (
        "__Host- with a domain",
        _cookie(name="__Host-sid", secure=True, domain=".app.test"),
        "domain",
    ),
    ("__Host- with a path", _cookie(name="__Host-sid", secure=True, path="/a"), "path"),
    ("__Http- not httpOnly", _cookie(name="__Http-sid", secure=True), "httpOnly"),
    ("path without '/'", _cookie(path="account"), "path"),
    ("domain not a host", _cookie(domain="::1"), "domain"),
]


@pytest.fixture(scope="module")
async def client(browser_service: Service) -> Client:
    """A key allowed on the test site's host."""
    return await new_client(browser_service)


def _refusal(message: str, field: str, index: int) -> list[str]:
    """What is wrong with a refusal's message (nothing: an empty list)."""
    problems = []
    if f"auth.cookies.{index}.{field}" not in message:
        problems.append(f"names no auth.cookies.{index}.{field}: {message}")
    if SECRET in message:
        problems.append(f"repeats the value: {message}")
    return problems


@pytest.mark.parametrize("index", [0, 1])
async def test_refused_cookie_is_a_400_naming_the_field(client: Client, index: int) -> None:
    http = client.service.http
    wrong = []
    for label, cookie, field in REFUSED:
        cookies = [_cookie(name="fine", value="ok")] * index + [cookie]
        body = {"auth": {"cookies": cookies}}
        capture = await http.post(
            "/api/captures", headers=client.headers, json={"url": "https://app.test/", **body}
        )
        session = await http.post("/v1/sessions", headers=client.headers, json=body)
        if capture.status_code != 400 or session.status_code != 400:
            wrong.append(f"{label}: capture {capture.status_code}, session {session.status_code}")
            continue
        error = capture.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and set(capture.json()) == {"error"}
        wrong += [f"{label}: capture {p}" for p in _refusal(error["message"], field, index)]
        shape = session.json()
        assert shape["success"] is False and shape["code"] == "VALIDATION_ERROR", shape
        wrong += [f"{label}: session {p}" for p in _refusal(shape["error"], field, index)]
    assert not wrong, "\n".join(wrong)


async def test_non_finite_expires_is_refused(client: Client) -> None:
    # Python's JSON reader takes these literals; they are not numbers a cookie can have.
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = f'{{"auth": {{"cookies": [{{"name": "a", "value": "{SECRET}", '
        body += f'"domain": "app.test", "expires": {literal}}}]}}}}'
        headers = {**client.headers, "Content-Type": "application/json"}
        response = await client.service.http.post("/v1/sessions", headers=headers, content=body)
        assert response.status_code == 400, (literal, response.text)
        assert _refusal(response.json()["error"], "expires", 0) == []


async def test_cookies_at_the_limits_reach_the_page(
    client: Client, target_site: TargetSite
) -> None:
    name = "n" * 100
    cookies: list[dict[str, Any]] = [
        {"name": name, "value": "v" * (4096 - len(name)), "domain": "app.test"},
        {"name": "quoted", "value": '"a=b"', "domain": ".app.test", "expires": -1},
        {"name": "__Host-h", "value": "1", "domain": "app.test", "secure": True},
        {"name": "__Secure-s", "value": "2", "domain": "app.test", "secure": True,
         "sameSite": "None", "expires": MAX_COOKIE_EXPIRES},
        {"name": "__Host-Http-x", "value": "3", "domain": "app.test", "secure": True,
         "httpOnly": True, "path": "/"},
        {"name": "odd!#$%&'*+-.^_`|~", "value": "!#$%&'()*+-./:<=>?@[]^_`{|}~",
         "domain": "app.test", "path": "/echo", "sameSite": "Strict"},
        # As browsers keep them: JSON with quotes, commas and inner spaces, a name with a space.
        {"name": "cookie consent", "value": '{"ads":false, "stats":true}', "domain": "app.test"},
    ]  # fmt: skip
    session = await client.create(auth={"cookies": cookies})
    since = len(target_site.requests)
    await client.ok(session["id"], "goto", url=target_site.url("/echo"))
    sent = next(r for r in target_site.requests[since:] if r.path == "/echo")
    pairs = dict(p.split("=", 1) for p in sent.headers["cookie"].split("; "))
    assert pairs == {c["name"]: c["value"] for c in cookies}
    assert (await client.delete(session["id"])).status_code == 200


TOKEN = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
OCTETS = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in '",;\\')
EDGES = ' ;=,"\\\t\x00\x7f\x01é\u2028😀()<>@:/[]?{}'

# A cookie of allowed parts, then up to two fields replaced by anything near their edges: the
# generated objects fall on both sides of every rule, and a good share reach Chromium.
ALLOWED = st.fixed_dictionaries(
    {
        "name": st.builds(
            str.__add__,
            st.sampled_from(["", "__Secure-", "__Host-", "__Http-", "__Host-Http-"]),
            st.text(alphabet=TOKEN, min_size=1, max_size=8),
        ),
        "value": st.text(alphabet=OCTETS, max_size=12),
        "domain": st.sampled_from(["app.test", ".app.test", "x_y.app.test", "127.0.0.1", "[::1]"]),
    },
    optional={
        "path": st.sampled_from(["/", "/echo", "/a/b", "/%20"]),
        "expires": st.one_of(
            st.just(-1), st.integers(0, MAX_COOKIE_EXPIRES), st.floats(0, MAX_COOKIE_EXPIRES)
        ),
        "httpOnly": st.booleans(),
        "secure": st.booleans(),
        "sameSite": st.sampled_from(["Strict", "Lax", "None"]),
    },
)
NEAR_EDGES: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(alphabet=TOKEN + EDGES, max_size=8),
    "value": st.one_of(
        st.text(alphabet=OCTETS + EDGES, max_size=8),
        st.integers(4000, 4100).map(lambda n: "v" * n),
        st.integers(),
    ),
    "domain": st.one_of(
        st.sampled_from(["::1", "1.2.3", "256.1.1.1", "a..b", "-x.test", "0x7f.1", "", "."]),
        st.text(alphabet="ab.-_019[]:%", max_size=10),
    ),
    "path": st.text(alphabet="/ab%;?# \x01é", max_size=8),
    "expires": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**15)
    ),
    "httpOnly": st.sampled_from([1, "true", None]),
    "sameSite": st.sampled_from(["none", "", None]),
    "partitioned": st.booleans(),
}


@st.composite
def cookies(draw: st.DrawFn) -> dict[str, Any]:
    """A cookie object: allowed, or with one or two fields near or past their edges."""
    cookie: dict[str, Any] = draw(ALLOWED)
    for field in draw(st.lists(st.sampled_from(sorted(NEAR_EDGES)), max_size=2, unique=True)):
        cookie[field] = draw(NEAR_EDGES[field])
    return cookie


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cookies=st.lists(cookies(), min_size=1, max_size=2))
@example(cookies=[{"name": "0", "value": "", "domain": "app.test", "expires": math.inf}])
async def test_no_cookie_makes_a_500(client: Client, cookies: list[dict[str, Any]]) -> None:
    body = {"auth": {"cookies": cookies}}
    # Serialised here: NaN and Infinity go out as the literals Python's reader takes (an
    # HTTP client's strict encoder would refuse them before sending).
    headers = {**client.headers, "Content-Type": "application/json"}
    response = await client.service.http.post(
        "/v1/sessions", headers=headers, content=json.dumps(body)
    )
    assert response.status_code in (201, 400), (json.dumps(body), response.text)
    event(f"status {response.status_code}")
    if response.status_code == 201:
        assert (await client.delete(response.json()["id"])).status_code == 200
    else:
        assert response.json()["code"] == "VALIDATION_ERROR"


@pytest.fixture(scope="module", autouse=True)
async def _sessions_closed(client: Client) -> AsyncIterator[None]:
    """No session of this module outlives it."""
    yield
    listed = await client.service.http.get("/v1/sessions?status=active", headers=client.headers)
    assert listed.json()["sessions"] == []
