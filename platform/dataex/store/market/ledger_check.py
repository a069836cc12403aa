"""Check the ledger's invariants on the database itself, not on the sequencer's memory.

`dataex ledger check` and the tests call this. It reads only committed rows, in
one REPEATABLE READ transaction so that postings and orders are one moment's
picture, and recomputes everything in SQL sums and core's own hold rule:

- the postings of every asset sum to zero (double entry);
- no participant's available balance is negative (counter-accounts excepted);
- every hold is what its open order can still use (core's OpenOrder.needs over
  the orders table) and nothing else holds anything;
- the maintained balances and holds that start-up reads (ledger_balances,
  ledger_holds, migration 0007) equal the postings' sums, row for row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.documents.timefmt import format_utc
from dataex.core.market.ledger import AVAILABLE, CONTRA_ACCOUNTS, HELD
from dataex.core.market.records import order_from_view, serial
from dataex.store.tables import ledger_balances, ledger_holds, ledger_postings, orders

ORDER_VIEW_COLUMNS = (
    "order_id", "owner", "symbol", "side", "order_type", "price", "quantity", "remaining",
    "hold_bps", "fee_credit", "stp", "client_order_ref",
)


@dataclass
class LedgerReport:
    postings: int = 0
    assets: dict[str, int] = field(default_factory=dict)  # asset -> units in circulation
    open_orders: int = 0
    holds: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "postings": self.postings,
            "assets": self.assets,
            "open_orders": self.open_orders,
            "holds": self.holds,
            "problems": self.problems,
        }


def order_view_of_row(row: Any) -> dict[str, Any]:
    """core's order_view of an orders row (the inverse of what the projection wrote)."""
    return {**{k: row[k] for k in ORDER_VIEW_COLUMNS}, "placed_at": format_utc(row["placed_at"])}


async def check_ledger(engine: AsyncEngine) -> LedgerReport:
    report = LedgerReport()
    p = ledger_postings.c
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        report.postings = (await conn.execute(select(func.count()).select_from(
            ledger_postings))).scalar_one()
        total = func.sum(p.amount)
        for asset, value in await conn.execute(select(p.asset, total).group_by(p.asset)):
            if value:
                report.problems.append(f"{asset} postings sum to {value}, not 0")
        contra = (
            select(p.asset, -func.sum(p.amount))
            .where(p.account.in_(sorted(CONTRA_ACCOUNTS)))
            .group_by(p.asset)
            .order_by(p.asset)
        )
        report.assets = {asset: int(v) for asset, v in await conn.execute(contra)}
        negative = (
            select(p.account, p.asset, total)
            .where(p.bucket == AVAILABLE, p.account.not_in(sorted(CONTRA_ACCOUNTS)))
            .group_by(p.account, p.asset)
            .having(total < 0)
            .order_by(p.account, p.asset)
        )
        for account, asset, value in await conn.execute(negative):
            report.problems.append(f"{account} has {value} {asset} available")
        held = (
            select(p.order_id, p.account, p.asset, total)
            .where(p.bucket == HELD)
            .group_by(p.order_id, p.account, p.asset)
            .having(total != 0)
        )
        holds: dict[str, tuple[str, str, int]] = {}
        for order_id, account, asset, value in await conn.execute(held):
            if order_id in holds:
                report.problems.append(f"order {order_id} holds more than one account or asset")
            holds[order_id] = (account, asset, int(value))
        report.holds = len(holds)
        open_rows = (await conn.execute(select(orders).where(orders.c.status == "open")))
        needs: dict[str, tuple[str, str, int]] = {}
        for row in open_rows.mappings():
            o = order_from_view(order_view_of_row(row))
            needs[o.order_id] = (o.owner, o.asset, o.needs())
        report.open_orders = len(needs)
        for order_id in sorted(holds.keys() | needs.keys(), key=serial):
            if holds.get(order_id) != needs.get(order_id):
                report.problems.append(
                    f"order {order_id} holds {holds.get(order_id)}, "
                    f"its open order can use {needs.get(order_id)}"
                )
        report.problems += await _maintained_mismatches(conn, holds)
    return report


async def _maintained_mismatches(
    conn: Any, holds: dict[str, tuple[str, str, int]]
) -> list[str]:
    """Where ledger_balances or ledger_holds differ from the sums of the postings."""
    p, b, h = ledger_postings.c, ledger_balances.c, ledger_holds.c
    summed: dict[tuple[str, str], tuple[int, int]] = {}
    sums = select(
        p.account, p.asset,
        func.coalesce(func.sum(p.amount).filter(p.bucket == AVAILABLE), 0),
        func.coalesce(func.sum(p.amount).filter(p.bucket == HELD), 0),
    ).group_by(p.account, p.asset)
    for account, asset, available, held in await conn.execute(sums):
        summed[(account, asset)] = (int(available), int(held))
    kept = {
        (r.account, r.asset): (r.available, r.held)
        for r in await conn.execute(select(b.account, b.asset, b.available, b.held))
    }
    problems = []
    for key in sorted(summed.keys() | kept.keys()):
        want, have = summed.get(key, (0, 0)), kept.get(key, (0, 0))
        if want != have:
            problems.append(
                f"{key[0]}'s maintained {key[1]} balance (available, held) is {have}, "
                f"its postings sum to {want}"
            )
    kept_holds = {
        r.order_id: (r.account, r.asset, r.amount)
        for r in await conn.execute(select(h.order_id, h.account, h.asset, h.amount))
    }
    for order_id in sorted(holds.keys() | kept_holds.keys(), key=serial):
        if holds.get(order_id) != kept_holds.get(order_id):
            problems.append(
                f"order {order_id}'s maintained hold is {kept_holds.get(order_id)}, "
                f"its postings sum to {holds.get(order_id)}"
            )
    return problems
