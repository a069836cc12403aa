"""Registry: registrations, certificates and the registry's event index.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

def _protect_append_only(table: str) -> None:
    """0001's two triggers on another table, calling 0001's dataex_refuse_change().

    Written out rather than imported: a revision is frozen history and must not
    change when another revision's code does.
    """
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
        "registrations",
        sa.Column("registration_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("applicant", sa.String(32), nullable=False),
        sa.Column("counterparty", sa.String(32), nullable=True),
        sa.Column("certificate_number", sa.String(32), nullable=True,
                  comment="the certificate acted on, or the one issued"),
        sa.Column("fingerprint_root", sa.String(64), nullable=True),
        sa.Column("rights", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("industry", sa.String(200), nullable=True),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("notice_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.Column("record", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("registration_id"),
    )
    op.create_index(op.f("ix_registrations_applicant"), "registrations", ["applicant"])
    op.create_index(
        op.f("ix_registrations_certificate_number"), "registrations", ["certificate_number"]
    )
    op.create_index(
        op.f("ix_registrations_fingerprint_root"), "registrations", ["fingerprint_root"]
    )
    op.create_index("ix_registrations_status", "registrations", ["status", "registration_id"])

    op.create_table(
        "certificates",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False,
                  comment="valid, encumbered or cancelled; expired is read from valid_until"),
        sa.Column("rights", postgresql.ARRAY(sa.String(20)), nullable=False),
        sa.Column("fingerprint_root", sa.String(64), nullable=False),
        sa.Column("industry", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("registrar", sa.String(32), nullable=False),
        sa.Column("registrar_key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(86), nullable=False),
        sa.Column("revision_seq", sa.BigInteger(), nullable=False,
                  comment="log entry that holds this revision and its signature"),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.Column("record", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index(op.f("ix_certificates_holder"), "certificates", ["holder"])
    op.create_index(op.f("ix_certificates_fingerprint_root"), "certificates", ["fingerprint_root"])

    op.create_table(
        "registry_events",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("registration_id", sa.String(32), nullable=True),
        sa.Column("certificate_number", sa.String(32), nullable=True),
        sa.Column("event", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "position"),
    )
    op.create_index(
        op.f("ix_registry_events_registration_id"), "registry_events", ["registration_id"]
    )
    op.create_index(
        op.f("ix_registry_events_certificate_number"), "registry_events", ["certificate_number"]
    )
    _protect_append_only("registry_events")


def downgrade() -> None:
    op.drop_table("registry_events")
    op.drop_table("certificates")
    op.drop_table("registrations")
