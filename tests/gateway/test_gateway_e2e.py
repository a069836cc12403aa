"""The delivery gateway end to end: a real dataex, a real upstream, a real gateway process.

The tests run in order on one demo platform: licence calls, refusals, replays,
token metering under concurrency, a kill -9 before reporting, and last dataex
going away (licensed calls served within the staleness, then refused).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataex.client.sdk import build_document, call_gateway, gateway_headers
from dataex.core.documents.signing import key_id, public_key_bytes
from dataex.core.participants.request_auth import AUTH_HEADER, sign_request
from dataex.keys.files import load_key
from tests.e2e.conftest import Server, demo_server, free_port

pytestmark = pytest.mark.e2e

LICENCE, TOKEN = "TAXI-TRAJ-LIC", "QWEN-IN-1M"
TOKENS_PER_UNIT = 20
DATASET = "/datasets/taxi-trajectories?limit=3"


def _wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


class Gateway:
    """One `dataex gateway` process in front of the demo upstream."""

    def __init__(self, site: Server, upstream: str, journal: Path, **options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        keys = site.data_dir / "demo-keys"
        args = ["--upstream", upstream, "--port", str(self.port), "--server", site.url,
                "--journal", str(journal), "--product", f"{LICENCE}={keys / 'alice.pem'}",
                "--product", f"{TOKEN}={keys / 'issuer.pem'}",
                "--tokens-per-unit", str(TOKENS_PER_UNIT), "--reserve-tokens", "5",
                "--refresh", "1"]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", value]
        self.log = journal.with_suffix(f".{self.port}.log")
        # its own process group: a kill takes the ASGI server's worker process with it
        self.process = subprocess.Popen([sys.executable, "-m", "dataex", "gateway", *args],
                                        env=site.env, stdout=self.log.open("w"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        _wait_port(self.port)
        deadline = time.monotonic() + 20
        while httpx.get(f"{self.url}/gateway/health").status_code != 200:
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/gateway/health").json()  # type: ignore[no-any-return]

    def forwarded(self) -> int:
        text = httpx.get(f"{self.url}/gateway/metrics").text
        line = next(x for x in text.splitlines()
                    if x.startswith("dataex_gateway_upstream_seconds_count"))
        return int(float(line.split()[-1]))

    def kill(self) -> None:
        """A power cut for the gateway: every process of it, at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with demo_server("dataex-gateway-") as site:
        folder = site.data_dir.parent
        upstream_port = free_port()
        upstream = subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--port",
             str(upstream_port), "dataex.gateway.demo:demo_upstream"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait_port(upstream_port)
        upstream_url = f"http://127.0.0.1:{upstream_port}"
        gateway = Gateway(site, upstream_url, folder / "journal.sqlite3")
        world = {"site": site, "upstream": upstream_url, "gateway": gateway, "folder": folder,
                 "key": lambda who: load_key(Path(site.demo_key(who)))}
        try:
            yield world
        finally:
            world["gateway"].stop()
            os.killpg(upstream.pid, signal.SIGTERM)
            upstream.wait(30)


def _units(site: Server, who: str, symbol: str) -> int:
    target = "/v1/market/me/balances"
    header = sign_request(load_key(Path(site.demo_key(who))), "GET", target, int(time.time()),
                          os.urandom(12).hex())
    balances = httpx.get(site.url + target, headers={AUTH_HEADER: header}).json()["balances"]
    return int(balances.get(symbol, {}).get("available", 0))


def test_a_licence_holder_gets_the_upstreams_bytes(world: dict[str, Any]) -> None:
    gateway: Gateway = world["gateway"]
    answer = call_gateway(gateway.url + DATASET, world["key"]("bob"), product=LICENCE)
    assert answer.status_code == 200, answer.text
    assert answer.content == httpx.get(world["upstream"] + DATASET).content


def test_refusals_forward_nothing(world: dict[str, Any]) -> None:
    gateway: Gateway = world["gateway"]
    before = gateway.forwarded()
    cases = [
        # the issuer holds no licence of its own product
        (call_gateway(gateway.url + DATASET, world["key"]("issuer"), product=LICENCE),
         402, "no-valid-licence"),
        # signed for another origin (dataex itself)
        (httpx.get(gateway.url + DATASET, headers={
            **gateway_headers(world["site"].url + DATASET, world["key"]("bob"),
                              product=LICENCE)}), 401, "bad-signature"),
        (httpx.get(gateway.url + DATASET, headers={"Dataex-Product": LICENCE}),
         401, "authentication-required"),
        # the registrar holds no QWEN-IN-1M units
        (call_gateway(gateway.url + "/v1/chat/completions", world["key"]("registrar"),
                      json_body={"messages": [{"content": "hi"}]}, product=TOKEN),
         402, "not-enough-units"),
        (call_gateway(gateway.url + DATASET, world["key"]("bob"), product="NOPE"),
         400, "unknown-product"),
    ]
    for answer, status, slug in cases:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == f"/problems/{slug}"
    assert gateway.forwarded() == before


def test_a_replayed_signed_request_is_refused(world: dict[str, Any]) -> None:
    gateway: Gateway = world["gateway"]
    headers = gateway_headers(gateway.url + DATASET, world["key"]("bob"), product=LICENCE)
    assert httpx.get(gateway.url + DATASET, headers=headers).status_code == 200
    again = httpx.get(gateway.url + DATASET, headers=headers)
    assert again.status_code == 401 and again.json()["type"] == "/problems/replayed-request"


def _chat(gateway: Gateway, key: Any, words: int) -> int:
    answer = call_gateway(gateway.url + "/v1/chat/completions", key, product=TOKEN,
                          json_body={"messages": [{"content": " ".join(["w"] * words)}],
                                     "max_tokens": 8})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["usage"]["total_tokens"])


def _wait_burned(site: Server, who: str, expected_units: int, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while (units := _units(site, who, TOKEN)) != expected_units:
        assert time.monotonic() < deadline, (units, expected_units)
        time.sleep(0.3)
    return units


def test_token_usage_is_metered_exactly_and_burned(world: dict[str, Any]) -> None:
    site: Server = world["site"]
    gateway: Gateway = world["gateway"]
    bob = world["key"]("bob")
    start = _units(site, "bob", TOKEN)
    with ThreadPoolExecutor(8) as pool:
        used = sum(pool.map(lambda n: _chat(gateway, bob, 1 + n % 5), range(12)))
    burned = used // TOKENS_PER_UNIT
    _wait_burned(site, "bob", start - burned)
    health = gateway.health()
    assert health["units_burned"] == burned and health["units_refused"] == 0
    assert health["tokens_served"] == used


def test_a_kill_before_reporting_loses_nothing(world: dict[str, Any]) -> None:
    site: Server = world["site"]
    journal = world["folder"] / "journal.sqlite3"
    world["gateway"].stop()
    # reports every hour: what is served stays in the journal, unreported
    slow = Gateway(site, world["upstream"], journal, report_interval="3600")
    start_units, start_tokens = _units(site, "bob", TOKEN), slow.health()["tokens_served"]
    bob = world["key"]("bob")
    used = sum(_chat(slow, bob, 3) for _ in range(6))
    assert slow.health()["tokens_served"] == start_tokens + used
    slow.kill()
    world["gateway"] = Gateway(site, world["upstream"], journal)
    total = world["gateway"].health()["tokens_served"]
    assert total == start_tokens + used  # nothing lost
    _wait_burned(site, "bob", start_units - (total // TOKENS_PER_UNIT
                                             - (start_tokens // TOKENS_PER_UNIT)))


def test_a_report_sent_twice_burns_once(world: dict[str, Any]) -> None:
    """A crash after dataex took a report but before the journal marked it: sent again."""
    from dataex.gateway.journal import PENDING, Journal
    from dataex.gateway.reporter import Reporter

    site: Server = world["site"]
    journal = Journal(world["folder"] / "twice.sqlite3")
    issuer = world["key"]("issuer")
    reporter = Reporter(journal, site.url, {TOKEN: issuer}, TOKENS_PER_UNIT)
    before = _units(site, "bob", TOKEN)
    journal.record_usage(TOKEN, "P000005", 2 * TOKENS_PER_UNIT, "twice")
    assert reporter.run_once() == 1
    assert journal.pending() == []
    # the crash: the journal forgets it was acknowledged
    journal._db.execute("UPDATE reports SET status = ?", (PENDING,))
    assert reporter.run_once() == 1  # the same signed document again: a replay for dataex
    assert _units(site, "bob", TOKEN) == before - 2
    assert journal.totals()["units_burned"] == 2
    journal.close()


def test_a_revoked_key_is_refused_after_the_next_refresh(world: dict[str, Any]) -> None:
    site: Server = world["site"]
    gateway: Gateway = world["gateway"]
    # the operator revokes the registrar's key (it holds nothing the other tests need)
    revoked = world["key"]("registrar")
    operator = load_key(site.data_dir / "keys" / "operator.pem")
    revoke = build_document("dataex.key.revoke.v1", {
        "key_id": key_id(public_key_bytes(revoked)), "reason": "key lost"}, operator)
    before = call_gateway(gateway.url + DATASET, revoked, product=LICENCE)
    assert before.status_code == 402  # known, but without a licence
    assert httpx.post(f"{site.url}/v1/documents", json=revoke).status_code == 201
    deadline = time.monotonic() + 15
    while True:
        answer = call_gateway(gateway.url + DATASET, revoked, product=LICENCE)
        if answer.status_code == 401:
            break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)
    assert answer.json()["type"] == "/problems/revoked-key"


def test_dataex_away_licences_served_within_the_staleness_then_refused(
        world: dict[str, Any]) -> None:
    site: Server = world["site"]
    journal = world["folder"] / "journal.sqlite3"
    world["gateway"].stop()
    gateway = world["gateway"] = Gateway(site, world["upstream"], journal, staleness="6")
    bob = world["key"]("bob")
    left = _units(site, "bob", TOKEN)
    site.stop()
    answer = call_gateway(gateway.url + DATASET, bob, product=LICENCE)
    assert answer.status_code == 200, answer.text
    # tokens: served while a reservation fits what the last holder list showed, then refused
    allowed = left * TOKENS_PER_UNIT
    statuses = [call_gateway(gateway.url + "/v1/chat/completions", bob, product=TOKEN,
                             json_body={"messages": [{"content": "w " * 20}],
                                        "max_tokens": 8}).status_code
                for _ in range(allowed // 20 + 3)]
    assert statuses[0] == 200 and statuses[-1] == 402, statuses
    time.sleep(7)
    stale = call_gateway(gateway.url + DATASET, bob, product=LICENCE)
    assert stale.status_code == 503
    assert stale.json()["type"] == "/problems/holders-unavailable"
    health = httpx.get(f"{gateway.url}/gateway/health")
    assert health.status_code == 503 and health.json()["fresh"] is False
