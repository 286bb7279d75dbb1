"""``sessionshot … --help``: every command and every option explains itself to its user."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from app.cli import build_parser, main


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command tree, with the words that reach it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


COMMANDS = [path for path, _ in _commands(build_parser())]


def test_the_tree_holds_every_command() -> None:
    leaves = {" ".join(path) for path in COMMANDS}
    assert {
        "up",
        "serve",
        "worker",
        "usage",
        "admin workspace create",
        "admin key revoke",
        "admin domain list",
    } <= leaves


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "sessionshot")
def test_every_command_and_option_has_help(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = dict(_commands(build_parser()))[path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            # Each sub-command is listed with a line saying what it does.
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            assert set(listed) == set(action.choices), path
            assert all(listed.values()), (path, listed)
        else:
            assert action.help, (path, action.dest)
    assert parser.description, path

    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: sessionshot")
    assert "SPEC" not in shown, "the help speaks to users, not of internal documents"
