"""What a regulator reads: everyone's data, daily statistics and surveillance (signed requests).

Every route needs a signed request (contracts/SPEC.md section 12) from a
participant with the regulator role; anyone else gets 403 ``regulator-only``.
Nothing here writes: a regulator's actions (freeze, unfreeze, link, unlink,
halt, resume) are signed documents POSTed to /v1/documents and logged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get

from dataex.api import access, params
from dataex.api.market import ORDER_STATUSES, Limit, Offset, _one_of
from dataex.api.state import runtime_from
from dataex.core.documents.errors import SchemaViolation
from dataex.store.supervision import queries as supervision_queries
from dataex.store.supervision import statistics
from dataex.store.supervision.surveillance import Thresholds, surveillance_report

Day = Annotated[str | None, params.text("a UTC day, YYYY-MM-DD")]
FirstDay = Annotated[str | None, params.text("first UTC day", name="from")]
LastDay = Annotated[str | None, params.text("last UTC day", name="to")]
Symbol = Annotated[str | None, params.text("a product's symbol")]
Who = Annotated[str | None, params.text("a participant id, e.g. P000003")]


def regulator(request: Request[Any, Any, Any]) -> str:
    """The regulator a signed request acts for; 401 if unsigned, 403 if not a regulator."""
    who = access.regulator(request).participant_id
    assert who is not None
    return who


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise SchemaViolation(f"{name} must be a day YYYY-MM-DD, not {value!r}") from exc


def _range(day: str | None, start: str | None, end: str | None) -> tuple[date, date]:
    """``date`` alone, or ``from``/``to`` (either defaulting to the other); today if none."""
    one = _date("date", day)
    first, last = _date("from", start), _date("to", end)
    if one is not None:
        if first is not None or last is not None:
            raise SchemaViolation("give date, or from and to, not both")
        return one, one
    if first is None and last is None:
        today = datetime.now(UTC).date()
        return today, today
    first = first or last
    last = last or first
    assert first is not None and last is not None
    if last < first:
        raise SchemaViolation("to is before from")
    if (last - first).days >= statistics.MAX_DAYS:
        raise SchemaViolation(f"at most {statistics.MAX_DAYS} days at once")
    return first, last


def _wants_csv(request: Request[Any, Any, Any], fmt: str | None) -> bool:
    if fmt is not None:
        _one_of("format", fmt, ("json", "csv"))
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


class RegulatorController(Controller):
    path = "/v1/regulator"
    tags = ["regulator"]

    @get("/participants", summary="Every participant: roles, status, keys and links (regulator)")
    async def participants(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        regulator(request)
        engine = runtime_from(request).reads
        return {"participants": await supervision_queries.all_participants(engine)}

    @get("/orders", summary="All orders, newest first, filtered (regulator)")
    async def orders(
        self,
        request: Request[Any, Any, Any],
        symbol: Symbol = None,
        participant: Who = None,
        status: Annotated[str | None, params.one_of("status", ORDER_STATUSES)] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        regulator(request)
        found = await supervision_queries.all_orders(
            runtime_from(request).reads, symbol=symbol, participant=participant,
            status=_one_of("status", status, ORDER_STATUSES), limit=limit, offset=offset,
        )
        return {"orders": found}

    @get("/trades", summary="Trades with buyer and seller identities, newest first (regulator)")
    async def trades(
        self,
        request: Request[Any, Any, Any],
        symbol: Symbol = None,
        participant: Who = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        regulator(request)
        found = await supervision_queries.all_trades(
            runtime_from(request).reads, symbol=symbol, participant=participant, limit=limit,
            offset=offset,
        )
        return {"trades": found}

    @get("/balances", summary="Available and held balances and holds per account (regulator)")
    async def balances(
        self, request: Request[Any, Any, Any], participant: Who = None
    ) -> dict[str, Any]:
        regulator(request)
        found = await supervision_queries.all_balances(runtime_from(request).reads, participant)
        return {"accounts": found}

    @get(
        "/statistics",
        summary="Daily statistics for UTC days, as JSON or CSV (regulator)",
        description="Trades and turnover (fen), token units traded and consumed per model, "
        "registrations submitted by status and by industry, new certificates, per UTC day. "
        "`date`, or `from` and `to` (inclusive); today if none. CSV (`format=csv` or "
        "`Accept: text/csv`) has the columns date, metric, key, value.",
    )
    async def statistics(
        self,
        request: Request[Any, Any, Any],
        date: Day = None,
        start: FirstDay = None,
        end: LastDay = None,
        format: Annotated[str | None, params.one_of("format", ("json", "csv"))] = None,
    ) -> Any:
        regulator(request)
        first, last = _range(date, start, end)
        report = await statistics.daily_statistics(runtime_from(request).reads, first, last)
        if _wants_csv(request, format):
            return Response(statistics.to_csv(report), media_type="text/csv")
        return report

    @get(
        "/surveillance",
        summary="Self-trades prevented, linked trading, cancel-to-fill ratios, flags (regulator)",
        description="Over the UTC days `date`, or `from` to `to`; today if none. Thresholds "
        "come from the DATAEX_SURVEILLANCE_* settings and are echoed in the report.",
    )
    async def surveillance(
        self,
        request: Request[Any, Any, Any],
        date: Day = None,
        start: FirstDay = None,
        end: LastDay = None,
    ) -> dict[str, Any]:
        regulator(request)
        first, last = _range(date, start, end)
        runtime = runtime_from(request)
        return await surveillance_report(
            runtime.reads, first, last, Thresholds.from_settings(runtime.settings)
        )
