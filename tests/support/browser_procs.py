"""The Chromium processes of a ``sessionshot serve``, read from /proc.

A connect session's browser is a Chromium of its own (SPEC section 12): the tests find an
instance's connect browsers by their profile folder, its shared browser as the other main
process, and compare how each was launched.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tests.support.cluster import Instance
from tests.support.procs import descendants


def connect_browsers(inst: Instance) -> set[int]:
    """The main processes of ``inst``'s connect browsers (sessions' and warm ones)."""
    found = set()
    for pid in descendants(inst.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        launched_here = any(
            arg.startswith(b"--user-data-dir=") and b"sessionshot-connect-" in arg for arg in argv
        )
        if launched_here and not any(arg.startswith(b"--type=") for arg in argv):
            found.add(pid)
    return found


def argv_of(pid: int) -> list[str]:
    return [arg.decode() for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if arg]


def shared_browser(inst: Instance) -> int:
    """The main process of ``inst``'s shared browser (the one non-connect sessions use)."""
    (found,) = {
        pid
        for pid in descendants(inst.pid)
        if pid not in connect_browsers(inst)
        and (argv := _argv_or_none(pid)) is not None
        and Path(argv[0]).name.startswith("chrom")
        and not any(arg.startswith("--type=") for arg in argv)
    }
    return found


def _argv_or_none(pid: int) -> list[str] | None:
    try:
        return argv_of(pid)
    except OSError:
        return None


def listening_ports(pid: int) -> set[int]:
    """TCP ports process ``pid`` listens on (its sockets' inodes matched in /proc/net/tcp)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports = set()
    for row in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def browsers_if(inst: Instance, count: int) -> set[int] | None:
    """``inst``'s connect browsers when there are ``count`` of them."""
    found = connect_browsers(inst)
    return found if len(found) == count else None
