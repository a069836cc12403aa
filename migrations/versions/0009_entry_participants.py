"""Which participants each log entry names: the index behind participants' own log reads.

Revision ID: 0009
Revises: 0008

A participant may read the log entries it signed or that name it (contracts/
SPEC.md section 12). Every participant id an entry holds (`P` and digits: the
signer's, a deposit's beneficiary, a trade's buyer and seller, an admitted
participant, ...) becomes a row here, written by the sequencer in the entry's
own transaction and insert-only like the log. Entries already written are
indexed here by the same rule, in SQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_participants",
        sa.Column("participant_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("participant_id", "seq"),
    )
    for statement in (
        "CREATE TRIGGER entry_participants_no_update_delete BEFORE UPDATE OR DELETE ON "
        "entry_participants FOR EACH ROW EXECUTE FUNCTION dataex_refuse_change()",
        "CREATE TRIGGER entry_participants_no_truncate BEFORE TRUNCATE ON entry_participants "
        "FOR EACH STATEMENT EXECUTE FUNCTION dataex_refuse_change()",
    ):
        op.execute(statement)
    # The registry's public-record entries, which anyone may read, found without a scan.
    op.execute("CREATE INDEX ix_audit_entries_public ON audit_entries (seq) "
               "WHERE kind LIKE 'dataex.registry.%'")
    op.execute(
        "INSERT INTO entry_participants (participant_id, seq) "
        "SELECT DISTINCT m[1], a.seq FROM audit_entries AS a, "
        "regexp_matches(a.entry, '\"(P[0-9]{6,30})\"', 'g') AS m"
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_public", table_name="audit_entries")
    op.drop_table("entry_participants")
