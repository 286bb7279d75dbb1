"""What the browser needs to go through the guard: a launch flag and per-context settings."""

from __future__ import annotations

BROWSER_RESOLVER_FLAG = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
"""Chromium launch flag (the engine adds it to its launch flags): a safety net.

With it Chromium never resolves a name itself, so a request that would not go
through the proxy (a context created without one, a bypass rule) fails with
``ERR_NAME_NOT_RESOLVED`` instead of reaching the network by name. Proxied traffic
is unaffected: the endpoint URL is an IP literal and the proxy resolves targets.
"""


def context_proxy_settings(endpoint_url: str) -> dict[str, str]:
    """Return the ``proxy=`` argument for ``browser.new_context``.

    ``endpoint_url`` comes from :meth:`~sessions.egress.proxy.EgressProxy.open_endpoint`;
    the port alone tells the proxy which session (and which route) this is, so there
    are no credentials: with them Playwright would intercept every request and
    disable the browser cache. ``<-loopback>`` matters: without it Chromium sends
    localhost and 127.0.0.0/8 straight out, bypassing the proxy and therefore the guard.
    """
    return {"server": endpoint_url, "bypass": "<-loopback>"}
