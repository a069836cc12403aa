"""The Merkle tree's stored hashes, signed checkpoints and witness cosignatures.

Revision ID: 0005
Revises: 0004

All three tables are insert-only, like the log they describe. A database that
already has entries gets its subtree hashes computed here, once, so the tree
the sequencer rebuilds on start covers the whole log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BACKFILL_PAGE = 10_000


def _protect_append_only(table: str) -> None:
    """0001's two triggers on another table (written out: a revision is frozen history)."""
    op.execute(
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION dataex_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION dataex_refuse_change()"
    )


def _backfill() -> None:
    """Subtree hashes for entries written before this revision (none on a new database)."""
    from dataex.core.log.merkle import CompactRange
    from dataex.core.log.tiles import stored_rows

    bind = op.get_bind()
    compact = CompactRange()
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT seq, entry_hash FROM audit_entries WHERE seq > :s "
                    "ORDER BY seq LIMIT :n"),
            {"s": last, "n": BACKFILL_PAGE},
        ).all()
        if not rows:
            return
        new = []
        for seq, entry_hash in rows:
            if seq != compact.size + 1:
                raise RuntimeError(f"audit_entries has a gap before seq {seq}")
            new.extend(stored_rows(compact.append(bytes(entry_hash))))
        if new:
            bind.execute(
                sa.text("INSERT INTO merkle_hashes (level, idx, hash) VALUES (:l, :i, :h)"),
                [{"l": level, "i": idx, "h": h} for level, idx, h in new],
            )
        last = rows[-1][0]


def upgrade() -> None:
    op.create_table(
        "merkle_hashes",
        sa.Column("level", sa.SmallInteger(), nullable=False,
                  comment="subtree height: 8, 16, 24, ... (tlog-tiles tile level = level / 8)"),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx"),
    )
    _protect_append_only("merkle_hashes")
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False,
                  comment="the signed note with the log key signature(s), no cosignatures"),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )
    _protect_append_only("checkpoints")
    op.create_table(
        "cosignatures",
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(4), nullable=False),
        sa.Column("key_name", sa.Text(), nullable=False),
        sa.Column("signature_line", sa.Text(), nullable=False),
        sa.Column("witness_participant_id", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", "key_hash"),
    )
    _protect_append_only("cosignatures")
    _backfill()


def downgrade() -> None:
    op.drop_table("cosignatures")
    op.drop_table("checkpoints")
    op.drop_table("merkle_hashes")
