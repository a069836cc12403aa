"""A 3-node Patroni cluster per module, when etcd and Patroni are installed (.ci/run does)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataex.cluster.local import LocalCluster, etcd_binary, patroni_available
from tests.cluster.harness import ClusterServer

_databases = itertools.count(1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    if etcd_binary() is None:
        pytest.skip("etcd is not installed (Debian: apt install etcd-server; .ci/run does)")
    if not patroni_available():
        pytest.skip("Patroni is not installed (it is in the lock: python3 dev.py test installs it)")
    local = LocalCluster.create()
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture
def database_url(cluster: LocalCluster) -> str:
    """A fresh database on the cluster for one test, reached through every node."""
    cluster.wait_healthy()
    name = f"dataex_{next(_databases)}"
    cluster.create_database(name)
    return cluster.url(database=name)


@pytest.fixture
def writer(database_url: str, tmp_path: Path) -> Iterator[ClusterServer]:
    """`dataex serve --demo` writing to the cluster."""
    server = ClusterServer(tmp_path / "data", database_url)
    server.start("--demo")
    try:
        yield server
    finally:
        server.stop()
