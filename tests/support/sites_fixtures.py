"""Pytest fixtures for the loopback test sites (imported by ``tests/conftest.py``).

``tls_material``, ``canary_site`` and ``target_site`` live for the whole session, on the
session event loop; ``canary_baseline`` is per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.canary_site import CanarySite, CanaryWatch
from tests.support.target_site import TargetSite
from tests.support.tls import TLSMaterial, generate_tls_material

__all__ = ["canary_baseline", "canary_site", "target_site", "tls_material"]


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TLSMaterial:
    """A throwaway CA with server and canary certificates, as files in a tmp dir."""
    return generate_tls_material(tmp_path_factory.mktemp("tls"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def canary_site(tls_material: TLSMaterial) -> AsyncIterator[CanarySite]:
    """The canary on 127.0.0.2 (``https://canary.test:PORT``), for the whole session."""
    canary = CanarySite(tls_material)
    await canary.start()
    yield canary
    await canary.aclose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def target_site(
    tls_material: TLSMaterial, canary_site: CanarySite
) -> AsyncIterator[TargetSite]:
    """The target on 127.0.0.1 (``https://app.test:PORT``), for the whole session."""
    site = TargetSite(tls_material, canary_site.port)
    await site.start()
    yield site
    await site.aclose()


@pytest.fixture
def canary_baseline(canary_site: CanarySite) -> CanaryWatch:
    """The canary's counters at the start of this test; ``.touched`` says if it was hit."""
    return canary_site.watch()
