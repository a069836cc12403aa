"""BRIN indexes on the time of audit entries and trades, for day-range reads.

Revision ID: 0008
Revises: 0007

Daily statistics and surveillance read a window of days out of the whole
history by `time`; without an index on it that was a scan of every entry
(about 0.3-0.75 s per query at 1.3M entries, against about 1 ms with BRIN,
measured on PostgreSQL 15 here). Both tables are append-only and their time
only grows with seq, which is what BRIN summarises well: a few pages for
millions of rows, and nearly nothing to maintain on insert (a new page range
is summarised later, `autosummarize`), so the sequencer's batches do not pay
for it the way they would for a B-tree.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (("ix_audit_entries_time", "audit_entries"), ("ix_trades_time", "trades"))


def upgrade() -> None:
    for name, table in INDEXES:
        op.create_index(name, table, ["time"], postgresql_using="brin",
                        postgresql_with={"autosummarize": "on"})


def downgrade() -> None:
    for name, table in INDEXES:
        op.drop_index(name, table_name=table)
