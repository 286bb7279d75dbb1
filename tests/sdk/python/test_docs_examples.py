"""The Python examples of the client's docs: all compile, and the quick one runs as written
(against the test site instead of example.com)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from tests.support.service import Service
from tests.support.target_site import TargetSite

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "sdk" / "python" / "README.md", ROOT / "docs" / "sdk.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

pytestmark = pytest.mark.timeout(240)


def _blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_every_example_compiles(path: Path) -> None:
    blocks = _blocks(path)
    assert blocks, path
    for number, block in enumerate(blocks):
        compile(block, f"{path.name}[{number}]", "exec")


async def test_the_quick_example_runs(
    browser_service: Service,
    api_key: str,
    target_site: TargetSite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = _blocks(ROOT / "docs" / "sdk.md")[0].replace(
        "https://example.com/", target_site.url("/")
    )
    monkeypatch.setenv("SESSIONSHOT_URL", browser_service.base_url)
    monkeypatch.setenv("SESSIONSHOT_API_KEY", api_key)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()

    def run() -> None:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "sdk.md", "exec"), {})

    await asyncio.to_thread(run)
    assert (tmp_path / "example.png").read_bytes().startswith(b"\x89PNG")
    assert out.getvalue().strip(), "the page's Markdown is printed"
    assert os.environ["SESSIONSHOT_API_KEY"] not in out.getvalue()
