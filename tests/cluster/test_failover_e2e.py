"""dataex on a 3-node Patroni cluster under load: failovers, a writer dying, switchover, replicas.

Each test drives real processes: etcd, three Patroni-managed PostgreSQL nodes
with synchronous replication, and `dataex serve` (two in the writer test).
Orders go in at a steady rate from four clients the whole time. Afterwards
every acknowledged order is in the log (by entry hash), `dataex audit verify`
and `dataex ledger check` pass, and no client saw a 5xx other than 503.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from dataex.client.sdk import Client, build_document
from dataex.cluster.local import LocalCluster, postgres_bin_dir
from dataex.keys.files import load_key
from tests.cluster.harness import ClusterServer, OrderLoad

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

FAILOVERS = 5


def _nothing_lost(load: OrderLoad, server: ClusterServer, tmp_path: Path) -> None:
    missing = set(load.acknowledged) - server.logged_hashes(tmp_path / "log.jsonl")
    assert not missing, f"{len(missing)} acknowledged orders are not in the log"
    server.check_log_and_ledger()


def _only_503s(load: OrderLoad, *, allow_no_answer: bool = False) -> dict[tuple[int, str], int]:
    statuses = load.statuses()
    allowed = {201, 503} | ({0} if allow_no_answer else set())
    wrong = {k: v for k, v in statuses.items() if k[0] not in allowed}
    assert not wrong, f"answers other than 201/503: {wrong} (all: {statuses})"
    return statuses


def test_five_primary_failovers_under_load_lose_no_acknowledged_order(
        cluster: LocalCluster, writer: ClusterServer, tmp_path: Path) -> None:
    load = OrderLoad([writer.url], writer.key("bob"))
    load.start()
    resumed: list[float] = []
    try:
        for _ in range(FAILOVERS):
            cluster.wait_healthy()
            load.wait_for_acks(50)
            old = cluster.leader()
            assert old is not None
            killed = time.monotonic()
            cluster.kill_postgres(old)  # Patroni promotes the synchronous standby
            resumed.append(load.first_ack_sent_after(killed))
            new = cluster.leader()
            assert new is not None and new is not old
            load.wait_for_acks(50)
    finally:
        load.stop()
    print(f"\nkill -9 of the primary -> first new acknowledged order: "
          f"{', '.join(f'{s:.2f}' for s in resumed)} s; "
          f"p50 {statistics.median(resumed):.2f} s, max {max(resumed):.2f} s")
    print(f"answers: {_only_503s(load)}")
    assert writer.ready_role() == "writer"
    _nothing_lost(load, writer, tmp_path)


def test_a_killed_writer_is_replaced_by_the_standby_with_nothing_lost(
        cluster: LocalCluster, writer: ClusterServer, tmp_path: Path) -> None:
    standby = ClusterServer(writer.data_dir, writer.database_url)  # the writer's keys
    standby.start(role="standby")
    load = OrderLoad([writer.url, standby.url], writer.key("bob"))
    load.start()
    try:
        load.wait_for_acks(100)
        killed = time.monotonic()
        writer.kill()  # kill -9: its session ends, and with it the write lock
        took_over = load.first_ack_sent_after(killed)
        assert standby.ready_role() == "writer"
        load.wait_for_acks(100)
    finally:
        load.stop()
        standby.stop()
    print(f"\nkill -9 of the writing dataex -> first order acknowledged by the standby: "
          f"{took_over:.2f} s; answers: {_only_503s(load, allow_no_answer=True)}")
    standby.start()  # again, alone: it writes at once
    try:
        _nothing_lost(load, standby, tmp_path)
    finally:
        standby.stop()


def test_a_switchover_loses_nothing_and_answers_only_503_meanwhile(
        cluster: LocalCluster, writer: ClusterServer, tmp_path: Path) -> None:
    load = OrderLoad([writer.url], writer.key("bob"))
    load.start()
    try:
        load.wait_for_acks(50)
        before = cluster.leader()
        after = cluster.switchover()  # patronictl switchover, through Patroni's REST API
        assert after is not before
        load.wait_for_acks(100)
    finally:
        load.stop()
    print(f"\nswitchover answers: {_only_503s(load)}")
    _nothing_lost(load, writer, tmp_path)


def test_reads_from_a_replica_see_own_writes_at_once_and_public_ones_after_the_lag(
        cluster: LocalCluster, database_url: str, tmp_path: Path) -> None:
    replica_url = database_url.replace("read-write", "prefer-standby")
    database = database_url.rsplit("/", 1)[1].split("?")[0]
    server = ClusterServer(tmp_path / "data", database_url, replica_url)
    server.start("--demo")
    try:
        bob = load_key(server.key("bob"))
        delays = []
        with Client(server.url) as sdk, httpx.Client(base_url=server.url, timeout=10) as client:
            for i in range(20):
                price = 300 + i
                body = {"client_order_ref": f"r{i}", "symbol": "QWEN-IN-1M", "side": "buy",
                        "order_type": "limit", "price": price, "quantity": 1}
                sdk.submit(build_document("dataex.market.order.place.v1", body, bob))
                acknowledged = time.monotonic()
                # One's own orders are read from the primary: the new one is there at once.
                own = sdk.signed_get("/v1/market/me/orders", bob, status="open")
                assert any(o["client_order_ref"] == f"r{i}" for o in own["orders"])
                # Public depth is read from the replica: the level shows once it has replayed.
                while not any(level["price"] == price for level in client.get(
                        "/v1/market/products/QWEN-IN-1M/depth?levels=500").json()["bids"]):
                    assert time.monotonic() - acknowledged < 10, "the replica never caught up"
                    time.sleep(0.002)
                delays.append(time.monotonic() - acknowledged)
            lag = [line for line in client.get("/metrics").text.splitlines()
                   if line.startswith("dataex_read_replica_lag_")]
        assert len(lag) == 2 and all(line.split()[-1] != "NaN" for line in lag), lag
        # The public reads went to a standby: dataex's database is open there.
        standbys = [n for n in cluster.nodes if n is not cluster.leader()]
        assert sum(_connections(n.port, database) for n in standbys) > 0
    finally:
        server.stop()
    print(f"\npublic read visible after the ack: p50 {statistics.median(delays) * 1000:.1f} ms, "
          f"max {max(delays) * 1000:.1f} ms; {lag}")


def _connections(port: int, database: str) -> int:
    psql = str(postgres_bin_dir() / "psql")
    out = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d",
                          "postgres", "-tAc",
                          f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())
