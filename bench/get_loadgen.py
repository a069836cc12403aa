"""A GET load generator for bench/proofs.py when wrk is not installed.

Raw HTTP/1.1 over asyncio streams with keep-alive (httpx would cost more CPU
than the server it measures): N connections, each asking for a random seq,
reading the whole response (Content-Length), recording latency, until the
deadline. Run in its own process: `python bench/get_loadgen.py HOST PORT
PATH_PREFIX MAX_SEQ CONNECTIONS SECONDS SEED`; prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time


async def _read(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


async def run(host: str, port: int, prefix: str, max_seq: int, connections: int,
              seconds: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                path = f"{prefix}{rng.randint(1, max_seq)}"
                started = time.perf_counter()
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                status = await _read(reader)
                latencies.append((time.perf_counter() - started) * 1e3)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {"rps": len(latencies) / elapsed, "p50_ms": statistics.median(ordered),
            "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "errors": errors}


if __name__ == "__main__":
    host, port, prefix, max_seq, conns, seconds, seed = sys.argv[1:8]
    print(json.dumps(asyncio.run(run(host, int(port), prefix, int(max_seq), int(conns),
                                     float(seconds), int(seed)))))
