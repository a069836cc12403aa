"""Inclusion proofs served over HTTP from stored tiles, against pymerkle's in-memory proofs.

Run from the repository root:

    .venv/bin/pip install -e '.[bench]'        # pymerkle, the peer
    .venv/bin/python bench/proofs.py [--sizes 10000,1000000,10000000] [--seconds 10]

For each size it builds a log in a fresh database of an embedded PostgreSQL:
SYNTHETIC rows (audit_entries with leaf hash SHA-256(0x00 || "bench entry i") and
a placeholder entry text; a proof server only reads the hashes), then the
merkle_hashes rows computed by the same code the sequencer runs
(CompactRange + core.merkle_tiles.stored_rows), written with COPY. It signs a
checkpoint with the real Checkpointer, starts the real app under granian (one
worker), and loads `GET /v1/audit/proof/inclusion?seq=<random>` (latest
checkpoint) from a separate process (wrk if installed, else
bench/get_loadgen.py). Each request takes the production path: the latest
checkpoint from memory, the proof's tiles from the process's bounded tile
cache (DATAEX_TILE_CACHE_BYTES, --tile-cache-mb), read from the database (one
query) the first time a tile is needed.

Per size: a *cold* run first (the server just started, its cache empty: most
proofs read their level-0 tile from PostgreSQL), then every tile is loaded
once through GET /v1/audit/tile/... (the same cache), a --warmup (20 s) of
the proof load, and the *warm* --rounds; then GET /health/live, the
framework's ceiling. The in-process column times the same proofs with no
cache, every tile read from the database.

In the same run, right after the --pymerkle-size (default 1M) log, it builds pymerkle's
InmemoryTree over the same leaf data and times `prove_inclusion` for random
indexes in-process (no HTTP, no database), and checks both trees have the
same root. It also times the proof read itself in-process
(`merkle_store.run_plans`, no HTTP) at every size. Medians over --rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._server import free_port, wait_ready  # noqa: E402

from dataex.config.settings import Settings  # noqa: E402
from dataex.core.log.merkle import CompactRange  # noqa: E402
from dataex.core.log.tiles import inclusion_plan  # noqa: E402

CHUNK = 200_000


def leaf_data(i: int) -> bytes:
    return b"bench entry %d" % i


def leaf_hash(i: int) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_data(i)).digest()


async def build(url: str, size: int) -> float:
    """Synthetic entries and the tree rows the sequencer would have written; seconds taken."""
    import asyncpg
    from sqlalchemy.engine import make_url

    from dataex.core.log.tiles import stored_rows
    from dataex.store.database.migrate import upgrade

    await upgrade(url)
    u = make_url(url)
    conn = await asyncpg.connect(user=u.username, password=u.password, database=u.database,
                                 host=u.query.get("host") or u.host, port=u.port)
    started = time.perf_counter()
    compact = CompactRange()
    now = datetime.now(UTC)
    try:
        for first in range(0, size, CHUNK):
            entries, tree = [], []
            for i in range(first, min(size, first + CHUNK)):
                h = leaf_hash(i)
                entries.append((i + 1, now, "bench", "bench", str(i + 1), "{}", h))
                tree.extend(stored_rows(compact.append(h)))
            await conn.copy_records_to_table(
                "audit_entries", records=entries,
                columns=["seq", "time", "kind", "signer", "nonce", "entry", "entry_hash"])
            if tree:
                await conn.copy_records_to_table("merkle_hashes", records=tree,
                                                 columns=["level", "idx", "hash"])
        await conn.execute("ANALYZE audit_entries; ANALYZE merkle_hashes")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def checkpoint_and_time_reads(settings: Settings, size: int, samples: int) -> dict[str, Any]:
    """Sign the checkpoint of the built log; time the proof reads in-process (no HTTP)."""
    from dataex.bootstrap.genesis import ensure_keys
    from dataex.store.log import merkle as merkle_store
    from dataex.store.runtime import open_runtime

    ensure_keys(settings)
    runtime = await open_runtime(replace(settings, checkpoint_interval_seconds=0))
    try:
        stored = await runtime.checkpointer.checkpoint()
        assert stored is not None and stored.size == size
        rng = random.Random(size)
        times = []
        async with runtime.engine.connect() as conn:
            for _ in range(samples):  # no cache: every proof reads its tiles
                plan = inclusion_plan(rng.randrange(size), size)
                t = time.perf_counter()
                await merkle_store.run_plans(conn, [plan])
                times.append((time.perf_counter() - t) * 1e3)
        rows = [sum(s.end - s.start for s in inclusion_plan(rng.randrange(size), size).spans())
                for _ in range(200)]
        return {"root": stored.root.hex(), "read_ms_p50": statistics.median(times),
                "rows_read_p50": statistics.median(rows), "rows_read_max": max(rows)}
    finally:
        await runtime.close()


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"cannot parse wrk latency {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


PROOF_PATH = "/v1/audit/proof/inclusion?seq="
# The framework's ceiling on the same server: a GET that touches no tree and no database.
CEILING_PATH = "/health/live?n="


def random_proofs(base: str, size: int, seconds: int, connections: int,
                  prefix: str = PROOF_PATH) -> dict[str, float]:
    """GET prefix + random 1..size: wrk (one thread) if installed, else bench/get_loadgen.py."""
    wrk = shutil.which("wrk")
    if wrk is None:
        host, port = base.removeprefix("http://").split(":")
        out = subprocess.run(
            [sys.executable, str(REPO / "bench" / "get_loadgen.py"), host, port,
             prefix, str(size), str(connections), str(seconds), str(size)],
            capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
        return json.loads(out)  # type: ignore[no-any-return]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(f"math.randomseed({size})\n"
                "request = function()\n"
                f'  return wrk.format("GET", "{prefix}" .. '
                f"math.random(1, {size}))\nend\n")
        script = f.name
    try:
        out = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency",
             "-s", script, base + "/"],
            capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(script)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and p50 and p99):
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(rps.group(1)), "p50_ms": _ms(p50.group(1)),
            "p99_ms": _ms(p99.group(1)), "errors": int(non2xx.group(1)) if non2xx else 0}


async def _load_tiles(host: str, port: int, size: int) -> int:
    """GET every full tile of the tree once, on one keep-alive connection (fills the cache)."""
    sys.path.insert(0, str(REPO / "bench"))
    from get_loadgen import _read

    from dataex.core.log.tiles import TILE_HEIGHT, TILE_WIDTH, Tile

    reader, writer = await asyncio.open_connection(host, port)
    count, level = 0, 0
    try:
        while size >> (level * TILE_HEIGHT) >= TILE_WIDTH:
            for index in range((size >> (level * TILE_HEIGHT)) // TILE_WIDTH):
                path = f"/v1/audit/tile/{Tile(level, index).path()}"
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                if await _read(reader) != 200:
                    raise RuntimeError(f"{path} failed")
                count += 1
            level += 1
    finally:
        writer.close()
    return count


def serve_and_load(settings: Settings, size: int, seconds: int, connections: int,
                   rounds: int, warmup: int, cache_bytes: int | None
                   ) -> tuple[dict[str, float], list[dict[str, float]], dict[str, float]]:
    """A cold proof run, the warm proof runs, then one run of the ceiling (GET /health/live)."""
    port = free_port()
    env = {**os.environ, "DATAEX_DATABASE_URL": settings.database_url,
           "DATAEX_DATA_DIR": str(settings.data_dir), "DATAEX_CHECKPOINT_INTERVAL_SECONDS": "0"}
    if cache_bytes is not None:
        env["DATAEX_TILE_CACHE_BYTES"] = str(cache_bytes)
    server = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--workers", "1",
         "--no-access-log", "--host", "127.0.0.1", "--port", str(port),
         "dataex.api.asgi:app_factory"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + "/health/ready", server, timeout=300)
        sample = json.loads(urllib.request.urlopen(base + "/v1/audit/proof/inclusion?seq=1").read())
        assert sample["tree_size"] == size, sample
        cold = random_proofs(base, size, seconds, connections)
        started = time.perf_counter()
        tiles = asyncio.run(_load_tiles("127.0.0.1", port, size))
        print(f"  loaded {tiles:,} tiles in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        random_proofs(base, size, warmup, connections)  # warm-up, not counted
        runs = [random_proofs(base, size, seconds, connections) for _ in range(rounds)]
        return cold, runs, random_proofs(base, size, seconds, connections, CEILING_PATH)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def pymerkle_rate(size: int, seconds: float, rounds: int) -> dict[str, Any]:
    from pymerkle import InmemoryTree

    started = time.perf_counter()
    tree = InmemoryTree(algorithm="sha256")
    for i in range(size):
        tree.append_entry(leaf_data(i))
    built = time.perf_counter() - started
    rng = random.Random(1)
    for _ in range(200):  # warm-up, not counted
        tree.prove_inclusion(rng.randrange(1, size + 1), size)
    rates, latencies = [], []
    for _ in range(rounds):
        count, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            t = time.perf_counter()
            tree.prove_inclusion(rng.randrange(1, size + 1), size)
            latencies.append((time.perf_counter() - t) * 1e3)
            count += 1
        rates.append(count / (time.perf_counter() - t0))
    return {"root": tree.get_root(size).hex(), "build_s": built,
            "rate": statistics.median(rates), "p50_ms": statistics.median(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000,10000000")
    parser.add_argument("--pymerkle-size", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20, help="seconds of load not counted")
    parser.add_argument("--samples", type=int, default=2000, help="in-process proof reads")
    parser.add_argument("--tile-cache-mb", type=int, default=None,
                        help="the server's tile cache (default: the setting's default)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {"sizes": {}}
    from dataex.store.database.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="dataex-bench-proofs-") as folder:
        work = Path(folder)
        try:
            for size in sizes:
                url = start_embedded(work, database=f"proofs_{size}")
                settings = Settings(database_url=url, data_dir=work / f"data-{size}")
                build_s = asyncio.run(build(url, size))
                facts = asyncio.run(checkpoint_and_time_reads(settings, size, args.samples))
                cache = None if args.tile_cache_mb is None else args.tile_cache_mb << 20
                cold, runs, ceiling = serve_and_load(settings, size, args.seconds,
                                                     args.connections, args.rounds, args.warmup,
                                                     cache)
                results["sizes"][size] = {
                    "build_s": build_s, **facts, "cold": cold, "runs": runs,
                    "rps": statistics.median(r["rps"] for r in runs),
                    "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                    "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                    "errors": sum(r["errors"] for r in runs),
                    "ceiling_rps": ceiling["rps"],
                }
                print(f"size {size:,}: {results['sizes'][size]}", file=sys.stderr)
                if size == args.pymerkle_size:  # the peer right after, on the same machine state
                    results["pymerkle"] = pymerkle_rate(size, args.seconds, args.rounds)
                    print(f"pymerkle {size:,}: {results['pymerkle']}", file=sys.stderr)
        finally:
            stop_embedded(work)
    if "pymerkle" not in results:
        results["pymerkle"] = pymerkle_rate(args.pymerkle_size, args.seconds, args.rounds)
    peer = results["pymerkle"]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))

    by = results["sizes"]
    print("| log size | build s | proof rows read (median/max) | in-process read p50 ms "
          "| cold HTTP proofs/s | cold p50 ms | warm HTTP proofs/s | warm p50 ms | warm p99 ms "
          "| errors | GET /health/live /s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, r in by.items():
        c = r["cold"]
        print(f"| {size:,} | {r['build_s']:.0f} | {r['rows_read_p50']:.0f}/{r['rows_read_max']} "
              f"| {r['read_ms_p50']:.2f} | {c['rps']:,.0f} | {c['p50_ms']:.2f} "
              f"| {r['rps']:,.0f} | {r['p50_ms']:.2f} "
              f"| {r['p99_ms']:.2f} | {r['errors'] + c['errors']} "
              f"| {r.get('ceiling_rps', 0):,.0f} |")
    print(f"\npymerkle {version('pymerkle')} InmemoryTree, {args.pymerkle_size:,} leaves: "
          f"{peer['rate']:,.0f} proofs/s in-process (p50 {peer['p50_ms']:.3f} ms), "
          f"built in {peer['build_s']:.0f} s")
    if args.pymerkle_size in by:
        mine = by[args.pymerkle_size]
        same = "same root" if mine["root"] == peer["root"] else "ROOTS DIFFER"
        print(f"dataex HTTP / pymerkle in-memory at {args.pymerkle_size:,}: "
              f"{mine['rps'] / peer['rate']:.2f}x ({same})")
    if len(by) > 1:
        small, large = min(by), max(by)
        http = by[large]["p50_ms"] / by[small]["p50_ms"]
        read = by[large]["read_ms_p50"] / by[small]["read_ms_p50"]
        cold = by[large]["cold"]["p50_ms"] / by[small]["cold"]["p50_ms"]
        print(f"proof time {large:,} / {small:,}: warm HTTP p50 {http:.2f}x, "
              f"cold HTTP p50 {cold:.2f}x, in-process read p50 {read:.2f}x")
    return 0


def version(package: str) -> str:
    from importlib.metadata import version as v

    return v(package)


if __name__ == "__main__":
    sys.exit(main())
