"""Daily statistics for regulators: SQL over the committed tables, one UTC day per row group.

For each UTC day in [first, last] (both included):

- ``trades``: how many trades, and their ``turnover_fen`` (sum of price × quantity);
- ``tokens``: per token model (products.view.token.model_id), ``traded_units``
  (quantity of trades in its products) and ``consumed_units`` (units burnt by
  consumption reports: the issuance account's credits in a consume entry);
- ``registrations``: applications submitted that day, counted ``by_status``
  (their status now, when the report is read) and ``by_industry`` (the
  application's asset industry, else its certificate's; ``unspecified`` if none);
- ``new_certificates``: certificates issued that day.

Days are UTC calendar days of the log entry's time (the trade's or the
registry event's entry). Every day of the range appears, with zeros when
nothing happened, so a series has no gaps. ``rows`` flattens the report into
(date, metric, key, value) lines, which is also the CSV layout.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, and_, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dataex.core.market.contracts import CONSUME
from dataex.core.market.ledger import ISSUANCE
from dataex.core.market.products import TOKEN
from dataex.store.tables import (
    audit_entries,
    certificates,
    ledger_postings,
    products,
    registrations,
    registry_events,
    trades,
)

MAX_DAYS = 366
CSV_HEADER = ("date", "metric", "key", "value")
UNSPECIFIED = "unspecified"


def _day(column: Any) -> Any:
    return cast(func.timezone("UTC", column), Date)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time(), UTC),
        datetime.combine(last + timedelta(days=1), time(), UTC),
    )


def empty_day(day: date) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "trades": {"count": 0, "turnover_fen": 0},
        "tokens": {},
        "registrations": {"by_status": {}, "by_industry": {}},
        "new_certificates": 0,
    }


async def daily_statistics(engine: AsyncEngine, first: date, last: date) -> dict[str, Any]:
    """The report for the UTC days first..last (at most MAX_DAYS); see the module text."""
    if last < first:
        raise ValueError("the range ends before it starts")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")
    start, end = day_bounds(first, last)
    days = {
        (first + timedelta(days=n)): empty_day(first + timedelta(days=n))
        for n in range((last - first).days + 1)
    }
    model = products.c.view["token"]["model_id"].astext
    entry_day = _day(audit_entries.c.time)
    in_window = and_(audit_entries.c.time >= start, audit_entries.c.time < end)
    async with engine.connect() as conn:
        trade_day = _day(trades.c.time)
        for day, count, turnover in await conn.execute(
            select(trade_day, func.count(), func.coalesce(func.sum(trades.c.notional), 0))
            .where(trades.c.time >= start, trades.c.time < end)
            .group_by(trade_day)
        ):
            days[day]["trades"] = {"count": int(count), "turnover_fen": int(turnover)}
        for day, name, units in await conn.execute(
            select(trade_day, model, func.sum(trades.c.quantity))
            .join(products, products.c.symbol == trades.c.symbol)
            .where(trades.c.time >= start, trades.c.time < end, products.c.kind == TOKEN)
            .group_by(trade_day, model)
        ):
            _token(days[day], name)["traded_units"] = int(units)
        p = ledger_postings.c
        for day, name, units in await conn.execute(
            select(entry_day, model, func.sum(p.amount))
            .select_from(ledger_postings)
            .join(audit_entries, audit_entries.c.seq == p.seq)
            .join(products, products.c.symbol == p.asset)
            .where(in_window, audit_entries.c.kind == CONSUME, p.account == ISSUANCE,
                   p.amount > 0, products.c.kind == TOKEN)
            .group_by(entry_day, model)
        ):
            _token(days[day], name)["consumed_units"] = int(units)
        industry = func.coalesce(registrations.c.industry, certificates.c.industry,
                                 literal(UNSPECIFIED))
        submitted = (
            select(entry_day.label("day"), registrations.c.status.label("status"),
                   industry.label("industry"))
            .select_from(registry_events)
            .join(audit_entries, audit_entries.c.seq == registry_events.c.seq)
            .join(registrations,
                  registrations.c.registration_id == registry_events.c.registration_id)
            .outerjoin(certificates, certificates.c.number == registrations.c.certificate_number)
            .where(in_window, registry_events.c.type == "registration.submitted")
            .subquery()
        )
        for dimension in ("status", "industry"):
            column = submitted.c[dimension]
            for day, key, count in await conn.execute(
                select(submitted.c.day, column, func.count()).group_by(submitted.c.day, column)
            ):
                days[day]["registrations"][f"by_{dimension}"][key] = int(count)
        for day, count in await conn.execute(
            select(entry_day, func.count())
            .select_from(registry_events)
            .join(audit_entries, audit_entries.c.seq == registry_events.c.seq)
            .where(in_window, registry_events.c.type == "certificate.issued")
            .group_by(entry_day)
        ):
            days[day]["new_certificates"] = int(count)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": [_sorted(days[d]) for d in sorted(days)],
    }


def _token(day: dict[str, Any], model_id: str) -> dict[str, int]:
    tokens: dict[str, dict[str, int]] = day["tokens"]
    return tokens.setdefault(model_id, {"traded_units": 0, "consumed_units": 0})


def _sorted(day: dict[str, Any]) -> dict[str, Any]:
    reg = day["registrations"]
    return {
        **day,
        "tokens": {k: day["tokens"][k] for k in sorted(day["tokens"])},
        "registrations": {
            "by_status": dict(sorted(reg["by_status"].items())),
            "by_industry": dict(sorted(reg["by_industry"].items())),
        },
    }


def rows(report: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """The report as (date, metric, key, value) lines, in a fixed order."""
    out: list[tuple[str, str, str, int]] = []
    for day in report["days"]:
        d = day["date"]
        out.append((d, "trades", "", day["trades"]["count"]))
        out.append((d, "turnover_fen", "", day["trades"]["turnover_fen"]))
        for model_id, units in day["tokens"].items():
            out.append((d, "token_units_traded", model_id, units["traded_units"]))
            out.append((d, "token_units_consumed", model_id, units["consumed_units"]))
        for status, count in day["registrations"]["by_status"].items():
            out.append((d, "registrations_by_status", status, count))
        for industry, count in day["registrations"]["by_industry"].items():
            out.append((d, "registrations_by_industry", industry, count))
        out.append((d, "new_certificates", "", day["new_certificates"]))
    return out


def to_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows(report))
    return buffer.getvalue()
