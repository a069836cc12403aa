"""The gateway as an ASGI app: admit, forward to the upstream, meter, answer.

A bare ASGI callable rather than a framework: every call does the same few
steps and the gateway's cost beside the upstream's is what providers weigh
(bench/gateway.py). Two background loops keep the holder snapshot fresh and the
usage reported. `/gateway/health` and `/gateway/metrics` are the gateway's own;
every other path is the upstream's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from dataex.gateway.access import TOKEN, Admission, Doorman, Refusal
from dataex.gateway.holders import HolderBook
from dataex.gateway.journal import Journal
from dataex.gateway.meter import requested_tokens, usage_tokens
from dataex.gateway.reporter import Reporter
from dataex.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "host", "content-length",
              "dataex-auth", "dataex-product"}


class GatewayMetrics:
    def __init__(self, gateway: Gateway) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter("dataex_gateway_calls_total", "Calls by outcome",
                             ["outcome"], registry=self.registry)
        self.upstream_seconds = Histogram("dataex_gateway_upstream_seconds",
                                          "Time the upstream took", registry=self.registry)
        age = Gauge("dataex_gateway_holders_age_seconds", "Age of the holder snapshot",
                    registry=self.registry)
        age.set_function(gateway.holders.age)
        stale = Gauge("dataex_gateway_holders_stale", "1 when calls are refused for staleness",
                      registry=self.registry)
        stale.set_function(lambda: 0.0 if gateway.holders.fresh() else 1.0)
        for name in ("tokens_served", "units_pending", "units_burned", "units_refused"):
            gauge = Gauge(f"dataex_gateway_{name}", f"Journal: {name.replace('_', ' ')}",
                          registry=self.registry)
            gauge.set_function(_journal_total(gateway.journal, name))


class UsageWriter:
    """Group commit for the journal: the usage of every call waiting is written in one
    transaction, so one fsync covers them all and calls do not queue behind each other's."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._pending: list[tuple[tuple[str, str, int, str], asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()

    async def record(self, symbol: str, holder: str, tokens: int) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(((symbol, holder, tokens, secrets.token_hex(8)), done))
        self._wakeup.set()
        await done

    async def run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self.journal.record_many, [row for row, _ in batch])
            except Exception as exc:  # each waiting call is refused (proxy._http)
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)


def _journal_total(journal: Journal, name: str) -> Callable[[], float]:
    return lambda: float(journal.totals()[name])


class Gateway:
    def __init__(self, settings: GatewaySettings, holders: HolderBook, journal: Journal,
                 reporter: Reporter) -> None:
        self.settings = settings
        self.holders = holders
        self.journal = journal
        self.reporter = reporter
        self.doorman = Doorman(holders, journal, public_url=settings.public_url,
                               max_skew_seconds=settings.max_skew_seconds,
                               tokens_per_unit=settings.tokens_per_unit,
                               required_right=settings.required_right)
        self.metrics = GatewayMetrics(self)
        self.upstream: httpx.AsyncClient | None = None
        self.usage: UsageWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ---- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        self.upstream = httpx.AsyncClient(base_url=self.settings.upstream,
                                          timeout=self.settings.timeout_seconds)
        with contextlib.suppress(Exception):  # dataex may be away: the loop keeps trying
            await asyncio.to_thread(self.holders.refresh)
        self.usage = UsageWriter(self.journal)
        self._tasks = [asyncio.create_task(self.usage.run()),
                       asyncio.create_task(self._every(self.settings.refresh_seconds,
                                                       self.holders.refresh)),
                       asyncio.create_task(self._every(self.settings.report_seconds,
                                                       self.reporter.run_once))]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.reporter.run_once)  # a last report on a clean stop
        if self.upstream is not None:
            await self.upstream.aclose()
        self.journal.close()

    @staticmethod
    async def _every(seconds: float, work: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(work)
            except Exception as exc:
                log.warning("%s failed: %s", getattr(work, "__name__", work), exc)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == "/gateway/health":
            return await send_bytes(send, 200 if self.holders.fresh() else 503,
                               "application/json", msgspec.json.encode(self.health()))
        if path == "/gateway/metrics":
            return await send_bytes(send, 200, "text/plain; version=0.0.4",
                               generate_latest(self.metrics.registry))
        body = await read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        target = path + (f"?{query}" if query else "")
        try:
            wanted = requested_tokens(body, self.settings.reserve_tokens)
            admission = self.doorman.admit(scope["method"], target, body, headers, wanted)
        except Refusal as refusal:
            return await self._refuse(send, refusal, path)
        try:
            answer = await self._forward(scope["method"], target, body, headers, admission)
        except Refusal as refusal:
            return await self._refuse(send, refusal, path)
        finally:
            self.doorman.settle(admission)
        self.metrics.calls.labels("served").inc()
        await send({"type": "http.response.start", "status": answer.status_code,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP
                                and k.lower() != "content-encoding"]
                    + [(b"content-length", str(len(answer.content)).encode())]})
        await send({"type": "http.response.body", "body": answer.content})

    async def _forward(self, method: str, target: str, body: bytes, headers: dict[str, str],
                       admission: Admission) -> httpx.Response:
        """The upstream's answer; a token call's usage is on disk before it is returned."""
        assert self.upstream is not None and self.usage is not None
        started = time.perf_counter()
        try:
            answer = await self.upstream.request(
                method, target, content=body,
                headers={k: v for k, v in headers.items() if k not in HOP_BY_HOP})
        except httpx.HTTPError as exc:
            raise Refusal(502, "upstream-unavailable", "The upstream did not answer",
                          str(exc)) from exc
        self.metrics.upstream_seconds.observe(time.perf_counter() - started)
        if admission.kind == TOKEN and answer.status_code < 400:
            used = usage_tokens(answer.content, dict(answer.headers), self.settings.usage_header)
            # An answer that reports no usage is charged what was reserved for it.
            tokens = admission.reserved_tokens if used is None else used
            try:
                await self.usage.record(admission.symbol, admission.holder, tokens)
            except sqlite3.Error as exc:  # served but not recorded: the answer is withheld
                log.error("usage journal failed: %s", exc)
                raise Refusal(503, "journal-unavailable", "Usage cannot be recorded now",
                              str(exc)) from exc
        return answer

    async def _refuse(self, send: Send, refusal: Refusal, path: str) -> None:
        self.metrics.calls.labels(refusal.slug).inc()
        await send_bytes(send, refusal.status, "application/problem+json", msgspec.json.encode({
            "type": f"/problems/{refusal.slug}", "title": refusal.title,
            "status": refusal.status, "detail": refusal.detail, "instance": path}))

    def health(self) -> dict[str, Any]:
        snapshot = self.holders.snapshot
        return {
            "fresh": self.holders.fresh(),
            "holders_age_seconds": None if snapshot is None else round(self.holders.age(), 1),
            "staleness_seconds": self.holders.staleness,
            "holders_read_at": None if snapshot is None else snapshot.read_at_utc.isoformat(),
            "checkpoint_size": None if snapshot is None else snapshot.checkpoint_size,
            "last_error": self.holders.last_error,
            "reporting_error": self.reporter.last_error,
            "products": sorted(self.settings.products),
            **self.journal.totals(),
        }


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_bytes(send: Send, status: int, media_type: str, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media_type.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def build(settings: GatewaySettings) -> Gateway:
    """A gateway from its settings: keys loaded, journal opened (created if new)."""
    from dataex.keys.files import load_key

    keys = {symbol: load_key(path) for symbol, path in settings.products.items()}
    journal = Journal(settings.journal)
    holders = HolderBook(settings.server, keys, settings.log_vkey, settings.staleness_seconds)
    reporter = Reporter(journal, settings.server, keys, settings.tokens_per_unit)
    return Gateway(settings, holders, journal, reporter)
