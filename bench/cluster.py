"""dataex on a 3-node Patroni cluster (synchronous replication) beside one PostgreSQL, in one run.

Run from the repository root (needs Debian's etcd-server; Patroni is in the lock):

    .venv/bin/python bench/cluster.py [--rounds 3] [--seconds 5]

Writes: durable signed orders/s end to end (bench/submit_e2e.py's crossing
orders and load generator: wrk when installed) against dataex on the embedded
PostgreSQL and against dataex on the cluster, where each batch's commit also
waits for the synchronous standby. Reads: market data (depth, ticker, trades,
product) from a server whose public reads go to a replica
(DATAEX_READ_DATABASE_URL) beside one reading from the primary alone, the same
database and load generator (bench/get_loadgen.py, its own process). Rounds
alternate which side goes first; medians and ratios are printed as a table.
On this one machine every node shares the same 2 cores, so a replica adds no
CPU: the read ratio shows what routing costs, not what a replica on its own
machine adds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._server import free_port, wait_ready  # noqa: E402
from bench.submit_e2e import _postmaster, run_dataex, stop  # noqa: E402

from dataex.cluster.local import LocalCluster  # noqa: E402
from dataex.store.database.embedded import start_embedded, stop_embedded  # noqa: E402

READ_PATHS = ["/v1/market/products/QWEN-IN-1M/depth?levels=",
              "/v1/market/products/QWEN-IN-1M/trades?limit=",
              "/v1/market/products/QWEN-IN-1M/candles?interval=1m&limit="]


def writes(cluster: LocalCluster, args: argparse.Namespace, round_no: int) -> dict[str, dict]:
    out: dict[str, dict] = {}
    sides = ["single", "cluster"] if round_no % 2 == 0 else ["cluster", "single"]
    for side in sides:
        with tempfile.TemporaryDirectory(prefix="dataex-bench-") as folder:
            work = Path(folder)
            if side == "single":
                url = start_embedded(work / "pg", f"bench_{os.getpid()}")
                try:
                    out[side], _ = run_dataex(args.documents, args.connections, work, "orders",
                                              args.seconds, url, _postmaster(work / "pg"))
                finally:
                    stop_embedded(work / "pg")
            else:
                name = f"bench_{os.getpid()}_{round_no}"
                cluster.create_database(name)
                out[side], _ = run_dataex(args.documents, args.connections, work, "orders",
                                          args.seconds, cluster.url(database=name), None)
    return out


def reads(cluster: LocalCluster, data_dir: Path, database: str, args: argparse.Namespace,
          round_no: int) -> dict[str, dict]:
    out: dict[str, dict] = {}
    sides = ["primary", "replica"] if round_no % 2 == 0 else ["replica", "primary"]
    for side in sides:
        port = free_port()
        env = {**os.environ, "DATAEX_DATA_DIR": str(data_dir), "DATAEX_PORT": str(port),
               "DATAEX_DATABASE_URL": cluster.url(database=database),
               "DATAEX_READ_DATABASE_URL": (cluster.url("prefer-standby", database)
                                            if side == "replica" else ""),
               "DATAEX_LOG_FORMAT": "none"}
        server = subprocess.Popen([sys.executable, "-m", "dataex", "serve", "--demo"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(f"http://127.0.0.1:{port}/health/ready", server, timeout=180)
            results = [json.loads(subprocess.run(
                [sys.executable, str(REPO / "bench" / "get_loadgen.py"), "127.0.0.1", str(port),
                 path, "20", str(args.read_connections), str(args.seconds), str(round_no)],
                check=True, capture_output=True, text=True).stdout) for path in READ_PATHS]
            out[side] = {"rps": sum(r["rps"] for r in results) / len(results),
                         "p99_ms": max(r["p99_ms"] for r in results),
                         "errors": sum(r["errors"] for r in results)}
        finally:
            stop(server)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--documents", type=int, default=30000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--read-connections", type=int, default=16)
    args = parser.parse_args()
    cluster = LocalCluster.create()
    write_rows: dict[str, list[dict]] = {"single": [], "cluster": []}
    read_rows: dict[str, list[dict]] = {"primary": [], "replica": []}
    try:
        cluster.start()
        cluster.create_database("bench_reads")
        with tempfile.TemporaryDirectory(prefix="dataex-bench-reads-") as folder:
            for round_no in range(args.rounds):
                cluster.wait_healthy()
                for side, row in writes(cluster, args, round_no).items():
                    write_rows[side].append(row)
                for side, row in reads(cluster, Path(folder) / "data", "bench_reads", args,
                                       round_no).items():
                    read_rows[side].append(row)
                print(f"round {round_no + 1}: writes "
                      + "  ".join(f"{k} {v[-1]['rate']:.0f}/s p99 {v[-1]['p99_ms']:.0f} ms"
                                  for k, v in write_rows.items())
                      + "; reads " + "  ".join(f"{k} {v[-1]['rps']:.0f}/s"
                                               for k, v in read_rows.items()), file=sys.stderr)
    finally:
        cluster.stop()

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print("| durable signed orders, end to end | orders/s | p50 ms | p99 ms |\n"
          "|---|---:|---:|---:|")
    for side, name in (("single", "one PostgreSQL (embedded)"),
                       ("cluster", "3-node Patroni cluster, synchronous standby")):
        rows = write_rows[side]
        print(f"| {name} | {med(rows, 'rate'):,.0f} | {med(rows, 'p50_ms'):.1f} | "
              f"{med(rows, 'p99_ms'):.1f} |")
    ratio = med(write_rows["cluster"], "rate") / med(write_rows["single"], "rate")
    print(f"\ncluster / single orders/s: {ratio:.2f}\n")
    print("| market data reads (depth, trades, candles) | requests/s | p99 ms |\n|---|---:|---:|")
    for side, name in (("primary", "from the primary alone"),
                       ("replica", "from a replica (DATAEX_READ_DATABASE_URL)")):
        rows = read_rows[side]
        print(f"| {name} | {med(rows, 'rps'):,.0f} | {med(rows, 'p99_ms'):.1f} |")
    print(f"\nreplica / primary reads/s: "
          f"{med(read_rows['replica'], 'rps') / med(read_rows['primary'], 'rps'):.2f}")
    errors = sum(r["errors"] for rows in read_rows.values() for r in rows)
    print(f"read errors: {errors}; load generator for writes: {write_rows['single'][0]['loadgen']}")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
