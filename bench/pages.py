"""The pages under load: HTML server time beside the API reads they show, and the product
page's frame rate while trades stream in.

Run from the repository root (needs Debian's chromium for the frame-rate part):

    .venv/bin/python bench/pages.py                 # about 2 minutes
    .venv/bin/python bench/pages.py --trades 2000   # smaller

What it does
  * starts `dataex serve --demo` on its own embedded PostgreSQL;
  * opens /market/QWEN-IN-1M in headless Chromium and counts animation frames
    (requestAnimationFrame, read back through the Performance API) while it
    adds ``--trades`` extra trades as fast as the server takes them: the issuer
    first rests that many sells of 1 unit, then a buyer takes them with pre-signed
    IOC buys, 64 in flight (one trade each); the page receives every trade and
    book change on its stream and redraws its list, book and chart;
  * then times each page ``--requests`` times, one request at a time over
    loopback, beside the JSON reads of the same data, and prints p50 and p95 in ms
    and page ÷ API ratios (the client's share of each timing is the same for both).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.conftest import Server, demo_server  # noqa: E402

from dataex.client.sdk import build_document  # noqa: E402
from dataex.keys.files import load_key  # noqa: E402

PAIRS = [  # page, the API reads it is made of
    ("/", "/v1/market/products"),
    ("/market", "/v1/market/products"),
    ("/market/QWEN-IN-1M", "/v1/market/products/QWEN-IN-1M/trades?limit=30"),
    ("/registry", "/v1/registry/certificates"),
    ("/registry/certificates/DX-2026-000001", "/v1/registry/certificates/DX-2026-000001/history"),
]


async def _send(site: Server, documents: list[dict[str, object]]) -> float:
    """POST every document, 64 in flight; returns documents per second."""
    async with httpx.AsyncClient(base_url=site.url, timeout=60) as client:
        semaphore = asyncio.Semaphore(64)

        async def one(document: dict[str, object]) -> None:
            async with semaphore:
                answer = await client.post("/v1/documents", json=document)
                assert answer.status_code == 201, answer.text

        started = time.perf_counter()
        await asyncio.gather(*(one(d) for d in documents))
        return len(documents) / (time.perf_counter() - started)


def _orders(site: Server, who: str, side: str, kind: str, count: int) -> list[dict[str, object]]:
    key = load_key(Path(site.demo_key(who)))
    return [build_document("dataex.market.order.place.v1", {
        "client_order_ref": f"bench-{side}-{n}", "symbol": "QWEN-IN-1M", "side": side,
        "order_type": kind, "price": 1500, "quantity": 1}, key) for n in range(count)]


def rest_sells(site: Server, count: int) -> None:
    """The issuer rests `count` sells of 1 unit at 15.00 CNY (below every resting ask)."""
    asyncio.run(_send(site, _orders(site, "issuer", "sell", "limit", count)))


def take_them(site: Server, buys: list[dict[str, object]]) -> float:
    """Each pre-signed IOC buy takes one resting sell: one trade each; trades per second."""
    return asyncio.run(_send(site, buys))


def frame_rate_while_trading(site: Server, count: int, chromium: str) -> tuple[float, float, float]:
    from playwright.sync_api import sync_playwright

    rest_sells(site, count)
    buys = _orders(site, "bob", "buy", "ioc", count)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{site.url}/market/QWEN-IN-1M")
        page.wait_for_selector("#live:text('live')")
        page.evaluate("""() => { window.frames_seen = [];
            const tick = (t) => { window.frames_seen.push(t); requestAnimationFrame(tick); };
            requestAnimationFrame(tick); }""")
        # (Playwright's sync API owns this thread's event loop: the load runs on another.)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            rate = pool.submit(take_them, site, buys).result()
        page.wait_for_timeout(1000)
        stamps = page.evaluate("window.frames_seen")
        shown = page.locator("#trades tbody tr").count()
        browser.close()
    # frames per second in each whole second of the run
    per_second: dict[int, int] = {}
    for stamp in stamps:
        per_second[int(stamp // 1000)] = per_second.get(int(stamp // 1000), 0) + 1
    seconds = sorted(per_second)[1:-1] or sorted(per_second)
    fps = [per_second[s] for s in seconds]
    assert shown == 30, shown
    return rate, statistics.median(fps), min(fps)


def time_reads(site: Server, requests: int) -> list[tuple[str, float, float, str, float, float]]:
    rows = []
    with httpx.Client(base_url=site.url) as client:
        for page, api in PAIRS:
            timings = {}
            for target in (page, api):
                client.get(target)  # warm
                spent = []
                for _ in range(requests):
                    started = time.perf_counter()
                    assert client.get(target).status_code == 200
                    spent.append((time.perf_counter() - started) * 1000)
                spent.sort()
                timings[target] = (statistics.median(spent), spent[int(0.95 * len(spent)) - 1])
            rows.append((page, *timings[page], api, *timings[api]))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--trades", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    chromium = os.environ.get("DATAEX_CHROMIUM") or shutil.which("chromium") or ""
    with demo_server("dataex-bench-pages-") as site:
        if chromium:
            rate, fps, worst = frame_rate_while_trading(site, args.trades, chromium)
            print(f"{args.trades} extra trades at {rate:,.0f} trades/s; the product page drew "
                  f"{fps:.0f} frames/s (median second), {worst} in its worst second")
        else:
            rest_sells(site, args.trades)
            rate = take_them(site, _orders(site, "bob", "buy", "ioc", args.trades))
            print(f"{args.trades} extra trades at {rate:,.0f} trades/s (no chromium: no fps)")
        print()
        print("| page | p50 ms | p95 ms | API read | p50 ms | p95 ms | page ÷ API (p95) |")
        print("|---|---:|---:|---|---:|---:|---:|")
        for page, p50, p95, api, a50, a95 in time_reads(site, args.requests):
            print(f"| `{page}` | {p50:.1f} | {p95:.1f} | `{api}` | {a50:.1f} | {a95:.1f} "
                  f"| {p95 / a95:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
