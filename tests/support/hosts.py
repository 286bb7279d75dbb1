"""The names and loopback addresses of the test sites, and the host maps that pin them.

NETWORK RULE: every name here resolves to 127.0.0.0/8, and only through these maps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.canary_site import CanarySite
    from tests.support.target_site import TargetSite

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


BROWSER_SERVICE_HOSTS = (
    "accounts.google.com",
    "update.googleapis.com",
    "connectivitycheck.gstatic.com",
    "clients2.google.com",
    "clientservices.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
    "safebrowsingohttpgateway.googleapis.com",
    "www.google.com",
    "www.gstatic.com",
)
"""Chromium's own services, which a connect browser (its launch proxy is the egress guard)
calls on its own: pinned to an address the guard refuses, so a test never resolves them."""
UNROUTABLE = "0.0.0.0"


def host_map(site: TargetSite, canary: CanarySite) -> str:
    """The ``SESSIONSHOT_HOST_MAP`` value pinning every test name to loopback, and the
    browser's own service hosts to an address the guard refuses (never resolved)."""
    pairs = [(name, site.bind_host) for name in TARGET_HOSTS]
    pairs.append((CANARY_HOST, canary.bind_host))
    pairs += [(name, UNROUTABLE) for name in BROWSER_SERVICE_HOSTS]
    return ",".join(f"{name}={ip}" for name, ip in pairs)


def chromium_host_resolver_rules(site: TargetSite, canary: CanarySite) -> str:
    """The same map as Chromium's ``--host-resolver-rules`` (smoke tests only)."""
    pairs = [(APP_HOST, site.bind_host), (CANARY_HOST, canary.bind_host)]
    pairs += [(name, site.bind_host) for name in (OTHER_HOST, THIRDPARTY_HOST)]
    return ", ".join(f"MAP {name} {ip}" for name, ip in pairs)
