"""HTTPS test sites served inside the test process's event loop.

NETWORK RULE: everything here binds and dials 127.0.0.0/8 only.

* :class:`TargetSite` - a small Quart app behind Hypercorn (TLS, h2 + http/1.1) on
  127.0.0.1. Browsers reach it as ``https://app.test:PORT/`` (also ``other.test``,
  ``thirdparty.test``, ``*.app.test``) through a host map; it records every request.
* :class:`CanarySite` - a hand-rolled TLS/HTTP server on 127.0.0.2 that counts every TCP
  connection at accept time (before TLS, so even a failed handshake is seen) and every
  HTTP request. A test that must prove "nothing reached the canary" reads it.

Both start with ``await site.start()`` (or ``async with``) and stop with ``aclose()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import socket
import ssl
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from string import Template
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request, websocket
from werkzeug.http import parse_cookie

from tests.support.tls import TLSMaterial
from tests.support.waiting import WaitTimedOut, eventually

TARGET_IP = "127.0.0.1"
"""Where the target site listens."""
CANARY_IP = "127.0.0.2"
"""Where the canary listens."""
APP_HOST = "app.test"
OTHER_HOST = "other.test"
THIRDPARTY_HOST = "thirdparty.test"
CANARY_HOST = "canary.test"
TARGET_HOSTS: tuple[str, ...] = (APP_HOST, OTHER_HOST, THIRDPARTY_HOST)
"""Names that map to the target site (``*.app.test`` works too if the map allows it)."""

READY_PATH = "/__ready"
"""Readiness probe path; requests to it are not recorded."""
BIG_PAGE_TEXT_BYTES = 3 * 1024 * 1024
"""At least this many bytes of visible text on ``/big``."""
ATTACK_CAP_MS = 3000
"""``/attack`` writes ``done`` after every attempt settled or after this long."""
ATTACK_VECTORS: tuple[str, ...] = (
    "img",
    "iframe",
    "prefetch",
    "preconnect",
    "css",
    "script-redirect",
    "fetch",
    "xhr",
    "websocket",
    "eventsource",
    "beacon",
    "service-worker",
    "worker",
    "ip-literal",
)
"""The ways ``/attack`` tries to reach the canary (``/attack?skip=a,b`` leaves some out)."""
OPTIONAL_ATTACK_VECTORS: tuple[str, ...] = ("webrtc-turn-tcp",)
"""Vectors only tried when asked for (``/attack?with=webrtc-turn-tcp``).

``webrtc-turn-tcp`` asks for a TURN allocation over TCP at ``127.0.0.2:PORT`` (an IP
literal, so no name lookup). WebRTC ignores HTTP proxies for UDP and gathers host
candidates on every interface; by default Chromium also announces mDNS names for them
(multicast off the machine). Run it only in a browser started with
``--disable-features=WebRtcHideLocalIpsWithMdns`` or a WebRTC IP-handling policy that
keeps traffic on the proxy, or it breaks the loopback-only network rule.
"""

_LISTEN_BACKLOG = 128
_HANDSHAKE_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 2.0
_HEAD_TIMEOUT_S = 10.0
_MAX_SLOW_MS = 600_000
_HTML = "text/html; charset=utf-8"

log = logging.getLogger("tests.sites")


# --------------------------------------------------------------------------- records


def _hostname(host: str) -> str:
    """``host`` (a Host header or authority) without its port, lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if ":" in host else host


def header_dict(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with lower-case names; repeats are joined (``; `` for cookies)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            merged[key] += ("; " if key == "cookie" else ", ") + value
        else:
            merged[key] = value
    return merged


def cookie_dict(headers: Mapping[str, str]) -> dict[str, str]:
    """Cookies from a :func:`header_dict` result (first value wins for a repeated name)."""
    parsed = parse_cookie(headers.get("cookie", ""))
    return {name: parsed[name] for name in parsed}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the target site received (HTTP or WebSocket)."""

    method: str
    scheme: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    cookies: dict[str, str]
    http_version: str
    websocket: bool = False

    @property
    def hostname(self) -> str:
        """The Host header without the port (``app.test``)."""
        return _hostname(self.host)


@dataclass(frozen=True)
class CanaryRequest:
    """One HTTP request head the canary parsed."""

    method: str
    target: str
    host: str
    headers: dict[str, str]
    tls: bool

    @property
    def hostname(self) -> str:
        """The Host header without the port."""
        return _hostname(self.host)


# --------------------------------------------------------------------------- pages

_HEAD_HELPERS = """<script>
window.__results = {};
window.__pending = [];
function put(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
function mark(name, value) {
  window.__results[name] = String(value);
  put("results", JSON.stringify(window.__results));
}
function waitMark(name) {
  return new Promise(function (resolve) {
    (function poll() { if (name in window.__results) resolve(); else setTimeout(poll, 50); })();
  });
}
function expectMark(name) { window.__pending.push(waitMark(name)); }
function attempt(name, run) {
  window.__pending.push(new Promise(function (resolve) {
    function ok(v) { mark(name, "ok: " + v); resolve(); }
    function fail(e) { mark(name, "error: " + e); resolve(); }
    try { Promise.resolve(run()).then(ok, fail); } catch (e) { fail(e); }
  }));
}
</script>"""

_ECHO = Template(
    """<!doctype html>
<html>
<head>
<script>
try { window.__lsAtStart = Object.assign({}, window.localStorage); }
catch (e) { window.__lsAtStart = {"__error__": String(e)}; }
</script>
<meta charset="utf-8">
<title>Echo</title>
</head>
<body>
<h1 id="title">Echo</h1>
<h2>Cookies the server received</h2>
<pre id="cookies">$cookies</pre>
<h2>Headers the server received</h2>
<pre id="headers">$headers</pre>
<h2>In the page</h2>
<pre id="ls"></pre>
<pre id="ls-at-start"></pre>
<pre id="doc-cookie"></pre>
<p id="webdriver"></p>
<p id="ua"></p>
<p id="tz"></p>
<p id="lang"></p>
<p id="status">pending</p>
<script>
function show(id, read) {
  var value;
  try { value = read(); } catch (e) { value = "error: " + e; }
  document.getElementById(id).textContent = value;
}
show("ls", function () { return JSON.stringify(Object.assign({}, localStorage)); });
show("ls-at-start", function () { return JSON.stringify(window.__lsAtStart); });
show("doc-cookie", function () { return document.cookie; });
show("webdriver", function () { return String(navigator.webdriver); });
show("ua", function () { return navigator.userAgent; });
show("tz", function () { return Intl.DateTimeFormat().resolvedOptions().timeZone; });
show("lang", function () { return navigator.language; });
show("status", function () { return "done"; });
</script>
</body>
</html>
"""
)

_THIRD_PARTY = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Third party</title>
$helpers
</head>
<body>
<h1 id="title">Third party</h1>
<img id="pixel" alt="" src="$origin/pixel.png"
     onload="mark('pixel', 'load')" onerror="mark('pixel', 'error')">
<pre id="results"></pre>
<pre id="api-body"></pre>
<p id="status">pending</p>
<script>
expectMark("pixel");
attempt("api", function () {
  return fetch("$origin/api", {cache: "no-store"}).then(function (r) {
    return r.text().then(function (t) { put("api-body", t); return r.status; });
  });
});
Promise.all(window.__pending).then(function () { put("status", "done"); });
</script>
</body>
</html>
"""
)

_FORM = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Form page</title>
<style>#hover-target { width: 200px; height: 40px; background: #ddd; }</style>
</head>
<body>
<h1 id="title">Form page</h1>
<input id="name">
<textarea id="bio"></textarea>
<select id="color" multiple>
<option value="red">Red</option>
<option value="green">Green</option>
<option value="blue">Blue</option>
</select>
<select id="size"><option value="s">S</option><option value="m">M</option></select>
<button id="btn" data-role="primary" class="big" onclick="window.clicks = (window.clicks || 0) + 1;
document.getElementById('out').textContent = 'clicked ' + window.clicks;">Click me</button>
<div id="hover-target">Hover me</div>
<p id="out"></p>
<p id="lastkey"></p>
<div id="hidden" style="display:none">Hidden text</div>
<div id="delayed-slot"></div>
<a id="to-other" href="$other_origin/form">other</a>
<a id="to-canary" href="$canary_origin/">canary</a>
<div id="tall" style="height:5000px">Tall content</div>
<div id="bottom">Bottom of the page</div>
<script>
window.clicks = 0;
document.getElementById("hover-target").addEventListener("mouseenter", function () {
  document.getElementById("out").textContent = "hovered";
});
document.addEventListener("keydown", function (event) {
  document.getElementById("lastkey").textContent = event.key;
});
setTimeout(function () {
  var el = document.createElement("div");
  el.id = "delayed";
  el.textContent = "Delayed content";
  document.getElementById("delayed-slot").appendChild(el);
}, 1500);
</script>
</body>
</html>
"""
)

_SECRET = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Secret page</title></head>
<body>
<h1 id="title">Secret page</h1>
<p id="public">Public text 12345</p>
<div class="private" id="card">CARD 4242 4242 4242 4242</div>
<button id="reveal" onclick="reveal()">Reveal</button>
<div id="late-slot"></div>
<script>
function reveal() {
  if (document.getElementById("late-private")) return;
  var el = document.createElement("div");
  el.id = "late-private";
  el.className = "private";
  el.textContent = "LATE SECRET 9999";
  document.getElementById("late-slot").appendChild(el);
}
</script>
</body>
</html>
"""

_FIXED_SLOTS_CSS = """<style>
html, body { margin: 0; padding: 0; background: #fff; }
.slot { position: absolute; left: 96px; width: 416px; height: 64px; margin: 0; padding: 0;
  border: 0; overflow: hidden; white-space: nowrap; background: #fff; color: #000;
  font: 28px/64px monospace; }
#public { position: absolute; left: 96px; top: 16px; margin: 0; font: 24px/32px sans-serif; }
#reveal { position: absolute; left: 96px; top: 96px; width: 120px; height: 40px; }
#card { top: 192px; }
#late-private { top: 320px; }
</style>"""

_REDACT_FIXED = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Fixed redaction</title>
$css
</head>
<body>
<p id="public">Public text 12345</p>
<button id="reveal" onclick="reveal()">Reveal</button>
<div class="slot private" id="card">$secret</div>
<div id="late-slot"></div>
<script>
function reveal() {
  if (document.getElementById("late-private")) return;
  var el = document.createElement("div");
  el.id = "late-private";
  el.className = "slot private";
  el.textContent = "LATE SECRET 9999";
  document.getElementById("late-slot").appendChild(el);
}
</script>
</body>
</html>
"""
)
"""``/redact-fixed?secret=``: ``.private#card`` at 96,192 (416x64 CSS px) on white.

``#reveal`` adds ``.private#late-private`` ("LATE SECRET 9999") at 96,320, same size.
"""

REDACT_FIXED_DEFAULT_SECRET = "CARD 4242 4242 4242 4242"

_REDACT_TRICKY = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Tricky redaction</title>
<style>
.pseudo::after { content: "PSEUDO-SECRET-888"; }
</style>
</head>
<body>
<p id="public">Public text 12345</p>
<div class="private" id="tricky">
  <p>TEXTNODE-SECRET-111</p>
  <input id="ph" style="width: 400px" placeholder="PLACEHOLDER-SECRET-777">
  <input id="val" style="width: 400px" value="VALUE-SECRET-999">
  <span class="pseudo"></span>
  <div id="shadow-host"></div>
  <select id="sel"><option selected>OPTION-SECRET-666</option></select>
  <img alt="ALT-SECRET-444" src="/status/404" width="300" height="40">
  <iframe title="inner" width="400" height="60"
    srcdoc="&lt;p&gt;IFRAME-SECRET-333&lt;/p&gt;"></iframe>
</div>
<script>
document.getElementById("shadow-host").attachShadow({mode: "open"}).innerHTML =
  "<p>SHADOW-SECRET-555</p>";
</script>
</body>
</html>
"""
"""``/redact-tricky``: text inside ``.private#tricky`` that is not a plain text node."""

REDACT_TRICKY_SECRETS: tuple[str, ...] = (
    "TEXTNODE-SECRET-111",
    "PLACEHOLDER-SECRET-777",
    "VALUE-SECRET-999",
    "PSEUDO-SECRET-888",
    "SHADOW-SECRET-555",
    "OPTION-SECRET-666",
    "ALT-SECRET-444",
    "IFRAME-SECRET-333",
)

_REDACT_RERENDER = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Re-rendering redaction</title>
$css
</head>
<body>
<p id="public">Public text 12345</p>
<div id="slot"></div>
<script>
var renders = 0;
function render() {
  renders += 1;
  document.getElementById("slot").innerHTML = '<div class="slot private" id="card" ' +
    'data-render="' + renders + '">CARD 4242 4242 4242 4242</div>';
}
render();
(function everyFrame() { render(); requestAnimationFrame(everyFrame); })();
var channel = new MessageChannel();
channel.port1.onmessage = function () {
  render();
  setTimeout(function () { channel.port2.postMessage(0); }, 0);
};
channel.port2.postMessage(0);
</script>
</body>
</html>
"""
)
"""``/redact-rerender``: like a busy client-side framework, re-creates ``.private#card``
("CARD 4242 4242 4242 4242", laid out as on ``/redact-fixed``) every animation frame and
in a message/timer loop between tasks."""

REDACT_TABLE_CARDS: tuple[str, ...] = (
    "4242 4242 4242 4242",
    "3782 822463 10005",
    "5555 5555 5555 4444",
    "6011 0009 9013 9424",
    "3056 9309 0259 04",
    "4000 0566 5566 5556",
    "5200 8282 8282 8210",
    "3714 496353 98431",
    "6011 1111 1111 1117 0000 (ref 88231-A)",
    "4111 1111 1111 1111",
)
_REDACT_TABLE_ROW = Template(
    """<tr><td class="action-checkbox"><input type="checkbox"></td>
<th class="field-holder"><a href="#">Holder $n</a></th>
<td class="field-card_number">$card</td><td class="field-email">holder$n@example.com</td>
<td class="field-created">Jan. $n, 2024</td></tr>"""
)
_REDACT_TABLE = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Select card to change</title>
<style>
html, body { margin: 0; padding: 0; background: #fff; color: #333;
  font: 14px "Roboto", "Lucida Grande", "DejaVu Sans", Verdana, Arial, sans-serif; }
#content { padding: 20px 40px; }
#result_list { width: 100%; border-collapse: collapse; }
#result_list th, #result_list td { padding: 8px; border-bottom: 1px solid #e8e8e8;
  text-align: left; vertical-align: top; font-size: 13px; line-height: 16px; }
#result_list tr:nth-child(even) td, #result_list tr:nth-child(even) th { background: #f4f4f4; }
#result_list thead th { background: #eef3f7; font-weight: 600; }
</style>
</head>
<body>
<div id="content"><h1>Select card to change</h1>
<table id="result_list">
<thead><tr><th>Action</th><th>Holder</th><th>Card number</th><th>Email</th><th>Created</th></tr>
</thead>
<tbody>
$rows
</tbody>
</table>
<p id="footer">10 cards</p>
</div>
</body>
</html>
"""
)
"""``/redact-table``: a changelist like Django admin's (auto table layout, width 100%) whose
``.field-card_number`` column is as wide as its longest value, which is in a later row."""

_THIRD_PARTY_REDIRECT = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Third party via redirect</title>
$helpers
</head>
<body>
<h1 id="title">Third party via redirect</h1>
<img id="pixel" alt="" src="/redirect?to=$pixel"
     onload="mark('pixel', 'load')" onerror="mark('pixel', 'error')">
<pre id="results"></pre>
<p id="status">pending</p>
<script>
expectMark("pixel");
attempt("api", function () {
  return fetch("/redirect?to=$api", {cache: "no-store"}).then(function (r) { return r.status; });
});
Promise.all(window.__pending).then(function () { put("status", "done"); });
</script>
</body>
</html>
"""
)
"""``/third-party-redirect``: first-party ``/redirect`` URLs that lead to ``thirdparty.test``'s
``/pixel.png`` (an image) and ``/api`` (a fetch); ``#status`` is ``done`` when both settled."""

_LS_FIRST = """<!doctype html>
<html>
<head>
<script>
var __first;
try { __first = JSON.stringify(Object.assign({}, window.localStorage)); }
catch (e) { __first = "error: " + e; }
</script>
<meta charset="utf-8"><title>LocalStorage first</title>
</head>
<body>
<p id="ls-first"></p>
<script>document.getElementById("ls-first").textContent = "FIRSTSCRIPT " + __first;</script>
</body>
</html>
"""
"""``/ls-first``: ``#ls-first`` shows ``FIRSTSCRIPT {json}``, what the first script saw."""

_SIMPLE = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>$title</title></head>
<body><h1 id="title">$title</h1>$body</body>
</html>
"""
)

# One snippet per vector; $c is the canary origin, $cip the canary by IP literal,
# $cws the canary's wss origin, $cq the URL-encoded canary origin.
_VECTOR_SNIPPETS: dict[str, str] = {
    "img": """<img alt="" src="$c/v/img" onload="mark('img', 'load')"
onerror="mark('img', 'error')"><script>expectMark("img")</script>""",
    "iframe": """<iframe title="canary" src="$c/v/iframe" onload="mark('iframe', 'load')"
onerror="mark('iframe', 'error')"></iframe><script>expectMark("iframe")</script>""",
    "prefetch": """<link rel="prefetch" href="$c/v/prefetch" onload="mark('prefetch', 'load')"
onerror="mark('prefetch', 'error')"><script>expectMark("prefetch")</script>""",
    "preconnect": """<link rel="preconnect" href="$c">
<script>mark("preconnect", "sent")</script>""",
    "css": """<div style="width:1px;height:1px;background-image:url('$c/v/css')"></div>
<script>mark("css", "sent")</script>""",
    "script-redirect": """<script async src="/redirect?to=$cq%2Fv%2Fscript-redirect"
onload="mark('script-redirect', 'load')" onerror="mark('script-redirect', 'error')"></script>
<script>expectMark("script-redirect")</script>""",
    "fetch": """<script>attempt("fetch", function () {
  return fetch("$c/v/fetch", {mode: "no-cors", cache: "no-store"}).then(function (r) {
    return r.type;
  });
});</script>""",
    "xhr": """<script>attempt("xhr", function () {
  return new Promise(function (resolve, reject) {
    var x = new XMLHttpRequest();
    x.open("GET", "$c/v/xhr");
    x.onload = function () { resolve(x.status); };
    x.onerror = function () { reject("xhr error"); };
    x.send();
  });
});</script>""",
    "websocket": """<script>attempt("websocket", function () {
  return new Promise(function (resolve, reject) {
    var ws = new WebSocket("$cws/ws");
    ws.onopen = function () { ws.close(); resolve("open"); };
    ws.onerror = function () { reject("websocket error"); };
  });
});</script>""",
    "eventsource": """<script>attempt("eventsource", function () {
  return new Promise(function (resolve, reject) {
    var es = new EventSource("$c/v/eventsource");
    es.onopen = function () { es.close(); resolve("open"); };
    es.onerror = function () { es.close(); reject("eventsource error"); };
  });
});</script>""",
    "beacon": """<script>attempt("beacon", function () {
  return navigator.sendBeacon("$c/v/beacon", "x");
});</script>""",
    "service-worker": """<script>attempt("service-worker", function () {
  return navigator.serviceWorker.register("/sw.js").then(function () { return "registered"; });
});</script>""",
    "worker": """<script>attempt("worker", function () {
  return new Promise(function (resolve, reject) {
    var code = 'fetch("$c/v/worker", {mode: "no-cors"}).then(' +
      'function () { postMessage("fetched"); }, function (e) { postMessage("error: " + e); });';
    var worker = new Worker(URL.createObjectURL(new Blob([code])));
    worker.onmessage = function (event) { worker.terminate(); resolve(event.data); };
    worker.onerror = function () { worker.terminate(); reject("worker error"); };
  });
});</script>""",
    "ip-literal": """<script>attempt("ip-literal", function () {
  return fetch("$cip/v/ip-literal", {mode: "no-cors", cache: "no-store"}).then(function (r) {
    return r.type;
  });
});</script>""",
    "webrtc-turn-tcp": """<script>attempt("webrtc-turn-tcp", function () {
  var pc = new RTCPeerConnection({iceServers: [
    {urls: "turn:$cip_host?transport=tcp", username: "u", credential: "p"}]});
  pc.createDataChannel("x");
  return pc.createOffer().then(function (offer) {
    return pc.setLocalDescription(offer);
  }).then(function () {
    return new Promise(function (resolve) {
      setTimeout(function () { pc.close(); resolve("gathered"); }, 2500);
    });
  });
});</script>""",
}

_ATTACK = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Attack</title>
$helpers
</head>
<body>
<h1 id="title">Attack</h1>
<pre id="results"></pre>
<p id="status">pending</p>
$vectors
<script>
var cap = new Promise(function (resolve) { setTimeout(resolve, $cap); });
Promise.race([Promise.all(window.__pending), cap]).then(function () { put("status", "done"); });
</script>
</body>
</html>
"""
)

_SERVICE_WORKER = Template(
    """self.addEventListener("install", function (event) {
  self.skipWaiting();
  event.waitUntil(fetch("$c/v/sw-install", {mode: "no-cors"}).catch(function () {}));
});
fetch("$c/v/sw", {mode: "no-cors"}).catch(function () {});
"""
)

_SW_PROBE = Template(
    """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Service worker probe</title></head>
<body>
<p id="outcome">pending</p>
<p id="frame-outcome">$frame_state</p>
<p id="popup-outcome">$popup_state</p>
<p id="status">pending</p>
<script>
var popup = null;
function settle() {
  var texts = ["outcome", "frame-outcome", "popup-outcome"].map(function (id) {
    return document.getElementById(id).textContent;
  });
  if (texts.indexOf("pending") >= 0) return;
  var blocked = texts.every(function (t) {
    return t === "none" || t === "absent" || t.indexOf("rejected") === 0;
  });
  document.body.setAttribute("data-sw", blocked ? "blocked" : "registered");
  document.getElementById("status").textContent = "done";
}
function put(id, text) { document.getElementById(id).textContent = text; settle(); }
window.addEventListener("message", function (event) {
  if (!event.data || typeof event.data.swProbe !== "string") return;
  put(popup && event.source === popup ? "popup-outcome" : "frame-outcome", event.data.swProbe);
});
function report(text) {
  put("outcome", text);
  var up = window.parent !== window ? window.parent : window.opener;
  if (up) up.postMessage({swProbe: text}, "*");
}
try {
  if (!("serviceWorker" in navigator) || !navigator.serviceWorker) {
    report("absent");
  } else {
    navigator.serviceWorker.register("/sw.js?from=" + encodeURIComponent(location.host)).then(
      function () { report("registered"); },
      function (e) { report("rejected: " + e.name); });
  }
} catch (e) {
  report("rejected: " + e.name);
}
var frameUrl = $frame, popupUrl = $popup;
if (frameUrl) {
  var frame = document.createElement("iframe");
  frame.src = frameUrl;
  document.body.appendChild(frame);
}
if (popupUrl) popup = window.open(popupUrl);
</script>
</body>
</html>
"""
)
"""``/sw-probe[?frame=URL][&popup=URL]``: registers ``/sw.js`` and shows the outcome in
``#outcome`` (``absent``, ``rejected: <name>`` or ``registered``); with ``frame`` / ``popup``
it also loads that URL (normally another probe) in an iframe / a popup, whose probe posts
its outcome back into ``#frame-outcome`` / ``#popup-outcome``. When every outcome is in,
``#status`` reads ``done`` and ``body[data-sw]`` is ``blocked`` (all absent or rejected) or
``registered``."""


def sw_probe_page(frame: str | None, popup: str | None) -> str:
    """The ``/sw-probe`` page (see :data:`_SW_PROBE`)."""

    def js(value: str | None) -> str:
        return json.dumps(value).replace("<", "\\u003c")

    return _SW_PROBE.substitute(
        frame=js(frame),
        popup=js(popup),
        frame_state="pending" if frame else "none",
        popup_state="pending" if popup else "none",
    )


def echo_page(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
    """``/echo``: what the server saw, plus what the page sees in JavaScript."""
    return _ECHO.substitute(
        cookies=html.escape(json.dumps(dict(cookies), sort_keys=True)),
        headers=html.escape(json.dumps(dict(headers), sort_keys=True)),
    )


def attack_page(canary_port: int, skip: Iterable[str] = (), extra: Iterable[str] = ()) -> str:
    """``/attack``: the :data:`ATTACK_VECTORS` not in ``skip``, plus ``extra`` optional ones."""
    origin = f"https://{CANARY_HOST}:{canary_port}"
    values = {
        "c": origin,
        "cip": f"https://{CANARY_IP}:{canary_port}",
        "cip_host": f"{CANARY_IP}:{canary_port}",
        "cws": f"wss://{CANARY_HOST}:{canary_port}",
        "cq": quote(origin, safe=""),
    }
    skipped = set(skip)
    wanted = [name for name in ATTACK_VECTORS if name not in skipped]
    wanted += [name for name in OPTIONAL_ATTACK_VECTORS if name in set(extra)]
    vectors = "\n".join(Template(_VECTOR_SNIPPETS[name]).substitute(values) for name in wanted)
    return _ATTACK.substitute(helpers=_HEAD_HELPERS, vectors=vectors, cap=ATTACK_CAP_MS)


@cache
def big_page() -> str:
    """``/big``: at least :data:`BIG_PAGE_TEXT_BYTES` of text, ending in ``#big-end``."""
    line = "Filler text for the content truncation tests; nothing to see here, keep going."
    count = BIG_PAGE_TEXT_BYTES // len(line) + 1
    paragraphs = "\n".join(f"<p>{n:06d} {line}</p>" for n in range(count))
    body = f'<div id="big">\n{paragraphs}\n</div>\n<p id="big-end">END OF BIG PAGE</p>'
    return _SIMPLE.substitute(title="Big page", body=body)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def pixel_png() -> bytes:
    """A valid 1x1 transparent PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def _scope_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """The headers as received (Quart's ``request.headers`` adds ``Remote-Addr``)."""
    raw: Iterable[tuple[bytes, bytes]] = scope["headers"]
    return header_dict((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def _name_list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _page(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type=_HTML)


# --------------------------------------------------------------------------- target


class _TargetApp:
    """The Quart app of a :class:`TargetSite` (views as methods, recording in a hook)."""

    def __init__(self, site: TargetSite) -> None:
        self.site = site
        self.app = Quart(__name__)
        self.app.before_request(self._record_http)
        self.app.before_websocket(self._record_websocket)
        self.app.after_request(self._no_store)
        routes: dict[str, Callable[[], Awaitable[Response]]] = {
            "/": self._index,
            READY_PATH: self._ready,
            "/echo": self._echo,
            "/echo.json": self._echo_json,
            "/third-party": self._third_party,
            "/pixel.png": self._pixel,
            "/form": self._form,
            "/slow": self._slow,
            "/redirect": self._redirect,
            "/secret": self._secret,
            "/attack": self._attack,
            "/sw.js": self._service_worker,
            "/sw-probe": self._sw_probe,
            "/big": self._big,
            "/redact-fixed": self._redact_fixed,
            "/redact-tricky": self._redact_tricky,
            "/ls-first": self._ls_first,
            "/redact-rerender": self._redact_rerender,
            "/redact-table": self._redact_table,
            "/third-party-redirect": self._third_party_redirect,
        }
        for rule, view in routes.items():
            self.app.add_url_rule(rule, view_func=view, methods=["GET", "POST"])
        self.app.add_url_rule("/status/<int:code>", view_func=self._status, methods=["GET", "POST"])
        self.app.add_url_rule("/api", view_func=self._api, methods=["GET", "POST", "OPTIONS"])
        self.app.add_websocket("/ws", view_func=self._ws)

    def _record(self, kind: str) -> None:
        # Quart runs each handler in a task of its own that outlives a cancelled ASGI
        # call; the site cancels the ones still running when it stops.
        task = asyncio.current_task()
        if task is not None:
            self.site.handler_tasks.add(task)
            task.add_done_callback(self.site.handler_tasks.discard)
        current = websocket if kind == "ws" else request
        if current.path == READY_PATH:
            return
        headers = _scope_headers(current.scope)
        self.site.requests.append(
            RecordedRequest(
                method="GET" if kind == "ws" else request.method,
                scheme=current.scheme,
                host=current.host,
                path=current.path,
                query=current.query_string.decode("latin-1"),
                headers=headers,
                cookies=cookie_dict(headers),
                http_version=current.http_version,
                websocket=kind == "ws",
            )
        )

    async def _record_http(self) -> None:
        self._record("http")

    async def _record_websocket(self) -> None:
        self._record("ws")

    async def _no_store(self, response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _seen(self) -> tuple[dict[str, str], dict[str, str]]:
        headers = _scope_headers(request.scope)
        return headers, cookie_dict(headers)

    async def _index(self) -> Response:
        return _page(_SIMPLE.substitute(title="SessionShot target", body=""))

    async def _ready(self) -> Response:
        return Response("ready", content_type="text/plain")

    async def _echo(self) -> Response:
        return _page(echo_page(*self._seen()))

    async def _echo_json(self) -> Response:
        headers, cookies = self._seen()
        body = {
            "method": request.method,
            "host": request.host,
            "path": request.path,
            "headers": headers,
            "cookies": cookies,
        }
        return Response(json.dumps(body, sort_keys=True), content_type="application/json")

    async def _third_party(self) -> Response:
        origin = self.site.origin(THIRDPARTY_HOST)
        return _page(_THIRD_PARTY.substitute(helpers=_HEAD_HELPERS, origin=origin))

    async def _pixel(self) -> Response:
        response = Response(pixel_png(), content_type="image/png")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def _api(self) -> Response:
        if request.method == "OPTIONS":
            response = Response("", status=204)
        else:
            headers, _ = self._seen()
            body = {"host": request.host, "headers": headers}
            response = Response(json.dumps(body, sort_keys=True), content_type="application/json")
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Headers"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        return response

    async def _form(self) -> Response:
        return _page(
            _FORM.substitute(
                other_origin=self.site.origin(OTHER_HOST),
                canary_origin=self.site.canary_origin(),
            )
        )

    async def _slow(self) -> Response:
        try:
            ms = max(0, min(int(request.args.get("ms", "1000")), _MAX_SLOW_MS))
        except ValueError:
            return _page(_SIMPLE.substitute(title="Bad ms", body=""), 400)
        await asyncio.sleep(ms / 1000)
        body = f'<p id="slow">slept {ms} ms</p>'
        return _page(_SIMPLE.substitute(title="Slow page", body=body))

    async def _status(self, code: int) -> Response:
        if not 200 <= code <= 599:
            return _page(_SIMPLE.substitute(title="Bad status", body=""), 400)
        if code in (204, 205, 304):
            return Response("", status=code)
        return _page(_SIMPLE.substitute(title=f"Status {code}", body=""), code)

    async def _redirect(self) -> Response:
        target = request.args.get("to")
        if not target:
            return _page(_SIMPLE.substitute(title="Missing to", body=""), 400)
        return Response("", status=302, headers={"Location": target})

    async def _secret(self) -> Response:
        return _page(_SECRET)

    async def _redact_fixed(self) -> Response:
        secret = request.args.get("secret", REDACT_FIXED_DEFAULT_SECRET)[:64]
        return _page(_REDACT_FIXED.substitute(css=_FIXED_SLOTS_CSS, secret=html.escape(secret)))

    async def _redact_tricky(self) -> Response:
        return _page(_REDACT_TRICKY)

    async def _ls_first(self) -> Response:
        return _page(_LS_FIRST)

    async def _redact_rerender(self) -> Response:
        return _page(_REDACT_RERENDER.substitute(css=_FIXED_SLOTS_CSS))

    async def _redact_table(self) -> Response:
        rows = "\n".join(
            _REDACT_TABLE_ROW.substitute(n=n, card=html.escape(card))
            for n, card in enumerate(REDACT_TABLE_CARDS, start=1)
        )
        return _page(_REDACT_TABLE.substitute(rows=rows))

    async def _third_party_redirect(self) -> Response:
        origin = self.site.origin(THIRDPARTY_HOST)
        return _page(
            _THIRD_PARTY_REDIRECT.substitute(
                helpers=_HEAD_HELPERS,
                pixel=quote(f"{origin}/pixel.png", safe=""),
                api=quote(f"{origin}/api", safe=""),
            )
        )

    async def _attack(self) -> Response:
        skip = _name_list(request.args.get("skip", ""))
        extra = _name_list(request.args.get("with", ""))
        return _page(attack_page(self.site.canary_port, skip, extra))

    async def _service_worker(self) -> Response:
        script = _SERVICE_WORKER.substitute(c=self.site.canary_origin())
        return Response(script, content_type="application/javascript")

    async def _sw_probe(self) -> Response:
        return _page(sw_probe_page(request.args.get("frame"), request.args.get("popup")))

    async def _big(self) -> Response:
        return _page(big_page())

    async def _ws(self) -> None:
        await websocket.accept()
        while True:
            await websocket.send(await websocket.receive())


def _listening_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sock.listen(_LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def _probe(host: str, port: int, context: ssl.SSLContext, server_name: str) -> int:
    """GET :data:`READY_PATH` over TLS (verifying the certificate); return the status."""
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=server_name
    )
    try:
        writer.write(
            f"GET {READY_PATH} HTTP/1.1\r\nHost: {server_name}:{port}\r\n"
            "Connection: close\r\n\r\n".encode("ascii")
        )
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


class TargetSite:
    """The target web site on ``bind_host`` (127.0.0.1), served over HTTPS by Hypercorn.

    ``requests`` lists every request received, oldest first (the readiness probe
    excepted); read it directly or through :meth:`requests_to`. ``port`` is set once
    started. URLs use names (``https://app.test:PORT/``) that only a host map resolves.
    """

    def __init__(self, tls: TLSMaterial, canary_port: int, *, bind_host: str = TARGET_IP) -> None:
        self.tls = tls
        self.canary_port = canary_port
        self.bind_host = bind_host
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self.handler_tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"TargetSite({self.bind_host}:{self.port}, requests={len(self.requests)})"

    def origin(self, host: str = APP_HOST) -> str:
        """``https://{host}:{port}``."""
        return f"https://{host}:{self.port}"

    def url(self, path: str = "/", host: str = APP_HOST) -> str:
        """The URL of ``path`` under ``host`` (``app.test`` by default)."""
        return self.origin(host) + path

    def canary_origin(self) -> str:
        """The canary as the target's pages link to it."""
        return f"https://{CANARY_HOST}:{self.canary_port}"

    def requests_to(
        self, path: str | None = None, hostname: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, optionally only those for ``path`` and/or ``hostname``."""
        return [
            r
            for r in self.requests
            if (path is None or r.path == path) and (hostname is None or r.hostname == hostname)
        ]

    def clear_requests(self) -> None:
        """Forget every recorded request."""
        self.requests.clear()

    def _config(self, fd: int) -> Config:
        config = Config()
        config.bind = [f"fd://{fd}"]
        config.certfile = str(self.tls.cert_path)
        config.keyfile = str(self.tls.key_path)
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")
        config.graceful_timeout = 1.0
        config.keep_alive_timeout = 5.0
        config.ssl_handshake_timeout = _HANDSHAKE_TIMEOUT_S
        return config

    async def start(self) -> None:
        """Bind a free port, serve, and return once a real HTTPS request succeeded."""
        if self._task is not None:
            raise RuntimeError("already started")
        sock = _listening_socket(self.bind_host)
        self.port = int(sock.getsockname()[1])
        # Hypercorn takes the listening socket over by descriptor (no port race).
        config = self._config(sock.detach())
        self._stop.clear()
        app = _TargetApp(self).app
        self._task = asyncio.create_task(
            serve(app, config, shutdown_trigger=self._stop.wait),
            name=f"target-site-{self.port}",
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        assert self._task is not None
        task = self._task
        client = self.tls.client_context()
        client.set_alpn_protocols(["http/1.1"])

        async def ready() -> bool:
            if task.done():
                task.result()
                raise RuntimeError("target site stopped while starting")
            try:
                return await _probe(self.bind_host, self.port, client, APP_HOST) == 200
            except (OSError, ValueError, IndexError):
                return False

        try:
            await eventually(ready, 30, "the target site to answer", interval_s=0.05)
        except WaitTimedOut:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop serving (open connections get Hypercorn's 1 s grace) and wait."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        # Requests still in flight (``/slow``, open WebSockets) end now rather than
        # after Hypercorn's grace period, whose expiry cancels connection tasks noisily.
        handlers = list(self.handler_tasks)
        for handler in handlers:
            handler.cancel()
        if handlers:
            await asyncio.wait(handlers)
        await asyncio.wait([task], timeout=30)
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


# --------------------------------------------------------------------------- canary


_CANARY_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 6\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"canary"
)


def parse_request_head(head: bytes, tls: bool) -> CanaryRequest:
    """A :class:`CanaryRequest` from a raw HTTP/1.x head (lenient: never raises)."""
    request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, _, rest = request_line.partition(" ")
    target = rest.rpartition(" ")[0] or rest
    pairs = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.strip(), value.strip()))
    headers = header_dict(pairs)
    return CanaryRequest(
        method=method, target=target, host=headers.get("host", ""), headers=headers, tls=tls
    )


@dataclass(repr=False)
class CanaryWatch:
    """What reached the canary since this watch was taken (see :meth:`CanarySite.watch`)."""

    canary: CanarySite
    connections_before: int
    requests_before: int

    @property
    def new_connections(self) -> int:
        """TCP connections accepted since the watch started."""
        return self.canary.connections - self.connections_before

    @property
    def new_requests(self) -> list[CanaryRequest]:
        """HTTP requests parsed since the watch started."""
        return self.canary.requests[self.requests_before :]

    @property
    def touched(self) -> bool:
        """True if anything at all reached the canary since the watch started."""
        return self.new_connections > 0 or bool(self.new_requests)

    def __repr__(self) -> str:
        return f"CanaryWatch({self.describe()})"

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        targets = [f"{r.method} {r.hostname}{r.target}" for r in self.new_requests]
        return f"{self.new_connections} new connection(s), requests: {targets}"


@dataclass(eq=False, repr=False)
class CanarySite:
    """A server on ``bind_host`` (127.0.0.2) that must never be reached by allowed traffic.

    ``connections`` counts TCP connections at accept time, before anything else;
    ``tls_handshakes`` those that completed TLS; ``requests`` every HTTP head parsed
    (TLS or cleartext - the first byte decides). Every request gets ``200 canary``.
    """

    tls: TLSMaterial
    bind_host: str = CANARY_IP
    port: int = 0
    connections: int = 0
    tls_handshakes: int = 0
    requests: list[CanaryRequest] = field(default_factory=list)
    _sock: socket.socket | None = field(default=None, repr=False)
    _accept_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"CanarySite({self.bind_host}:{self.port}, connections={self.connections}, "
            f"requests={len(self.requests)})"
        )

    def origin(self, host: str = CANARY_HOST) -> str:
        """``https://canary.test:PORT``."""
        return f"https://{host}:{self.port}"

    def url(self, path: str = "/", host: str = CANARY_HOST) -> str:
        """The canary URL of ``path``."""
        return self.origin(host) + path

    def watch(self) -> CanaryWatch:
        """Snapshot the counters now; the watch reports what arrives afterwards."""
        return CanaryWatch(self, self.connections, len(self.requests))

    async def start(self) -> None:
        """Bind a free port on ``bind_host`` and start accepting."""
        if self._accept_task is not None:
            raise RuntimeError("already started")
        self._context = self.tls.server_context(canary=True, alpn=("http/1.1",))
        self._sock = _listening_socket(self.bind_host)
        self.port = int(self._sock.getsockname()[1])
        self._accept_task = asyncio.create_task(
            self._accept_loop(self._sock), name=f"canary-{self.port}"
        )

    async def aclose(self) -> None:
        """Stop accepting, drop open connections and wait for their handlers."""
        task, self._accept_task = self._accept_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for handler in list(self._tasks):
            handler.cancel()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError:
                log.exception("canary accept failed")
                await asyncio.sleep(0.05)
                continue
            self.connections += 1
            handler = loop.create_task(self._handle(conn))
            self._tasks.add(handler)
            handler.add_done_callback(self._tasks.discard)

    async def _handle(self, conn: socket.socket) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            first = await _peek(conn, _HEAD_TIMEOUT_S)
            if not first:
                return
            use_tls = first == b"\x16"  # a TLS record of type handshake
            reader, writer = await self._streams(conn, use_tls)
            if use_tls:
                self.tls_handshakes += 1
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT_S)
            self.requests.append(parse_request_head(head, use_tls))
            writer.write(_CANARY_RESPONSE)
            await writer.drain()
        except (OSError, EOFError, TimeoutError, asyncio.LimitOverrunError, ValueError):
            pass  # ssl.SSLError is an OSError; IncompleteReadError an EOFError
        finally:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                _abort(conn, writer)
            else:
                await _close(conn, writer)

    async def _streams(
        self, conn: socket.socket, use_tls: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024)
        protocol = asyncio.StreamReaderProtocol(reader)
        if use_tls:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol,
                conn,
                ssl=self._context,
                ssl_handshake_timeout=_HANDSHAKE_TIMEOUT_S,
                ssl_shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
            )
        else:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn)
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def _peek(conn: socket.socket, timeout_s: float) -> bytes:
    """The first byte ``conn`` will deliver, without consuming it (b"" on EOF/timeout)."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(readable, timeout_s)
    except TimeoutError:
        return b""
    finally:
        loop.remove_reader(fd)
    try:
        return conn.recv(1, socket.MSG_PEEK)
    except OSError:
        return b""


def _abort(conn: socket.socket, writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        conn.close()
    else:
        writer.transport.abort()


async def _close(conn: socket.socket, writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        conn.close()
        return
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), _SHUTDOWN_TIMEOUT_S + 1)


# --------------------------------------------------------------------------- host maps


def host_map(site: TargetSite, canary: CanarySite) -> str:
    """The ``SESSIONSHOT_HOST_MAP`` value pinning every test name to loopback."""
    pairs = [(name, site.bind_host) for name in TARGET_HOSTS]
    pairs.append((CANARY_HOST, canary.bind_host))
    return ",".join(f"{name}={ip}" for name, ip in pairs)


def chromium_host_resolver_rules(site: TargetSite, canary: CanarySite) -> str:
    """The same map as Chromium's ``--host-resolver-rules`` (smoke tests only)."""
    pairs = [(APP_HOST, site.bind_host), (CANARY_HOST, canary.bind_host)]
    pairs += [(name, site.bind_host) for name in (OTHER_HOST, THIRDPARTY_HOST)]
    return ", ".join(f"MAP {name} {ip}" for name, ip in pairs)


__all__ = [
    "APP_HOST",
    "ATTACK_VECTORS",
    "CANARY_HOST",
    "CANARY_IP",
    "OPTIONAL_ATTACK_VECTORS",
    "OTHER_HOST",
    "TARGET_HOSTS",
    "TARGET_IP",
    "THIRDPARTY_HOST",
    "CanaryRequest",
    "CanarySite",
    "CanaryWatch",
    "RecordedRequest",
    "TargetSite",
    "chromium_host_resolver_rules",
    "host_map",
]
