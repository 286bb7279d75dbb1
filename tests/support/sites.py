"""The loopback test sites under their former module name, for imports not yet moved.

New code imports from the modules that hold each concept: ``target_site``, ``canary_site``,
``hosts``, ``request_records``, ``pages``, ``redaction_pages`` and ``attack_pages``.
"""

from __future__ import annotations

from tests.support.attack_pages import ATTACK_CAP_MS, ATTACK_VECTORS, OPTIONAL_ATTACK_VECTORS
from tests.support.canary_site import CanarySite, CanaryWatch
from tests.support.hosts import (
    APP_HOST,
    CANARY_HOST,
    CANARY_IP,
    OTHER_HOST,
    TARGET_HOSTS,
    TARGET_IP,
    THIRDPARTY_HOST,
    chromium_host_resolver_rules,
    host_map,
)
from tests.support.pages import BIG_PAGE_TEXT_BYTES
from tests.support.redaction_pages import (
    REDACT_FIXED_DEFAULT_SECRET,
    REDACT_TABLE_CARDS,
    REDACT_TRICKY_SECRETS,
)
from tests.support.request_records import CanaryRequest, RecordedRequest
from tests.support.target_app import READY_PATH
from tests.support.target_site import TargetSite

__all__ = [
    "APP_HOST",
    "ATTACK_CAP_MS",
    "ATTACK_VECTORS",
    "BIG_PAGE_TEXT_BYTES",
    "CANARY_HOST",
    "CANARY_IP",
    "OPTIONAL_ATTACK_VECTORS",
    "OTHER_HOST",
    "READY_PATH",
    "REDACT_FIXED_DEFAULT_SECRET",
    "REDACT_TABLE_CARDS",
    "REDACT_TRICKY_SECRETS",
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
