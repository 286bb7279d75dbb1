"""``sessionshot capture`` as a real subprocess against real ``serve`` and ``worker`` processes."""

from __future__ import annotations

import asyncio
import json
import os
import pty
from pathlib import Path
from typing import Any

import pytest

from sessions.render import image_size
from tests.support.capture_stack import CaptureStack
from tests.support.hosts import OTHER_HOST
from tests.support.procs import base_env, sessionshot_bin
from tests.support.target_site import TargetSite

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.timeout(240)
STACK_SETTINGS = {"capture_timeout_s": 30}
"""The module's API process and worker (the ``stack`` fixture of tests/conftest.py)."""


async def capture(
    stack: CaptureStack, key: str, *args: str, cwd: Path, tty: bool = False
) -> tuple[int, str, str]:
    """``sessionshot capture ARGS``; ``(exit status, stdout, stderr)``. ``tty``: stderr is a
    pseudo-terminal."""
    env = base_env(SESSIONSHOT_URL=stack.base_url, SESSIONSHOT_API_KEY=key)
    main, side = pty.openpty() if tty else (-1, -1)
    proc = await asyncio.create_subprocess_exec(
        sessionshot_bin(), "capture", *args,
        env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=side if tty else asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 180)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if tty:
        os.close(side)
        err = await asyncio.to_thread(_drain, main)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _drain(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:  # EIO once the terminal's other side is closed
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)


def _result(out: str) -> dict[str, Any]:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    data: dict[str, Any] = json.loads(lines[0])
    return data


async def test_a_png_is_saved_and_reported(
    stack: CaptureStack, target_site: TargetSite, tmp_path: Path
) -> None:
    _, key = await stack.new_key()
    code, out, err = await capture(
        stack, key, target_site.url("/form"), "-o", "shot.png", "--width", "800",
        "--height", "600", "--cookie", "session=abc", "--local-storage", "theme=dark",
        "--action", '{"type": "click", "selector": "#btn"}', "--redact", "#title",
        "--wait-for", "#btn", cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, (out, err, stack.logs()[-3000:])
    result = _result(out)
    assert result["status"] == "completed" and result["id"].startswith("cap_")
    assert result["path"] == "shot.png"
    data = (tmp_path / "shot.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE) and image_size(data) == (800, 600)
    assert result["bytes"] == len(data)
    assert "\r" not in err, "no terminal: plain lines"
    assert result["id"] in err and "completed" in err
    assert key not in out + err
    cookie_requests = [r for r in target_site.requests if r.path == "/form"]
    assert any(r.headers.get("cookie") == "session=abc" for r in cookie_requests)


async def test_a_failed_capture_exits_1_with_its_code(
    stack: CaptureStack, target_site: TargetSite, tmp_path: Path
) -> None:
    _, key = await stack.new_key()
    code, out, err = await capture(
        stack, key, target_site.url("/form"), "--wait-for", "#never-there", cwd=tmp_path
    )
    assert code == 1, (out, err)
    result = _result(out)
    assert result["status"] == "failed"
    assert result["error"]["code"] == "SELECTOR_TIMEOUT"
    assert "SELECTOR_TIMEOUT" in err
    assert list(tmp_path.iterdir()) == [], "no file for a failed capture"
    assert key not in out + err


async def test_a_refused_capture_exits_1_with_the_api_code(
    stack: CaptureStack, target_site: TargetSite, tmp_path: Path
) -> None:
    _, key = await stack.new_key()
    code, out, err = await capture(
        stack, key, target_site.url("/form", host=OTHER_HOST), cwd=tmp_path
    )
    assert code == 1, (out, err)
    assert _result(out)["error"]["code"] == "DOMAIN_NOT_ALLOWED"
    assert key not in out + err


async def test_the_progress_line_is_rewritten_on_a_terminal(
    stack: CaptureStack, target_site: TargetSite, tmp_path: Path
) -> None:
    _, key = await stack.new_key()
    code, out, err = await capture(
        stack, key, target_site.url("/form"), "--format", "jpeg", cwd=tmp_path, tty=True
    )
    assert code == 0, (out, err)
    result = _result(out)
    assert (tmp_path / f"{result['id']}.jpeg").read_bytes()[:2] == b"\xff\xd8"
    assert "\r" in err and "completed" in err
    assert key not in out + err


async def test_without_a_key_it_stops_with_status_2(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sessionshot_bin(), "capture", "https://app.test/",
        env=base_env(SESSIONSHOT_URL="http://127.0.0.1:9"), cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, (out, err)
    assert _result(out.decode())["error"]["code"] == "CONFIGURATION"
    assert b"SESSIONSHOT_API_KEY" in err
