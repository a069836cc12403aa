"""The market over HTTP: each bad input of the issue is a 4xx problem+json that changes
nothing; market data and one's own data (signed requests) read the committed tables."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dataex.config.settings import Settings
from dataex.core.state import snapshot
from dataex.store.market import queries as market_queries
from dataex.store.runtime import Runtime
from dataex.store.tables import ledger_postings, licences, orders, products, trades
from tests.factories import Actor, encode, signed_headers
from tests.market_setup import (
    APPROVE,
    CANCEL,
    DELIST,
    HALT,
    ISSUE_LICENCES,
    LIST_LICENCE,
    PLACE,
    TOKEN,
    Floor,
    floor,
    licence_body,
    order,
)
from tests.platform_setup import admit
from tests.registry_setup import ShiftedClock, initial, through

PROBLEM = "application/problem+json"
LICENCE = "TRAFFIC-LIC"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data",
                    notice_period_seconds=0)


@dataclass
class World:
    f: Floor
    registrar: Actor
    certificate: str  # the issuer's, all rights
    resting: str  # alice's resting bid on TOKEN

    @property
    def runtime(self) -> Runtime:
        return self.f.runtime


@pytest.fixture
async def world(runtime: Runtime) -> World:
    runtime.sequencer.clock = ShiftedClock()
    f = await floor(runtime)
    registrar = await admit(runtime, f.operator, "registrar", ["registrar"])
    number = await through(runtime, f.issuer, registrar, initial())
    await f.token(minted=1000, tick_size=5, lot_size=10)
    await f.act(f.issuer, LIST_LICENCE, licence_body(LICENCE, number))
    await f.act(f.operator, APPROVE, {"symbol": LICENCE})
    await f.act(f.issuer, ISSUE_LICENCES, {"symbol": LICENCE, "quantity": 3})
    await f.deposit(f.alice, 1_000_000)
    await f.deposit(f.bob, 1_000)
    await f.place(f.issuer, LICENCE, "sell", 50_000, 3)
    await f.place(f.alice, LICENCE, "buy", 50_000, 1)
    bid = await f.place(f.alice, TOKEN, "buy", 400, 10)
    return World(f, registrar, number, bid[0]["order_id"])


async def _log_size(api: Any) -> int:
    return int((await api.get("/v1/audit/entries", params={"limit": 1})).json()["size"])


async def _tables(runtime: Runtime) -> list[Any]:
    async with runtime.engine.connect() as conn:
        counted = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (ledger_postings, trades, licences)
        ]
        rows = [
            tuple(r) for t in (orders, products)
            for r in await conn.execute(select(t).order_by(*t.primary_key.columns))
        ]
    return [*counted, *rows]


# ---- bad input: a problem, and nothing changes ---------------------------------------

Prepare = Callable[[World], Awaitable[dict[str, Any]]]


def _placing(actor: str, symbol: str, side: str, price: int, quantity: int) -> Prepare:
    async def prepare(w: World) -> dict[str, Any]:
        return getattr(w.f, actor).sign(PLACE, order(symbol, side, price, quantity))
    return prepare


async def _delisted(w: World) -> dict[str, Any]:
    await w.f.token("OLD-TOKEN", minted=0)
    await w.f.act(w.f.operator, DELIST, {"symbol": "OLD-TOKEN", "reason": "Retired."})
    return w.f.alice.sign(PLACE, order("OLD-TOKEN", "buy", 500, 1))


async def _halted(w: World) -> dict[str, Any]:
    await w.f.act(w.f.operator, HALT, {"symbol": TOKEN, "reason": "Inquiry."})
    return w.f.alice.sign(PLACE, order(TOKEN, "buy", 500, 10))


async def _expired_units(w: World) -> dict[str, Any]:
    from datetime import timedelta

    await w.f.token("SHORT-TOKEN", minted=100, valid_for=timedelta(seconds=60))
    clock = w.runtime.sequencer.clock
    assert isinstance(clock, ShiftedClock)
    clock.advance(120)
    return w.f.issuer.sign(PLACE, order("SHORT-TOKEN", "sell", 500, 10))


async def _listing_on_someone_elses_certificate(w: World) -> dict[str, Any]:
    return w.f.bob.sign(LIST_LICENCE, licence_body("BOBS-LIC", w.certificate))


async def _listing_without_the_right(w: World) -> dict[str, Any]:
    number = await through(w.runtime, w.f.bob, w.registrar,
                           initial(rights=["holding", "processing_use"]))
    return w.f.bob.sign(LIST_LICENCE, licence_body("BOBS-LIC", number))


def _listing(**changes: Any) -> Prepare:
    async def prepare(w: World) -> dict[str, Any]:
        return w.f.issuer.sign(LIST_LICENCE, licence_body("ISS-LIC2", w.certificate, **changes))
    return prepare


async def _resale(w: World) -> dict[str, Any]:
    return w.f.alice.sign(PLACE, order(LICENCE, "sell", 60_000, 1))


async def _cancel_someone_elses(w: World) -> dict[str, Any]:
    return w.f.bob.sign(CANCEL, {"order_id": w.resting})


BAD_INPUTS: dict[str, tuple[Prepare, int, str]] = {
    "price off tick": (_placing("alice", TOKEN, "buy", 502, 10), 422, "price-off-tick"),
    "quantity off lot": (_placing("alice", TOKEN, "buy", 500, 15), 422, "quantity-off-lot"),
    "price outside the band": (
        _placing("alice", TOKEN, "buy", 100_005, 10), 422, "price-outside-band"),
    "unknown product": (_placing("alice", "NOPE-X", "buy", 500, 10), 404, "unknown-product"),
    "delisted product": (_delisted, 409, "product-delisted"),
    "insufficient funds": (_placing("bob", TOKEN, "buy", 500, 10), 409, "insufficient-funds"),
    "insufficient units": (_placing("bob", TOKEN, "sell", 500, 10), 409, "insufficient-units"),
    "expired token units": (_expired_units, 409, "token-units-expired"),
    "halted product": (_halted, 409, "product-halted"),
    "listing on a certificate one does not hold": (
        _listing_on_someone_elses_certificate, 403, "listing-refused"),
    "listing without the product_operation right": (
        _listing_without_the_right, 403, "listing-refused"),
    "listing with an unknown licence template": (
        _listing(licence_template_id="standard@9"), 422, "unknown-licence-template"),
    "listing with terms outside its template": (
        _listing(licence_template_id="compute-in-place@1"), 422,
        "licence-terms-outside-template"),
    "listing pinned to a template hash that changed": (
        _listing(licence_template_hash="0" * 64), 409, "licence-template-changed"),
    "resale of a non-sublicensable licence": (_resale, 403, "resale-not-sublicensable"),
    "cancel of someone else's order": (_cancel_someone_elses, 403, "not-order-owner"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_is_a_problem_and_changes_nothing(api, world: World, case: str) -> None:  # type: ignore[no-untyped-def]
    prepare, status, slug = BAD_INPUTS[case]
    envelope = await prepare(world)
    size, state = await _log_size(api), snapshot(world.runtime.sequencer.state)
    tables = await _tables(world.runtime)

    response = await api.post("/v1/documents", content=encode(envelope))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["type"] == f"/problems/{slug}"
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert await _log_size(api) == size
    assert snapshot(world.runtime.sequencer.state) == state
    assert await _tables(world.runtime) == tables
    assert (await api.get(f"/problems/{slug}")).status_code == 200


# ---- market data ---------------------------------------------------------------------


async def test_market_data_reads_the_committed_book_and_trades(api, world: World) -> None:  # type: ignore[no-untyped-def]
    f = world.f
    await f.place(f.issuer, TOKEN, "sell", 520, 30)
    await f.place(f.issuer, TOKEN, "sell", 510, 20)
    await f.place(f.alice, TOKEN, "buy", 395, 20)
    await f.place(f.alice, TOKEN, "buy", 515, 30)  # takes 20 @ 510, rests 10 @ 515

    listed = (await api.get("/v1/market/products", params={"status": "listed"})).json()
    assert [p["symbol"] for p in listed["products"]] == [TOKEN, LICENCE]
    assert (await api.get(f"/v1/market/products/{TOKEN}")).json()["tick_size"] == 5

    depth = (await api.get(f"/v1/market/products/{TOKEN}/depth")).json()
    assert depth["bids"] == [
        {"price": 515, "quantity": 10, "orders": 1},
        {"price": 400, "quantity": 10, "orders": 1},
        {"price": 395, "quantity": 20, "orders": 1},
    ]
    assert depth["asks"] == [{"price": 520, "quantity": 30, "orders": 1}]
    assert depth["seq"] == await _log_size(api)

    recent = (await api.get(f"/v1/market/products/{TOKEN}/trades")).json()["trades"]
    assert [(t["price"], t["quantity"], t["taker_side"]) for t in recent] == [(510, 20, "buy")]

    ticker = (await api.get(f"/v1/market/products/{TOKEN}/ticker")).json()
    assert (ticker["last_price"], ticker["best_bid"], ticker["best_ask"]) == (510, 515, 520)
    assert (ticker["volume_24h"], ticker["trades_24h"]) == (20, 1)

    await f.place(f.issuer, TOKEN, "sell", 400, 20)
    candles = (await api.get(f"/v1/market/products/{TOKEN}/candles",
                             params={"interval": "1d"})).json()["candles"]
    # The issuer's ask took alice's 515 bid then her 400 bid: one day, three trades.
    assert len(candles) == 1
    (day,) = candles
    assert (day["open"], day["high"], day["low"], day["close"]) == (510, 515, 400, 400)
    assert (day["volume"], day["trades"]) == (40, 3)
    assert day["notional"] == 510 * 20 + 515 * 10 + 400 * 10

    bad = await api.get(f"/v1/market/products/{TOKEN}/candles", params={"interval": "7m"})
    assert bad.status_code == 422 and bad.json()["type"] == "/problems/schema-violation"
    missing = await api.get("/v1/market/products/NOPE-X/depth")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)


# ---- one's own data: signed requests --------------------------------------------------


async def _signed_get(api: Any, actor: Actor, target: str, *, at: int | None = None,
                      signed_target: str | None = None) -> Any:
    return await api.get(target, headers=signed_headers(actor, signed_target or target, at=at))


async def test_a_participant_reads_its_own_orders_balances_and_licences(api, world: World) -> None:  # type: ignore[no-untyped-def]
    alice = world.f.alice
    mine = (await _signed_get(api, alice, "/v1/market/me/orders?status=open")).json()
    assert mine["participant_id"] == alice.participant_id
    assert [o["order_id"] for o in mine["orders"]] == [world.resting]

    money = (await _signed_get(api, alice, "/v1/market/me/balances")).json()
    # 1 000 000 − licence 50 000 − taker fee 50; the token bid holds 400 × 10 + 4.
    assert money["balances"]["CNY"] == {"available": 1_000_000 - 50_050 - 4_004, "held": 4_004}
    assert money["balances"][LICENCE] == {"available": 1, "held": 0}
    assert money["holds"] == [{"order_id": world.resting, "asset": "CNY", "amount": 4_004}]

    held = (await _signed_get(api, alice, "/v1/market/me/licences")).json()["licences"]
    assert len(held) == 1 and held[0]["document"]["licensee"] == alice.participant_id
    licence_id = held[0]["document"]["licence_id"]
    one = (await _signed_get(api, alice, f"/v1/market/licences/{licence_id}")).json()
    assert one["document_hash"] == held[0]["document_hash"] and one["status"] == "active"

    document = one["document"]
    assert document["licence_template_id"] == "standard@1"
    assert document["text"].startswith(f"DATA LICENCE {document['licence_id']}\n")
    assert f"grants {alice.participant_id} (the Licensee)" in document["text"]
    rid = document["registration_id"]
    assert one["links"] == {
        "certificate": f"/v1/registry/certificates/{world.certificate}",
        "registration": f"/v1/registry/registrations/{rid}",
        "log_entry": f"/v1/audit/entries/{one['seq']}",
        "product": f"/v1/market/products/{LICENCE}",
    }
    # The registry shows the licence: as a registration, in search, in the history.
    record = (await api.get(one["links"]["registration"])).json()
    assert (record["kind"], record["status"], record["applicant"]) == (
        "licence", "registered", world.f.issuer.participant_id)
    assert record["application"]["counterparty"] == alice.participant_id
    assert record["market"] == {
        "licence_id": document["licence_id"], "symbol": LICENCE,
        "trade_id": document["trade_id"], "document_hash": one["document_hash"],
        "parent_licence_id": None, "valid_until": document["valid_until"],
        "status": "active", "ended_by_trade": None,
    }
    found = (await api.get("/v1/registry/registrations", params={
        "kind": "licence", "certificate": world.certificate})).json()["registrations"]
    assert [r["registration_id"] for r in found] == [rid]
    history = (await api.get(f"/v1/registry/certificates/{world.certificate}/history")).json()
    assert rid in history["certificate"]["history"]
    assert any(e["type"] == "registration.licence_recorded" and e["seq"] == one["seq"]
               for e in history["events"])
    templates = (await api.get("/v1/market/licence-templates")).json()["templates"]
    assert [t["ref"] for t in templates] == ["compute-in-place@1", "standard@1"]
    standard = (await api.get("/v1/market/licence-templates/standard@1")).json()
    assert standard["hash"] == document["licence_template_hash"]
    assert (await api.get("/v1/market/licence-templates/standard@9")).status_code == 404

    later = datetime(2999, 1, 1, tzinfo=UTC)  # past the licence's 365 days
    (aged,) = await market_queries.licence_list(world.runtime.engine, later,
                                                licensee=alice.participant_id)
    assert aged["status"] == "expired" and aged["document"] == held[0]["document"]

    fills = (await _signed_get(api, alice, "/v1/market/me/fills")).json()["fills"]
    assert [(x["side"], x["price"], x["fee"]) for x in fills] == [("buy", 50_000, 50)]

    # bob sees only his own.
    bobs = (await _signed_get(api, world.f.bob, "/v1/market/me/orders")).json()
    assert bobs["orders"] == []


@pytest.mark.parametrize(
    ("how", "slug"),
    [
        ("no header", "authentication-required"),
        ("stale timestamp", "stale-request"),
        ("signed for another path", "bad-signature"),
        ("unknown key", "unknown-signer"),
    ],
)
async def test_an_unsigned_or_bad_read_is_401(api, world: World, how: str, slug: str) -> None:  # type: ignore[no-untyped-def]
    target = "/v1/market/me/balances"
    if how == "no header":
        response = await api.get(target)
    elif how == "stale timestamp":
        response = await _signed_get(api, world.f.alice, target, at=int(time.time()) - 301)
    elif how == "signed for another path":
        response = await _signed_get(api, world.f.alice, target,
                                     signed_target="/v1/market/me/orders")
    else:
        response = await _signed_get(api, Actor.new("stranger"), target)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["type"] == f"/problems/{slug}"
