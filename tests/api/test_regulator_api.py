"""The regulator over HTTP: a scripted day whose statistics and surveillance report are
computed by hand below, the read-everything routes, and who may do what.

The sequencer's clock is pinned to noon UTC of today, so every log entry of the
scenario falls on one UTC day whatever the hour the test runs (documents are
signed at real time; the clock skew allowed is widened to cover the gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Any

import pytest

from dataex.config.settings import Settings
from dataex.core.supervision.contracts import FREEZE, LINK, UNFREEZE
from dataex.store.log.entries import stream_audit_lines
from dataex.store.runtime import Runtime
from dataex.verify import verify_export
from tests.factories import Actor, encode, now, signed_headers
from tests.market_setup import CANCEL, CONSUME, HALT, PLACE, RESUME, TOKEN, Floor, order
from tests.platform_setup import admit
from tests.registry_setup import initial, register, through
from tests.regulator_setup import supervised

GLM = "GLM-OUT-1M"
PROBLEM = "application/problem+json"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, data_dir=tmp_path / "data", notice_period_seconds=0,
        max_clock_skew_seconds=2 * 86400,
        surveillance_cancel_to_fill_ratio=1, surveillance_min_cancels=3,
        surveillance_self_trades_prevented=1, surveillance_linked_trades=1,
    )


@dataclass
class Day:
    f: Floor
    regulator: Actor
    date: str

    @property
    def runtime(self) -> Runtime:
        return self.f.runtime


async def _order_id(f: Floor, actor: Actor, symbol: str, side: str, price: int, qty: int) -> str:
    return str((await f.place(actor, symbol, side, price, qty))[0]["order_id"])


@pytest.fixture
async def day(runtime: Runtime) -> Day:
    noon = datetime.combine(now().date(), day_time(12), UTC)
    runtime.sequencer.clock = lambda: noon
    s = await supervised(runtime)
    f, reg = s.f, s.regulator
    registrar = await admit(runtime, f.operator, "registrar", ["registrar"])
    await through(runtime, f.issuer, registrar, initial())  # transport, registered
    await register(runtime, f.bob, initial(industry="finance"))  # left submitted
    await f.token()  # QWEN-IN-1M, qwen3-max, 1000 minted to the issuer
    await f.token(GLM, minted=100, model_id="glm-4")
    await f.deposit(f.alice, 1_000_000)
    await f.deposit(f.bob, 100_000)
    await f.deposit(f.issuer, 100_000)
    await f.place(f.issuer, TOKEN, "sell", 1500, 40)
    await f.place(f.alice, TOKEN, "buy", 1500, 25)  # T1: 25 x 1500 = 37 500
    await f.place(f.alice, TOKEN, "buy", 1600, 10)  # T2: 10 x 1500 = 15 000
    await f.place(f.issuer, TOKEN, "buy", 1500, 5)  # meets its own ask: STP cancels it
    await f.place(f.issuer, GLM, "sell", 2000, 5)
    await f.place(f.bob, GLM, "buy", 2000, 5)  # T3: 5 x 2000 = 10 000
    await f.act(reg, LINK, {"participant_id": f.alice.participant_id,
                            "linked_participant_id": f.bob.participant_id,
                            "basis": "Same beneficial owner."})
    await f.place(f.alice, TOKEN, "sell", 1400, 3)
    await f.place(f.bob, TOKEN, "buy", 1400, 3)  # T4: 3 x 1400 = 4 200, between linked
    for price in (1000, 1001, 1002):  # bob cancels three orders
        await f.act(f.bob, CANCEL, {"order_id": await _order_id(f, f.bob, TOKEN, "buy",
                                                                price, 1)})
    await f.place(f.alice, TOKEN, "buy", 1000, 10)  # rests; the freeze cancels it
    await f.act(reg, FREEZE, {"participant_id": f.alice.participant_id, "reason": "Inquiry."})
    await f.act(f.issuer, CONSUME, {"symbol": TOKEN, "holder": f.alice.participant_id,
                                    "units": 7})
    await f.act(reg, UNFREEZE, {"participant_id": f.alice.participant_id, "reason": "Closed."})
    return Day(f, reg, noon.date().isoformat())


async def _get(api: Any, actor: Actor, target: str, **headers: str) -> Any:
    return await api.get(target, headers={**signed_headers(actor, target), **headers})


# Written out by hand from the scenario above.
STATISTICS_DAY = {
    "trades": {"count": 4, "turnover_fen": 37_500 + 15_000 + 10_000 + 4_200},
    "tokens": {
        "glm-4": {"traded_units": 5, "consumed_units": 0},
        "qwen3-max": {"traded_units": 25 + 10 + 3, "consumed_units": 7},
    },
    "registrations": {
        "by_status": {"registered": 1, "submitted": 1},
        "by_industry": {"finance": 1, "transport": 1},
    },
    "new_certificates": 1,
}
STATISTICS_CSV = (
    "date,metric,key,value\r\n"
    "{d},trades,,4\r\n"
    "{d},turnover_fen,,66700\r\n"
    "{d},token_units_traded,glm-4,5\r\n"
    "{d},token_units_consumed,glm-4,0\r\n"
    "{d},token_units_traded,qwen3-max,38\r\n"
    "{d},token_units_consumed,qwen3-max,7\r\n"
    "{d},registrations_by_status,registered,1\r\n"
    "{d},registrations_by_status,submitted,1\r\n"
    "{d},registrations_by_industry,finance,1\r\n"
    "{d},registrations_by_industry,transport,1\r\n"
    "{d},new_certificates,,1\r\n"
)


async def test_daily_statistics_equal_the_hand_computed_day(api: Any, day: Day) -> None:
    got = await _get(api, day.regulator, f"/v1/regulator/statistics?date={day.date}")
    assert got.status_code == 200, got.text
    assert got.json() == {"from": day.date, "to": day.date,
                          "days": [{"date": day.date, **STATISTICS_DAY}]}

    csv = await _get(api, day.regulator, f"/v1/regulator/statistics?date={day.date}&format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == STATISTICS_CSV.format(d=day.date)
    negotiated = await _get(api, day.regulator, f"/v1/regulator/statistics?date={day.date}",
                            accept="text/csv")
    assert negotiated.text == csv.text

    # a range: the day before is all zeros, and still listed
    before = f"{datetime.fromisoformat(day.date).date().toordinal() - 1}"
    first = datetime.fromordinal(int(before)).date().isoformat()
    ranged = (await _get(api, day.regulator,
                         f"/v1/regulator/statistics?from={first}&to={day.date}")).json()
    assert [d["date"] for d in ranged["days"]] == [first, day.date]
    assert ranged["days"][0] == {
        "date": first, "trades": {"count": 0, "turnover_fen": 0}, "tokens": {},
        "registrations": {"by_status": {}, "by_industry": {}}, "new_certificates": 0,
    }
    for query in ("date=2026-13-01", f"date={day.date}&from={day.date}", "format=xml",
                  f"from={day.date}&to={first}", "from=2020-01-01&to=2026-01-01"):
        bad = await _get(api, day.regulator, f"/v1/regulator/statistics?{query}")
        assert bad.status_code == 422, query
        assert bad.headers["content-type"].startswith(PROBLEM)
    bad = await _get(api, day.regulator, "/v1/regulator/orders?status=gone")
    assert bad.status_code == 422


async def test_surveillance_flags_the_scripted_day(api: Any, day: Day) -> None:
    f = day.f
    alice, bob, issuer = f.alice.participant_id, f.bob.participant_id, f.issuer.participant_id
    link = f"{alice}~{bob}"
    got = await _get(api, day.regulator, f"/v1/regulator/surveillance?date={day.date}")
    assert got.status_code == 200, got.text
    assert got.json() == {
        "from": day.date,
        "to": day.date,
        "thresholds": {"cancel_to_fill_ratio": 1, "min_cancels": 3,
                       "self_trades_prevented": 1, "linked_trades": 1},
        "self_trades_prevented": [
            {"participant_id": issuer, "symbol": TOKEN, "orders_cancelled": 1, "entries": 1},
        ],
        "linked_trading": [
            {"link_id": link, "participants": [alice, bob], "basis": "Same beneficial owner.",
             "trades": 1, "units": 3, "turnover_fen": 4_200, "trade_ids": ["T000004"]},
        ],
        "cancel_to_fill": [  # the freeze's and STP's cancels are not the owner's own
            {"participant_id": issuer, "cancels": 0, "fills": 3, "ratio": 0.0},
            {"participant_id": alice, "cancels": 0, "fills": 3, "ratio": 0.0},
            {"participant_id": bob, "cancels": 3, "fills": 2, "ratio": 1.5},
        ],
        "flags": [
            {"kind": "self_trades_prevented", "subject": issuer, "value": 1, "threshold": 1},
            {"kind": "linked_trading", "subject": link, "value": 1, "threshold": 1},
            {"kind": "cancel_to_fill", "subject": bob, "value": 1.5, "threshold": 1},
        ],
    }


async def test_the_regulator_reads_everything_and_nobody_else_does(api: Any, day: Day) -> None:
    f, reg = day.f, day.regulator
    alice, bob = f.alice.participant_id, f.bob.participant_id
    people = (await _get(api, reg, "/v1/regulator/participants")).json()["participants"]
    by_id = {p["participant_id"]: p for p in people}
    assert by_id[alice]["status"] == "active"
    assert by_id[alice]["keys"][0]["key_id"] == f.alice.key_id
    assert by_id[alice]["links"][0]["participant_id"] == bob

    cancelled = (await _get(api, reg, f"/v1/regulator/orders?participant={bob}"
                                      "&status=cancelled")).json()["orders"]
    assert sorted(o["price"] for o in cancelled) == [1000, 1001, 1002]
    frozen_out = (await _get(api, reg, f"/v1/regulator/orders?participant={alice}"
                                       f"&symbol={TOKEN}&status=cancelled")).json()["orders"]
    assert [(o["price"], o["quantity"]) for o in frozen_out] == [(1000, 10)]

    (latest,) = (await _get(api, reg, f"/v1/regulator/trades?participant={bob}&symbol={TOKEN}"
                            )).json()["trades"]
    assert latest["trade_id"] == "T000004"
    assert latest["buyer"]["participant_id"] == bob
    assert latest["buyer"]["display_name"] == "bob test"
    assert latest["seller"]["participant_id"] == alice

    accounts = (await _get(api, reg, f"/v1/regulator/balances?participant={alice}")).json()
    (only,) = accounts["accounts"]
    # 1 000 000 − 37 500 − 15 000 − taker fees (10 bps: 38 + 15) + 4 200 − maker fee 3 (5 bps)
    assert only["balances"]["CNY"] == {"available": 1_000_000 - 52_500 - 53 + 4_200 - 3,
                                       "held": 0}
    assert only["balances"][TOKEN] == {"available": 25 + 10 - 3 - 7, "held": 0}
    assert only["holds"] == []
    everyone = (await _get(api, reg, "/v1/regulator/balances")).json()["accounts"]
    assert {alice, bob, "platform:bank", "platform:fees"} <= {a["account"] for a in everyone}

    for path in ("participants", "orders", "trades", "balances",
                 f"statistics?date={day.date}", f"surveillance?date={day.date}"):
        refused = await _get(api, f.alice, f"/v1/regulator/{path}")
        assert refused.status_code == 403, path
        assert refused.json()["type"] == "/problems/regulator-only"
        unsigned = await api.get(f"/v1/regulator/{path}")
        assert unsigned.status_code == 401


async def test_freezing_over_http_and_audit_verify_after_it_all(api: Any, day: Day) -> None:
    f, reg = day.f, day.regulator
    size = day.runtime.sequencer.head.seq
    body = {"participant_id": f.alice.participant_id, "reason": "Again."}
    for actor in (f.bob, f.operator):  # only a regulator freezes; nothing is logged
        refused = await api.post("/v1/documents", content=encode(actor.sign(FREEZE, body)))
        assert refused.status_code == 403 and refused.json()["type"] == "/problems/role-not-allowed"
    assert day.runtime.sequencer.head.seq == size

    bid = await _order_id(f, f.alice, TOKEN, "buy", 1000, 2)
    frozen = await api.post("/v1/documents", content=encode(reg.sign(FREEZE, body)))
    assert frozen.status_code in (200, 201), frozen.text
    assert [e["type"] for e in frozen.json()["events"]] == ["participant.frozen",
                                                           "order.cancelled"]
    placing = await api.post("/v1/documents", content=encode(
        f.alice.sign(PLACE, order(TOKEN, "buy", 1000, 1))))
    assert placing.status_code == 403
    assert placing.json()["type"] == "/problems/participant-frozen"
    mine = await _get(api, f.alice, "/v1/market/me/orders?status=cancelled")  # reads still work
    assert mine.status_code == 200 and bid in [o["order_id"] for o in mine.json()["orders"]]
    depth = (await api.get(f"/v1/market/products/{TOKEN}/depth")).json()
    assert all(level["price"] != 1000 for level in depth["bids"])

    # a regulator halts and resumes a product too; a halted product refuses orders
    await f.act(reg, HALT, {"symbol": TOKEN, "reason": "Volatility."})
    halted = await api.post("/v1/documents", content=encode(
        f.bob.sign(PLACE, order(TOKEN, "buy", 1000, 1))))
    assert halted.status_code == 409 and halted.json()["type"] == "/problems/product-halted"
    await f.act(reg, RESUME, {"symbol": TOKEN})
    await f.act(reg, UNFREEZE, body)
    assert day.runtime.sequencer.state.market.invariants() == []

    lines = [line.decode() async for line in stream_audit_lines(day.runtime.engine, 1)]
    report = verify_export(lines, expected_size=day.runtime.sequencer.head.seq)
    assert report.ok, report.fault
