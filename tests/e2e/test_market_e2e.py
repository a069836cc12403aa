"""The market end to end: `dataex serve --demo` seeds a live market; the `dataex market`
commands read it and trade on it; `ledger check` and `audit verify` (which replays every
order through core) pass; a restart keeps the book."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from dataex.core.documents.signing import public_key_bytes
from dataex.core.market.licence_signing import licence_signature_valid
from dataex.keys.files import describe, load_key
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

TOKEN = "QWEN-IN-1M"


def _market(server: Server, *args: str, who: str | None = None) -> Any:
    key = ["--key", str(server.data_dir / "demo-keys" / f"{who}.pem")] if who else []
    return server.cli_json("market", *args, *key)


def test_the_demo_market_trades_through_the_cli_and_survives_a_restart(server: Server) -> None:
    server.start("--demo")
    products = _market(server, "product", "list", "--status", "listed")["products"]
    assert {p["symbol"] for p in products} == {TOKEN, "QWEN-OUT-1M", "TAXI-TRAJ-LIC"}
    book = _market(server, "book", TOKEN, "--levels", "500")
    resting = sum(level["orders"] for side in ("bids", "asks") for level in book[side])
    assert resting > 100 and book["bids"][0]["price"] < book["asks"][0]["price"]
    assert _market(server, "trades", TOKEN)["trades"]
    assert _market(server, "ticker", TOKEN)["last_price"] is not None
    assert _market(server, "candles", TOKEN, "--interval", "1h")["candles"]

    bob = _market(server, "balances", who="bob")
    assert bob["balances"][TOKEN]["available"] > 0
    licences = _market(server, "licences", who="bob")["licences"]
    assert len(licences) == 2 and licences[0]["status"] == "active"
    log_key = load_key(server.data_dir / "keys" / "log.pem")
    assert licences[0]["platform_key_id"] == describe(log_key)["key_id"]
    assert licence_signature_valid(licences[0]["document"], licences[0]["platform_signature"],
                                   public_key_bytes(log_key))

    # A bid below the book rests, shows in one's own orders, and a cancel frees its hold.
    receipt = _market(server, "place", TOKEN, "buy", "5", "--price", "1000", who="alice")
    order_id = receipt["events"][0]["order_id"]
    assert receipt["events"][1]["type"] == "order.rested"
    mine = _market(server, "orders", "--status", "open", who="alice")["orders"]
    assert order_id in {o["order_id"] for o in mine}
    cancelled = _market(server, "cancel", order_id, who="alice")
    assert cancelled["events"][0]["released"] == 5 * 1000 + 5
    refused = server.cli("market", "place", TOKEN, "buy", "5", "--price", "10", "--key",
                         str(server.data_dir / "demo-keys" / "alice.pem"), check=False)
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["type"] == "/problems/price-outside-band"

    # The live stream: a crossing order shows as a trade and a book change, with ids.
    lines: list[str] = []

    def listen() -> None:
        url = f"{server.url}/v1/market/stream"
        with httpx.stream("GET", url, params={"symbols": TOKEN, "max_messages": 2},
                          timeout=30) as response:
            lines.extend(response.iter_lines())

    listener = threading.Thread(target=listen)
    listener.start()
    for _ in range(100):  # until the stream said hello
        if lines:
            break
        threading.Event().wait(0.05)
    best_ask = _market(server, "book", TOKEN)["asks"][0]["price"]
    _market(server, "place", TOKEN, "buy", "1", "--price", str(best_ask), who="bob")
    listener.join(timeout=30)
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert events == ["hello", "trade", "book"], lines
    data = [json.loads(line.removeprefix("data: ")) for line in lines
            if line.startswith("data: ")]
    assert data[1]["price"] == best_ask and data[2]["seq"] == data[1]["seq"]

    check = server.cli("ledger", "check")
    assert "ok: every asset sums to zero" in check.stdout, check.stdout
    verified = server.cli("audit", "verify", "--key", server.regulator_key).stdout
    assert verified.startswith("ok: "), verified

    before = _market(server, "book", TOKEN, "--levels", "500")
    assert before["seq"] == book["seq"] + 3  # the place, the cancel and bob's buy
    server.stop()
    server.start()
    assert _market(server, "book", TOKEN, "--levels", "500") == before
