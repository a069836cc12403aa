"""dataex on a local Patroni cluster: servers in their own process groups and a timed order load.

Shared by tests/cluster and bench/cluster.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from dataex.client.sdk import build_document
from dataex.keys.files import load_key
from tests.e2e.conftest import free_port

PLACE = "dataex.market.order.place.v1"


@dataclass
class ClusterServer:
    """One `dataex serve` process (its own process group, so kill -9 takes its worker too)."""

    data_dir: Path
    database_url: str
    read_database_url: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DATAEX_DATABASE_URL=self.database_url, DATAEX_DATA_DIR=str(self.data_dir),
                   DATAEX_PORT=str(self.port), DATAEX_SERVER=self.url,
                   DATAEX_READ_DATABASE_URL=self.read_database_url)
        return env

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"server-{self.port}.log"

    def start(self, *args: str, role: str = "writer", timeout: float = 120) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dataex", "serve", *args], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log_path.read_text()[-4000:]}")
            if self.ready_role() == role:
                return
            time.sleep(0.1)
        raise AssertionError(f"server not {role} in {timeout} s:\n"
                             + self.log_path.read_text()[-4000:])

    def ready_role(self) -> str | None:
        try:
            return str(httpx.get(f"{self.url}/health/ready", timeout=2).json()["role"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    def kill(self) -> None:
        """kill -9 the whole server (granian's main process and its worker)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dataex", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def key(self, name: str) -> Path:
        return self.data_dir / "demo-keys" / f"{name}.pem"

    def logged_hashes(self, out: Path) -> set[str]:
        """Every entry hash in the log, from a regulator's export."""
        result = self.cli("audit", "export", "--out", str(out), "--key", str(self.key("regulator")))
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        return {line["entry_hash"] for line in lines if "entry_hash" in line}

    def check_log_and_ledger(self) -> None:
        """`dataex audit verify` and `dataex ledger check` pass."""
        verify = self.cli("audit", "verify", "--key", str(self.key("regulator")))
        assert verify.returncode == 0, verify.stdout + verify.stderr
        ledger = self.cli("ledger", "check", "--json")
        assert ledger.returncode == 0 and json.loads(ledger.stdout)["ok"], ledger.stdout


@dataclass
class Answer:
    sent: float  # time.monotonic() when the request went out
    answered: float
    status: int  # 0: no HTTP answer (connection refused or reset)
    slug: str = ""


class OrderLoad:
    """Clients placing signed limit orders at a steady rate, against one or more servers.

    A client that gets no answer or a 503 tries the next server; a 503
    `commit-in-doubt` sends the same document again (it commits once or
    answers with its receipt). Every answer is kept with its times, and the
    entry hash of every acknowledged order.
    """

    def __init__(self, urls: list[str], key_file: Path, *, clients: int = 4,
                 interval: float = 0.02) -> None:
        self.urls = urls
        self.key = load_key(key_file)
        self.clients = clients
        self.interval = interval  # pause between one client's orders
        self.acknowledged: dict[str, float] = {}  # entry_hash -> answered
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []

    def _order(self) -> dict[str, Any]:
        body = {"client_order_ref": "ha", "symbol": "QWEN-IN-1M", "side": "buy",
                "order_type": "limit", "price": 200, "quantity": 1}
        return build_document(PLACE, body, self.key)

    def _client(self, first: int) -> None:
        which = first
        with httpx.Client(timeout=10) as client:
            envelope = self._order()
            while self._running.is_set():
                sent = time.monotonic()
                try:
                    response = client.post(f"{self.urls[which % len(self.urls)]}/v1/documents",
                                           content=msgspec.json.encode(envelope))
                    status = response.status_code
                except httpx.HTTPError:
                    response, status = None, 0
                slug = ""
                if response is not None and status >= 400:
                    slug = str(response.json().get("type", "")).rsplit("/", 1)[-1]
                answer = Answer(sent, time.monotonic(), status, slug)
                with self.lock:
                    self.answers.append(answer)
                    if status == 201:
                        self.acknowledged[response.json()["entry_hash"]] = answer.answered
                if status in (0, 503):
                    which += 1  # another server may be the writer now
                    time.sleep(0.05)
                if status != 503 or slug != "commit-in-doubt":
                    envelope = self._order()
                time.sleep(self.interval)

    def start(self) -> None:
        self._running.set()
        self._threads = [threading.Thread(target=self._client, args=(i,), daemon=True)
                         for i in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._running.clear()
        for thread in self._threads:
            thread.join(15)

    def acknowledged_count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def wait_for_acks(self, more: int, timeout: float = 60) -> None:
        target = self.acknowledged_count() + more
        deadline = time.monotonic() + timeout
        while self.acknowledged_count() < target:
            assert time.monotonic() < deadline, f"fewer than {more} acknowledgements in {timeout} s"
            time.sleep(0.05)

    def first_ack_sent_after(self, moment: float, timeout: float = 120) -> float:
        """Seconds from `moment` to the first 201 of a request sent after it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                done = [a.answered for a in self.answers if a.status == 201 and a.sent > moment]
            if done:
                return min(done) - moment
            time.sleep(0.02)
        raise AssertionError(f"no order acknowledged within {timeout} s of the fault")

    def statuses(self) -> dict[tuple[int, str], int]:
        counts: dict[tuple[int, str], int] = {}
        with self.lock:
            for answer in self.answers:
                counts[(answer.status, answer.slug)] = counts.get((answer.status, answer.slug),
                                                                   0) + 1
        return counts
