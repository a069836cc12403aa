"""The service's Prometheus metrics: one registry per app, read by GET /metrics.

Request metrics are observed by api/observability.py; the sequencer reports
each committed batch through `BatchReport` (store/writer/sequencer.py); gauges that
are facts of the moment (queue depth, log size, pool use, seconds since the
last checkpoint) are read when /metrics is scraped, so they cost nothing in
between. docs/operators.md lists them with alerting rules, and
docs/grafana-dashboard.json charts them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dataex.store.writer.sequencer import RECOVERING, STANDBY, BatchReport

# Seconds; from a cached read (~100 us) to a slow commit under load.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("dataex_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("dataex_http_request_duration_seconds",
                                 "Time from request to the end of the answer", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.refusals = Counter("dataex_refusals", "Problem answers by slug", ["slug"],
                                registry=r)
        self.batch_size = Histogram("dataex_sequencer_batch_commands",
                                    "Commands per committed batch", buckets=BATCH_BUCKETS,
                                    registry=r)
        self.commit_seconds = Histogram("dataex_sequencer_commit_seconds",
                                        "Time to write and commit one batch",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.entries = Counter("dataex_log_entries", "Log entries appended, by kind",
                               ["kind"], registry=r)
        self.orders = Counter("dataex_orders", "Orders accepted", registry=r)
        self.trades = Counter("dataex_trades", "Trades settled", registry=r)
        self.cosignatures = Counter("dataex_witness_cosignatures",
                                    "Witness cosignatures accepted", registry=r)
        self._gauges: dict[str, Gauge] = {}

    def request(self, route: str, method: str, status: int, seconds: float,
                refusal: str | None) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if refusal is not None:
            self.refusals.labels(refusal).inc()

    def batch(self, report: BatchReport) -> None:
        self.batch_size.observe(report.commands)
        self.commit_seconds.observe(report.seconds)
        for kind, count in report.kinds.items():
            self.entries.labels(kind).inc(count)
        self.orders.inc(report.orders)
        self.trades.inc(report.trades)

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge read at scrape time; reading never fails the scrape (NaN instead)."""
        gauge = Gauge(name, documentation, registry=self.registry)

        def safe() -> float:
            try:
                return float(read())
            except Exception:
                return float("nan")

        gauge.set_function(safe)
        self._gauges[name] = gauge


def runtime_gauges(metrics: Metrics, runtime: Any) -> None:
    """The moment's facts of one runtime: role, queue, log, checkpoints, database pool, replica."""
    sequencer = runtime.sequencer
    metrics.gauge("dataex_sequencer_queue_depth", "Commands waiting for the sequencer",
                  sequencer.queue_depth)
    metrics.gauge("dataex_log_size", "Entries in the audit log", lambda: sequencer.head.seq)
    metrics.gauge("dataex_sequencer_isolated_commands",
                  "Commands refused alone because they failed their batch (since start)",
                  lambda: sequencer.isolated_commands)
    metrics.gauge("dataex_sequencer_state_reloads",
                  "State rebuilds from the database (since start, start-up included)",
                  lambda: sequencer.reloads)
    metrics.gauge("dataex_sequencer_running", "1 while this server writes (holds the lock)",
                  lambda: 1 if sequencer.running else 0)
    metrics.gauge("dataex_sequencer_standby",
                  "1 while this server stands by: another server writes, this one serves reads",
                  lambda: 1 if sequencer.role == STANDBY else 0)
    metrics.gauge("dataex_sequencer_recovering",
                  "1 while this server has lost its database or lock and is reconnecting",
                  lambda: 1 if sequencer.role == RECOVERING else 0)
    metrics.gauge("dataex_sequencer_takeovers",
                  "Times this server became the writer again after not being it (since start)",
                  lambda: sequencer.takeovers)
    metrics.gauge("dataex_checkpoint_age_seconds", "Seconds since the latest signed checkpoint",
                  lambda: runtime.checkpointer.seconds_since_latest(time.time()))
    metrics.gauge("dataex_checkpoint_size", "Tree size of the latest signed checkpoint",
                  lambda: runtime.checkpointer.latest_size())
    # The pool is read each time: a failover replaces it (engine.dispose()).
    metrics.gauge("dataex_db_pool_size", "Connections the pool keeps",
                  lambda: runtime.engine.pool.size())
    metrics.gauge("dataex_db_pool_checked_out", "Pooled connections in use",
                  lambda: runtime.engine.pool.checkedout())
    metrics.gauge("dataex_db_pool_overflow", "Connections beyond the pool's size",
                  lambda: runtime.engine.pool.overflow())
    if runtime.replica is not None:
        replica = runtime.replica
        metrics.gauge("dataex_read_replica_lag_bytes",
                      "WAL bytes the read replica has not replayed yet (NaN: not sampled)",
                      lambda: replica.lag_bytes)
        metrics.gauge("dataex_read_replica_lag_seconds",
                      "Seconds since the replica's last replayed commit while it is behind, "
                      "0 when caught up (NaN: not sampled)",
                      lambda: replica.lag_seconds)
