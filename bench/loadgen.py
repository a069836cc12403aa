"""A small HTTP/1.1 load generator: asyncio streams, keep-alive, N connections.

httpx costs more CPU per request than the servers measured here, so the
benchmarks speak HTTP over raw sockets instead: each connection sends one
request, reads the whole response (Content-Length or chunked is not needed:
dataex answers with Content-Length), records the latency, and sends the next.
Bounded by the number of bodies and a deadline, so it always stops; loopback
only. Run it in its own process (`python bench/loadgen.py SPEC.json`) so its
CPU is not the harness's.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "statuses": self.statuses,
            "rate": round(self.rate, 1),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else 0,
        }


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def run(host: str, port: int, path: str, bodies: list[bytes], connections: int,
              deadline_s: float) -> LoadResult:
    result = LoadResult()
    queue = list(reversed(bodies))
    stop_at = time.perf_counter() + deadline_s
    prefix = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
              "Content-Type: application/json\r\nContent-Length: ").encode()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue and time.perf_counter() < stop_at:
                body = queue.pop()
                started = time.perf_counter()
                writer.write(prefix + str(len(body)).encode() + b"\r\n\r\n" + body)
                try:
                    status = await _read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    result.errors += 1
                    return
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.requests += 1
                result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed = time.perf_counter() - began
    return result


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    with open(spec["bodies"], "rb") as f:
        bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    result = asyncio.run(run(spec["host"], spec["port"], spec["path"], bodies,
                             spec["connections"], spec["deadline_s"]))
    out = asdict(result) | {"summary": result.summary()}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
