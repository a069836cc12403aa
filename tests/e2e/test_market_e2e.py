"""The market end to end: `dataex serve --demo` seeds a live market; the `dataex market`
commands read it and trade on it; `ledger check` and `audit verify` (which replays every
order through core) pass; a restart keeps the book."""

from __future__ import annotations

import json
from typing import Any

import pytest

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

    check = server.cli("ledger", "check")
    assert "ok: every asset sums to zero" in check.stdout, check.stdout
    verified = server.cli("audit", "verify").stdout
    assert verified.startswith("ok: "), verified

    server.stop()
    server.start()
    after = _market(server, "book", TOKEN, "--levels", "500")
    assert (after["bids"], after["asks"]) == (book["bids"], book["asks"])
    assert after["seq"] == book["seq"] + 2  # the place and the cancel
