"""The market, read: products, depth, trades, ticker, candles; one's own orders and money.

Public market data is read from the committed tables. A participant's own
orders, fills, balances, holds and licences need a signed request (the
Dataex-Auth header, core/participants/request_auth.py, contracts/SPEC.md section 12): the
key it names must be active, the timestamp within the clock skew, and the
signature over method, path with query, timestamp and body hash must verify.
Writes are signed documents POSTed to /v1/documents like every other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from dataex.api import access, params
from dataex.api.state import runtime_from
from dataex.core.documents.encoding import b64url_encode
from dataex.core.documents.errors import NotFound, SchemaViolation
from dataex.core.documents.signing import key_id, public_key_bytes
from dataex.core.market.licence_templates import LicenceTemplate, template_document
from dataex.core.market.products import KINDS as PRODUCT_KINDS
from dataex.core.market.products import STATUSES as PRODUCT_STATUSES
from dataex.store.market import queries as q
from dataex.store.market.projection import CANCELLED, EXPIRED, FILLED, OPEN

MAX_PAGE = 500
Limit = Annotated[int, params.limit(MAX_PAGE)]
Offset = params.Offset
Symbol = params.Ident
ORDER_STATUSES = (OPEN, FILLED, CANCELLED, EXPIRED)


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise SchemaViolation(f"unknown {name} {value!r}; one of {list(allowed)}")
    return value


async def _product(request: Request[Any, Any, Any], symbol: str) -> dict[str, Any]:
    found = await q.product(runtime_from(request).reads, symbol)
    if found is None:
        raise NotFound(f"no product {symbol}", symbol=symbol)
    return found


def signed_participant(request: Request[Any, Any, Any]) -> str:
    """Who a signed request acts for (401 problem+json otherwise)."""
    who = access.participant(request).participant_id
    assert who is not None
    return who


def _template(template: LicenceTemplate) -> dict[str, Any]:
    return {"ref": template.ref, "hash": template.hash, "template": template_document(template)}


class MarketController(Controller):
    path = "/v1/market"
    tags = ["market"]

    @get("/products", summary="Products, with their rules, fees and status")
    async def products(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[str | None, params.one_of("status", PRODUCT_STATUSES)] = None,
        kind: Annotated[str | None, params.one_of("kind", PRODUCT_KINDS)] = None,
    ) -> dict[str, Any]:
        found = await q.product_list(
            runtime_from(request).reads,
            status=_one_of("status", status, tuple(sorted(PRODUCT_STATUSES))),
            kind=_one_of("kind", kind, tuple(sorted(PRODUCT_KINDS))),
        )
        return {"products": found}

    @get("/products/{symbol:str}", summary="One product")
    async def product(self, request: Request[Any, Any, Any], symbol: Symbol) -> Any:
        return await _product(request, symbol)

    @get(
        "/products/{symbol:str}/depth",
        summary="The book by price level",
        description="Bids highest first, asks lowest first: price, quantity and order count "
        "per level, as committed at log entry `seq`.",
    )
    async def depth(
        self,
        request: Request[Any, Any, Any],
        symbol: Symbol,
        levels: Annotated[int, params.limit(MAX_PAGE, "price levels per side")] = 20,
    ) -> dict[str, Any]:
        await _product(request, symbol)
        return await q.depth(runtime_from(request).reads, symbol, levels)

    @get("/products/{symbol:str}/trades", summary="Recent trades, newest first")
    async def trades(
        self, request: Request[Any, Any, Any], symbol: Symbol, limit: Limit = 50
    ) -> dict[str, Any]:
        await _product(request, symbol)
        found = await q.recent_trades(runtime_from(request).reads, symbol, limit)
        return {"symbol": symbol, "trades": found}

    @get("/products/{symbol:str}/ticker", summary="Last price, best bid and ask, 24 h stats")
    async def ticker(self, request: Request[Any, Any, Any], symbol: Symbol) -> Any:
        await _product(request, symbol)
        return await q.ticker(runtime_from(request).reads, symbol, datetime.now(UTC))

    @get(
        "/products/{symbol:str}/candles",
        summary="OHLCV candles per interval, oldest first",
        description="Computed from the trades table; `start` is the interval's start (UTC, "
        "intervals aligned to 2000-01-01T00:00Z); intervals without trades are left out. "
        f"interval is one of {list(q.CANDLE_INTERVALS)}.",
    )
    async def candles(
        self,
        request: Request[Any, Any, Any],
        symbol: Symbol,
        interval: Annotated[str, params.one_of("interval", q.CANDLE_INTERVALS)] = "1m",
        limit: Limit = 100,
    ) -> dict[str, Any]:
        step = q.CANDLE_INTERVALS.get(interval)
        if step is None:
            raise SchemaViolation(
                f"unknown interval {interval!r}; one of {list(q.CANDLE_INTERVALS)}"
            )
        await _product(request, symbol)
        found = await q.candles(runtime_from(request).reads, symbol, step, limit)
        return {"symbol": symbol, "interval": interval, "candles": found}

    @get(
        "/licences/{licence_id:str}",
        summary="One licence: its rendered document, hash, platform signature and links",
        description=(
            "Signed request of the licensee, the licensor or a regulator (404 for others). "
            "`document` is what the platform signed (contracts/SPEC.md section 11), with "
            "the contract `text` rendered from the product's licence template; "
            "`platform_public_key` is the key named by `platform_key_id` (whose id is its "
            "hash, so a client that pins the id needs nothing else). `links` point to the "
            "certificate, the licence registration in the registry and the log entry. "
            "`dataex licence verify ID` checks all of it."
        ),
    )
    async def licence(self, request: Request[Any, Any, Any], licence_id: params.Ident) -> Any:
        who = access.participant(request)
        runtime = runtime_from(request)
        found = await q.licence(runtime.engine, licence_id, datetime.now(UTC))
        parties = {found["document"]["licensee"], found["document"]["licensor"]} if found else set()
        if found is None or not (who.sees_everything() or who.participant_id in parties):
            raise NotFound(f"no licence {licence_id} of yours")
        key = runtime.sequencer.licence_key
        public = None if key is None else public_key_bytes(key)
        document = found["document"]
        return {
            **found,
            "platform_public_key": b64url_encode(public)
            if public is not None and key_id(public) == found["platform_key_id"]
            else None,
            "links": {
                "certificate": f"/v1/registry/certificates/{document['certificate_number']}",
                "registration": f"/v1/registry/registrations/{document['registration_id']}",
                "log_entry": f"/v1/audit/entries/{found['seq']}",
                "product": f"/v1/market/products/{document['symbol']}",
            },
        }

    @get(
        "/products/{symbol:str}/holders",
        summary="A product's holders and their units; a licence product's licences (its issuer)",
        description=(
            "Signed request of the product's issuer or a regulator (404 for others): what a "
            "delivery gateway admits on (docs/providers.md). `seq` is the log size read "
            "before the holders, so every change up to it is in them; `checkpoint` is the "
            "latest signed checkpoint; a data-licence product also lists its active "
            "licences with their platform-signed documents."
        ),
    )
    async def holders(self, request: Request[Any, Any, Any], symbol: params.Ident) -> Any:
        who = access.participant(request)
        runtime = runtime_from(request)
        seq = runtime.sequencer.head.seq
        found = await q.product(runtime.engine, symbol)
        if found is None or not (who.sees_everything() or who.participant_id == found["issuer"]):
            raise NotFound(f"no product {symbol} of yours")
        checkpoint = await runtime.checkpointer.latest()
        answer: dict[str, Any] = {
            "symbol": symbol, "kind": found["kind"], "seq": seq,
            "checkpoint": None if checkpoint is None else checkpoint.note,
            "holders": await q.product_holders(runtime.engine, symbol, found["issuer"]),
        }
        if found["kind"] == "data_licence":
            now = datetime.now(UTC)
            listed = await q.licence_list(runtime.engine, now, symbol=symbol, limit=100_000)
            answer["licences"] = [lic for lic in listed if lic["status"] == "active"]
        return answer

    @get("/licence-templates", summary="The licence templates a data-licence listing may name")
    async def licence_templates(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        catalogue = runtime_from(request).sequencer.state.market.licence_templates
        return {"templates": [_template(t) for _, t in sorted(catalogue.items())]}

    @get(
        "/licence-templates/{ref:str}",
        summary="One licence template (id@version): its terms schema, body and hash",
    )
    async def licence_template(
        self, request: Request[Any, Any, Any], ref: params.Ident
    ) -> dict[str, Any]:
        catalogue = runtime_from(request).sequencer.state.market.licence_templates
        template = catalogue.get(ref)
        if template is None:
            raise NotFound(f"no licence template {ref}; the platform offers {sorted(catalogue)}")
        return _template(template)

    @get(
        "/stream",
        summary="Live trades and book changes (server-sent events)",
        description=(
            "Each event's `id` is its `stream_seq` (one more than the last: a gap means "
            "messages were missed) and its data carries `seq`, the log entry of the change. "
            "To resynchronise: read the depth snapshot (it carries its `seq`) and apply only "
            "messages with a larger `seq`. Event types: `trade`; `book` (the new total of "
            "each price level a batch changed, 0 = gone); `product` (status changes). "
            "`symbols` is a comma-separated filter; `max_messages` ends the stream after "
            "that many (for scripts). The server also ends every stream when its state jumps "
            "(after a failover, or a standby catching up): reconnect and resynchronise."
        ),
        media_type="text/event-stream",
    )
    async def stream(
        self,
        request: Request[Any, Any, Any],
        symbols: Annotated[str | None, params.text("e.g. QWEN-IN-1M,X")] = None,
        max_messages: Annotated[int | None, params.size("end after this many", 1)] = None,
    ) -> ServerSentEvent:
        sequencer = runtime_from(request).sequencer
        wanted = set(symbols.split(",")) if symbols else None
        queue = sequencer.feed.subscribe()

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            sent = 0
            try:
                yield ServerSentEventMessage(
                    event="hello",
                    data=msgspec.json.encode({"seq": sequencer.head.seq}).decode(),
                )
                while max_messages is None or sent < max_messages:
                    message = await queue.get()
                    if message is None:
                        return
                    if wanted is not None and message["symbol"] not in wanted:
                        continue
                    sent += 1
                    yield ServerSentEventMessage(
                        event=message["type"],
                        id=message["stream_seq"],
                        data=msgspec.json.encode(message).decode(),
                    )
            finally:
                sequencer.feed.unsubscribe(queue)

        return ServerSentEvent(messages())

    # ---- one's own: signed requests --------------------------------------------------

    @get("/me/orders", summary="Your orders, newest first (signed request)")
    async def my_orders(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[str | None, params.one_of("status", ORDER_STATUSES)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        me = signed_participant(request)
        found = await q.own_orders(
            runtime_from(request).engine, me,
            status=_one_of("status", status, ORDER_STATUSES), limit=limit, offset=offset,
        )
        return {"participant_id": me, "orders": found}

    @get("/me/fills", summary="Your fills, newest first (signed request)")
    async def my_fills(self, request: Request[Any, Any, Any], limit: Limit = 100) -> Any:
        me = signed_participant(request)
        found = await q.own_fills(runtime_from(request).engine, me, limit)
        return {"participant_id": me, "fills": found}

    @get("/me/balances", summary="Your available and held balances and holds (signed request)")
    async def my_balances(self, request: Request[Any, Any, Any]) -> Any:
        me = signed_participant(request)
        return await q.own_balances(runtime_from(request).engine, me)

    @get("/me/licences", summary="Licences you hold (signed request)")
    async def my_licences(
        self, request: Request[Any, Any, Any], limit: Limit = 100, offset: Offset = 0
    ) -> Any:
        me = signed_participant(request)
        found = await q.licence_list(
            runtime_from(request).engine, datetime.now(UTC), licensee=me, limit=limit,
            offset=offset,
        )
        return {"participant_id": me, "licences": found}
