"""Drive the market through a runtime's real front door (the sequencer), as clients do."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dataex.core.documents.timefmt import format_utc
from dataex.core.market.contracts import (
    APPROVE,
    CANCEL,
    CONSUME,
    DEFINE_TOKEN,
    DELIST,
    DEPOSIT,
    HALT,
    ISSUE_LICENCES,
    LIST_LICENCE,
    MINT,
    PLACE,
    REDUCE,
    RESUME,
    WITHDRAW,
)
from dataex.store.runtime import Runtime
from tests.factories import Actor, now
from tests.platform_setup import admit, submit, with_operator

__all__ = [
    "APPROVE", "CANCEL", "CONSUME", "DEFINE_TOKEN", "DELIST", "DEPOSIT", "HALT",
    "ISSUE_LICENCES", "LIST_LICENCE", "MINT", "PLACE", "REDUCE", "RESUME", "WITHDRAW",
]

TOKEN = "QWEN-IN-1M"
_refs = itertools.count(1)


def token_body(symbol: str = TOKEN, *, valid_for: timedelta = timedelta(days=365),
               **changes: Any) -> dict[str, Any]:
    start = now()
    return {
        "symbol": symbol,
        "model_id": "qwen3-max",
        "unit_label": "1M input tokens",
        "valid_from": format_utc(start - timedelta(days=1)),
        "valid_until": format_utc(start + valid_for),
        "tick_size": 1,
        "lot_size": 1,
        "min_price": 100,
        "max_price": 100_000,
        **changes,
    }


def licence_terms(**changes: Any) -> dict[str, Any]:
    return {
        "purpose": "Route planning research",
        "scope": "Internal analytics only.",
        "duration_days": 365,
        "territory": "CN",
        "exclusivity": "non_exclusive",
        "sublicensable": False,
        "delivery": "api",
        **changes,
    }


def licence_body(symbol: str, certificate_number: str, **changes: Any) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "certificate_number": certificate_number,
        "licence_template_id": "standard@1",
        "terms": licence_terms(**changes.pop("terms", {})),
        "tick_size": 100,
        "lot_size": 1,
        "min_price": 10_000,
        "max_price": 10_000_000,
        **changes,
    }


def order(symbol: str, side: str, price: int, quantity: int, order_type: str = "limit",
          **extra: Any) -> dict[str, Any]:
    return {
        "client_order_ref": f"c-{next(_refs)}",
        "symbol": symbol,
        "side": side,
        "order_type": order_type,
        "price": price,
        "quantity": quantity,
        **extra,
    }


@dataclass
class Floor:
    """The people of a market test; each acts through the sequencer."""

    runtime: Runtime
    operator: Actor
    issuer: Actor
    alice: Actor
    bob: Actor

    async def act(self, actor: Actor, contract: str, body: dict[str, Any]) -> list[Any]:
        return (await submit(self.runtime, actor.sign(contract, body))).events

    async def deposit(self, actor: Actor, amount: int) -> None:
        await self.act(self.operator, DEPOSIT,
                       {"participant_id": actor.participant_id, "amount": amount})

    async def place(self, actor: Actor, symbol: str, side: str, price: int, quantity: int,
                    order_type: str = "limit", **extra: Any) -> list[Any]:
        return await self.act(actor, PLACE, order(symbol, side, price, quantity, order_type,
                                                  **extra))

    async def token(self, symbol: str = TOKEN, minted: int = 1000, **changes: Any) -> str:
        await self.act(self.issuer, DEFINE_TOKEN, token_body(symbol, **changes))
        await self.act(self.operator, APPROVE, {"symbol": symbol})
        if minted:
            await self.act(self.issuer, MINT, {"symbol": symbol, "quantity": minted})
        return symbol


async def floor(runtime: Runtime) -> Floor:
    operator = await with_operator(runtime)
    issuer = await admit(runtime, operator, "issuer", ["issuer", "trader"])
    alice = await admit(runtime, operator, "alice", ["trader"])
    bob = await admit(runtime, operator, "bob", ["trader"])
    return Floor(runtime, operator, issuer, alice, bob)


async def market_day(runtime: Runtime) -> None:
    """A small day of trading: a token, cash, a trade, a resting order and its cancel."""
    f = await floor(runtime)
    symbol = await f.token()
    await f.deposit(f.alice, 1_000_000)
    await f.place(f.issuer, symbol, "sell", 1500, 40)
    await f.place(f.alice, symbol, "buy", 1500, 25)
    rested = await f.place(f.alice, symbol, "buy", 1400, 10)
    order_id = next(e["order_id"] for e in rested if e["type"] == "order.accepted")
    await f.act(f.alice, CANCEL, {"order_id": order_id})
