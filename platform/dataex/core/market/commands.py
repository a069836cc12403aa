"""One entry point for every market contract: the handler table and ``apply_market``.

It sits above state.py, listings.py and orders.py, which never import it, so
the market package has no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container
from datetime import datetime
from typing import Any

from dataex.core.documents.errors import NotFound
from dataex.core.market import listings, orders
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
from dataex.core.market.state import Actor, Event, Market
from dataex.core.registry.lifecycle import Registry

Handler = Callable[[Market, Actor, Any], list[Event]]

MARKET_HANDLERS: dict[str, Handler] = {
    DEPOSIT: Market.deposit,
    WITHDRAW: Market.withdraw,
    DEFINE_TOKEN: listings.define_token,
    LIST_LICENCE: listings.list_licence,
    APPROVE: listings.approve,
    HALT: listings.halt,
    RESUME: listings.resume,
    DELIST: listings.delist,
    MINT: Market.mint,
    ISSUE_LICENCES: Market.issue_licences,
    CONSUME: Market.consume,
    PLACE: orders.place,
    CANCEL: orders.cancel,
    REDUCE: orders.reduce,
}


def apply_market(
    market: Market,
    contract_name: str,
    participant_id: str,
    roles: Collection[str],
    body: Any,
    now: datetime,
    registry: Registry | None = None,
    *,
    admitted: Container[str] | None = None,
) -> list[Event]:
    """One entry point for the state's handler table: every market contract lands here.

    ``registry`` is needed by data-licence listings, issues and orders;
    ``admitted``, when given, must contain the participant a deposit,
    withdrawal or consumption names.
    """
    handler = MARKET_HANDLERS.get(contract_name)
    if handler is None:
        raise NotFound(f"{contract_name} is not a market contract")
    actor = Actor(participant_id, frozenset(roles), now, registry, admitted)
    return handler(market, actor, body)
