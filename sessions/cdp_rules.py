"""What a connect session's CDP relay does with each message a client sends its browser.

The principle: a CDP client drives its own session's browser as fully as Playwright and
Puppeteer need, but nothing it sends may read or write the server's files, get past the egress
guard, or reach beyond its own browser. So, method by method of the protocol:

- a domain is either allowed (:data:`ALLOWED_DOMAINS`) or refused whole
  (:data:`REFUSED_DOMAINS`); a domain the tables do not know is refused;
- inside an allowed domain, methods that reach the server or the browser's own lifecycle are
  refused (:data:`REFUSED_METHODS`);
- a parameter that opens, navigates to or fetches a URL must have a web scheme
  (:data:`URL_PARAMS`); file lists must be empty (:data:`EMPTY_PARAMS`); the proxy and the
  tracing service's own configuration must be absent (:data:`ABSENT_PARAMS`,
  :data:`REFUSED_VALUES`);
- parameters that merely name a URL or a path without loading or reading it (cookie scopes,
  breakpoint patterns, DOM node paths) were reviewed one by one (:data:`INERT_PARAMS`);
- the download-behaviour calls clients make on connecting are answered as a success without
  reaching the browser, whose downloads stay denied (:data:`PRETEND_METHODS`);
- ``Target.createBrowserContext`` is run by the relay itself, which denies downloads in the new
  context.

Everything else is forwarded. The module is pure: no I/O, no exceptions out of :func:`screen`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

Kind = Literal["forward", "refuse", "pretend", "create_context"]

MAX_MESSAGE_SIZE = 64 * 1024 * 1024
"""Largest client message screened, in characters (text) or bytes; larger ones are refused."""
CLIENT_ID_LIMIT = 2_000_000_000
"""Client message ids are ``0 <= id < CLIENT_ID_LIMIT``; the relay numbers its own calls above."""
ERROR_CODE = -32000

_METHOD = re.compile(r"[A-Za-z]+\.[A-Za-z]+")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
# Schemes a URL may have where a method navigates to, opens or fetches it.
WEB_SCHEMES = frozenset({"http", "https", "about", "data", "blob", "javascript"})
# Chromium rewrites every other about: URL to a chrome: page (about:version, ...).
ABOUT_PAGES = frozenset({"blank", "srcdoc"})

ALLOWED_DOMAINS = frozenset(
    {
        *("Accessibility", "Ads", "Animation", "Audits", "Autofill", "BackgroundService"),
        *("BluetoothEmulation", "Browser", "CSS", "CacheStorage", "CrashReportContext"),
        *("DOM", "DOMDebugger", "DOMSnapshot", "DOMStorage", "DeviceAccess"),
        *("DeviceOrientation", "DigitalCredentials", "Emulation", "EventBreakpoints"),
        *("FedCm", "Fetch", "FileSystem", "FindInPage", "HeadlessExperimental", "IO"),
        *("IndexedDB", "Input", "Inspector", "LayerTree", "Log", "Media", "Memory"),
        *("Network", "Overlay", "Page", "Performance", "PerformanceTimeline", "Preload"),
        *("Security", "ServiceWorker", "SmartCardEmulation", "Storage", "Target"),
        *("Tracing", "WebAudio", "WebAuthn", "WebMCP"),
        # js_protocol.json
        *("Console", "Debugger", "HeapProfiler", "Profiler", "Runtime", "Schema"),
    }
)
"""Domains whose methods are forwarded, but for the refusals and checks below."""

REFUSED_DOMAINS: Mapping[str, str] = {
    "Cast": "casting looks for devices on the server's network",
    "Extensions": "extensions would be loaded from the server's disk",
    "PWA": "installing web apps writes to the server and opens URLs unchecked",
    "SystemInfo": "it describes the server machine and the browser's command line",
    "Tethering": "it opens a port on the server",
}

REFUSED_METHODS: Mapping[str, str] = {
    "Browser.close": "the session's browser closes with the session",
    "Browser.crash": "the session's browser closes with the session",
    "Browser.crashGpuProcess": "crashes write dumps on the server",
    "Browser.getBrowserCommandLine": "it shows how the server launched the browser",
    "Browser.executeBrowserCommand": "browser window commands are not available",
    "Browser.addPrivacySandboxEnrollmentOverride": "it changes the browser's own settings",
    "FedCm.openUrl": "it opens a URL given by the identity provider, which cannot be checked",
    "Page.crash": "crashes write dumps on the server",
    "Target.exposeDevToolsProtocol": "it would give page scripts an unscreened CDP connection",
    "Target.getDevToolsTarget": "DevTools windows are not available",
    "Target.openDevTools": "DevTools windows are not available",
    "Target.sendMessageToTarget": "use flat sessions (a sessionId on each message)",
    "Target.setRemoteLocations": "the browser would connect to addresses unchecked",
}

PRETEND_METHODS = frozenset({"Browser.setDownloadBehavior", "Page.setDownloadBehavior"})
"""Answered as a success without reaching the browser: downloads stay denied."""

CREATE_CONTEXT = "Target.createBrowserContext"

URL_PARAMS: Mapping[str, tuple[str, ...]] = {
    "Fetch.continueRequest": ("url",),
    "Network.loadNetworkResource": ("url",),
    "Page.navigate": ("url",),
    "Target.createBrowserContext": ("originsWithUniversalNetworkAccess[]",),
    "Target.createTarget": ("url",),
}
"""Parameters (``a.b``, ``list[]``) a method navigates to, opens or fetches: web schemes only."""

EMPTY_PARAMS: Mapping[str, tuple[str, ...]] = {
    "DOM.setFileInputFiles": ("files",),
    "Input.dispatchDragEvent": ("data.files",),
}
"""Lists of server file paths: only an empty list (or none) passes."""

ABSENT_PARAMS: Mapping[str, tuple[str, ...]] = {
    # Any value, even "", would replace the egress proxy for the new context.
    "Target.createBrowserContext": ("proxyServer", "proxyBypassList"),
    # A perfetto configuration can name an output file on the server.
    "Tracing.start": ("perfettoConfig",),
}

REFUSED_VALUES: Mapping[tuple[str, str], frozenset[str]] = {
    # The system backend hands the trace to a tracing service of the server's.
    ("Tracing.start", "tracingBackend"): frozenset({"system"}),
}

INERT_PARAMS: Mapping[str, tuple[str, ...]] = {
    # Match patterns and names: nothing is loaded from them.
    "CacheStorage.requestCachedResponse": ("requestURL",),
    "CacheStorage.requestEntries": ("pathFilter",),
    "DOM.pushNodeByPathToFrontend": ("path",),
    "DOMDebugger.removeXHRBreakpoint": ("url",),
    "DOMDebugger.setXHRBreakpoint": ("url",),
    "Debugger.setBreakpointByUrl": ("url", "urlRegex"),
    "Fetch.enable": ("patterns[].urlPattern",),
    "Input.dispatchDragEvent": ("data.items[].baseURL",),
    "Network.emulateNetworkConditionsByRule": ("matchedNetworkConditions[].urlPattern",),
    "Network.setBlockedURLs": ("urlPatterns", "urlPatterns[].urlPattern", "urls"),
    "Runtime.compileScript": ("sourceURL",),
    # Cookie scopes.
    "Network.deleteCookies": ("url", "path"),
    "Network.getCookies": ("urls",),
    "Network.setCookie": ("url", "path"),
    "Network.setCookies": ("cookies[].url", "cookies[].path"),
    "Page.deleteCookie": ("url",),
    "Storage.setCookies": ("cookies[].url", "cookies[].path"),
    # Resources and scripts the page already loaded, by URL.
    "Page.addCompilationCache": ("url",),
    "Page.getResourceContent": ("url",),
    "Page.produceCompilationCache": ("scripts[].url",),
    "Page.searchInResource": ("url",),
    # The origin's own sandboxed storage, and service workers (blocked in sessions).
    "FileSystem.getDirectory": (
        "bucketFileSystemLocator",
        "bucketFileSystemLocator.pathComponents",
    ),
    "ServiceWorker.skipWaiting": ("scopeURL",),
    "ServiceWorker.startWorker": ("scopeURL",),
    "ServiceWorker.unregister": ("scopeURL",),
    "ServiceWorker.updateRegistration": ("scopeURL",),
    # A flag, not a file.
    "Page.enable": ("enableFileChooserOpenedEvent",),
}
"""Reviewed: these name a URL or a path but load, read and write nothing through it."""


@dataclass(frozen=True)
class Ruling:
    """What the relay does with one client message."""

    kind: Kind
    reason: str = ""
    """For ``refuse``: the CDP error message the client sees."""


FORWARD = Ruling("forward")


def _refused(method: str, why: str) -> Ruling:
    return Ruling("refuse", f"SessionShot refuses {method} on a connect session: {why}.")


def url_allowed(url: str) -> bool:
    """True when ``url`` (as Chromium will read it) has a web scheme, or is empty."""
    # Chromium trims C0 controls and spaces at both ends and drops tabs and newlines anywhere.
    text = url.strip("".join(map(chr, range(0x21)))).translate({9: None, 10: None, 13: None})
    if not text:
        return True
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or not _SCHEME.fullmatch(scheme) or scheme not in WEB_SCHEMES:
        return False
    if scheme == "about":
        return re.split(r"[?#]", rest, maxsplit=1)[0].lower() in ABOUT_PAGES
    return True


def _at(value: Any, path: str) -> Iterator[Any]:
    """Every value found at ``path`` (``a.b``; ``name[]`` walks a list) inside ``value``."""
    head, _, tail = path.partition(".")
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(value, Mapping) or key not in value:
        return
    found = value[key]
    items = found if many and isinstance(found, list) else [found]
    for item in items:
        if tail:
            yield from _at(item, tail)
        else:
            yield item


def _check_params(method: str, params: Mapping[str, Any]) -> Ruling:
    for path in ABSENT_PARAMS.get(method, ()):
        if any(True for _ in _at(params, path)):
            return _refused(method, f"{path} cannot be set")
    for path in EMPTY_PARAMS.get(method, ()):
        if any(found != [] for found in _at(params, path)):
            return _refused(method, f"{path} must be empty: server files cannot be used")
    for path in URL_PARAMS.get(method, ()):
        for found in _at(params, path):
            if not isinstance(found, str) or not url_allowed(found):
                return _refused(
                    method,
                    f"{path} must be an http, https, data, blob, javascript or about:blank URL",
                )
    for (owner, name), values in REFUSED_VALUES.items():
        value = params.get(name)
        if owner == method and isinstance(value, str) and value in values:
            return _refused(method, f"{name} {value!r} is not available")
    return FORWARD


def rule(method: str, params: Mapping[str, Any]) -> Ruling:
    """The ruling on one call of ``method`` with ``params`` (see the module's principle)."""
    if method in PRETEND_METHODS:
        return Ruling("pretend")
    domain = method.partition(".")[0]
    if domain in REFUSED_DOMAINS:
        return _refused(method, REFUSED_DOMAINS[domain])
    if domain not in ALLOWED_DOMAINS or not _METHOD.fullmatch(method):
        return _refused(method, "unknown domain or method")
    if method in REFUSED_METHODS:
        return _refused(method, REFUSED_METHODS[method])
    checked = _check_params(method, params)
    if checked.kind == "forward" and method == CREATE_CONTEXT:
        return Ruling("create_context")
    return checked


@dataclass(frozen=True)
class Screened:
    """One client message, parsed and judged."""

    ruling: Ruling
    message: dict[str, Any] | None = None
    """The parsed message, reduced to its ``id``, ``method``, ``params`` and ``sessionId``; for a
    malformed one whatever object was read (so that the answer carries its id), or None when
    the text was not a JSON object."""

    def forward_text(self) -> str:
        """The message as the browser should get it: exactly what was checked."""
        return json.dumps(self.message, separators=(",", ":"), allow_nan=False)


def _malformed(why: str, message: dict[str, Any] | None = None) -> Screened:
    return Screened(Ruling("refuse", f"SessionShot could not read this message: {why}."), message)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The browser might read another of two equal keys than the one checked here.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _parse(raw: str | bytes) -> Any:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return json.loads(
        text,
        object_pairs_hook=_no_duplicates,
        parse_float=_finite,
        parse_constant=_no_constant,
    )


def _valid_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def screen(raw: str | bytes) -> Screened:
    """Parse one client message and judge it; malformed input is refused, never raised."""
    if len(raw) > MAX_MESSAGE_SIZE:
        return _malformed(f"larger than {MAX_MESSAGE_SIZE // 2**20} MiB")
    try:
        parsed = _parse(raw)
    except RecursionError:
        return _malformed("nested too deeply")
    except ValueError as err:  # also UnicodeDecodeError and json.JSONDecodeError
        return _malformed(f"not JSON ({str(err)[:120]})")
    if not isinstance(parsed, dict):
        return _malformed("not a JSON object")
    msg_id, method = parsed.get("id"), parsed.get("method")
    params, session_id = parsed.get("params", {}), parsed.get("sessionId")
    if not _valid_id(msg_id) or not 0 <= msg_id < CLIENT_ID_LIMIT:
        return _malformed(f"id must be an integer from 0 to {CLIENT_ID_LIMIT - 1}", parsed)
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        return _malformed("method must be a string like Domain.method", parsed)
    if not isinstance(params, dict):
        return _malformed("params must be an object", parsed)
    if session_id is not None and not isinstance(session_id, str):
        return _malformed("sessionId must be a string", parsed)
    message: dict[str, Any] = {"id": msg_id, "method": method}
    if "params" in parsed:
        message["params"] = params
    if session_id is not None:
        message["sessionId"] = session_id
    return Screened(rule(method, params), message)


def _reply(message: Mapping[str, Any] | None, body: tuple[str, Any]) -> str:
    msg_id = message.get("id") if message is not None else None
    reply: dict[str, Any] = {"id": msg_id if _valid_id(msg_id) else 0}
    session_id = message.get("sessionId") if message is not None else None
    if isinstance(session_id, str):
        reply["sessionId"] = session_id
    reply[body[0]] = body[1]
    return json.dumps(reply, separators=(",", ":"))


def error_reply(message: Mapping[str, Any] | None, reason: str) -> str:
    """The CDP error answer to ``message`` (id 0 when it had no usable id)."""
    return _reply(message, ("error", {"code": ERROR_CODE, "message": reason}))


def success_reply(message: Mapping[str, Any], result: Mapping[str, Any] | None = None) -> str:
    """The CDP success answer to ``message``, with ``result`` (empty by default)."""
    return _reply(message, ("result", dict(result or {})))
