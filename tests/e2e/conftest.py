"""What the end-to-end modules built on a two-instance ``cluster`` fixture share (see
``tests.conftest.two_instances``): a key of a workspace allowed on the target site, and
each instance by name."""

from __future__ import annotations

import pytest

from tests.support.cluster import Cluster, Instance


@pytest.fixture(scope="module")
async def key(cluster: Cluster) -> str:
    _, api_key = await cluster.new_key(("app.test",))
    return api_key


@pytest.fixture
def a(cluster: Cluster) -> Instance:
    return cluster.instances["a"]


@pytest.fixture
def b(cluster: Cluster) -> Instance:
    return cluster.instances["b"]
