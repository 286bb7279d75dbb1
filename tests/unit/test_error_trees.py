"""One exception tree per package, one mapping to HTTP (``app/error_handlers.py``).

Each package's errors carry their documented code and a safe message; the mapping gives
each class its status by one MRO walk; an error forwarded from another instance comes back
with the owner's code, message, time left and status; a failed capture shows the code of
the error that ended it, or ``INTERNAL``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from app.error_handlers import RULES, TREES, api_error_of
from app.errors import ApiError
from app.tenancy import DomainNotListed, KeyNotFound, TenancyError, WorkspaceNotFound
from captures.errors import (
    AuthRefused,
    CaptureError,
    CaptureFailed,
    CaptureTimeout,
    IllegalTransition,
)
from captures.records import CaptureStatus, check_transition
from sessions import errors
from sessions.crypto import PayloadError
from sessions.domains import InvalidDomain
from sessions.egress import EgressBlocked
from sessions.router import Answer, error_answer, raise_answer
from sessions.usage import BadRange
from storage import FileNotFound, InvalidKey, LinkExpired, SignatureInvalid, StorageError

INTERNAL = (500, "INTERNAL", "Internal error.")


def _shape(err: ApiError) -> tuple[int, str, str]:
    return err.status, err.code, err.message


def _status_of(cls: type[Exception]) -> int:
    rule = next(RULES[c] for c in cls.__mro__ if c in RULES)
    assert isinstance(rule, int), cls
    return rule


# --------------------------------------------------------------------------- each tree


@pytest.mark.parametrize(
    ("raised", "shape"),
    [
        # sessions: the errors that used to stand outside the tree
        (
            InvalidDomain("not a valid hostname: 'a..b'"),
            (400, "VALIDATION_ERROR", "not a valid hostname: 'a..b'"),
        ),
        (BadRange("from must be before to"), (400, "VALIDATION_ERROR", "from must be before to")),
        (PayloadError("payload failed authentication"), INTERNAL),
        (
            EgressBlocked("10.0.0.1", "private_address"),
            (422, "TARGET_BLOCKED", "The target address is not reachable."),
        ),
        # captures
        (CaptureError(), INTERNAL),
        (IllegalTransition("completed -> processing"), INTERNAL),
        (CaptureTimeout(), (500, "CAPTURE_TIMEOUT", CaptureTimeout.default_message)),
        # storage
        (StorageError("could not write file: ws_a/captures/x.png"), INTERNAL),
        (InvalidKey("../etc/passwd"), INTERNAL),
        (FileNotFound("ws_a/captures/x.png"), (404, "NOT_FOUND", "File not found.")),
        (SignatureInvalid(), (403, "SIGNATURE_INVALID", "This link is not valid.")),
        (
            LinkExpired(datetime(2024, 1, 1, tzinfo=UTC)),
            (410, "LINK_EXPIRED", "This link has expired."),
        ),
        # tenancy
        (WorkspaceNotFound("ws_0123456789abcdef"), (404, "NOT_FOUND", "Workspace not found.")),
        (KeyNotFound("key_0123456789abcdef"), (404, "NOT_FOUND", "API key not found.")),
        (DomainNotListed("a.test"), (404, "NOT_FOUND", "Domain not found.")),
    ],
)
def test_each_tree_maps_to_its_documented_status_code_and_message(
    raised: Exception, shape: tuple[int, str, str]
) -> None:
    assert _shape(api_error_of(raised)) == shape


@pytest.mark.parametrize(
    "raised",
    [
        PayloadError("SESSIONSHOT_PAYLOAD_KEY: not base64"),
        StorageError("S3 put failed: AccessDenied"),
        InvalidKey("ws_a/../../secrets.json"),
        IllegalTransition("failed -> completed"),
        EgressBlocked("10.0.0.1", "private_address"),
    ],
)
def test_what_a_tree_error_says_for_logs_never_reaches_the_caller(raised: Exception) -> None:
    mapped = api_error_of(raised)
    assert str(raised) not in mapped.message
    for leak in ("10.0.0.1", "secrets", "S3", "base64", "->"):
        assert leak not in mapped.message


def test_every_tree_base_has_a_status_and_every_error_of_the_trees_is_coded() -> None:
    for base in TREES:
        assert isinstance(RULES[base], int)
        assert isinstance(base.code, str) and base.default_message


def test_every_engine_error_of_one_kind_has_one_status() -> None:
    """A forwarded error is re-raised by kind and code, so its status must follow its kind."""
    statuses: dict[errors.Kind, set[int]] = {}
    for cls in errors.tree():
        statuses.setdefault(cls.kind, set()).add(_status_of(cls))
    assert set(statuses) == set(errors.Kind)
    assert all(len(found) == 1 for found in statuses.values()), statuses


def test_tenancy_errors_keep_the_name_for_the_command_line() -> None:
    assert str(WorkspaceNotFound("ws_0123456789abcdef")) == "ws_0123456789abcdef"
    assert str(DomainNotListed("a.test")) == "a.test"
    assert TenancyError("no such thing").message == str(TenancyError("no such thing"))


# --------------------------------------------------------------------------- unknown errors


@pytest.mark.parametrize(
    "raised",
    [
        RuntimeError("redis://:hunter2@10.1.2.3:6379 refused"),
        ValueError("sk_live_secret_value"),
        LookupError("sess:abc in /work/sessions/engine.py"),
    ],
)
def test_an_unknown_exception_is_internal_with_a_fixed_message(
    raised: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="sessionshot.errors"):
        mapped = api_error_of(raised)
    assert _shape(mapped) == INTERNAL
    assert (mapped.extra, mapped.headers) == ({}, {})
    (logged,) = caplog.records
    assert getattr(logged, "errorType", None) == type(raised).__name__
    assert str(raised) not in caplog.text


# --------------------------------------------------------------------------- forwarded errors


def _forwarded(err: errors.SessionError) -> errors.SessionError:
    """``err`` as the owner answers it, read back by the forwarder from the wire's JSON."""
    wire = error_answer("api-owner", err).model_dump_json()
    assert "Error" not in wire and type(err).__name__ not in wire, "no class name on the wire"
    with pytest.raises(errors.SessionError) as raised:
        raise_answer(Answer.model_validate_json(wire))
    return raised.value


@pytest.mark.parametrize(
    "err",
    [
        errors.SelectorTimeout("Timed out waiting for #missing to be visible.", expires_in=42),
        errors.NavigationFailed("The page answered HTTP 502.", expires_in=3599),
        errors.TargetBlocked("The target 127.0.0.2 is a private address.", expires_in=7),
        errors.DomainRefused(expires_in=12),
        errors.LeftAllowedDomains(expires_in=13),
        errors.SessionNotFound(),
        errors.SessionClosed(expires_in=0),
        errors.InvalidRequest("proxy: no upstream proxy is configured on this service."),
        errors.ConcurrencyLimited(),
        errors.CapacityExceeded(),
        errors.OwnerUnavailable("The owner did not answer within 10 s."),
        errors.BrowserUnavailable(),
        errors.SessionError(),
        EgressBlocked("10.0.0.1", "private_address"),
        InvalidDomain("empty hostname"),
        PayloadError("payload failed authentication"),
    ],
    ids=lambda err: type(err).__name__,
)
def test_a_forwarded_error_keeps_its_code_message_time_left_and_status(
    err: errors.SessionError,
) -> None:
    back = _forwarded(err)
    assert (back.code, back.message, back.expires_in) == (
        err.code,
        err.message,
        err.expires_in or 0,
    )
    assert back.owner == "api-owner"
    assert _shape(api_error_of(back)) == _shape(api_error_of(err))


def test_codes_shared_by_two_kinds_keep_their_status_across_instances() -> None:
    refused, left = _forwarded(errors.DomainRefused()), _forwarded(errors.LeftAllowedDomains())
    assert (api_error_of(refused).status, api_error_of(left).status) == (403, 422)
    relaunching = _forwarded(errors.BrowserUnavailable())
    fault = _forwarded(errors.SessionError())
    assert (api_error_of(relaunching).status, api_error_of(fault).status) == (503, 500)
    assert isinstance(_forwarded(errors.SessionNotFound()), errors.SessionNotFound)


def test_a_newer_owners_code_keeps_its_kind_and_an_unknown_kind_is_internal() -> None:
    """A newer owner may send a code this instance has no class for."""
    answer = Answer(
        ok=False, owner="api-new", code="FRAME_DETACHED", kind="action", message="Gone."
    )
    with pytest.raises(errors.ActionError) as raised:
        raise_answer(answer)
    assert _shape(api_error_of(raised.value)) == (422, "FRAME_DETACHED", "Gone.")
    unknown_kind = answer.model_copy(update={"kind": "teleported"})
    with pytest.raises(errors.SessionError) as unknown:
        raise_answer(unknown_kind)
    assert _shape(api_error_of(unknown.value)) == INTERNAL


# --------------------------------------------------------------------------- captures


@pytest.mark.parametrize(
    ("cause", "public"),
    [
        (
            errors.SelectorTimeout("Timed out waiting for #go to be visible."),
            {"code": "SELECTOR_TIMEOUT", "message": "Timed out waiting for #go to be visible."},
        ),
        (
            errors.DomainRefused(),
            {"code": "DOMAIN_NOT_ALLOWED", "message": errors.DomainRefused.default_message},
        ),
        (
            EgressBlocked("10.0.0.1", "private_address"),
            {"code": "TARGET_BLOCKED", "message": "The target address is not reachable."},
        ),
        (CaptureTimeout(), {"code": "CAPTURE_TIMEOUT", "message": CaptureTimeout.default_message}),
        (AuthRefused(), {"code": "ACTION_FAILED", "message": AuthRefused.default_message}),
    ],
)
def test_a_failed_capture_shows_the_code_of_the_error_that_ended_it(
    cause: Exception, public: dict[str, str]
) -> None:
    assert CaptureFailed.of(cause).public() == public


@pytest.mark.parametrize(
    "cause",
    [
        errors.SessionClosed(),
        errors.SessionNotFound(),
        errors.CapacityExceeded(),
        errors.InvalidRequest("proxy: no upstream proxy is configured on this service."),
        errors.BrowserUnavailable("chromium pid 4242 exited with signal 9"),
        PayloadError("payload failed authentication"),
        StorageError("S3 put failed: AccessDenied"),
        KeyError("sk_live_secret_value"),
    ],
    ids=lambda err: type(err).__name__,
)
def test_any_other_capture_failure_is_internal_and_says_nothing_more(cause: Exception) -> None:
    assert CaptureFailed.of(cause).public() == {
        "code": "INTERNAL",
        "message": "The capture failed because of an internal error.",
    }


def test_an_illegal_capture_transition_is_an_error_of_the_captures_tree() -> None:
    with pytest.raises(CaptureError, match="completed"):
        check_transition(CaptureStatus.COMPLETED, CaptureStatus.PROCESSING)
    with pytest.raises(IllegalTransition):
        check_transition(CaptureStatus.FAILED, CaptureStatus.QUEUED)
