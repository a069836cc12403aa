"""The delivery gateway's cost beside calling the upstream directly, in one run.

Run from the repository root (about 2 minutes):

    .venv/bin/python bench/gateway.py
    .venv/bin/python bench/gateway.py --requests 2000 --rounds 3

What it does
  * starts `dataex serve --demo` (its own embedded PostgreSQL), the demo upstream
    (`dataex.gateway.demo`, granian) and `dataex gateway` in front of it;
  * for a licence call (GET a dataset page, TAXI-TRAJ-LIC) and a metered token call
    (POST a chat completion, QWEN-IN-1M: usage read, journalled with fsync, burned
    in reports), sends ``--requests`` requests, 32 in flight, once to the gateway
    and once to the upstream directly, alternating, ``--rounds`` times. Every gateway
    request is signed (a fresh nonce each) before the clock starts, so the client's
    signing is not timed; the gateway's checking is;
  * then paces each at half the gateway's measured rate and records latencies: the
    added p50 and p99 are gateway minus direct.
Prints requests/s, the gateway ÷ direct ratio (medians over rounds), the added
latency at half load, and the gateway process's own CPU per request (from /proc):
the Python load generator shares the 2 cores, so the CPU figure is the one that
does not depend on how fast the client is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.conftest import demo_server, free_port  # noqa: E402
from tests.gateway.test_gateway_e2e import _wait_port  # noqa: E402

from dataex.client.sdk import gateway_headers  # noqa: E402
from dataex.keys.files import load_key  # noqa: E402

CHAT = b'{"model":"demo","messages":[{"content":"w w w"}],"max_tokens":4}'
CASES = {
    "licence call (GET dataset page)": ("GET", "/datasets/taxi-trajectories?limit=5", b"",
                                       "TAXI-TRAJ-LIC"),
    "metered token call (POST chat)": ("POST", "/v1/chat/completions", CHAT, "QWEN-IN-1M"),
}


def _requests(base: str, key: Any, case: tuple[str, str, bytes, str], n: int,
              signed: bool) -> list[tuple[str, str, bytes, dict[str, str]]]:
    method, path, body, product = case
    out = []
    for _ in range(n):
        headers = {"content-type": "application/json"} if body else {}
        if signed:
            headers.update(gateway_headers(base + path, key, method, body, product))
        out.append((method, base + path, body, headers))
    return out


async def _blast(requests: list[tuple[str, str, bytes, dict[str, str]]]) -> float:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=32)) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(request: tuple[str, str, bytes, dict[str, str]]) -> None:
            method, url, body, headers = request
            async with semaphore:
                answer = await client.request(method, url, content=body, headers=headers)
                assert answer.status_code == 200, answer.text

        started = time.perf_counter()
        await asyncio.gather(*(one(r) for r in requests))
        return len(requests) / (time.perf_counter() - started)


async def _paced(requests: list[tuple[str, str, bytes, dict[str, str]]],
                 rate: float) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        async def one(request: tuple[str, str, bytes, dict[str, str]]) -> None:
            method, url, body, headers = request
            started = time.perf_counter()
            answer = await client.request(method, url, content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text

        tasks = []
        start = time.perf_counter()
        for i, request in enumerate(requests):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(request)))
        await asyncio.gather(*tasks)
    return sorted(latencies)


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with demo_server("dataex-bench-gateway-") as site:
        folder = site.data_dir.parent
        env = site.env
        up_port, gw_port = free_port(), free_port()
        keys = site.data_dir / "demo-keys"
        processes = [subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--port", str(up_port),
             "dataex.gateway.demo:demo_upstream"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
        _wait_port(up_port)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "dataex", "gateway", "--upstream",
             f"http://127.0.0.1:{up_port}", "--port", str(gw_port), "--server", site.url,
             "--product", f"TAXI-TRAJ-LIC={keys / 'alice.pem'}",
             "--product", f"QWEN-IN-1M={keys / 'issuer.pem'}",
             # bob's 15 units must cover every metered call: one unit per 100k tokens
             "--tokens-per-unit", "100000", "--reserve-tokens", "4",
             "--journal", str(Path(folder) / "journal.sqlite3")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        _wait_port(gw_port)
        time.sleep(2)
        gateway, direct = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{up_port}"
        bob = load_key(Path(keys / "bob.pem"))
        try:
            print("| call | direct req/s | gateway req/s | gateway ÷ direct | added p50 ms "
                  "| added p99 ms (at half the gateway's rate) | gateway CPU µs/request |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for name, case in CASES.items():
                rates: dict[str, list[float]] = {"direct": [], "gateway": []}
                cpu: list[float] = []
                for _ in range(args.rounds):
                    for label, base, signed in (("direct", direct, False),
                                                ("gateway", gateway, True)):
                        batch = _requests(base, bob, case, args.requests, signed)
                        used = _tree_cpu(processes[1].pid)
                        rates[label].append(asyncio.run(_blast(batch)))
                        if signed:
                            cpu.append((_tree_cpu(processes[1].pid) - used) / args.requests)
                d_rate = statistics.median(rates["direct"])
                g_rate = statistics.median(rates["gateway"])
                half = g_rate / 2
                n = max(200, int(half * 5))
                d_lat = asyncio.run(_paced(_requests(direct, bob, case, n, False), half))
                g_lat = asyncio.run(_paced(_requests(gateway, bob, case, n, True), half))
                print(f"| {name} | {d_rate:,.0f} | {g_rate:,.0f} | {g_rate / d_rate:.2f} "
                      f"| {_pct(g_lat, 0.5) - _pct(d_lat, 0.5):.2f} "
                      f"| {_pct(g_lat, 0.99) - _pct(d_lat, 0.99):.2f} "
                      f"| {statistics.median(cpu) * 1e6:,.0f} |", flush=True)
                print(f"  rounds: direct {[round(r) for r in rates['direct']]}, "
                      f"gateway {[round(r) for r in rates['gateway']]}; half load "
                      f"{half:,.0f} req/s: direct p50 {_pct(d_lat, 0.5):.2f} p99 "
                      f"{_pct(d_lat, 0.99):.2f}, gateway p50 {_pct(g_lat, 0.5):.2f} p99 "
                      f"{_pct(g_lat, 0.99):.2f} ms", flush=True)
            health = httpx.get(f"{gateway}/gateway/health").json()
            print(f"gateway journal: {health['tokens_served']} tokens served, "
                  f"{health['units_burned']} units burned, {health['units_refused']} refused")
        finally:
            for process in processes:  # each in its own group, with its server's workers
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
