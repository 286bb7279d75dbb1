"""The connect relay's rules (SPEC section 12): what a CDP client's message becomes.

A table of calls and what happens to them, malformed messages, and a walk over the CDP
protocol description itself (tests/node, from npm's devtools-protocol): every domain must be
decided, and every method with a URL-, path- or file-like parameter must be refused, answered
without the browser, or have that parameter checked or reviewed, so a protocol version that adds
one fails here until it is classified.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessions import cdp_rules
from sessions.cdp_rules import MAX_MESSAGE_SIZE, error_reply, rule, screen, success_reply

PROTOCOL_DIR = (
    Path(__file__).resolve().parents[1] / "node" / "node_modules" / "devtools-protocol" / "json"
)

FWD, REFUSE, PRETEND, CREATE = "forward", "refuse", "pretend", "create_context"

ROWS: list[tuple[str, dict[str, Any], str]] = [
    # What Playwright's connect_over_cdp and Puppeteer's connect send.
    ("Browser.getVersion", {}, FWD),
    ("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": True}, FWD),
    ("Target.setDiscoverTargets", {"discover": True}, FWD),
    ("Target.getBrowserContexts", {}, FWD),
    ("Target.attachToTarget", {"targetId": "T", "flatten": True}, FWD),
    ("Target.attachToBrowserTarget", {}, FWD),
    ("Target.closeTarget", {"targetId": "T"}, FWD),
    ("Target.disposeBrowserContext", {"browserContextId": "C"}, FWD),
    ("Page.enable", {}, FWD),
    ("Page.createIsolatedWorld", {"frameId": "F", "grantUniveralAccess": True}, FWD),
    ("Page.addScriptToEvaluateOnNewDocument", {"source": "1", "worldName": "w"}, FWD),
    ("Page.setInterceptFileChooserDialog", {"enabled": True}, FWD),
    ("Runtime.evaluate", {"expression": "location.href"}, FWD),
    ("Runtime.callFunctionOn", {"functionDeclaration": "() => 1"}, FWD),
    ("Network.enable", {}, FWD),
    ("Emulation.setDeviceMetricsOverride", {"width": 1, "height": 1}, FWD),
    ("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}, FWD),
    ("Fetch.fulfillRequest", {"requestId": "R", "responseCode": 200}, FWD),
    ("Input.dispatchMouseEvent", {"type": "mousePressed", "x": 1, "y": 1}, FWD),
    ("Input.dispatchDragEvent", {"type": "drop", "x": 1, "y": 1, "data": {"items": []}}, FWD),
    ("Input.dispatchDragEvent", {"type": "drop", "data": {"items": [], "files": []}}, FWD),
    ("Page.captureScreenshot", {"format": "png"}, FWD),
    ("Page.printToPDF", {"transferMode": "ReturnAsStream"}, FWD),
    ("IO.read", {"handle": "1"}, FWD),
    ("Tracing.start", {"transferMode": "ReturnAsStream", "traceConfig": {}}, FWD),
    ("Tracing.start", {"tracingBackend": "chrome"}, FWD),
    ("Network.setCookie", {"name": "a", "value": "b", "url": "file:///x", "path": "/"}, FWD),
    ("DOM.setFileInputFiles", {"files": [], "nodeId": 1}, FWD),
    ("DOM.pushNodeByPathToFrontend", {"path": "1,HTML,1,BODY"}, FWD),
    # Download behaviour: a success the browser never sees.
    ("Browser.setDownloadBehavior", {"behavior": "allowAndName", "downloadPath": "/tmp"}, PRETEND),
    ("Browser.setDownloadBehavior", {"behavior": "deny"}, PRETEND),
    ("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": "/etc"}, PRETEND),
    # New contexts: run by the relay, never with a proxy of the client's.
    ("Target.createBrowserContext", {}, CREATE),
    ("Target.createBrowserContext", {"disposeOnDetach": True}, CREATE),
    ("Target.createBrowserContext", {"originsWithUniversalNetworkAccess": ["https://a"]}, CREATE),
    ("Target.createBrowserContext", {"proxyServer": "http://10.0.0.1:3128"}, REFUSE),
    ("Target.createBrowserContext", {"proxyServer": ""}, REFUSE),
    ("Target.createBrowserContext", {"proxyServer": None}, REFUSE),
    ("Target.createBrowserContext", {"proxyBypassList": "*"}, REFUSE),
    ("Target.createBrowserContext", {"originsWithUniversalNetworkAccess": ["file://"]}, REFUSE),
    ("Target.createBrowserContext", {"originsWithUniversalNetworkAccess": "file://"}, REFUSE),
    # URLs a method navigates to, opens or fetches.
    ("Page.navigate", {"url": "https://example.com/"}, FWD),
    ("Page.navigate", {"url": "HTTP://example.com/"}, FWD),
    ("Page.navigate", {"url": "about:blank"}, FWD),
    ("Page.navigate", {"url": "About:Blank#top"}, FWD),
    ("Page.navigate", {"url": "data:text/html,<p>hi"}, FWD),
    ("Page.navigate", {"url": "javascript:void 0", "frameId": "F"}, FWD),
    ("Page.navigate", {"url": "blob:https://a/0c5e"}, FWD),
    ("Page.navigate", {"url": "file:///etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": "FILE:///etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": " \x00file:///etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": "fi\tle:///etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": "f\nile:///etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": "chrome://version"}, REFUSE),
    ("Page.navigate", {"url": "about:version"}, REFUSE),
    ("Page.navigate", {"url": "about:blank/../version"}, REFUSE),
    ("Page.navigate", {"url": "devtools://devtools/bundled/inspector.html"}, REFUSE),
    ("Page.navigate", {"url": "view-source:file:///etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": "view-source:https://example.com/"}, REFUSE),
    ("Page.navigate", {"url": "filesystem:https://a/temporary/x"}, REFUSE),
    ("Page.navigate", {"url": "chrome-extension://abc/x.html"}, REFUSE),
    ("Page.navigate", {"url": "/etc/passwd"}, REFUSE),
    ("Page.navigate", {"url": "ht%74p://x"}, REFUSE),
    ("Page.navigate", {"url": ["file:///etc/passwd"]}, REFUSE),
    ("Page.navigate", {"url": None}, REFUSE),
    ("Target.createTarget", {"url": "about:blank"}, FWD),
    ("Target.createTarget", {"url": ""}, FWD),
    ("Target.createTarget", {"url": "https://example.com/", "newWindow": True}, FWD),
    ("Target.createTarget", {"url": "file:///etc/passwd"}, REFUSE),
    ("Target.createTarget", {"url": "chrome://settings"}, REFUSE),
    ("Fetch.continueRequest", {"requestId": "R"}, FWD),
    ("Fetch.continueRequest", {"requestId": "R", "url": "https://b/"}, FWD),
    ("Fetch.continueRequest", {"requestId": "R", "url": "file:///etc/shadow"}, REFUSE),
    ("Network.loadNetworkResource", {"url": "https://a/x.js", "options": {}}, FWD),
    ("Network.loadNetworkResource", {"url": "file:///etc/passwd", "options": {}}, REFUSE),
    # Server files.
    ("DOM.setFileInputFiles", {"files": ["/etc/passwd"], "nodeId": 1}, REFUSE),
    ("DOM.setFileInputFiles", {"files": "/etc/passwd", "nodeId": 1}, REFUSE),
    ("DOM.setFileInputFiles", {"files": None, "nodeId": 1}, REFUSE),
    ("Input.dispatchDragEvent", {"type": "drop", "data": {"files": ["/etc/passwd"]}}, REFUSE),
    ("Extensions.loadUnpacked", {"path": "/tmp/ext"}, REFUSE),
    ("Extensions.getExtensions", {}, REFUSE),
    ("PWA.launchFilesInApp", {"manifestId": "m", "files": ["/etc/passwd"]}, REFUSE),
    ("PWA.install", {"manifestId": "m"}, REFUSE),
    ("Tracing.start", {"perfettoConfig": "CgQIgIAE"}, REFUSE),
    ("Tracing.start", {"tracingBackend": "system"}, REFUSE),
    # Beyond the session's browser, or the browser's own lifecycle.
    ("Browser.close", {}, REFUSE),
    ("Browser.crash", {}, REFUSE),
    ("Browser.crashGpuProcess", {}, REFUSE),
    ("Page.crash", {}, REFUSE),
    ("Browser.getBrowserCommandLine", {}, REFUSE),
    ("SystemInfo.getInfo", {}, REFUSE),
    ("Target.setRemoteLocations", {"locations": [{"host": "10.0.0.1", "port": 9222}]}, REFUSE),
    ("Target.exposeDevToolsProtocol", {"targetId": "T"}, REFUSE),
    ("Target.openDevTools", {"targetId": "T"}, REFUSE),
    ("Target.sendMessageToTarget", {"message": '{"id":1,"method":"Browser.close"}'}, REFUSE),
    ("Tethering.bind", {"port": 9222}, REFUSE),
    ("Cast.enable", {}, REFUSE),
    (
        "FedCm.openUrl",
        {"dialogId": "d", "accountIndex": 0, "accountUrlType": "TermsOfService"},
        REFUSE,
    ),
    # Names the tables do not know.
    ("Nope.enable", {}, REFUSE),
    ("Page", {}, REFUSE),
    ("Page.navigate.x", {"url": "https://a/"}, REFUSE),
    ("browser.close", {}, REFUSE),
]


@pytest.mark.parametrize(("method", "params", "kind"), ROWS)
def test_rule(method: str, params: dict[str, Any], kind: str) -> None:
    ruling = rule(method, params)
    assert ruling.kind == kind, ruling.reason
    assert bool(ruling.reason) == (kind == REFUSE)


@pytest.mark.parametrize(("method", "params", "kind"), ROWS)
def test_screen_agrees_with_rule(method: str, params: dict[str, Any], kind: str) -> None:
    """Sent as a whole message, with a sessionId, each row gets the same ruling."""
    raw = json.dumps({"id": 7, "method": method, "params": params, "sessionId": "S1"})
    screened = screen(raw)
    if not re.fullmatch(r"[A-Za-z]+\.[A-Za-z]+", method):
        assert screened.ruling.kind == REFUSE
        return
    assert screened.ruling.kind == kind
    assert screened.message == {"id": 7, "method": method, "params": params, "sessionId": "S1"}
    assert json.loads(screened.forward_text()) == screened.message
    assert screen(raw.encode()).ruling == screened.ruling


def test_refused_answer_keeps_id_and_session() -> None:
    raw = '{"id": 12, "method": "Browser.close", "sessionId": "S"}'
    screened = screen(raw)
    answer = json.loads(error_reply(screened.message, screened.ruling.reason))
    assert answer == {
        "id": 12,
        "sessionId": "S",
        "error": {"code": -32000, "message": screened.ruling.reason},
    }
    assert "Browser.close" in answer["error"]["message"]


def test_pretended_answer_is_a_success() -> None:
    screened = screen('{"id": 3, "method": "Page.setDownloadBehavior", "params": {}}')
    assert screened.ruling.kind == PRETEND
    assert screened.message is not None
    assert json.loads(success_reply(screened.message)) == {"id": 3, "result": {}}
    answer = success_reply(screened.message, {"browserContextId": "C"})
    assert json.loads(answer) == {"id": 3, "result": {"browserContextId": "C"}}


def test_unknown_top_level_keys_are_not_forwarded() -> None:
    screened = screen('{"id": 1, "method": "Page.enable", "extra": {"method": "Browser.close"}}')
    assert screened.ruling.kind == FWD
    assert screened.message == {"id": 1, "method": "Page.enable"}


DEEP = 10_000
MALFORMED: list[tuple[str | bytes, int]] = [
    ("", 0),
    ("not json", 0),
    (b"\xff\xfe{", 0),
    ("[1, 2]", 0),
    ('"Page.enable"', 0),
    ("null", 0),
    ('{"method": "Page.enable"}', 0),
    ('{"id": "1", "method": "Page.enable"}', 0),
    ('{"id": 1.5, "method": "Page.enable"}', 0),
    ('{"id": true, "method": "Page.enable"}', 0),
    ('{"id": -1, "method": "Page.enable"}', -1),
    ('{"id": 2000000000, "method": "Page.enable"}', 2000000000),
    ('{"id": 1}', 1),
    ('{"id": 1, "method": 5}', 1),
    ('{"id": 1, "method": ""}', 1),
    ('{"id": 1, "method": "Page.enable", "params": []}', 1),
    ('{"id": 1, "method": "Page.enable", "params": null}', 1),
    ('{"id": 1, "method": "Page.enable", "params": "x"}', 1),
    ('{"id": 1, "method": "Page.enable", "sessionId": 5}', 1),
    # Two equal keys: the browser might act on the one not checked.
    ('{"id": 1, "method": "Page.enable", "method": "Browser.close"}', 0),
    ('{"id": 1, "method": "Page.navigate", "params": {"url": "file:///", "url": "https://a"}}', 0),
    ('{"id": 1, "method": "Page.enable", "params": {"a": NaN}}', 0),
    ('{"id": 1, "method": "Page.enable", "params": {"a": Infinity}}', 0),
    ('{"id": 1, "method": "Page.enable", "params": {"a": 1e400}}', 0),
    ('{"id": 1, "method": "Page.enable", "params": {"a": ' + "9" * 5000 + "}}", 0),
    ("[" * DEEP + "]" * DEEP, 0),
    ('{"a":' * DEEP + "1" + "}" * DEEP, 0),
    ('{"id": 1, "method": "Page.enable", "params": ' + '{"a":' * DEEP + "1" + "}" * DEEP, 0),
    ('{"id": 1, "method": "Page.enable", "params": {"a": ' + "[" * DEEP + "]" * DEEP + "}}", 0),
]


@pytest.mark.parametrize(("raw", "answer_id"), MALFORMED)
def test_malformed_is_refused_not_raised(raw: str | bytes, answer_id: int) -> None:
    screened = screen(raw)
    assert screened.ruling.kind == REFUSE
    assert screened.ruling.reason
    answer = json.loads(error_reply(screened.message, screened.ruling.reason))
    assert answer["id"] == answer_id
    assert answer["error"]["code"] == -32000


@pytest.mark.parametrize("kind", [str, bytes])
def test_huge_message_is_refused_before_parsing(kind: type[str] | type[bytes]) -> None:
    raw = '{"id": 1, "method": "Page.enable", "params": {"a": "' + "x" * MAX_MESSAGE_SIZE + '"}}'
    screened = screen(raw if kind is str else raw.encode())
    assert screened.ruling.kind == REFUSE
    assert screened.message is None


# The protocol description itself.

RISKY_WORDS = frozenset({"path", "paths", "file", "files", "url", "urls", "uri", "proxy", "dir"})


def _words(name: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)}


@pytest.fixture(scope="module")
def protocol() -> dict[str, dict[str, Any]]:
    """Domains of browser_protocol.json and js_protocol.json, by name."""
    if not PROTOCOL_DIR.is_dir():
        # `make test` installs it (make test-npm): missing, the set-up is broken.
        pytest.fail("tests/node is not installed: run make test-npm")
    domains: dict[str, dict[str, Any]] = {}
    for name in ("browser_protocol.json", "js_protocol.json"):
        for domain in json.loads((PROTOCOL_DIR / name).read_text())["domains"]:
            domains[domain["domain"]] = domain
    return domains


def _param_paths(
    protocol: dict[str, dict[str, Any]],
    domain: str,
    params: list[dict[str, Any]],
    seen: frozenset[str],
) -> Iterator[str]:
    """Every parameter path of a command (``a.b``, ``list[].c``), through referenced types."""
    for param in params:
        name = param["name"]
        yield name
        items = param.get("items") or {}
        ref = param.get("$ref") or items.get("$ref")
        if not ref:
            continue
        full = ref if "." in ref else f"{domain}.{ref}"
        owner, type_id = full.split(".")
        found = [t for t in protocol[owner].get("types", []) if t["id"] == type_id]
        if full in seen or not found or "properties" not in found[0]:
            continue
        prefix = f"{name}[]." if items else f"{name}."
        for inner in _param_paths(protocol, owner, found[0]["properties"], seen | {full}):
            yield prefix + inner


def _commands(protocol: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Every method of the protocol and its parameter paths."""
    return {
        f"{name}.{command['name']}": set(
            _param_paths(protocol, name, command.get("parameters", []), frozenset())
        )
        for name, domain in protocol.items()
        for command in domain.get("commands", [])
    }


def test_every_domain_is_decided(protocol: dict[str, dict[str, Any]]) -> None:
    undecided = set(protocol) - cdp_rules.ALLOWED_DOMAINS - set(cdp_rules.REFUSED_DOMAINS)
    assert not undecided, f"decide these domains in sessions/cdp_rules.py: {sorted(undecided)}"
    assert not cdp_rules.ALLOWED_DOMAINS & set(cdp_rules.REFUSED_DOMAINS)


def test_every_method_gets_a_ruling(protocol: dict[str, dict[str, Any]]) -> None:
    commands = _commands(protocol)
    assert len(commands) > 600
    for method in commands:
        assert re.fullmatch(r"[A-Za-z]+\.[A-Za-z]+", method)
        assert rule(method, {}).kind in {FWD, REFUSE, PRETEND, CREATE}


def test_tables_name_real_methods_and_parameters(protocol: dict[str, dict[str, Any]]) -> None:
    commands = _commands(protocol)
    for method in [*cdp_rules.REFUSED_METHODS, *cdp_rules.PRETEND_METHODS]:
        assert method in commands, method
    tables = (
        cdp_rules.URL_PARAMS,
        cdp_rules.EMPTY_PARAMS,
        cdp_rules.ABSENT_PARAMS,
        cdp_rules.INERT_PARAMS,
    )
    named = [(m, p.removesuffix("[]")) for table in tables for m, ps in table.items() for p in ps]
    named += [(m, p) for m, p in cdp_rules.REFUSED_VALUES]
    for method, path in named:
        assert path in commands.get(method, set()), f"{method} has no parameter {path}"


def test_every_url_path_or_file_parameter_is_classified(
    protocol: dict[str, dict[str, Any]],
) -> None:
    """A new method (or parameter) naming a URL, path, file or proxy fails until decided."""
    unclassified = []
    for method, paths in _commands(protocol).items():
        risky = {p for p in paths if _words(p.rsplit(".", 1)[-1].removesuffix("[]")) & RISKY_WORDS}
        if not risky or rule(method, {}).kind in {REFUSE, PRETEND}:
            continue
        covered = {
            p.removesuffix("[]")
            for table in (
                cdp_rules.URL_PARAMS,
                cdp_rules.EMPTY_PARAMS,
                cdp_rules.ABSENT_PARAMS,
                cdp_rules.INERT_PARAMS,
            )
            for p in table.get(method, ())
        }
        unclassified += [f"{method}: {p}" for p in sorted(risky - covered)]
    assert not unclassified, "classify in sessions/cdp_rules.py:\n" + "\n".join(unclassified)


def test_each_url_parameter_refuses_a_file_url() -> None:
    for method, paths in cdp_rules.URL_PARAMS.items():
        for path in paths:
            params: dict[str, Any] = {}
            name = path.removesuffix("[]")
            params[name] = ["file:///etc/passwd"] if path.endswith("[]") else "file:///etc/passwd"
            assert rule(method, params).kind == REFUSE, method
