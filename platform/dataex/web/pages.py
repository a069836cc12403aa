"""The public pages, rendered on the server from the committed tables the API reads.

Each handler gathers what its template shows and nothing more; anything that
names a participant beyond the public record (orders, balances, licences) is
not here: the account page reads it in the browser with the user's own signed
requests. Pages are outside the OpenAPI document (they are not the API).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from dataex.store.market import queries as market
from dataex.store.registry import queries as registry
from dataex.store.runtime import Runtime
from dataex.store.writer.sequencer import Unavailable

SearchText = Annotated[str | None, QueryParameter(max_length=200)]
Name = Annotated[str, PathParameter(min_length=1, max_length=200)]


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    runtime = request.app.state.get("runtime")
    if runtime is None:
        raise Unavailable("the service is starting")
    return runtime  # type: ignore[no-any-return]


def _page(name: str, active: str, **context: Any) -> Template:
    return Template(template_name=f"{name}.html.j2", context={"active": active, **context})


async def _products_with_tickers(runtime: Runtime, now: datetime) -> list[dict[str, Any]]:
    products = await market.product_list(runtime.reads)
    for product in products:
        product["ticker"] = await market.ticker(runtime.reads, product["symbol"], now)
    return products


class PagesController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        runtime, now = _runtime(request), datetime.now(UTC)
        products = await _products_with_tickers(runtime, now)
        checkpoint = await runtime.checkpointer.latest()
        return _page(
            "home", "home",
            products=products,
            listed=sum(p["status"] == "listed" for p in products),
            turnover_24h=sum(p["ticker"]["notional_24h"] for p in products),
            trades_24h=sum(p["ticker"]["trades_24h"] for p in products),
            registrations=await registry.registration_counts(runtime.reads),
            log_size=runtime.sequencer.head.seq,
            checkpoint=checkpoint,
        )

    @get("/market", name="market")
    async def market_page(self, request: Request[Any, Any, Any]) -> Template:
        runtime = _runtime(request)
        products = await _products_with_tickers(runtime, datetime.now(UTC))
        return _page("market", "market", products=products)

    @get("/market/{symbol:str}", name="product")
    async def product_page(self, request: Request[Any, Any, Any], symbol: Name) -> Template:
        runtime = _runtime(request)
        product = await market.product(runtime.reads, symbol)
        if product is None:
            raise NotFoundException(f"no product {symbol}")
        return _page(
            "product", "market",
            product=product,
            ticker=await market.ticker(runtime.reads, symbol, datetime.now(UTC)),
            depth=await market.depth(runtime.reads, symbol, 12),
            trades=await market.recent_trades(runtime.reads, symbol, 30),
            intervals={name: int(step.total_seconds())
                       for name, step in market.CANDLE_INTERVALS.items()},
        )

    @get("/registry", name="registry")
    async def registry_page(
        self, request: Request[Any, Any, Any], q: SearchText = None
    ) -> Template:
        runtime, now = _runtime(request), datetime.now(UTC)
        certificates = await registry.search_certificates(
            runtime.reads, registry.CertificateFilter(text=q or None), now, limit=100, offset=0)
        return _page(
            "registry", "registry",
            notices=await registry.notice_board(runtime.reads),
            certificates=certificates,
            q=q or "",
        )

    @get("/registry/certificates/{number:str}", name="certificate")
    async def certificate_page(self, request: Request[Any, Any, Any], number: Name) -> Template:
        runtime = _runtime(request)
        found = await registry.certificate(runtime.reads, number, datetime.now(UTC))
        if found is None:
            raise NotFoundException(f"no certificate {number}")
        story = await registry.certificate_history(runtime.reads, number, found["history"])
        return _page("certificate", "registry", certificate=found, story=story)

    @get("/account", name="account")
    async def account_page(self) -> Template:
        return _page("account", "account")

    # The role pages are shells: what they show is read and signed in the browser.

    @get("/owner", name="owner")
    async def owner_page(self) -> Template:
        return _page("owner", "owner")

    @get("/registrar", name="registrar")
    async def registrar_page(self) -> Template:
        return _page("registrar", "registrar")

    @get("/regulator", name="regulator")
    async def regulator_page(self) -> Template:
        return _page("regulator", "regulator")
