"""The TypeScript client (``sdk/typescript``) against real ``sessionshot serve`` and
``sessionshot worker`` processes: its own ``node --test`` suite, its example type-checked,
and its declared types held to the running service's ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from tests.conftest import api_and_worker
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack
from tests.support.hosts import OTHER_HOST
from tests.support.procs import RedisServer
from tests.support.target_site import TargetSite
from tests.support.tls import TLSMaterial

SDK = Path(__file__).resolve().parents[2] / "sdk" / "typescript"
TSC = SDK / "node_modules" / "typescript" / "bin" / "tsc"
DOCS = SDK.parents[1] / "docs"

pytestmark = pytest.mark.timeout(400)
STACK_SETTINGS = {"capture_timeout_s": 30}
"""The module's API process and worker (the ``stack`` fixture of tests/conftest.py)."""


async def run(
    *args: str, env: dict[str, str] | None = None, timeout_s: float = 300
) -> tuple[int, str]:
    """Run a command in the SDK's directory (off the event loop, which serves the test sites);
    ``(exit status, stdout + stderr)``."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=SDK,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def node() -> str:
    """The ``node`` on PATH, or the binary ``SDK_TS_NODE`` names (to run the client's tests
    on another Node, such as the oldest it supports, 18)."""
    path = os.environ.get("SDK_TS_NODE") or shutil.which("node")
    assert path, "node (>= 18) is required for the TypeScript client's tests"
    return path


@pytest.fixture(scope="module")
async def built_sdk() -> Path:
    """The SDK compiled afresh (``npm ci`` is the Makefile's ``sdk-ts`` target)."""
    assert TSC.exists(), "sdk/typescript is not installed: run `make sdk-ts` (npm ci)"
    code, out = await run(node(), str(TSC), "-p", ".", timeout_s=180)
    assert code == 0, f"tsc failed:\n{out}"
    return SDK / "dist" / "index.js"


@pytest.fixture(scope="module")
async def limited(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CaptureStack]:
    """An API process that lets a key make two requests a second (for the 429 retries)."""
    workdir = tmp_path_factory.mktemp("sdk-ts-limited")
    async with api_and_worker(
        redis_server, target_site, canary_site, workdir, "tl", workers=0, rate_limit="2/second"
    ) as started:
        yield started


def webhook_vectors(path: Path) -> Path:
    """Deliveries signed by the Python ``standardwebhooks`` library, as JSON."""
    vectors: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    payloads = [
        {"type": "capture.completed", "timestamp": now.isoformat(), "data": {"id": "cap_1"}},
        {"type": "webhook.test", "timestamp": now.isoformat(), "data": {"note": "héllo ✓"}},
    ]
    for n, event in enumerate(payloads):
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        msg_id = f"msg_{secrets.token_hex(8)}"
        signature = Webhook(secret).sign(msg_id, now, body)
        if n == 1:  # a rotated endpoint: a signature of the old secret follows
            old = Webhook("whsec_" + base64.b64encode(b"old secret").decode())
            signature = f"{signature} {old.sign(msg_id, now, body)}"
        vectors.append(
            {
                "secret": secret,
                "id": msg_id,
                "timestamp": int(now.timestamp()),
                "payload": body,
                "signature": signature,
            }
        )
    path.write_text(json.dumps(vectors, ensure_ascii=False))
    return path


async def test_the_node_suite_passes_against_the_service(
    built_sdk: Path,
    stack: CaptureStack,
    limited: CaptureStack,
    target_site: TargetSite,
    tls_material: TLSMaterial,
    tmp_path: Path,
) -> None:
    """Captures created, waited for and downloaded; a session driven by ref and closed;
    typed errors; 429 answers retried: ``node --test`` over the SDK's tests."""
    _, key = await stack.new_key()
    _, limited_key = await limited.new_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSHOT_")}
    env.update(
        SESSIONSHOT_URL=stack.base_url,
        SESSIONSHOT_API_KEY=key,
        SESSIONSHOT_TEST_SITE=target_site.origin(),
        SESSIONSHOT_OTHER_SITE=target_site.origin(OTHER_HOST),
        SESSIONSHOT_LIMITED_URL=limited.base_url,
        SESSIONSHOT_LIMITED_API_KEY=limited_key,
        SESSIONSHOT_WEBHOOK_VECTORS=str(webhook_vectors(tmp_path / "vectors.json")),
        SESSIONSHOT_TEST_TLS_CERT=str(tls_material.cert_path),
        SESSIONSHOT_TEST_TLS_KEY=str(tls_material.key_path),
    )
    tests = sorted(str(path.relative_to(SDK)) for path in (SDK / "test").glob("*.test.mjs"))
    assert tests
    code, out = await run(node(), "--test", "--test-reporter=tap", *tests, env=env)
    assert code == 0, f"node --test failed:\n{out}"
    assert "# fail 0" in out, out
    assert "# skipped 0" in out, out
    assert "# cancelled 0" in out, out
    assert "# pass 0" not in out, out


async def test_the_examples_type_check(built_sdk: Path) -> None:
    """``tsc --noEmit`` over examples/*.ts, which use the package as users import it."""
    code, out = await run(node(), str(TSC), "-p", "tsconfig.examples.json", timeout_s=180)
    assert code == 0, f"the examples do not type-check:\n{out}"


def typescript_blocks(markdown: str) -> str:
    """The ```ts blocks of a Markdown text, in order, as one module."""
    blocks = re.findall(r"^```ts\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)
    return "\n".join(blocks)


@pytest.mark.parametrize("markdown", [SDK / "README.md", DOCS / "sdk.md"], ids=["readme", "docs"])
async def test_the_documented_typescript_type_checks(
    built_sdk: Path, markdown: Path, tmp_path: Path
) -> None:
    """The TypeScript of the README (and of docs/sdk.md's TypeScript section), read in order as
    one module, type-checks against the built package."""
    text = markdown.read_text()
    if markdown.name == "sdk.md":
        assert "\n## TypeScript" in text, "docs/sdk.md has no TypeScript section"
        text = text[text.index("\n## TypeScript") :]
    source = typescript_blocks(text)
    assert 'from "sessionshot"' in source
    (tmp_path / "doc.mts").write_text(source)
    tsconfig = {
        "extends": str(SDK / "tsconfig.json"),
        "compilerOptions": {
            "noEmit": True,
            "rootDir": str(tmp_path),
            "declaration": False,
            "declarationMap": False,
            "sourceMap": False,
            "noUnusedLocals": False,
            "types": ["node"],
            "typeRoots": [str(SDK / "node_modules" / "@types")],
            "paths": {"sessionshot": [str(SDK / "dist" / "index.d.ts")]},
        },
        "include": [],
        "files": [str(tmp_path / "doc.mts")],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(tsconfig))
    code, out = await run(node(), str(TSC), "-p", str(tmp_path / "tsconfig.json"), timeout_s=180)
    assert code == 0, f"the TypeScript of {markdown.name} does not type-check:\n{out}\n{source}"


async def drift(document: dict[str, Any], path: Path) -> tuple[int, str]:
    path.write_text(json.dumps(document))
    return await run(node(), "scripts/drift.mjs", str(path), timeout_s=120)


async def test_the_sdk_types_cover_the_openapi_document(
    built_sdk: Path, stack: CaptureStack, tmp_path: Path
) -> None:
    """Every field of every schema the SDK's endpoints reach is declared by the SDK, and a
    field added to a response schema, or a schema the SDK does not know, fails the check."""
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    code, out = await drift(document, tmp_path / "openapi.json")
    assert code == 0, f"the SDK drifted from the API:\n{out}"
    assert "schemas" in out

    schemas = document["components"]["schemas"]
    for schema, field in [("Capture", "thumbnailUrl"), ("SessionObject", "region")]:
        extra = copy.deepcopy(document)
        extra["components"]["schemas"][schema]["properties"][field] = {"type": "string"}
        code, out = await drift(extra, tmp_path / f"openapi-{schema}.json")
        assert code == 1, out
        assert f'schema {schema}: field "{field}" is missing' in out, out

    unknown = copy.deepcopy(document)
    unknown["components"]["schemas"]["Thumbnail"] = {"type": "object", "properties": {"url": {}}}
    props = unknown["components"]["schemas"]["CaptureFile"]["properties"]
    props["thumbnail"] = {"$ref": "#/components/schemas/Thumbnail"}
    code, out = await drift(unknown, tmp_path / "openapi-unknown.json")
    assert code == 1, out
    assert "schema Thumbnail: the SDK exports no type Thumbnail" in out, out
    assert schemas  # the original document is untouched
    assert "thumbnail" not in schemas["CaptureFile"]["properties"]
