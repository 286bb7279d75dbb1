"""The reference polling client (``capture.ts`` of the API docs, ported to plain JavaScript in
``client/capture.js``) against real ``sessionshot serve`` and ``sessionshot worker`` processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx

from sessions.render import image_size
from tests.support.capture_stack import CaptureStack
from tests.support.target_site import TargetSite

CLIENT = Path(__file__).parent / "client" / "capture.js"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


STACK_SETTINGS = {"capture_timeout_s": 30}
"""The module's API process and worker (the ``stack`` fixture of tests/conftest.py)."""


async def run_client(*args: str, **env: str) -> tuple[int, str, str]:
    """``node capture.js ARGS`` with ``env`` added; ``(exit status, stdout, stderr)``."""
    node = shutil.which("node")
    assert node, "node (v20) is required for the client tests"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSHOT_")}
    full_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT),
        *args,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_client_polls_to_completion_and_the_png_downloads(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    _, key = await stack.new_key()
    code, out, err = await run_client(
        target_site.url("/form"),
        SESSIONSHOT_BASE_URL=stack.base_url,
        SESSIONSHOT_API_KEY=key,
        CAPTURE_TIMEOUT_MS="60000",
    )
    assert code == 0, (out, err, stack.logs()[-3000:])
    capture: dict[str, Any] = json.loads(out)
    assert capture["status"] == "completed", capture
    assert capture["id"].startswith("cap_")
    result = capture["result"]
    assert result["format"] == "png"

    async with httpx.AsyncClient(timeout=30) as http:
        file = await http.get(result["url"])
    assert file.status_code == 200, file.text
    assert file.headers["content-type"].startswith("image/png")
    assert file.content.startswith(PNG_SIGNATURE)
    assert image_size(file.content) == (result["width"], result["height"]) == (1280, 800)
    assert len(file.content) == result["bytes"]


async def test_client_reports_an_api_error_instead_of_polling(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    code, out, err = await run_client(
        "--base-url",
        stack.base_url,
        target_site.url("/form"),
        SESSIONSHOT_API_KEY="ssk_not_a_real_key",
    )
    assert code == 1, (out, err)
    assert out == ""
    assert "401" in err and "UNAUTHENTICATED" in err
