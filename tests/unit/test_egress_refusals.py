"""The refusal log a failed navigation reads to tell the guard's refusal from other failures."""

from __future__ import annotations

import pytest

from sessions.egress.addresses import never_resolves
from sessions.egress.refusals import MAX_TARGETS, RefusalLog, url_target


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://App.Test/x", ("app.test", 443)),
        ("http://app.test/", ("app.test", 80)),
        ("wss://app.test:8443/", ("app.test", 8443)),
        ("https://[::1]:444/", ("::1", 444)),
        ("https://0x7f.1/", ("127.0.0.1", 443)),
        ("data:text/plain,x", None),
        ("about:blank", None),
        ("https://bad host/", None),
        ("https://app.test:99999/", None),
    ],
)
def test_url_target_is_the_canonical_host_and_port(
    url: str, target: tuple[str, int] | None
) -> None:
    assert url_target(url) == target


def test_since_only_sees_later_refusals_of_the_same_target() -> None:
    log = RefusalLog()
    log.record("a.test", 443, "private_address")
    mark = log.mark()
    assert log.since(mark, "https://a.test/") is None
    log.record("b.invalid", 443, "resolve_failed")
    assert log.since(mark, "https://a.test/") is None
    assert log.since(mark, "https://b.invalid:444/") is None
    later = log.since(mark, "https://B.INVALID./")
    assert later is not None and later.reason == "resolve_failed"
    log.record("a.test", 443, "bad_port")
    again = log.since(mark, "https://a.test/")
    assert again is not None and again.reason == "bad_port"


def test_log_forgets_the_oldest_target_first() -> None:
    log = RefusalLog()
    for n in range(MAX_TARGETS + 1):
        log.record(f"h{n}.test", 443, "private_address")
    assert log.since(0, "https://h0.test/") is None
    assert log.since(0, f"https://h{MAX_TARGETS}.test/") is not None


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("resolve_failed", ("x.test:443", "not resolvable")),
        ("private_address", ("private", "SESSIONSHOT_TARGET_ALLOW_CIDRS")),
        ("bad_port", ("port",)),
        ("something_new", ("x.test:443",)),
    ],
)
def test_messages_name_target_and_reason(reason: str, words: tuple[str, ...]) -> None:
    message = RefusalLog().record("x.test", 443, reason).message()
    assert all(word in message for word in words), message


@pytest.mark.parametrize(
    ("host", "never"),
    [
        ("x.invalid", True),
        ("invalid", True),
        ("a.b.onion", True),
        ("x.alt", True),
        ("invalid.example", False),
        ("app.test", False),
        ("localhost", False),
    ],
)
def test_special_use_names_never_resolve(host: str, never: bool) -> None:
    assert never_resolves(host) is never
