"""Keep ledger_balances and ledger_holds equal to the in-memory ledger, batch by batch.

Start-up reads these two tables (store/writer/loader.py) instead of re-adding every
posting ever written, so it takes time in proportion to the accounts and open
orders, not to history. The rows are written in the batch's transaction, from
the ledger as it stands after the whole batch, for every key a posting of the
batch touched: the same picture as adding the batch's postings to the rows
before it, which `dataex ledger check` confirms against the postings' sums.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dataex.core.market.ledger import Ledger
from dataex.store.batch_writes import BatchWrites
from dataex.store.tables import ledger_balances, ledger_holds


def queue_ledger_writes(
    writes: BatchWrites, ledger: Ledger, batch: Iterable[tuple[list[dict[str, Any]], int]]
) -> None:
    accounts: dict[tuple[str, str], None] = {}  # ordered, so the statements are repeatable
    orders: dict[str, None] = {}
    for events, _seq in batch:
        for event in events:
            for p in event.get("postings") or ():
                accounts[(p["account"], p["asset"])] = None
                if p["order_id"] is not None:
                    orders[p["order_id"]] = None
    for account, asset in accounts:
        writes.upsert(ledger_balances, {
            "account": account,
            "asset": asset,
            "available": ledger.available(account, asset),
            "held": ledger.held(account, asset),
        })
    for order_id in orders:
        hold = ledger.hold_of(order_id)
        if hold is None:
            writes.delete(ledger_holds, order_id)
        else:
            writes.upsert(ledger_holds, {
                "order_id": order_id, "account": hold.owner, "asset": hold.asset,
                "amount": hold.amount,
            })
