"""What one bad command costs the sequencer: state reloads and the time to isolate it.

Run from the repository root:

    .venv/bin/python bench/isolation.py [--sizes 0,10000,50000] [--batch 64] [--runs 3]

On a fresh embedded PostgreSQL, a market grows to each size of resting orders
(signed orders through the real sequencer). At each size it measures, median
of --runs: the time of one state reload (`Sequencer._reload`, what start-up and
every failed attempt cost), and the time from submitting a batch of --batch
honest orders with one command the database refuses (past the door on purpose,
as tests/store/writer/test_isolation.py does) until every honest one is
committed and the bad one refused, beside the same batch with no bad command.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.factories import ADMIT, Actor, encode  # noqa: E402
from tests.market_setup import APPROVE, DEFINE_TOKEN, PLACE, floor, order, token_body  # noqa: E402

from dataex.config.settings import Settings  # noqa: E402
from dataex.core.envelope import envelope_from_object, parse_envelope  # noqa: E402
from dataex.store.database.embedded import start_embedded, stop_embedded  # noqa: E402
from dataex.store.runtime import Runtime, open_runtime  # noqa: E402


def _commands(runtime: Runtime, envelopes: list[dict]) -> list:  # type: ignore[type-arg]
    out = []
    for envelope in envelopes:
        parsed = parse_envelope(encode(envelope), runtime.settings.max_body_bytes)
        out.append(runtime.sequencer.authenticate(parsed,
                                                  max_skew=runtime.settings.max_clock_skew))
    return out


async def _grow(runtime: Runtime, trader: Actor, to: int, have: int) -> None:
    """Resting bids of `trader` until `to` orders rest (signed, through the sequencer)."""
    while have < to:
        chunk = min(2000, to - have)
        envelopes = [trader.sign(PLACE, order("QWEN-IN-1M", "buy", 100 + (have + i) % 500, 1))
                     for i in range(chunk)]
        await asyncio.gather(*(runtime.sequencer.submit(c)
                               for c in _commands(runtime, envelopes)))
        have += chunk


async def _batch_seconds(runtime: Runtime, operator: Actor, trader: Actor, size: int,
                         poisoned: bool) -> float:
    envelopes = [trader.sign(PLACE, order("QWEN-IN-1M", "buy", 100, 1)) for _ in range(size)]
    commands = _commands(runtime, envelopes)
    if poisoned:
        bad = operator.sign(ADMIT, {**Actor.new("p").admission(["trader"]),
                                    "display_name": "bad\u0000"})
        parsed = envelope_from_object(msgspec.json.decode(encode(bad)))
        commands[size // 2] = runtime.sequencer.authenticate(
            parsed, max_skew=runtime.settings.max_clock_skew)
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(runtime.sequencer.submit(c) for c in commands),
                                    return_exceptions=True)
    elapsed = time.perf_counter() - started
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == (1 if poisoned else 0), failures
    return elapsed


async def run(url: str, data: Path, sizes: list[int], batch: int, runs: int) -> None:
    runtime = await open_runtime(Settings(database_url=url, data_dir=data))
    try:
        f = await floor(runtime)
        await f.act(f.issuer, DEFINE_TOKEN, token_body())
        await f.act(f.operator, APPROVE, {"symbol": "QWEN-IN-1M"})
        await f.deposit(f.bob, 10**15)
        print(f"{'resting orders':>15} {'reload s':>9} {'batch ok s':>11} "
              f"{'batch + 1 bad s':>16} {'reloads':>8}")
        have = 0
        for size in sizes:
            await _grow(runtime, f.bob, size, have)
            have = size
            reload, clean, bad, reloads = [], [], [], []
            for _ in range(runs):
                started = time.perf_counter()
                await runtime.sequencer._reload()
                reload.append(time.perf_counter() - started)
                clean.append(await _batch_seconds(runtime, f.operator, f.bob, batch, False))
                before = runtime.sequencer.reloads
                bad.append(await _batch_seconds(runtime, f.operator, f.bob, batch, True))
                reloads.append(runtime.sequencer.reloads - before)
                have += 2 * batch - 1
            print(f"{size:>15,} {statistics.median(reload):>9.3f} "
                  f"{statistics.median(clean):>11.3f} {statistics.median(bad):>16.3f} "
                  f"{statistics.median(reloads):>8.0f}")
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,10000,50000")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dataex-isolation-") as folder:
        url = start_embedded(Path(folder), database="postgres")
        try:
            asyncio.run(run(url, Path(folder) / "data", [int(s) for s in args.sizes.split(",")],
                            args.batch, args.runs))
        finally:
            stop_embedded(Path(folder))


if __name__ == "__main__":
    main()
