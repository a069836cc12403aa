"""End to end: pre-signed documents POSTed to a real `dataex serve`, each durable first.

Run from the repository root:

    .venv/bin/python bench/submit_e2e.py [--documents 20000] [--connections 64]

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
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._noop_app import sample_body  # noqa: E402

from dataex.client import build_document  # noqa: E402
from dataex.core.encoding import b64url_encode  # noqa: E402
from dataex.core.signing import public_key_bytes  # noqa: E402
from dataex.keyfiles import load_key  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def load(port: int, path: str, bodies: list[bytes], connections: int, work: Path) -> dict:
    bodies_file = work / "bodies.jsonl"
    bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
    spec = work / "spec.json"
    spec.write_text(json.dumps({"host": "127.0.0.1", "port": port, "path": path,
                                "bodies": str(bodies_file), "connections": connections,
                                "deadline_s": 120}))
    out = subprocess.run([sys.executable, str(REPO / "bench" / "loadgen.py"), str(spec)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["summary"]  # type: ignore[no-any-return]


def fresh_database_url(base: str, name: str) -> str:
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    async def create() -> None:
        conn = await asyncpg.connect(base)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def run_dataex(n: int, connections: int, work: Path) -> dict:
    port = free_port()
    env = {**os.environ, "DATAEX_DATA_DIR": str(work / "data"), "DATAEX_PORT": str(port)}
    if os.environ.get("DATAEX_DATABASE_URL"):
        env["DATAEX_DATABASE_URL"] = fresh_database_url(os.environ["DATAEX_DATABASE_URL"],
                                                        f"dataex_bench_{os.getpid()}")
    server = subprocess.Popen([sys.executable, "-m", "dataex", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/ready", server)
        operator = load_key(work / "data" / "keys" / "operator.pem")
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        bodies = []
        for i in range(n):
            key = Ed25519PrivateKey.generate()
            body = {"display_name": f"bench {i}", "legal_id": f"BENCH-{os.getpid()}-{i}",
                    "public_key": b64url_encode(public_key_bytes(key)), "roles": ["trader"]}
            bodies.append(msgspec.json.encode(
                build_document("dataex.participant.admit.v1", body, operator)))
        summary = load(port, "/v1/documents", bodies, connections, work)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/v1/audit/entries?limit=1", timeout=10
        ) as r:
            size = json.loads(r.read())["size"]
        summary["log_entries_added"] = size - 1
        return summary
    finally:
        stop(server)


def run_noop(n: int, connections: int, work: Path) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "bench._noop_app:app"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/live", server)
        return load(port, "/noop", [sample_body()] * n, connections, work)
    finally:
        stop(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"dataex": [], "noop": []}
    for round_no in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="dataex-bench-") as folder:
            work = Path(folder)
            rows["dataex"].append(run_dataex(args.documents, args.connections, work))
            rows["noop"].append(run_noop(args.documents, args.connections, work))
        print(f"round {round_no + 1}: dataex {rows['dataex'][-1]}  noop {rows['noop'][-1]}",
              file=sys.stderr)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("rate", "p50_ms", "p99_ms")}
           for k, v in rows.items()}
    lost = [r for r in rows["dataex"] if r["statuses"].get("201", 0) != r["log_entries_added"]]
    print("| path | documents/s | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    print(f"| dataex POST /v1/documents (durable) | {med['dataex']['rate']:,.0f} | "
          f"{med['dataex']['p50_ms']} | {med['dataex']['p99_ms']} |")
    print(f"| no-op Litestar POST (granian) | {med['noop']['rate']:,.0f} | "
          f"{med['noop']['p50_ms']} | {med['noop']['p99_ms']} |")
    print(f"\ndataex / no-op rate: {med['dataex']['rate'] / med['noop']['rate']:.2f}")
    print("every 201 is in the log" if not lost else f"MISMATCH 201 vs log: {lost}")
    return 0 if not lost else 1


if __name__ == "__main__":
    sys.exit(main())
