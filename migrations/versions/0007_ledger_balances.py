"""Maintained ledger balances and holds, so start-up reads current state, not history.

Revision ID: 0007
Revises: 0006

ledger_balances holds each (account, asset)'s available and held totals and
ledger_holds each open order's hold, written in every batch's transaction from
the in-memory ledger (store/market/ledger.py). Start-up reads them instead
of re-adding every posting ever made; `dataex ledger check` compares them with
the sum of the postings. Existing databases are filled from their postings here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_balances",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False,
                  comment="the sum of this account's holds in this asset"),
        sa.PrimaryKeyConstraint("account", "asset"),
    )
    op.create_table(
        "ledger_holds",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.execute(
        "INSERT INTO ledger_balances (account, asset, available, held) "
        "SELECT account, asset, "
        "COALESCE(SUM(amount) FILTER (WHERE bucket = 'available'), 0), "
        "COALESCE(SUM(amount) FILTER (WHERE bucket = 'held'), 0) "
        "FROM ledger_postings GROUP BY account, asset"
    )
    op.execute(
        "INSERT INTO ledger_holds (order_id, account, asset, amount) "
        "SELECT order_id, account, asset, SUM(amount) FROM ledger_postings "
        "WHERE bucket = 'held' GROUP BY order_id, account, asset HAVING SUM(amount) <> 0"
    )


def downgrade() -> None:
    op.drop_table("ledger_holds")
    op.drop_table("ledger_balances")
