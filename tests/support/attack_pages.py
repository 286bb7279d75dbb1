"""The target site's pages that try to reach the canary, and the service-worker probe.

``/attack`` tries every way a page can make the browser contact another host; the egress
guard must stop each one, which the canary (127.0.0.2) proves by counting nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from string import Template
from urllib.parse import quote

from tests.support.hosts import CANARY_HOST, CANARY_IP
from tests.support.pages import HEAD_HELPERS

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
    return _ATTACK.substitute(helpers=HEAD_HELPERS, vectors=vectors, cap=ATTACK_CAP_MS)


def service_worker_script(canary_origin: str) -> str:
    """``/sw.js``: a service worker that fetches from the canary when it installs and runs."""
    return _SERVICE_WORKER.substitute(c=canary_origin)


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
