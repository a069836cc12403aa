"""The access model of contracts/SPEC.md §12, endpoint by endpoint, reader by reader.

Every GET route of the app has a row in ACCESS (a route without one fails the
test), and each is read as anyone, alice, bob, a regulator and the operator.
For the log, each reader's set of entries is compared with the one the rule
gives, computed here from the database itself: no more, no less. A crawl of
every public endpoint without credentials finds no legal id, and participant
ids only where the registry's public record, the participant directory and
product issuers put them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dataex.api.app import create_app
from dataex.bootstrap.genesis import ensure_keys
from dataex.config.settings import Settings
from dataex.store.runtime import Runtime
from dataex.verify import TrustedKeys
from dataex.verify.own_entries import verify_own_entries
from tests.factories import Actor, signed_headers
from tests.market_setup import APPROVE, ISSUE_LICENCES, LIST_LICENCE, TOKEN, floor, licence_body
from tests.platform_setup import admit
from tests.registry_setup import initial, through

READERS = ("anyone", "alice", "bob", "regulator", "operator")
PARTICIPANT_ID = re.compile(r'"(P[0-9]{6,})"')


@dataclass
class World:
    runtime: Runtime
    actors: dict[str, Actor]
    legal_ids: set[str]
    certificate: str
    registration: str
    licence: str
    symbol: str

    def id(self, name: str) -> str:
        pid = self.actors[name].participant_id
        assert pid is not None
        return pid


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data",
                    notice_period_seconds=0)


@pytest.fixture
async def world(runtime: Runtime) -> World:
    f = await floor(runtime)
    registrar = await admit(runtime, f.operator, "registrar", ["registrar"])
    regulator = await admit(runtime, f.operator, "regulator", ["regulator"])
    await f.token()
    await f.deposit(f.alice, 1_000_000)
    await f.deposit(f.bob, 1_000_000)
    await f.place(f.issuer, TOKEN, "sell", 150, 5)
    await f.place(f.alice, TOKEN, "buy", 150, 2)  # alice trades with the issuer
    await f.place(f.bob, TOKEN, "buy", 120, 1)  # bob's bid rests
    number = await through(runtime, f.issuer, registrar, initial())
    await f.act(f.issuer, LIST_LICENCE, licence_body("ACC-LIC", number))
    await f.act(f.operator, APPROVE, {"symbol": "ACC-LIC"})
    await f.act(f.issuer, ISSUE_LICENCES, {"symbol": "ACC-LIC", "quantity": 2})
    await f.place(f.issuer, "ACC-LIC", "sell", 50_000, 1)
    events = await f.place(f.alice, "ACC-LIC", "buy", 50_000, 1)
    licence = next(e for e in events if e["type"] == "licence.granted")["document"]
    ensure_keys(runtime.settings)
    await runtime.checkpointer.checkpoint()
    async with runtime.engine.connect() as conn:
        legal = {r[0] for r in await conn.exec_driver_sql("SELECT legal_id FROM participants")}
        rid = (await conn.exec_driver_sql(
            "SELECT registration_id FROM registrations ORDER BY 1 LIMIT 1")).scalar()
    actors = {"alice": f.alice, "bob": f.bob, "regulator": regulator, "operator": f.operator,
              "issuer": f.issuer}
    return World(runtime, actors, legal, number, rid, licence["licence_id"], TOKEN)


async def _get(api: httpx.AsyncClient, world: World, reader: str, target: str) -> Any:
    if reader == "anyone":
        return await api.get(target)
    return await api.get(target, headers=signed_headers(world.actors[reader], target))


# ---- the table ---------------------------------------------------------------------------

def _concrete(world: World, template: str) -> str:
    return (template.replace("{seq:int}", "1").replace("{size:int}", "1")
            .replace("{tile_path:path}", "0/000.p/1")
            .replace("{participant_id:str}", world.id("alice"))
            .replace("{number:str}", world.certificate)
            .replace("{registration_id:str}", world.registration)
            .replace("{symbol:str}", world.symbol).replace("{licence_id:str}", world.licence)
            .replace("{ref:str}", "standard@1").replace("{name:str}", "dataex.market.deposit.v1")
            .replace("{slug:str}", "not-found").replace("{file_path:path}", "js/dataex.js"))


async def _public(api: httpx.AsyncClient, world: World, template: str) -> None:
    """The same answer for everyone."""
    target = _concrete(world, template)
    answers = {r: await _get(api, world, r, target) for r in READERS}
    assert {r: a.status_code for r, a in answers.items()} == dict.fromkeys(READERS, 200)


async def own(api: httpx.AsyncClient, world: World, template: str) -> None:
    """A participant's own: 401 for anyone, each signer sees only its own participant id."""
    target = _concrete(world, template)
    assert (await _get(api, world, "anyone", target)).status_code == 401
    for reader in READERS[1:]:
        answer = await _get(api, world, reader, target)
        assert answer.status_code == 200, (reader, answer.text)
        named = set(PARTICIPANT_ID.findall(answer.text))
        assert named <= {world.id(reader), world.id("issuer")}, (reader, named)


async def regulator_only(api: httpx.AsyncClient, world: World, template: str) -> None:
    target = _concrete(world, template)
    statuses = {r: (await _get(api, world, r, target)).status_code for r in READERS}
    assert statuses == {"anyone": 401, "alice": 403, "bob": 403, "regulator": 200,
                        "operator": 403}


async def entries_as_the_rule_says(api: httpx.AsyncClient, world: World, template: str) -> None:
    """Each reader's entries, page and one by one, equal the rule's set exactly."""
    async with world.runtime.engine.connect() as conn:
        rows = (await conn.exec_driver_sql("SELECT seq, kind, entry FROM audit_entries")).all()
    size = len(rows)
    expected = {
        reader: {seq for seq, kind, entry in rows
                 if kind.startswith("dataex.registry.") or reader == "regulator"
                 or (reader != "anyone" and f'"{world.id(reader)}"' in entry)}
        for reader in READERS
    }
    assert expected["alice"] - expected["anyone"] and expected["bob"] - expected["anyone"]
    assert expected["alice"] != expected["bob"] and expected["regulator"] == set(range(1, size + 1))
    for reader in READERS:
        page = (await _get(api, world, reader, f"/v1/audit/entries?limit={size}")).json()
        assert {e["seq"] for e in page["entries"]} == expected[reader], reader
        assert page["size"] == size
        for seq in range(1, size + 1):
            one = await _get(api, world, reader, f"/v1/audit/entries/{seq}")
            wanted = 200 if seq in expected[reader] else (401 if reader == "anyone" else 403)
            assert one.status_code == wanted, (reader, seq, one.text)


async def export_as_the_rule_says(api: httpx.AsyncClient, world: World, template: str) -> None:
    assert (await _get(api, world, "anyone", "/v1/audit/export")).status_code == 401
    everything = (await _get(api, world, "regulator", "/v1/audit/export")).text
    assert sum(1 for line in everything.splitlines() if line.startswith('{"seq"')) == \
        world.runtime.sequencer.head.seq
    keys = TrustedKeys().add_all(k["vkey"] for k in
                                 (await api.get("/.well-known/dataex/log-keys")).json()["keys"])
    for reader in ("alice", "bob", "operator"):
        lines = (await _get(api, world, reader, "/v1/audit/export")).text.splitlines()
        report = verify_own_entries(lines, keys, world.id(reader))
        assert report.ok, (reader, report.fault)
        named = {json.loads(line)["seq"] for line in lines if line.startswith('{"seq"')}
        page = (await _get(api, world, reader, "/v1/audit/entries?limit=1000")).json()
        mine = {e["seq"] for e in page["entries"]
                if f'"{world.id(reader)}"' in json.dumps(e["entry"])}
        assert named == mine and report.verified == sorted(mine), reader


async def participants_directory(api: httpx.AsyncClient, world: World, template: str) -> None:
    target = _concrete(world, template)
    for reader in READERS:
        answer = await _get(api, world, reader, target)
        assert answer.status_code == 200
        people = answer.json().get("participants", [answer.json()])
        for person in people:
            sees = reader in ("regulator", "operator") or (
                reader != "anyone" and person["participant_id"] == world.id(reader))
            assert ("legal_id" in person) == sees, (reader, person)


async def licence_parties(api: httpx.AsyncClient, world: World, template: str) -> None:
    target = _concrete(world, template)
    statuses = {r: (await _get(api, world, r, target)).status_code
                for r in (*READERS, "issuer")}
    assert statuses == {"anyone": 401, "alice": 200, "bob": 404, "regulator": 200,
                        "operator": 404, "issuer": 200}


async def product_issuer(api: httpx.AsyncClient, world: World, template: str) -> None:
    target = _concrete(world, template)
    statuses = {r: (await _get(api, world, r, target)).status_code
                for r in (*READERS, "issuer")}
    assert statuses == {"anyone": 401, "alice": 404, "bob": 404, "regulator": 200,
                        "operator": 404, "issuer": 200}


async def not_read_here(api: httpx.AsyncClient, world: World, template: str) -> None:
    """Served outside this table: the live stream (tests/e2e/test_market_e2e.py reads it;
    its messages carry trades and levels only) and the API reference pages."""


Rule = Callable[[httpx.AsyncClient, World, str], Awaitable[None]]


ACCESS: dict[str, Rule] = {
    "/health/live": _public, "/health/ready": _public,
    "/v1/audit/entries": entries_as_the_rule_says,
    "/v1/audit/entries/{seq:int}": entries_as_the_rule_says,
    "/v1/audit/export": export_as_the_rule_says,
    "/v1/audit/checkpoint": _public, "/v1/audit/checkpoints": _public,
    "/v1/audit/checkpoints/{size:int}": not_read_here,  # no checkpoint of size 1: 404 for all
    "/v1/audit/proof/consistency": not_read_here,  # needs sizes: tests/api/test_proofs_api.py
    "/v1/audit/proof/inclusion": not_read_here,  # public, same file
    "/v1/audit/proof-file/{seq:int}": _public,
    "/v1/audit/tile/{tile_path:path}": _public,
    "/.well-known/dataex/log-keys": _public,
    "/v1/participants": participants_directory,
    "/v1/participants/{participant_id:str}": participants_directory,
    "/v1/registry/certificates": _public, "/v1/registry/certificates/{number:str}": _public,
    "/v1/registry/certificates/{number:str}/history": _public,
    "/v1/registry/certificates/{number:str}/verify": _public,
    "/v1/registry/notice-board": _public, "/v1/registry/registrations": _public,
    "/v1/registry/registrations/{registration_id:str}": _public,
    "/v1/registry/registrations/{registration_id:str}/certificate-preview": not_read_here,
    "/v1/market/products": _public, "/v1/market/products/{symbol:str}": _public,
    "/v1/market/products/{symbol:str}/depth": _public,
    "/v1/market/products/{symbol:str}/trades": _public,
    "/v1/market/products/{symbol:str}/ticker": _public,
    "/v1/market/products/{symbol:str}/candles": _public,
    "/v1/market/licence-templates": _public,
    "/v1/market/licence-templates/{ref:str}": _public,
    "/v1/market/licences/{licence_id:str}": licence_parties,
    "/v1/market/products/{symbol:str}/holders": product_issuer,
    "/v1/market/me/balances": own, "/v1/market/me/fills": own,
    "/v1/market/me/licences": own, "/v1/market/me/orders": own,
    "/v1/market/stream": not_read_here,
    "/v1/regulator/balances": regulator_only, "/v1/regulator/orders": regulator_only,
    "/v1/regulator/participants": regulator_only, "/v1/regulator/trades": regulator_only,
    "/v1/regulator/statistics": regulator_only, "/v1/regulator/surveillance": regulator_only,
    "/v1/contracts": _public, "/v1/contracts/{name:str}": _public,
    "/problems/{slug:str}": _public,
    # The pages (web/): rendered from what anyone may read; the rest is read in the browser
    # with the user's own signed requests, so the table above applies to it.
    "/": _public, "/market": _public, "/market/{symbol:str}": _public, "/registry": _public,
    "/registry/certificates/{number:str}": _public, "/account": _public, "/owner": _public,
    "/registrar": _public, "/regulator": _public, "/static/{file_path:path}": _public,
}
REFERENCE_PAGES = re.compile(r"^/schema")


def _get_routes() -> list[str]:
    app = create_app(runtime=None)  # routes only; nothing is served
    return sorted(r.path for r in app.routes if "GET" in getattr(r, "methods", ())
                  and not REFERENCE_PAGES.match(r.path))


def test_every_read_endpoint_has_a_row_in_the_table() -> None:
    assert set(_get_routes()) == set(ACCESS), "add the new endpoint to ACCESS and SPEC §12"


@pytest.mark.parametrize("template", sorted(ACCESS))
async def test_each_endpoint_shows_each_reader_what_the_table_says(
    api: httpx.AsyncClient, world: World, template: str
) -> None:
    await ACCESS[template](api, world, template)


async def test_a_crawl_without_credentials_finds_no_legal_id_and_no_trader_ids(
    api: httpx.AsyncClient, world: World
) -> None:
    may_name = ("/v1/registry/", "/v1/participants", "/v1/market/products", "/v1/audit/entries",
                "/registry", "/market/", "/market")
    public_templates = [t for t, rule in ACCESS.items() if rule is _public
                        or rule in (participants_directory, entries_as_the_rule_says)]
    extra = [f"/v1/market/products/{world.symbol}/trades?limit=100",
             f"/v1/audit/entries?limit={world.runtime.sequencer.head.seq}"]
    issuers = {world.id("issuer")}
    for target in [_concrete(world, t) for t in public_templates] + extra:
        answer = await api.get(target)
        assert answer.status_code in (200, 401), (target, answer.status_code)
        text = answer.text
        leaked = [legal for legal in world.legal_ids if legal in text]
        assert not leaked, (target, leaked)
        named = set(PARTICIPANT_ID.findall(text))
        if not target.startswith(may_name):
            assert not named, (target, named)
        elif target.startswith(("/v1/market/products", "/market")):
            assert named <= issuers, (target, named)
    # the anonymous log holds only registry records, whose parties are public
    page = (await api.get(f"/v1/audit/entries?limit={world.runtime.sequencer.head.seq}")).json()
    assert page["entries"] and all(e["entry"]["kind"].startswith("dataex.registry.")
                                   for e in page["entries"])


async def test_a_replayed_signed_read_is_refused(api: httpx.AsyncClient, world: World) -> None:
    headers = signed_headers(world.actors["alice"], "/v1/market/me/balances")
    first = await api.get("/v1/market/me/balances", headers=headers)
    again = await api.get("/v1/market/me/balances", headers=headers)
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["type"] == "/problems/replayed-request"
    unsigned_nonce = headers["Dataex-Auth"].replace(";nonce=", ";once=")
    broken = await api.get("/v1/market/me/balances", headers={"Dataex-Auth": unsigned_nonce})
    assert broken.json()["type"] == "/problems/authentication-required"


async def test_the_replay_guard_is_bounded_and_forgets_what_is_stale(tmp_path: Path) -> None:
    from dataex.core.participants.request_auth import (
        ReplayedRequest,
        ReplayGuard,
        TooManySignedRequests,
    )

    guard = ReplayGuard(window_seconds=300, capacity=3)
    guard.admit("k", "nonce-a", 1000, now=1000)
    with pytest.raises(ReplayedRequest):
        guard.admit("k", "nonce-a", 1000, now=1200)
    guard.admit("k", "nonce-b", 1100, now=1100)
    guard.admit("other", "nonce-a", 1100, now=1100)  # nonces are per key
    with pytest.raises(TooManySignedRequests):
        guard.admit("k", "nonce-c", 1150, now=1150)
    guard.admit("k", "nonce-c", 1310, now=1310)  # nonce-a's time has left the window
    assert len(guard) == 3
