"""`dataex ledger check`: the ledger's invariants, checked on the database itself.

It reads the committed rows (DATAEX_DATABASE_URL, or the embedded server of
DATAEX_DATA_DIR), so it runs beside a live server and needs no key: the
operator's and the regulator's check that the books add up.
"""

from __future__ import annotations

import asyncio
import sys

import click

from dataex.cli.common import EXIT_REFUSED, print_json, settings


@click.group()
def ledger() -> None:
    """The market's double-entry ledger."""


@ledger.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(as_json: bool) -> None:
    """Check on the database: postings of every asset sum to zero, no available
    balance is negative, and every hold equals what its open order can still use.

    Exit 0 when all hold, 2 (with every fault listed) when one does not.
    """
    from dataex.store.database.engine import create_engine
    from dataex.store.market.ledger_check import LedgerReport, check_ledger
    from dataex.store.runtime import resolve_database_url

    async def run() -> LedgerReport:
        engine = create_engine(resolve_database_url(settings()), pool_size=1, max_overflow=0)
        try:
            return await check_ledger(engine)
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    if as_json:
        print_json(report.to_dict())
    else:
        click.echo(
            f"{report.postings} postings, {len(report.assets)} assets, "
            f"{report.open_orders} open orders, {report.holds} holds"
        )
        for asset, amount in report.assets.items():
            click.echo(f"  {asset}: {amount} in circulation")
        if report.ok:
            click.echo("ok: every asset sums to zero, no available balance is negative, "
                       "holds equal what open orders can use, maintained balances equal "
                       "the postings")
        for problem in report.problems:
            click.echo(f"FAULT: {problem}")
    if not report.ok:
        sys.exit(EXIT_REFUSED)
