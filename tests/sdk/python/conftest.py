"""Fixtures of the Python client tests: a key of a fresh workspace on the browser service."""

from __future__ import annotations

import pytest

from tests.support.hosts import APP_HOST
from tests.support.procs import ServiceProcess
from tests.support.service import Service


@pytest.fixture
async def api_key(browser_service: Service, capture_worker: ServiceProcess) -> str:
    """An API key of a fresh workspace allowed on ``app.test``, with a worker running."""
    _, key = await browser_service.new_key((APP_HOST,))
    return key
