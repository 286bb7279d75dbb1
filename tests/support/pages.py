"""The target site's general pages, as HTML text (the views in ``target_app.py`` serve them).

Pages that test something JavaScript does report it in the page itself: ``#status`` reads
``done`` once every attempt settled, and ``#results`` holds what each one gave.
"""

from __future__ import annotations

import html
import json
import struct
import zlib
from collections.abc import Mapping
from functools import cache
from string import Template
from urllib.parse import quote

BIG_PAGE_TEXT_BYTES = 3 * 1024 * 1024
"""At least this many bytes of visible text on ``/big``."""

HEAD_HELPERS = """<script>
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
"""Script for a page's ``<head>``: ``mark(name, value)`` records a result in ``#results``,
``attempt(name, run)`` and ``expectMark(name)`` add to what ``window.__pending`` waits for."""

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


def simple_page(title: str, body: str = "") -> str:
    """A page titled ``title`` (also in ``h1#title``) with ``body`` after the heading."""
    return _SIMPLE.substitute(title=title, body=body)


def echo_page(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
    """``/echo``: what the server saw, plus what the page sees in JavaScript."""
    return _ECHO.substitute(
        cookies=html.escape(json.dumps(dict(cookies), sort_keys=True)),
        headers=html.escape(json.dumps(dict(headers), sort_keys=True)),
    )


def third_party_page(origin: str) -> str:
    """``/third-party``: an image and a fetch from ``origin`` (``thirdparty.test``)."""
    return _THIRD_PARTY.substitute(helpers=HEAD_HELPERS, origin=origin)


def third_party_redirect_page(origin: str) -> str:
    """``/third-party-redirect`` (see :data:`_THIRD_PARTY_REDIRECT`), leading to ``origin``."""
    return _THIRD_PARTY_REDIRECT.substitute(
        helpers=HEAD_HELPERS,
        pixel=quote(f"{origin}/pixel.png", safe=""),
        api=quote(f"{origin}/api", safe=""),
    )


def form_page(other_origin: str, canary_origin: str) -> str:
    """``/form``: inputs, a button, a hover target, a delayed element, a tall page."""
    return _FORM.substitute(other_origin=other_origin, canary_origin=canary_origin)


def secret_page() -> str:
    """``/secret``: ``.private#card`` and a ``#reveal`` button that adds another."""
    return _SECRET


def ls_first_page() -> str:
    """``/ls-first`` (see :data:`_LS_FIRST`)."""
    return _LS_FIRST


ARTICLE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>Article page</title>
<style>.note { color: #c00; } /* STYLE-RULE-TEXT */</style>
<script>window.scriptRan = "SCRIPT-BODY-TEXT";</script>
</head>
<body>
<h1>Article title</h1>
<p>An intro with <a id="docs-link" href="/docs/guide">the guide</a> and <b>bold</b> words.</p>
<h2>Steps</h2>
<ul><li>first item</li><li>second item</li></ul>
<ol><li>one</li><li>two</li></ol>
<h3>Prices</h3>
<table id="prices">
<thead><tr><th>Fruit</th><th>Price</th></tr></thead>
<tbody><tr><td>apple</td><td>3</td></tr><tr><td>pear | green</td><td>5</td></tr></tbody>
</table>
<button id="only">Only button</button>
<script>document.title = document.title; /* INLINE-SCRIPT-TEXT */</script>
<noscript>NOSCRIPT-TEXT</noscript>
</body>
</html>
"""
"""``/article``: headings, a link, lists, a table, styles and scripts (Markdown), and a
single button (few refs in an AI snapshot)."""


def article_page() -> str:
    """``/article`` (see :data:`ARTICLE`)."""
    return ARTICLE


@cache
def big_page() -> str:
    """``/big``: at least :data:`BIG_PAGE_TEXT_BYTES` of text, ending in ``#big-end``."""
    line = "Filler text for the content truncation tests; nothing to see here, keep going."
    count = BIG_PAGE_TEXT_BYTES // len(line) + 1
    paragraphs = "\n".join(f"<p>{n:06d} {line}</p>" for n in range(count))
    body = f'<div id="big">\n{paragraphs}\n</div>\n<p id="big-end">END OF BIG PAGE</p>'
    return simple_page("Big page", body)


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
