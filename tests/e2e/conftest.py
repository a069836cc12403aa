"""A real `dataex serve` process on a fresh database, driven through the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[str] | None = None

    @property
    def regulator_key(self) -> str:
        """The demo regulator's key: it reads the whole log (contracts/SPEC.md §12)."""
        return str(self.data_dir / "demo-keys" / "regulator.pem")

    def demo_key(self, name: str) -> str:
        return str(self.data_dir / "demo-keys" / f"{name}.pem")

    @property
    def log_path(self) -> Path:
        """The server's stdout and stderr (a file: a pipe nobody reads would fill and block it)."""
        return self.data_dir.parent / "server.log"

    def start(self, *args: str) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dataex", "serve", *args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not become ready in 60 s")

    def stop(self) -> str:
        """Stop the server; its output since it started."""
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        return self.log_path.read_text()

    def cli(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "dataex", *args],
            env=self.env, capture_output=True, text=True, input=stdin, timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"dataex {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args).stdout)


@contextmanager
def demo_server(prefix: str) -> Iterator[Server]:
    """`dataex serve --demo` on its own embedded PostgreSQL in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "DATAEX_DATABASE_URL"}
        env.update(DATAEX_DATA_DIR=str(Path(folder) / "data"), DATAEX_PORT=str(port),
                   DATAEX_LOG_FORMAT="none")
        site = Server(f"http://127.0.0.1:{port}", env, Path(folder) / "data")
        site.start("--demo")
        try:
            yield site
        finally:
            if site.process is not None:  # a test may have stopped it itself
                site.stop()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "DATAEX_DATABASE_URL": database_url,
        "DATAEX_DATA_DIR": str(tmp_path / "data"),
        "DATAEX_PORT": str(port),
        "DATAEX_SERVER": f"http://127.0.0.1:{port}",
    }
    srv = Server(f"http://127.0.0.1:{port}", env, tmp_path / "data")
    try:
        yield srv
    finally:
        if srv.process is not None:
            srv.stop()
