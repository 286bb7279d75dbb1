"""Scoped tokens and live links (SPEC section 12): signed, bound, expiring; and a live
view's input messages, read without ever raising."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.scoped import CredentialExpired, CredentialRefused, Grant, Signer
from sessions.screencast import Key, Mouse, Wheel, read_input
from sessions.timefmt import now_ms

TOKENS = Signer(b"t" * 32)
LINKS = Signer(b"l" * 32)


def test_a_credential_reads_back_as_its_grant() -> None:
    grant = Grant("sess_1", "live-interact", now_ms() + 60_000, generation=3)
    assert LINKS.read(LINKS.issue(grant)) == grant


@pytest.mark.parametrize(
    "alter",
    [
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # the signature
        lambda c: c.replace("v1.", "v2.", 1),
        lambda c: c.split(".")[0] + "." + c.split(".")[1][:-2] + "xx." + c.split(".")[2],
        lambda c: c + ".x",
        lambda c: "",
        lambda c: "v1." + "a" * 5000 + ".b",
    ],
)
def test_an_altered_credential_is_refused(alter: object) -> None:
    issued = TOKENS.issue(Grant("sess_1", "cdp", now_ms() + 60_000))
    with pytest.raises(CredentialRefused):
        TOKENS.read(alter(issued))  # type: ignore[operator]


def test_a_token_is_not_a_link_nor_the_reverse() -> None:
    token = TOKENS.issue(Grant("sess_1", "live-view", now_ms() + 60_000))
    with pytest.raises(CredentialRefused):
        LINKS.read(token)


def test_an_expired_credential_is_gone() -> None:
    with pytest.raises(CredentialExpired):
        TOKENS.read(TOKENS.issue(Grant("sess_1", "cdp", now_ms() - 1)))


def test_input_messages_become_cdp_calls() -> None:
    click = read_input(
        '{"type":"mouse","event":"mousePressed","x":10,"y":20,"button":"left","clickCount":1}'
    )
    assert isinstance(click, Mouse) and click.command()["type"] == "mousePressed"
    wheel = read_input('{"type":"wheel","x":1,"y":2,"deltaY":120}')
    assert isinstance(wheel, Wheel) and wheel.command()["type"] == "mouseWheel"
    typed = read_input('{"type":"key","event":"keyDown","key":"a","code":"KeyA","text":"a"}')
    assert isinstance(typed, Key) and typed.command() == {
        "type": "keyDown",
        "key": "a",
        "code": "KeyA",
        "windowsVirtualKeyCode": 0,
        "modifiers": 0,
        "text": "a",
    }
    arrow = read_input('{"type":"key","event":"keyDown","key":"ArrowUp","code":"ArrowUp"}')
    assert isinstance(arrow, Key) and arrow.command()["type"] == "rawKeyDown"


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    )
)
def test_any_message_is_read_without_raising(value: object) -> None:
    read_input(json.dumps(value))


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 10_000 + "]" * 10_000,
        '{"type":"mouse","event":"mousePressed","x":NaN,"y":1}',
        '{"type":"mouse","event":"mousePressed","x":1e999,"y":1}',
        '{"type":"key","event":"keyDown","text":"' + "x" * 5000 + '"}',
        "not json",
    ],
)
def test_bad_messages_are_dropped(raw: str) -> None:
    assert read_input(raw) is None
