"""End to end: pre-signed documents POSTed to a real `dataex serve`, each durable first.

Run from the repository root:

    .venv/bin/python bench/submit_e2e.py [--kind admissions|orders] [--documents 20000]

It starts `dataex serve` on a fresh data directory (embedded PostgreSQL, or
DATAEX_DATABASE_URL's server with a fresh database), pre-signs N participant
admissions by the operator (the write path every signed document takes:
parse, schema, Ed25519, sequencer, one audit entry, group commit), and sends
them from bench/loadgen.py in its own process over keep-alive connections.
In the same run it measures the no-op Litestar POST of bench/_noop_app.py
under granian with the same load generator, and reports both and their
ratio. Afterwards it checks that every 201 is in the log (nothing
acknowledged was lost). Medians over --rounds rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._noop_app import sample_body  # noqa: E402
from bench._server import free_port, wait_ready  # noqa: E402

from dataex.client.sdk import Client, build_document  # noqa: E402
from dataex.core.documents.encoding import b64url_encode  # noqa: E402
from dataex.core.documents.signing import public_key_bytes  # noqa: E402
from dataex.core.documents.timefmt import format_utc  # noqa: E402
from dataex.keys.files import load_key  # noqa: E402
from dataex.store.database.embedded import start_embedded, stop_embedded  # noqa: E402


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process, all its threads (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: int) -> list[int]:
    """`root` and every process below it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class CpuMeter:
    """CPU seconds used by process trees between start() and stop() (processes alive at both)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.before: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self.before = {name: {p: _cpu_seconds(p) for p in _tree(root)}
                       for name, root in self.roots.items()}

    def stop(self) -> dict[str, float]:
        return {name: sum(_cpu_seconds(p) - was for p, was in self.before[name].items()
                          if Path(f"/proc/{p}").exists())
                for name in self.roots}


def _postmaster(data: Path) -> int | None:
    pid_file = data / "pgdata" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def load(port: int, path: str, bodies: list[bytes], connections: int, work: Path,
         seconds: float, meter: CpuMeter | None = None, repeat: bool = False) -> dict:
    """Send `bodies` (each at most once) from a separate process; summary with CPU per request.

    With `repeat` (and wrk), the first body is sent over and over instead.

    wrk (one thread, bench/wrk_bodies.lua) runs for `seconds` when it is on PATH: it costs
    about 40 us of CPU per request here, so the server, not the client, sets the rate. Else
    bench/loadgen.py sends every body once (it tops out near 2,000-2,600 requests/s on one
    core, so it caps what it can show).
    """
    bodies_file = work / "bodies.jsonl"
    bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    wrk = shutil.which("wrk")
    if meter:
        meter.start()
    if wrk is not None:
        out = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
             "-s", str(REPO / "bench" / "wrk_bodies.lua"),
             f"http://127.0.0.1:{port}{path}", "--", str(bodies_file),
             *(["repeat"] if repeat else [])],
            check=True, capture_output=True, text=True).stdout
        raw = json.loads(out.strip().splitlines()[-1])
        if raw["exhausted"]:
            raise SystemExit(f"wrk used up all {len(bodies)} bodies in {seconds} s: "
                             "give more --documents or fewer --seconds")
        summary = {"loadgen": "wrk", "requests": raw["completed"], "sent": raw["sent"],
                   "errors": raw["socket_errors"], "statuses": raw["statuses"],
                   "rate": round(raw["completed"] / (raw["duration_us"] / 1e6), 1),
                   "p50_ms": raw["p50_us"] / 1e3, "p99_ms": raw["p99_us"] / 1e3}
    else:
        spec = work / "spec.json"
        spec.write_text(json.dumps({"host": "127.0.0.1", "port": port, "path": path,
                                    "bodies": str(bodies_file), "connections": connections,
                                    "deadline_s": 120}))
        out = subprocess.run([sys.executable, str(REPO / "bench" / "loadgen.py"), str(spec)],
                             check=True, capture_output=True, text=True).stdout
        summary = {"loadgen": "python", **json.loads(out)["summary"]}
        summary["sent"] = summary["requests"]
    if meter:
        for name, cpu in meter.stop().items():
            summary[f"{name}_cpu_us"] = round(cpu * 1e6 / max(1, summary["requests"]), 1)
    return summary


def fresh_database_url(base: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    async def create() -> None:
        conn = await asyncpg.connect(base)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _admissions(n: int, operator: Ed25519PrivateKey) -> list[bytes]:
    """n participant admissions by the operator (writes two state rows each)."""
    bodies = []
    for i in range(n):
        key = Ed25519PrivateKey.generate()
        body = {"display_name": f"bench {i}", "legal_id": f"BENCH-{os.getpid()}-{i}",
                "public_key": b64url_encode(public_key_bytes(key)), "roles": ["trader"]}
        bodies.append(msgspec.json.encode(
            build_document("dataex.participant.admit.v1", body, operator)))
    return bodies


def _orders(n: int, operator: Ed25519PrivateKey, client: Client) -> list[bytes]:
    """n limit orders that cross in pairs (an issuer sells 1 unit, a buyer buys it).

    Set up first through the API: the two participants, a token product, its
    units and the buyer's cash. Each pair of orders settles one trade (DvP,
    fees, postings) in the sequencer's batch.
    """
    issuer, buyer = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ids = {}
    for name, key, roles in (("issuer", issuer, ["issuer", "trader"]),
                             ("buyer", buyer, ["trader"])):
        body = {"display_name": name, "legal_id": f"BENCH-{name}-{os.getpid()}",
                "public_key": b64url_encode(public_key_bytes(key)), "roles": roles}
        receipt = client.submit(build_document("dataex.participant.admit.v1", body, operator))
        ids[name] = receipt["events"][0]["participant_id"]
    start = datetime.now(UTC)
    client.submit(build_document("dataex.market.product.define_token.v1", {
        "symbol": "BENCH-1M", "model_id": "bench", "unit_label": "1M tokens",
        "valid_from": format_utc(start - timedelta(days=1)),
        "valid_until": format_utc(start + timedelta(days=30)),
        "tick_size": 1, "lot_size": 1, "min_price": 1, "max_price": 1_000_000}, issuer))
    client.submit(build_document("dataex.market.product.approve.v1", {"symbol": "BENCH-1M"},
                                 operator))
    client.submit(build_document("dataex.market.mint.v1", {"symbol": "BENCH-1M",
                                                           "quantity": n}, issuer))
    client.submit(build_document("dataex.market.deposit.v1", {
        "participant_id": ids["buyer"], "amount": 10**12}, operator))
    bodies = []
    for i in range(n):
        key, side = (issuer, "sell") if i % 2 == 0 else (buyer, "buy")
        bodies.append(msgspec.json.encode(build_document("dataex.market.order.place.v1", {
            "client_order_ref": f"b{i}", "symbol": "BENCH-1M", "side": side,
            "order_type": "limit", "price": 1000, "quantity": 1}, key)))
    return bodies


def database_urls(work: Path) -> tuple[dict[str, str], int | None]:
    """Fresh databases for dataex and the floor server on one PostgreSQL, and its postmaster.

    DATAEX_DATABASE_URL's server when set (its CPU is then not measured), else an embedded
    PostgreSQL in `work` that this process starts and stops, as `dataex serve` would.
    """
    names = {"dataex": f"bench_dataex_{os.getpid()}", "floor": f"bench_floor_{os.getpid()}"}
    base = os.environ.get("DATAEX_DATABASE_URL")
    if base:
        return {k: fresh_database_url(base, name) for k, name in names.items()}, None
    urls = {k: start_embedded(work / "pg", name) for k, name in names.items()}
    return urls, _postmaster(work / "pg")


def _meter(server: subprocess.Popen[bytes], postmaster: int | None) -> CpuMeter:
    roots = {"server": server.pid}
    if postmaster is not None:
        roots["postgres"] = postmaster
    return CpuMeter(roots)


def run_dataex(n: int, connections: int, work: Path, kind: str, seconds: float,
               url: str, postmaster: int | None,
               extra_env: dict[str, str] | None = None) -> tuple[dict, list[bytes]]:
    """dataex's rate; also returns the bodies it was sent (the floor server signs the same)."""
    port = free_port()
    env = {**os.environ, "DATAEX_DATA_DIR": str(work / "data"), "DATAEX_PORT": str(port),
           "DATAEX_DATABASE_URL": url, **(extra_env or {})}
    server = subprocess.Popen([sys.executable, "-m", "dataex", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/ready", server)
        operator = load_key(work / "data" / "keys" / "operator.pem")
        with Client(f"http://127.0.0.1:{port}") as client:
            bodies = _admissions(n, operator) if kind == "admissions" else _orders(
                n, operator, client)
            before = client.get("/v1/audit/entries", limit=1)["size"]
            summary = load(port, "/v1/documents", bodies, connections, work, seconds,
                           _meter(server, postmaster))
            summary["log_entries_added"] = client.get("/v1/audit/entries", limit=1)["size"] - before
        return summary, bodies
    finally:
        stop(server)


def _granian(app: str, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log", app],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_floor(dataex_bodies: list[bytes], connections: int, work: Path, seconds: float,
              url: str, postmaster: int | None) -> dict:
    """bench/_floor_app.py on the same PostgreSQL: each dataex document, signed, one durable row."""
    key = Ed25519PrivateKey.generate()
    bodies = []
    for raw in dataex_bodies:
        document = json.dumps(json.loads(raw)["document"], separators=(",", ":"))
        bodies.append(msgspec.json.encode({
            "document": document, "signature": b64url_encode(key.sign(document.encode()))}))
    port = free_port()
    server = _granian("bench._floor_app:app", port, {
        **os.environ, "FLOOR_DATABASE_URL": url,
        "FLOOR_PUBLIC_KEY": b64url_encode(public_key_bytes(key))})
    try:
        wait_ready(f"http://127.0.0.1:{port}/", server)
        summary = load(port, "/orders", bodies, connections, work, seconds,
                       _meter(server, postmaster))
        rows = asyncio.run(_count_rows(url))
        summary["log_entries_added"] = rows
        return summary
    finally:
        stop(server)


async def _count_rows(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM floor_orders"))
    finally:
        await conn.close()


def run_noop(n: int, connections: int, work: Path, seconds: float) -> dict:
    port = free_port()
    server = _granian("bench._noop_app:app", port)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/live", server)
        bodies = [sample_body()] * (1 if shutil.which("wrk") else n)
        return load(port, "/noop", bodies, connections, work, seconds,
                    CpuMeter({"server": server.pid}), repeat=True)
    finally:
        stop(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=30000,
                        help="pre-signed documents per round (with wrk: more than it can send "
                        "in --seconds)")
    parser.add_argument("--seconds", type=float, default=5,
                        help="length of each measured load with wrk")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kind", choices=["admissions", "orders"], default="admissions",
                        help="what the pre-signed documents are")
    parser.add_argument("--observability", action="store_true",
                        help="instead of the peers: dataex with metrics and JSON logs on, with "
                        "metrics off, and with both off, side by side in each round")
    args = parser.parse_args()
    if args.observability:
        return observability(args)
    rows: dict[str, list[dict]] = {"dataex": [], "floor": [], "noop": []}
    for round_no in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="dataex-bench-") as folder:
            work = Path(folder)
            urls, postmaster = database_urls(work)
            try:
                dataex, bodies = run_dataex(args.documents, args.connections, work, args.kind,
                                            args.seconds, urls["dataex"], postmaster)
                rows["dataex"].append(dataex)
                rows["floor"].append(run_floor(bodies, args.connections, work, args.seconds,
                                               urls["floor"], postmaster))
            finally:
                if postmaster is not None:
                    stop_embedded(work / "pg")
            rows["noop"].append(run_noop(args.documents, args.connections, work, args.seconds))
        print(f"round {round_no + 1}: " + "  ".join(f"{k} {v[-1]}" for k, v in rows.items()),
              file=sys.stderr)
    metrics = ("rate", "p50_ms", "p99_ms", "server_cpu_us", "postgres_cpu_us")
    med = {k: {m: statistics.median(r.get(m, 0) for r in v) for m in metrics}
           for k, v in rows.items()}
    # every 201 is in the log; with wrk a few requests still in flight when it stops may be
    # committed unanswered, so the log may hold up to `sent` entries, never fewer than the 201s
    lost = [r for r in rows["dataex"] + rows["floor"]
            if not r["statuses"].get("201", 0) <= r["log_entries_added"] <= r["sent"]]
    names = {"dataex": f"dataex POST /v1/documents, {args.kind} (durable)",
             "floor": "floor: bare ASGI, JSON + Ed25519 + one durable row (bench/_floor_app.py)",
             "noop": "no-op Litestar POST (granian)"}
    print("| path | requests/s | p50 ms | p99 ms | server CPU µs/request | PostgreSQL CPU "
          "µs/request |\n|---|---:|---:|---:|---:|---:|")
    for key, name in names.items():
        m = med[key]
        pg = f"{m['postgres_cpu_us']:,.0f}" if m["postgres_cpu_us"] else "–"
        print(f"| {name} | {m['rate']:,.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | "
              f"{m['server_cpu_us']:,.0f} | {pg} |")
    print(f"\ndataex / no-op rate: {med['dataex']['rate'] / med['noop']['rate']:.2f}; "
          f"dataex / floor rate: {med['dataex']['rate'] / med['floor']['rate']:.2f}")
    print(f"load generator: {rows['dataex'][0]['loadgen']}")
    print("every 201 is in the database" if not lost else f"MISMATCH 201 vs rows: {lost}")
    return 0 if not lost else 1


OBSERVABILITY = {
    "metrics and JSON logs on (default)": {"DATAEX_METRICS": "1", "DATAEX_LOG_FORMAT": "json"},
    "metrics off, JSON logs on": {"DATAEX_METRICS": "0", "DATAEX_LOG_FORMAT": "json"},
    "metrics off, request and batch logs off": {"DATAEX_METRICS": "0",
                                                 "DATAEX_LOG_FORMAT": "none"},
}


def observability(args: argparse.Namespace) -> int:
    """What /metrics and the per-request logs cost: the same load, three ways, each round."""
    rows: dict[str, list[dict]] = {name: [] for name in OBSERVABILITY}
    for round_no in range(args.rounds):
        order = list(OBSERVABILITY.items())
        if round_no % 2:
            order.reverse()  # neither setting always goes first on a machine that warms up
        for name, env in order:
            with tempfile.TemporaryDirectory(prefix="dataex-bench-") as folder:
                work = Path(folder)
                urls, postmaster = database_urls(work)
                try:
                    summary, _ = run_dataex(args.documents, args.connections, work, args.kind,
                                            args.seconds, urls["dataex"], postmaster, env)
                finally:
                    if postmaster is not None:
                        stop_embedded(work / "pg")
            rows[name].append(summary)
            print(f"round {round_no + 1} {name}: {summary['rate']:,.0f}/s", file=sys.stderr)
    base = statistics.median(r["rate"] for r in rows["metrics off, request and batch logs off"])
    print("| dataex POST /v1/documents | orders/s (median) | p99 ms | server CPU µs/request | "
          "÷ all off |\n|---|---:|---:|---:|---:|")
    for name, runs in rows.items():
        rate = statistics.median(r["rate"] for r in runs)
        print(f"| {name} | {rate:,.0f} | {statistics.median(r['p99_ms'] for r in runs):.1f} | "
              f"{statistics.median(r['server_cpu_us'] for r in runs):,.0f} | "
              f"{rate / base:.3f} |")
    on = statistics.median(r["rate"] for r in rows["metrics and JSON logs on (default)"])
    off = statistics.median(r["rate"] for r in rows["metrics off, JSON logs on"])
    print(f"\nmetrics on ÷ metrics off (same logs): {on / off:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
