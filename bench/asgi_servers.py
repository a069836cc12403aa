"""granian vs uvicorn, one worker each, serving the same tiny Litestar app.

Run from the repository root:

    .venv/bin/python bench/asgi_servers.py

What it does
  * serves ``bench._noop_app:app`` (GET /health/live, POST /noop with a
    600-byte msgspec-decoded JSON body) with granian (ASGI interface) and with
    uvicorn, one worker each, on free ports of 127.0.0.1 only;
  * uses the same event loop in both (uvloop if installed, else asyncio);
    uvicorn uses httptools if installed, else h11;
  * loads them from a separate process: ``wrk`` if /usr/bin/wrk (or wrk on
    PATH) exists, else a Python generator (asyncio + httpx.AsyncClient,
    keep-alive, N concurrent connections) bounded by a request count and a
    timeout; ``--loadgen python`` forces the latter;
  * runs ``--rounds`` rounds (default 3) alternating which server goes first,
    a fresh server process per round, a warm-up before each measured run;
  * reports the median over rounds of req/s, p50 and p99 latency and the
    server's CPU time per request (all its processes and threads, from
    /proc), plus the granian/uvicorn ratio, as a markdown table.

When the load generator is the bottleneck (the Python one on a 2-core machine
is, at ~2,000-2,600 req/s), both servers show about the client's ceiling in
req/s and latency; only server CPU per request still tells them apart, and
at that light load it is noisy. wrk saturates the server and ranks it.
Every server started here is killed at the end (try/finally, also on SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP_TARGET = "bench._noop_app:app"
ROUTES = [("GET", "/health/live"), ("POST", "/noop")]
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- #
# environment


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def pick_loop() -> str:
    """Same loop for both servers, so the comparison is of servers, not loops."""
    return "uvloop" if has_module("uvloop") else "asyncio"


def pick_uvicorn_http() -> str:
    return "httptools" if has_module("httptools") else "h11"


def find_wrk() -> str | None:
    if Path("/usr/bin/wrk").exists():
        return "/usr/bin/wrk"
    return shutil.which("wrk")


def machine_info(loadgen: str, wrk: str | None) -> dict[str, str]:
    info = {
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for dist in ("granian", "uvicorn", "litestar", "msgspec", "httpx", "uvloop", "httptools"):
        info[dist] = _version(dist) or "not installed"
    info["loadgen"] = loadgen
    if loadgen == "wrk" and wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        info["wrk"] = (out.stdout or out.stderr).splitlines()[0].strip()
    with contextlib.suppress(OSError):
        info["loadavg_at_start"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return info


# --------------------------------------------------------------------------- #
# servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_cmd(name: str, port: int, loop: str) -> list[str]:
    if name == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--workers",
            "1",
            "--loop",
            loop,
            "--http",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            APP_TARGET,
        ]
    if name == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--workers",
            "1",
            "--loop",
            loop,
            "--http",
            pick_uvicorn_http(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            APP_TARGET,
        ]
    raise ValueError(name)


class Server:
    """A server subprocess in its own session, so its whole group can be killed."""

    def __init__(self, name: str, loop: str) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            server_cmd(name, self.port, loop),
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, n: int = 2000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-n:]

    def wait_ready(self, body: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/health/live", timeout=2) as r:
                    if r.status == 200 and json.loads(r.read()) == {"status": "ok"}:
                        break
            except OSError as exc:
                last = exc
            time.sleep(0.1)
        else:
            raise RuntimeError(f"{self.name} not ready in {timeout}s ({last}):\n{self.log_tail()}")
        req = urllib.request.Request(
            self.base + "/noop", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            got = json.loads(r.read())
            if r.status != 200 or got.get("accepted") is not True:
                raise RuntimeError(f"{self.name}: unexpected POST /noop answer {r.status} {got}")

    def cpu_seconds(self) -> float:
        """utime+stime of every live process in the server's process group."""
        pgid = self.proc.pid
        total = 0
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            rest = stat[stat.rindex(")") + 2 :].split()
            # rest[0] is field 3 (state); pgrp is field 5, utime 14, stime 15
            if int(rest[2]) == pgid:
                total += int(rest[11]) + int(rest[12])
        return total / CLK_TCK

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        # reap any worker left in the group (granian runs its worker as a child)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --------------------------------------------------------------------------- #
# load generators (each runs in its own process)


@dataclass
class Run:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    server_cpu_us_per_req: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)


def _pct(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, round(q * (len(sorted_vals) - 1))))
    return sorted_vals[i]


async def _python_load(
    base: str, method: str, path: str, body: bytes, conc: int, n: int, timeout: float
) -> dict[str, float]:
    import httpx  # only the load-generator process needs it

    # One AsyncClient per connection: a single client whose pool holds 64
    # connections spends most of its time in the pool's bookkeeping (measured
    # here: ~330 req/s at 64 connections against ~2,600 req/s this way).
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    content = body if method == "POST" else None
    lat: list[float] = []
    errors = 0
    issued = 0
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, limits=limits, timeout=10.0)
            )
            for _ in range(conc)
        ]
        start = time.perf_counter()
        deadline = start + timeout

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal issued, errors
            while issued < n and time.perf_counter() < deadline:
                issued += 1
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, path, content=content, headers=headers)
                    await r.aread()
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                t1 = time.perf_counter()
                if ok:
                    lat.append(t1 - t0)
                else:
                    errors += 1

        await asyncio.gather(*(worker(c) for c in clients))
        seconds = time.perf_counter() - start
    lat.sort()
    return {
        "requests": len(lat) + errors,
        "errors": errors,
        "seconds": seconds,
        "rps": len(lat) / seconds,
        "p50_ms": _pct(lat, 0.50) * 1e3,
        "p99_ms": _pct(lat, 0.99) * 1e3,
    }


def loadgen_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    out = asyncio.run(
        _python_load(
            spec["base"],
            spec["method"],
            spec["path"],
            bytes.fromhex(spec["body"]),
            spec["conc"],
            spec["n"],
            spec["timeout"],
        )
    )
    print(json.dumps(out))


def run_python_loadgen(
    base: str, method: str, path: str, body: bytes, conc: int, n: int, timeout: float
) -> dict[str, float]:
    spec = {
        "base": base,
        "method": method,
        "path": path,
        "body": body.hex(),
        "conc": conc,
        "n": n,
        "timeout": timeout,
    }
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--_loadgen", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"cannot parse wrk latency {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


def run_wrk(
    wrk: str, base: str, method: str, path: str, body: bytes, conc: int, duration: float
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(f'wrk.method = "{method}"\n')
        if method == "POST":
            f.write(f"wrk.body = {json.dumps(body.decode())}\n")
            f.write('wrk.headers["Content-Type"] = "application/json"\n')
        script = f.name
    try:
        # one wrk thread: the other core is left to the server
        cmd = [
            wrk,
            "-t1",
            f"-c{conc}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            script,
            base + path,
        ]
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration + 30, check=False
        )
    finally:
        os.unlink(script)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    text = out.stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    if not (total and rps and p50 and p99):
        raise RuntimeError(f"cannot parse wrk output:\n{text}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return {
        "requests": int(total.group(1)),
        "errors": errors,
        "seconds": _ms(total.group(2) + total.group(3)) / 1e3,
        "rps": float(rps.group(1)),
        "p50_ms": _ms(p50.group(1)),
        "p99_ms": _ms(p99.group(1)),
    }


# --------------------------------------------------------------------------- #
# driver


def measure(
    server: Server, method: str, path: str, body: bytes, args: argparse.Namespace, wrk: str | None
) -> Run:
    if args.loadgen == "wrk":
        assert wrk
        run_wrk(wrk, server.base, method, path, body, args.concurrency, args.warmup_seconds)
        cpu0 = server.cpu_seconds()
        r = run_wrk(wrk, server.base, method, path, body, args.concurrency, args.duration)
    else:
        run_python_loadgen(
            server.base, method, path, body, args.concurrency, args.warmup_requests, args.timeout
        )
        cpu0 = server.cpu_seconds()
        r = run_python_loadgen(
            server.base, method, path, body, args.concurrency, args.requests, args.timeout
        )
    cpu = server.cpu_seconds() - cpu0
    run = Run(**r)  # type: ignore[arg-type]
    run.server_cpu_us_per_req = cpu / max(1, run.requests) * 1e6
    return run


def fmt(v: float, unit: str) -> str:
    if unit == "req/s":
        return f"{v:,.0f}"
    if unit == "µs":
        return f"{v:,.0f}"
    return f"{v:.2f}"


METRICS = [
    ("rps", "req/s", "req/s", "higher"),
    ("p50_ms", "p50 latency (ms)", "ms", "lower"),
    ("p99_ms", "p99 latency (ms)", "ms", "lower"),
    ("server_cpu_us_per_req", "server CPU per request (µs)", "µs", "lower"),
]


def report(
    results: dict[str, dict[str, list[Run]]],
    info: dict[str, str],
    args: argparse.Namespace,
    elapsed: float,
) -> str:
    lines = []
    lines.append("Machine / versions: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    if args.loadgen == "wrk":
        gen = f"wrk -t1 -c{args.concurrency}, {args.duration:g}s per run"
    else:
        gen = (
            f"python httpx.AsyncClient, {args.concurrency} keep-alive connections, "
            f"{args.requests} requests per run (cap {args.timeout:g}s)"
        )
    lines.append(f"Load generator: {gen}; {args.rounds} rounds, medians shown.")
    lines.append("")
    lines.append("| route | metric | granian | uvicorn | granian/uvicorn |")
    lines.append("|---|---|---:|---:|---:|")
    for method, path in ROUTES:
        route = f"{method} {path}"
        for key, label, unit, better in METRICS:
            g = statistics.median(getattr(r, key) for r in results["granian"][route])
            u = statistics.median(getattr(r, key) for r in results["uvicorn"][route])
            ratio = g / u if u else float("nan")
            lines.append(
                f"| {route} | {label}, {better} is better | {fmt(g, unit)} | {fmt(u, unit)} "
                f"| {ratio:.2f}× |"
            )
    lines.append("")
    lines.append("Per-round req/s (order of runs alternates each round):")
    lines.append("")
    lines.append(
        "| route | server | "
        + " | ".join(f"round {i + 1}" for i in range(args.rounds))
        + " | errors |"
    )
    lines.append("|---|---|" + "---:|" * args.rounds + "---:|")
    for method, path in ROUTES:
        route = f"{method} {path}"
        for name in ("granian", "uvicorn"):
            runs = results[name][route]
            lines.append(
                f"| {route} | {name} | "
                + " | ".join(f"{r.rps:,.0f}" for r in runs)
                + f" | {sum(r.errors for r in runs)} |"
            )
    lines.append("")
    lines.append(f"Total wall time: {elapsed:.0f}s")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--_loadgen":
        loadgen_main(sys.argv[2])
        return 0

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--loadgen", choices=["auto", "python", "wrk"], default="auto")
    p.add_argument(
        "--requests",
        type=int,
        default=10000,
        help="requests per measured run (python load generator)",
    )
    p.add_argument("--warmup-requests", type=int, default=1000)
    p.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="cap in seconds on one python load-generator run",
    )
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--json", type=Path, help="also write the raw results here")
    args = p.parse_args()

    wrk = find_wrk()
    if args.loadgen == "auto":
        args.loadgen = "wrk" if wrk else "python"
    if args.loadgen == "wrk" and not wrk:
        p.error("wrk not found")

    sys.path.insert(0, str(REPO))
    from bench._noop_app import sample_body

    body = sample_body()
    loop = pick_loop()
    info = machine_info(args.loadgen, wrk)
    info["granian_loop"] = loop
    info["uvicorn_loop/http"] = f"{loop}/{pick_uvicorn_http()}"
    print(
        f"# ASGI servers: granian vs uvicorn ({args.loadgen} load generator, {args.rounds} rounds)",
        flush=True,
    )

    results: dict[str, dict[str, list[Run]]] = {
        name: {f"{m} {path}": [] for m, path in ROUTES} for name in ("granian", "uvicorn")
    }

    # SIGTERM (and SIGINT) unwind through the finally blocks below, so every
    # server started here is killed even when the bench itself is stopped.
    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    t_start = time.monotonic()
    for rnd in range(args.rounds):
        order = ["granian", "uvicorn"] if rnd % 2 == 0 else ["uvicorn", "granian"]
        for name in order:
            server = Server(name, loop)
            try:
                server.wait_ready(body)
                for method, path in ROUTES:
                    run = measure(server, method, path, body, args, wrk)
                    results[name][f"{method} {path}"].append(run)
                    print(
                        f"round {rnd + 1} {name:8s} {method:4s} {path:13s} "
                        f"{run.rps:9,.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
                        f"p99 {run.p99_ms:6.2f} ms  cpu {run.server_cpu_us_per_req:5.0f} µs/req  "
                        f"errors {run.errors}",
                        flush=True,
                    )
            finally:
                server.stop()
    elapsed = time.monotonic() - t_start

    print()
    print(report(results, info, args, elapsed))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "info": info,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "results": {
                        n: {r: [asdict(x) for x in runs] for r, runs in by.items()}
                        for n, by in results.items()
                    },
                },
                indent=2,
            )
        )
    errors = sum(r.errors for by in results.values() for runs in by.values() for r in runs)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
