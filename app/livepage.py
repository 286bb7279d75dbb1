"""The live view page (SPEC 12): a session's page as it changes, for a person to watch or use.

The page is self-contained (inline style and script, nothing fetched) and opens one
WebSocket on its own origin. The server sends ``{"type": "frame", "data": <base64 JPEG>,
"width", "height"}`` per screencast frame (the size in the session page's CSS pixels) and
``{"type": "end", "reason", "message"}`` before closing. In ``interact`` mode the page sends
``mouse``, ``wheel`` and ``key`` messages in the session page's CSS pixels; in ``view`` mode
it sends nothing.

Serve :func:`live_page` with ``LIVE_PAGE_CSP.format(nonce=nonce)`` (the same nonce, fresh
per response) and :func:`ended_page` with :data:`ENDED_PAGE_CSP`.
"""

from __future__ import annotations

import re
from html import escape
from typing import Literal

LiveMode = Literal["view", "interact"]

LIVE_PAGE_CSP = (
    "default-src 'none'; img-src data:; style-src 'nonce-{nonce}'; "
    "script-src 'nonce-{nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""The live page's policy, with ``{nonce}`` to fill in. ``connect-src 'self'`` admits the
page's own ``ws:``/``wss:`` origin; ``img-src data:`` the frames and the empty icon."""

ENDED_PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
"""The ended page's policy: it loads and runs nothing."""

# A nonce is at least 128 bits of base64 (``secrets.token_urlsafe(18)`` gives 24 characters);
# checking its alphabet keeps it from breaking out of the attribute or the header.
_NONCE = re.compile(r"[A-Za-z0-9+/_-]{22,}={0,2}")

_STYLE = """
html, body { margin: 0; height: 100%; background: #16181c; color: #d8dadf;
  font: 13px/1.4 system-ui, sans-serif; }
body { display: flex; flex-direction: column; overflow: hidden; }
#bar { display: flex; gap: 1.2em; padding: 4px 10px; background: #23262c;
  white-space: nowrap; overflow: hidden; }
#state { font-weight: 600; }
.live #state { color: #6fcf7f; }
.ended #state { color: #f07a6a; }
#message { overflow: hidden; text-overflow: ellipsis; }
#stage { flex: 1; min-height: 0; display: flex; align-items: center; justify-content: center;
  overflow: hidden; outline: none; }
#view { user-select: none; -webkit-user-drag: none; }
.ended #view { opacity: 0.4; }
"""

# Frames go to an <img> as data: URLs; its box is sized from the frame's CSS size to fit the
# stage with the aspect kept, so a point on it maps linearly to the session page.
_SCRIPT = """
"use strict";
const stage = document.getElementById("stage");
const view = document.getElementById("view");
const stateText = document.getElementById("state");
const messageText = document.getElementById("message");
const expiry = document.getElementById("expiry");
const interact = stage.dataset.mode === "interact";
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const socket = new WebSocket(scheme + location.host + stage.dataset.ws);
let frameW = 0, frameH = 0, ended = false;

const expiresAt = new Date(expiry.dateTime);
if (!Number.isNaN(expiresAt.getTime())) expiry.textContent = expiresAt.toLocaleString();

function setState(text, name) {
  stateText.textContent = text;
  document.body.classList.remove("live", "ended");
  document.body.classList.add(name);
}

function layout() {
  if (!frameW || !frameH) return;
  const scale = Math.min(stage.clientWidth / frameW, stage.clientHeight / frameH);
  view.style.width = frameW * scale + "px";
  view.style.height = frameH * scale + "px";
}

function showFrame(msg) {
  if (typeof msg.data !== "string" || !(msg.width > 0) || !(msg.height > 0)) return;
  if (msg.width !== frameW || msg.height !== frameH) {
    frameW = msg.width;
    frameH = msg.height;
    layout();
  }
  view.src = "data:image/jpeg;base64," + msg.data;
  view.hidden = false;
}

function end(reason, message) {
  if (ended) return;
  ended = true;
  setState("ended: " + reason, "ended");
  messageText.textContent = message || "";
  socket.close();
}

socket.addEventListener("open", () => { if (!ended) setState("live", "live"); });
socket.addEventListener("close", () => end("disconnected", ""));
socket.addEventListener("message", (event) => {
  if (ended || typeof event.data !== "string") return;
  let msg;
  try { msg = JSON.parse(event.data); } catch { return; }
  if (msg && msg.type === "frame") showFrame(msg);
  else if (msg && msg.type === "end") end(String(msg.reason || "error"), String(msg.message || ""));
});
window.addEventListener("resize", layout);

if (interact) {
  const BUTTONS = ["left", "middle", "right"];
  let held = null;
  let pendingMove = null;

  const send = (msg) => {
    if (!ended && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  };
  const modifiers = (e) =>
    (e.altKey ? 1 : 0) | (e.ctrlKey ? 2 : 0) | (e.metaKey ? 4 : 0) | (e.shiftKey ? 8 : 0);
  const toPage = (e, clamp) => {
    const box = view.getBoundingClientRect();
    if (!frameW || !box.width || !box.height) return null;
    const fx = (e.clientX - box.left) / box.width, fy = (e.clientY - box.top) / box.height;
    if (!clamp && (fx < 0 || fx >= 1 || fy < 0 || fy >= 1)) return null;
    const px = (f, size) => Math.min(size - 1, Math.max(0, Math.floor(f * size)));
    return { x: px(fx, frameW), y: px(fy, frameH) };
  };
  const mouse = (event, point, e) => ({
    type: "mouse", event, x: point.x, y: point.y, button: held.button,
    clickCount: event === "mouseMoved" ? 0 : held.clickCount, modifiers: modifiers(e),
  });
  const flushMove = () => {
    if (pendingMove) send(pendingMove);
    pendingMove = null;
  };
  const release = (point, e) => {
    flushMove();
    send(mouse("mouseReleased", point, e));
    held = null;
  };

  view.addEventListener("mousedown", (e) => {
    e.preventDefault();
    stage.focus();
    const point = toPage(e, false);
    if (!point || held || !BUTTONS[e.button]) return;
    held = { button: BUTTONS[e.button], clickCount: Math.min(Math.max(e.detail, 1), 3), point };
    send(mouse("mousePressed", point, e));
  });
  window.addEventListener("mousemove", (e) => {
    if (!held) return;
    held.point = toPage(e, true) || held.point;
    if (!pendingMove) requestAnimationFrame(flushMove);
    pendingMove = mouse("mouseMoved", held.point, e);
  });
  window.addEventListener("mouseup", (e) => {
    if (held && BUTTONS[e.button] === held.button) release(toPage(e, true) || held.point, e);
  });
  window.addEventListener("blur", () => { if (held) release(held.point, {}); });
  view.addEventListener("contextmenu", (e) => e.preventDefault());

  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    const point = toPage(e, false);
    if (!point) return;
    const unit = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? frameH : 1;
    send({ type: "wheel", x: point.x, y: point.y, deltaX: e.deltaX * unit,
      deltaY: e.deltaY * unit, modifiers: modifiers(e) });
  }, { passive: false });

  // Enter carries "\\r", as a real keyboard's does, so that it submits forms.
  const keyText = (e) => {
    if (e.key === "Enter") return "\\r";
    if ([...e.key].length !== 1 || e.metaKey || (e.ctrlKey && !e.altKey)) return "";
    return e.key;
  };
  const onKey = (e) => {
    if (e.isComposing) return;
    e.preventDefault();
    const down = e.type === "keydown";
    send({ type: "key", event: down ? "keyDown" : "keyUp", key: e.key, code: e.code,
      text: down ? keyText(e) : "", keyCode: e.keyCode, modifiers: modifiers(e) });
  };
  window.addEventListener("keydown", onKey);
  window.addEventListener("keyup", onKey);
  stage.focus();
}
"""


def _head(title: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n"
    )


def live_page(ws_path: str, mode: LiveMode, expires_at: str, nonce: str) -> bytes:
    """The live view page for one link.

    ``ws_path`` is the WebSocket's same-origin path and query (the page adds ``ws://`` or
    ``wss://`` and its own host); ``expires_at`` the link's expiry (ISO 8601, shown in the
    viewer's local time); ``nonce`` the one in this response's ``LIVE_PAGE_CSP``.
    """
    if mode not in ("view", "interact"):
        raise ValueError(f"unknown live view mode {mode!r}")
    if not ws_path.startswith("/"):
        raise ValueError("ws_path must be a path on the page's own origin")
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be at least 128 bits of base64")
    label = "interact" if mode == "interact" else "view only"
    html = (
        _head("Live view · SessionShot")
        + '<link rel="icon" href="data:,">\n'
        + f'<style nonce="{nonce}">{_STYLE}</style>\n</head>\n<body>\n'
        + '<div id="bar">'
        + f"<span>Live view: {label}</span>"
        + '<span id="state">connecting</span>'
        + f'<span>expires <time id="expiry" datetime="{escape(expires_at)}">'
        + f"{escape(expires_at)}</time></span>"
        + '<span id="message"></span></div>\n'
        + f'<div id="stage" tabindex="0" data-mode="{mode}" data-ws="{escape(ws_path)}">'
        + '<img id="view" alt="The session\'s page" draggable="false" hidden></div>\n'
        + f'<script nonce="{nonce}">{_SCRIPT}</script>\n</body>\n</html>\n'
    )
    return html.encode()


def ended_page(status: int, title: str, message: str) -> bytes:
    """The plain page of a live link that no longer works (410) or never did (403)."""
    html = (
        _head(f"{title} · SessionShot")
        + "</head>\n<body>\n"
        + f"<h1>{escape(title)}</h1>\n<p>{escape(message)}</p>\n"
        + f"<p><small>HTTP {int(status)} · SessionShot live view</small></p>\n"
        + "</body>\n</html>\n"
    )
    return html.encode()
