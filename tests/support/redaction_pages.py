"""The target site's redaction pages: secrets at known places, and secrets hard to find.

Every page shows ``#public`` ("Public text 12345"), which redaction must leave alone.
"""

from __future__ import annotations

import html
from string import Template

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


def redact_fixed_page(secret: str = REDACT_FIXED_DEFAULT_SECRET) -> str:
    """``/redact-fixed`` with ``secret`` in ``.private#card`` (see :data:`_REDACT_FIXED`)."""
    return _REDACT_FIXED.substitute(css=_FIXED_SLOTS_CSS, secret=html.escape(secret))


def redact_tricky_page() -> str:
    """``/redact-tricky`` (see :data:`_REDACT_TRICKY`)."""
    return _REDACT_TRICKY


def redact_rerender_page() -> str:
    """``/redact-rerender`` (see :data:`_REDACT_RERENDER`)."""
    return _REDACT_RERENDER.substitute(css=_FIXED_SLOTS_CSS)


def redact_table_page() -> str:
    """``/redact-table``: one row per :data:`REDACT_TABLE_CARDS` entry."""
    rows = "\n".join(
        _REDACT_TABLE_ROW.substitute(n=n, card=html.escape(card))
        for n, card in enumerate(REDACT_TABLE_CARDS, start=1)
    )
    return _REDACT_TABLE.substitute(rows=rows)
