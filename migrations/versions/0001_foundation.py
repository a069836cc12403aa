"""Foundation: the audit log, participants and their keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Refuses UPDATE and DELETE row by row and TRUNCATE per statement, for every
# role including the owner: history is only ever appended to.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION dataex_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dataex: % on % is refused: the audit log is append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def protect_append_only(table: str) -> None:
    """Install the triggers that make `table` insert-only (used by later revisions too)."""
    op.execute(
        f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION dataex_refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION dataex_refuse_change()"
    )


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("signer", sa.String(100), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("participant_id", sa.String(32), nullable=True),
        sa.Column("entry", sa.Text(), nullable=False,
                  comment="canonical JSON (RFC 8785) of the entry"),
        sa.Column("entry_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("signer", "nonce", name="uq_audit_entries_signer_nonce"),
    )
    op.create_index("ix_audit_entries_participant", "audit_entries", ["participant_id", "seq"])
    op.create_index("ix_audit_entries_kind", "audit_entries", ["kind", "seq"])
    op.execute(APPEND_ONLY_FUNCTION)
    protect_append_only("audit_entries")

    op.create_table(
        "participants",
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("legal_id", sa.String(100), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("active_key_id", sa.String(64), nullable=False),
        sa.Column("admitted_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("participant_id"),
        sa.UniqueConstraint("legal_id"),
    )
    op.create_table(
        "participant_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("added_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.participant_id"]),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(
        op.f("ix_participant_keys_participant_id"), "participant_keys", ["participant_id"]
    )


def downgrade() -> None:
    op.drop_table("participant_keys")
    op.drop_table("participants")
    op.drop_table("audit_entries")
    op.execute("DROP FUNCTION dataex_refuse_change()")
