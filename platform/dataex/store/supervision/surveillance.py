"""Surveillance reports for regulators over a window of UTC days, with flags.

Three measures, each from the committed tables (the log's own events where a
reason is only there):

- ``self_trades_prevented``: per participant and symbol, the orders that
  self-trade prevention cancelled (``order.cancelled`` events with reason
  ``self_trade_prevention`` in the log) and in how many log entries it happened;
- ``linked_trading``: trades whose buyer and seller a regulator declared
  linked (core/supervision/freezes.py: a signed link document, kept in
  participant_links) while the link is active, per link: trades, units,
  turnover and the trade ids;
- ``cancel_to_fill``: per participant that cancelled or traded, the orders it
  cancelled itself (reason ``requested`` or ``reduced_to_zero``: not a freeze,
  a delisting or self-trade prevention) against its fills (trades it was a
  side of), and the ratio (null with no fill).

``flag`` turns a report into flags with the thresholds of the settings
(DATAEX_SURVEILLANCE_*); it is pure so that a test states its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.config.settings import Settings
from dataex.core.market.matching import REDUCED_TO_ZERO, REQUESTED, SELF_TRADE
from dataex.store.supervision.statistics import MAX_DAYS, day_bounds

MAX_TRADE_IDS = 100


@dataclass(frozen=True)
class Thresholds:
    cancel_to_fill_ratio: int
    min_cancels: int
    self_trades_prevented: int
    linked_trades: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            cancel_to_fill_ratio=settings.surveillance_cancel_to_fill_ratio,
            min_cancels=settings.surveillance_min_cancels,
            self_trades_prevented=settings.surveillance_self_trades_prevented,
            linked_trades=settings.surveillance_linked_trades,
        )

    def view(self) -> dict[str, int]:
        return {
            "cancel_to_fill_ratio": self.cancel_to_fill_ratio,
            "min_cancels": self.min_cancels,
            "self_trades_prevented": self.self_trades_prevented,
            "linked_trades": self.linked_trades,
        }


_CANCEL_EVENTS = text(
    """
    SELECT e->>'owner' AS owner, e->>'symbol' AS symbol, e->>'reason' AS reason,
           count(*) AS orders, count(DISTINCT a.seq) AS entries
    FROM audit_entries a, jsonb_array_elements(a.entry::jsonb -> 'events') AS e
    WHERE a.time >= :start AND a.time < :end
      AND a.kind IN ('dataex.market.order.place.v1', 'dataex.market.order.cancel.v1',
                     'dataex.market.order.reduce.v1')
      AND e->>'type' = 'order.cancelled'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    """
)

_LINKED = text(
    """
    SELECT l.link_id, l.participant_a, l.participant_b, l.basis,
           count(*) AS trades, sum(t.quantity) AS units, sum(t.notional) AS turnover,
           array_agg(t.trade_id ORDER BY t.seq) AS trade_ids
    FROM trades t
    JOIN participant_links l
      ON l.participant_a = least(t.buyer, t.seller)
     AND l.participant_b = greatest(t.buyer, t.seller)
    WHERE l.status = 'active' AND t.time >= :start AND t.time < :end
    GROUP BY l.link_id, l.participant_a, l.participant_b, l.basis
    ORDER BY l.link_id
    """
)

_FILLS = text(
    """
    SELECT who, count(*) AS fills FROM (
        SELECT buyer AS who FROM trades WHERE time >= :start AND time < :end
        UNION ALL
        SELECT seller FROM trades WHERE time >= :start AND time < :end
    ) sides GROUP BY who ORDER BY who
    """
)


async def surveillance_report(
    engine: AsyncEngine, first: date, last: date, thresholds: Thresholds
) -> dict[str, Any]:
    if last < first:
        raise ValueError("the range ends before it starts")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    start, end = day_bounds(first, last)
    window = {"start": start, "end": end}
    async with engine.connect() as conn:
        cancels = (await conn.execute(_CANCEL_EVENTS, window)).all()
        linked = (await conn.execute(_LINKED, window)).all()
        fills = {r.who: int(r.fills) for r in await conn.execute(_FILLS, window)}
    prevented = [
        {"participant_id": r.owner, "symbol": r.symbol, "orders_cancelled": int(r.orders),
         "entries": int(r.entries)}
        for r in cancels if r.reason == SELF_TRADE
    ]
    own: dict[str, int] = {}
    for r in cancels:
        if r.reason in (REQUESTED, REDUCED_TO_ZERO):
            own[r.owner] = own.get(r.owner, 0) + int(r.orders)
    report = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "thresholds": thresholds.view(),
        "self_trades_prevented": prevented,
        "linked_trading": [
            {"link_id": r.link_id, "participants": [r.participant_a, r.participant_b],
             "basis": r.basis, "trades": int(r.trades), "units": int(r.units),
             "turnover_fen": int(r.turnover), "trade_ids": list(r.trade_ids)[:MAX_TRADE_IDS]}
            for r in linked
        ],
        "cancel_to_fill": [
            {"participant_id": who, "cancels": own.get(who, 0), "fills": fills.get(who, 0),
             "ratio": ratio(own.get(who, 0), fills.get(who, 0))}
            for who in sorted(set(own) | set(fills))
        ],
    }
    report["flags"] = flag(report, thresholds)
    return report


def ratio(cancels: int, fills: int) -> float | None:
    return round(cancels / fills, 2) if fills else None


def flag(report: dict[str, Any], t: Thresholds) -> list[dict[str, Any]]:
    """Every measure at or over its threshold, as {kind, subject, value, threshold}."""
    flags: list[dict[str, Any]] = []
    per_participant: dict[str, int] = {}
    for row in report["self_trades_prevented"]:
        who = row["participant_id"]
        per_participant[who] = per_participant.get(who, 0) + row["orders_cancelled"]
    for who, count in sorted(per_participant.items()):
        if count >= t.self_trades_prevented:
            flags.append({"kind": "self_trades_prevented", "subject": who, "value": count,
                          "threshold": t.self_trades_prevented})
    for row in report["linked_trading"]:
        if row["trades"] >= t.linked_trades:
            flags.append({"kind": "linked_trading", "subject": row["link_id"],
                          "value": row["trades"], "threshold": t.linked_trades})
    for row in report["cancel_to_fill"]:
        over = row["fills"] == 0 or row["cancels"] > t.cancel_to_fill_ratio * row["fills"]
        if row["cancels"] >= t.min_cancels and over:
            flags.append({"kind": "cancel_to_fill", "subject": row["participant_id"],
                          "value": row["ratio"], "threshold": t.cancel_to_fill_ratio})
    return flags
