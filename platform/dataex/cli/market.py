"""`dataex market ...`: cash, products, units, orders and market data from the command line.

Thin wrappers like cli/registry.py: each action builds the body of a
dataex.market.* contract (core/market/contracts.py), signs it with --key and
submits it, printing the receipt. Reads of public market data need no key;
`orders`, `fills`, `balances` and `licences` are one's own and are sent as
signed requests (contracts/SPEC.md section 12) with --key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import click

from dataex.cli.common import (
    friendly_errors,
    options,
    print_json,
    server_option,
    sign_and_submit,
    signed,
)
from dataex.client.sdk import Client, new_nonce
from dataex.core.market.contracts import Delivery, Exclusivity, OrderType, StpMode
from dataex.keys.files import load_key

PREFIX = "dataex.market."


def _submit(server: str, key_path: Path, action: str, body: dict[str, Any]) -> None:
    sign_and_submit(server, key_path, f"{PREFIX}{action}.v1", body)


def _get(server: str, path: str, **params: Any) -> None:
    with Client(server) as client:
        print_json(client.get(path, **{k: v for k, v in params.items() if v is not None}))


def _own(server: str, key_path: Path, path: str, **params: Any) -> None:
    with Client(server) as client:
        print_json(client.signed_get(path, load_key(key_path), **params))


def _optional(body: dict[str, Any], **values: Any) -> dict[str, Any]:
    body.update({k: v for k, v in values.items() if v is not None})
    return body


def _choice(literal: Any) -> click.Choice[str]:
    return click.Choice(get_args(literal))


_band = options(
    click.option("--tick", "tick_size", type=int, required=True, help="Price step in fen."),
    click.option("--lot", "lot_size", type=int, default=1, show_default=True,
                 help="Quantity step in units."),
    click.option("--min-price", type=int, required=True, help="Lowest price in fen."),
    click.option("--max-price", type=int, required=True, help="Highest price in fen."),
)


@click.group()
def market() -> None:
    """Trade data licences and AI-token lots: cash, products, orders, market data."""


# ---- cash (operator) ---------------------------------------------------------------


@market.command()
@click.argument("participant_id")
@click.argument("amount", type=int)
@click.option("--reference", default=None, help="The bank rail's reference.")
@signed
def deposit(participant_id: str, amount: int, reference: str | None, key_path: Path,
            server: str) -> None:
    """Operator: credit AMOUNT fen to PARTICIPANT_ID from the bank rail."""
    body = _optional({"participant_id": participant_id, "amount": amount},
                     bank_reference=reference)
    _submit(server, key_path, "deposit", body)


@market.command()
@click.argument("participant_id")
@click.argument("amount", type=int)
@click.option("--reference", default=None, help="The bank rail's reference.")
@signed
def withdraw(participant_id: str, amount: int, reference: str | None, key_path: Path,
             server: str) -> None:
    """Operator: pay AMOUNT fen of PARTICIPANT_ID's available cash out."""
    body = _optional({"participant_id": participant_id, "amount": amount},
                     bank_reference=reference)
    _submit(server, key_path, "withdraw", body)


# ---- products ----------------------------------------------------------------------


@market.group()
def product() -> None:
    """Define, list, approve, halt, resume and delist products."""


@product.command("define-token")
@click.argument("symbol")
@click.option("--model-id", required=True)
@click.option("--unit-label", required=True, help="e.g. '1M input tokens'.")
@click.option("--valid-from", required=True, help="UTC time, e.g. 2026-11-27T00:00:00Z.")
@click.option("--valid-until", required=True, help="UTC time; units expire at this instant.")
@_band
@click.option("--maker-fee-bps", type=int, default=None)
@click.option("--taker-fee-bps", type=int, default=None)
@signed
def define_token(symbol: str, key_path: Path, server: str, **fields: Any) -> None:
    """Issuer: define an AI-token product (pending until the operator approves)."""
    body = {"symbol": symbol, **{k: v for k, v in fields.items() if v is not None}}
    _submit(server, key_path, "product.define_token", body)


@product.command("list-licence")
@click.argument("symbol")
@click.option("--certificate", "certificate_number", required=True)
@click.option("--template", "licence_template_id", default="standard@1", show_default=True,
              help="A licence template id@version (`dataex licence templates`).")
@click.option("--template-hash", "licence_template_hash", default=None,
              help="The template hash you read: refused if the template has changed since.")
@click.option("--purpose", required=True)
@click.option("--scope", required=True)
@click.option("--duration-days", type=int, required=True)
@click.option("--territory", default="CN", show_default=True)
@click.option("--exclusivity", type=_choice(Exclusivity), default="non_exclusive",
              show_default=True)
@click.option("--sublicensable/--no-sublicensable", default=False, show_default=True)
@click.option("--delivery", type=_choice(Delivery), default="api", show_default=True)
@_band
@signed
def list_licence(symbol: str, certificate_number: str, licence_template_id: str,
                 licence_template_hash: str | None, key_path: Path, server: str,
                 tick_size: int, lot_size: int, min_price: int, max_price: int,
                 **terms: Any) -> None:
    """Certificate holder: list a data-licence product of your certificate."""
    body = _optional({
        "symbol": symbol, "certificate_number": certificate_number,
        "licence_template_id": licence_template_id, "terms": terms,
        "tick_size": tick_size, "lot_size": lot_size,
        "min_price": min_price, "max_price": max_price,
    }, licence_template_hash=licence_template_hash)
    _submit(server, key_path, "product.list_licence", body)


@product.command("list")
@click.option("--status", default=None, help="pending, listed, halted or delisted.")
@click.option("--kind", default=None, help="token or data_licence.")
@server_option
@friendly_errors
def list_products(status: str | None, kind: str | None, server: str) -> None:
    """Every product with its rules, fees and status."""
    _get(server, "/v1/market/products", status=status, kind=kind)


@product.command("show")
@click.argument("symbol")
@server_option
@friendly_errors
def show_product(symbol: str, server: str) -> None:
    """One product: rules, fees, status; a data licence's terms and template copy."""
    _get(server, f"/v1/market/products/{symbol}")


@product.command()
@click.argument("symbol")
@click.option("--maker-fee-bps", type=int, default=None)
@click.option("--taker-fee-bps", type=int, default=None)
@signed
def approve(symbol: str, maker_fee_bps: int | None, taker_fee_bps: int | None,
            key_path: Path, server: str) -> None:
    """Operator: list a pending product, optionally setting its fees."""
    body = _optional({"symbol": symbol}, maker_fee_bps=maker_fee_bps,
                     taker_fee_bps=taker_fee_bps)
    _submit(server, key_path, "product.approve", body)


@product.command()
@click.argument("symbol")
@click.option("--reason", required=True)
@signed
def halt(symbol: str, reason: str, key_path: Path, server: str) -> None:
    """Operator or regulator: stop trading in SYMBOL."""
    _submit(server, key_path, "product.halt", {"symbol": symbol, "reason": reason})


@product.command()
@click.argument("symbol")
@signed
def resume(symbol: str, key_path: Path, server: str) -> None:
    """Operator or regulator: resume trading in SYMBOL."""
    _submit(server, key_path, "product.resume", {"symbol": symbol})


@product.command()
@click.argument("symbol")
@click.option("--reason", required=True)
@signed
def delist(symbol: str, reason: str, key_path: Path, server: str) -> None:
    """Operator: delist SYMBOL for good; its open orders are cancelled."""
    _submit(server, key_path, "product.delist", {"symbol": symbol, "reason": reason})


# ---- units -------------------------------------------------------------------------


@market.command()
@click.argument("symbol")
@click.argument("quantity", type=int)
@signed
def mint(symbol: str, quantity: int, key_path: Path, server: str) -> None:
    """Issuer: mint QUANTITY units of your token product to yourself."""
    _submit(server, key_path, "mint", {"symbol": symbol, "quantity": quantity})


@market.command("issue-licences")
@click.argument("symbol")
@click.argument("quantity", type=int)
@signed
def issue_licences(symbol: str, quantity: int, key_path: Path, server: str) -> None:
    """Lister: issue QUANTITY licence units of your data-licence product to yourself."""
    _submit(server, key_path, "licence.issue", {"symbol": symbol, "quantity": quantity})


@market.command()
@click.argument("symbol")
@click.option("--holder", required=True, help="Participant id whose units were used.")
@click.option("--units", type=int, required=True)
@click.option("--reference", default=None, help="Your usage report's reference.")
@signed
def consume(symbol: str, holder: str, units: int, reference: str | None, key_path: Path,
            server: str) -> None:
    """Issuer: report that HOLDER used UNITS of SYMBOL; they are burnt."""
    body = _optional({"symbol": symbol, "holder": holder, "units": units},
                     usage_reference=reference)
    _submit(server, key_path, "consume", body)


# ---- orders ------------------------------------------------------------------------


@market.command()
@click.argument("symbol")
@click.argument("side", type=click.Choice(["buy", "sell"]))
@click.argument("quantity", type=int)
@click.option("--price", type=int, required=True,
              help="Limit in fen per unit; for --type market the worst price accepted.")
@click.option("--type", "order_type", type=_choice(OrderType), default="limit",
              show_default=True)
@click.option("--stp", type=_choice(StpMode), default=None,
              help="Self-trade prevention (default cancel_newest).")
@click.option("--ref", "client_order_ref", default=None, help="Your own reference.")
@signed
def place(symbol: str, side: str, quantity: int, price: int, order_type: str, stp: str | None,
          client_order_ref: str | None, key_path: Path, server: str) -> None:
    """Trader: place an order of QUANTITY units of SYMBOL."""
    body = _optional(
        {"client_order_ref": client_order_ref or new_nonce()[:20], "symbol": symbol,
         "side": side, "order_type": order_type, "price": price, "quantity": quantity},
        stp=stp,
    )
    _submit(server, key_path, "order.place", body)


@market.command()
@click.argument("order_id")
@signed
def cancel(order_id: str, key_path: Path, server: str) -> None:
    """Trader: cancel your resting order."""
    _submit(server, key_path, "order.cancel", {"order_id": order_id})


@market.command()
@click.argument("order_id")
@click.argument("new_quantity", type=int)
@signed
def reduce(order_id: str, new_quantity: int, key_path: Path, server: str) -> None:
    """Trader: lower your resting order's quantity, keeping its priority (0 cancels)."""
    _submit(server, key_path, "order.reduce", {"order_id": order_id,
                                               "new_quantity": new_quantity})


# ---- one's own (signed requests) ---------------------------------------------------


@market.command()
@click.option("--status", default=None, help="open, filled, cancelled or expired.")
@click.option("--limit", type=int, default=100, show_default=True)
@signed
def orders(status: str | None, limit: int, key_path: Path, server: str) -> None:
    """Your orders, newest first."""
    _own(server, key_path, "/v1/market/me/orders", status=status, limit=limit)


@market.command()
@click.option("--limit", type=int, default=100, show_default=True)
@signed
def fills(limit: int, key_path: Path, server: str) -> None:
    """Your fills, newest first."""
    _own(server, key_path, "/v1/market/me/fills", limit=limit)


@market.command()
@signed
def balances(key_path: Path, server: str) -> None:
    """Your available and held balances per asset, and each open order's hold."""
    _own(server, key_path, "/v1/market/me/balances")


@market.command()
@signed
def licences(key_path: Path, server: str) -> None:
    """Licences you hold: each document, its hash and status."""
    _own(server, key_path, "/v1/market/me/licences")


# ---- market data (public) ----------------------------------------------------------


@market.command()
@click.argument("symbol")
@click.option("--levels", type=int, default=20, show_default=True)
@server_option
@friendly_errors
def book(symbol: str, levels: int, server: str) -> None:
    """SYMBOL's book by price level."""
    _get(server, f"/v1/market/products/{symbol}/depth", levels=levels)


@market.command()
@click.argument("symbol")
@click.option("--limit", type=int, default=50, show_default=True)
@server_option
@friendly_errors
def trades(symbol: str, limit: int, server: str) -> None:
    """SYMBOL's recent trades, newest first."""
    _get(server, f"/v1/market/products/{symbol}/trades", limit=limit)


@market.command()
@click.argument("symbol")
@server_option
@friendly_errors
def ticker(symbol: str, server: str) -> None:
    """SYMBOL's last price, best bid and ask, and 24-hour figures."""
    _get(server, f"/v1/market/products/{symbol}/ticker")


@market.command()
@click.argument("symbol")
@click.option("--interval", default="1m", show_default=True,
              type=click.Choice(["1m", "5m", "15m", "1h", "4h", "1d"]))
@click.option("--limit", type=int, default=100, show_default=True)
@server_option
@friendly_errors
def candles(symbol: str, interval: str, limit: int, server: str) -> None:
    """SYMBOL's OHLCV candles, oldest first."""
    _get(server, f"/v1/market/products/{symbol}/candles", interval=interval, limit=limit)
