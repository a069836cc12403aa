"""Power cuts under load: SIGKILL the embedded postmaster and the server, start again at once.

Each of 20 rounds: `dataex serve` on the embedded PostgreSQL of one data
directory, signed orders acknowledged under load, then the postmaster and
every dataex process killed with SIGKILL at the same moment (as a power cut
would), and the next `dataex serve` started at once. Every start must succeed
the first time. At the end every acknowledged order is in the log (by entry
hash), `dataex audit verify` and `dataex ledger check` pass, and a clean stop
leaves no PostgreSQL behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import msgspec
import psutil

from dataex.client.sdk import build_document
from dataex.keys.files import load_key
from tests.e2e.conftest import free_port

ROUNDS = 20
PLACE = "dataex.market.order.place.v1"
CLIENTS = 4


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATAEX_DATABASE_URL"}
    env.update(DATAEX_DATA_DIR=str(data_dir), DATAEX_PORT=str(port),
               DATAEX_SERVER=f"http://127.0.0.1:{port}")
    return env


def _start(env: dict[str, str], url: str, *args: str) -> subprocess.Popen[str]:
    """`dataex serve`, ready; the round fails if this start does not come up by itself."""
    log_path = Path(env["DATAEX_DATA_DIR"]).parent / "server.log"
    with log_path.open("a") as log:  # a file: a pipe nobody reads would fill and block it
        process = subprocess.Popen([sys.executable, "-m", "dataex", "serve", *args], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"start failed ({process.returncode}):\n"
                                 + log_path.read_text()[-4000:])
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("server not ready in 120 s")


def _postmaster(pgdata: Path) -> psutil.Process:
    return psutil.Process(int((pgdata / "postmaster.pid").read_text().splitlines()[0]))


class Load:
    """Clients placing signed orders; keeps the entry hash of every acknowledged one."""

    def __init__(self, url: str, keys: Path) -> None:
        self.url = url
        self.bob = load_key(keys / "bob.pem")
        self.acknowledged: dict[str, str] = {}  # entry_hash -> nonce
        self.lock = threading.Lock()
        self.running = threading.Event()

    def _client(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while self.running.is_set():
                body = {"client_order_ref": "crash", "symbol": "QWEN-IN-1M", "side": "buy",
                        "order_type": "limit", "price": 200, "quantity": 1}
                envelope = build_document(PLACE, body, self.bob)
                try:
                    response = client.post("/v1/documents", content=msgspec.json.encode(envelope))
                except httpx.HTTPError:
                    time.sleep(0.05)  # the server is gone: this order was not acknowledged
                    continue
                if response.status_code == 201:
                    with self.lock:
                        self.acknowledged[response.json()["entry_hash"]] = envelope["document"][
                            "nonce"]

    def start(self) -> list[threading.Thread]:
        self.running.set()
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        return threads

    def stop(self, threads: list[threading.Thread]) -> None:
        self.running.clear()
        for thread in threads:
            thread.join(10)


def test_twenty_power_cuts_under_load_lose_nothing_and_every_start_works(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    url, env = f"http://127.0.0.1:{port}", _env(tmp_path / "data", port)
    pgdata = data_dir / "pgdata"
    server = _start(env, url, "--demo")
    load = Load(url, data_dir / "demo-keys")
    acknowledged_before_cut = []
    for _ in range(ROUNDS):
        threads = load.start()
        deadline = time.monotonic() + 10
        with load.lock:
            start_count = len(load.acknowledged)
        while time.monotonic() < deadline:  # some orders acknowledged in this round
            with load.lock:
                if len(load.acknowledged) >= start_count + 20:
                    break
            time.sleep(0.05)
        victims = [_postmaster(pgdata), psutil.Process(server.pid),
                   *psutil.Process(server.pid).children(recursive=True)]
        for victim in victims:  # the power cut: everything at once, no clean-up
            victim.send_signal(signal.SIGKILL)
        with load.lock:
            acknowledged_before_cut.append(len(load.acknowledged))
        load.stop(threads)
        server.wait()
        server = _start(env, url)  # at once, and it must come up the first time

    assert all(b > a for a, b in zip([0, *acknowledged_before_cut], acknowledged_before_cut,
                                     strict=False)), "every round acknowledged orders"
    logged = _logged_hashes(env, tmp_path / "log.jsonl")
    missing = set(load.acknowledged) - logged
    assert not missing, f"{len(missing)} acknowledged orders are not in the log"

    regulator = str(data_dir / "demo-keys" / "regulator.pem")
    for command in (["audit", "verify", "--key", regulator], ["ledger", "check", "--json"]):
        result = subprocess.run([sys.executable, "-m", "dataex", *command], env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"]

    server.send_signal(signal.SIGTERM)
    server.wait(60)
    leftovers = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"
                 and _cwd(p) == pgdata.resolve()]
    assert not leftovers, "a clean stop leaves no embedded PostgreSQL running"


def _cwd(process: psutil.Process) -> Path | None:
    try:
        return Path(process.cwd())
    except (psutil.Error, OSError):
        return None


def _logged_hashes(env: dict[str, str], out: Path) -> set[str]:
    """Every entry hash in the log, from the server's export."""
    regulator = str(Path(env["DATAEX_DATA_DIR"]) / "demo-keys" / "regulator.pem")
    result = subprocess.run([sys.executable, "-m", "dataex", "audit", "export", "--out", str(out),
                             "--key", regulator],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {line["entry_hash"] for line in lines if "entry_hash" in line}
