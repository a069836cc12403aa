"""SQLAlchemy table definitions, mirroring migrations/ (a test checks they agree).

Log tables are insert-only; state tables are projections of the log's events
that the sequencer keeps current so start-up needs no replay.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("signer", String(100), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("participant_id", String(32), nullable=True),
    Column("entry", Text, nullable=False, comment="canonical JSON (RFC 8785) of the entry"),
    Column("entry_hash", LargeBinary(32), nullable=False),
    UniqueConstraint("signer", "nonce", name="uq_audit_entries_signer_nonce"),
)
Index("ix_audit_entries_participant", audit_entries.c.participant_id, audit_entries.c.seq)
Index("ix_audit_entries_kind", audit_entries.c.kind, audit_entries.c.seq)

participants = Table(
    "participants",
    metadata,
    Column("participant_id", String(32), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("legal_id", String(100), nullable=False, unique=True),
    Column("roles", ARRAY(String(20)), nullable=False),
    Column("status", String(20), nullable=False),
    Column("active_key_id", String(64), nullable=False),
    Column("admitted_seq", BigInteger, nullable=False),
)

participant_keys = Table(
    "participant_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column(
        "participant_id",
        String(32),
        ForeignKey("participants.participant_id"),
        nullable=False,
        index=True,
    ),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("status", String(20), nullable=False),
    Column("added_seq", BigInteger, nullable=False),
)

# Tables the application role may only read and append to.
LOG_TABLES: tuple[str, ...] = ("audit_entries",)
