"""Egress guard: a local checking proxy that every browser context goes through."""

from sessions.egress.addresses import (
    ALLOWED_SCHEMES,
    canonical_host,
    check_scheme,
    is_blocked_address,
    parse_cidrs,
    parse_host_map,
)
from sessions.egress.browser_args import BROWSER_RESOLVER_FLAG, context_proxy_settings
from sessions.egress.errors import EgressBlocked
from sessions.egress.policy import EgressPolicy
from sessions.egress.proxy import EgressProxy

__all__ = [
    "ALLOWED_SCHEMES",
    "BROWSER_RESOLVER_FLAG",
    "EgressBlocked",
    "EgressPolicy",
    "EgressProxy",
    "canonical_host",
    "check_scheme",
    "context_proxy_settings",
    "is_blocked_address",
    "parse_cidrs",
    "parse_host_map",
]
