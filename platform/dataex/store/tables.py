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
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

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
# BRIN: time grows with seq, so a few pages index it and inserts barely pay (migration 0008)
Index("ix_audit_entries_time", audit_entries.c.time, postgresql_using="brin",
      postgresql_with={"autosummarize": "on"})
# The registry's public-record entries, which anyone may read (migration 0009)
Index("ix_audit_entries_public", audit_entries.c.seq,
      postgresql_where=audit_entries.c.kind.like("dataex.registry.%"))

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

# Links a regulator declared between two participants (migration 0006), by sorted pair;
# core/supervision/freezes.py restores from these rows. A removed link keeps its row.
participant_links = Table(
    "participant_links",
    metadata,
    Column("link_id", String(70), primary_key=True, comment="participant_a~participant_b"),
    Column("participant_a", String(32), ForeignKey("participants.participant_id"),
           nullable=False, index=True),
    Column("participant_b", String(32), ForeignKey("participants.participant_id"),
           nullable=False, index=True),
    Column("basis", Text, nullable=False),
    Column("status", String(10), nullable=False, comment="active or removed"),
    Column("linked_seq", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
)

# The registry (migration 0002). `record` is core's plain view, the whole truth that
# start-up restores from; the other columns are copies of it for searching.
registrations = Table(
    "registrations",
    metadata,
    Column("registration_id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("applicant", String(32), nullable=False, index=True),
    Column("counterparty", String(32), nullable=True),
    Column("certificate_number", String(32), nullable=True, index=True,
           comment="the certificate acted on, or the one issued"),
    Column("fingerprint_root", String(64), nullable=True, index=True),
    Column("rights", ARRAY(String(20)), nullable=False),
    Column("industry", String(200), nullable=True),
    Column("title", String(200), nullable=True),
    Column("description", Text, nullable=True),
    Column("notice_ends_at", DateTime(timezone=True), nullable=True),
    Column("updated_seq", BigInteger, nullable=False),
    Column("record", JSONB, nullable=False),
)
Index("ix_registrations_status", registrations.c.status, registrations.c.registration_id)

certificates = Table(
    "certificates",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("holder", String(32), nullable=False, index=True),
    Column("status", String(20), nullable=False, comment="valid, encumbered or cancelled; "
           "expired is read from valid_until"),
    Column("rights", ARRAY(String(20)), nullable=False),
    Column("fingerprint_root", String(64), nullable=False, index=True),
    Column("industry", String(200), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("registrar", String(32), nullable=False),
    Column("registrar_key_id", String(64), nullable=False),
    Column("signature", String(86), nullable=False),
    Column("revision_seq", BigInteger, nullable=False,
           comment="log entry that holds this revision and its signature"),
    Column("updated_seq", BigInteger, nullable=False),
    Column("record", JSONB, nullable=False),
)

# Every registry event with its log seq, indexed by what it touches: the history of
# a certificate without scanning the log. Derived from the log, and append-only too.
registry_events = Table(
    "registry_events",
    metadata,
    Column("seq", BigInteger, nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("type", String(50), nullable=False),
    Column("registration_id", String(32), nullable=True, index=True),
    Column("certificate_number", String(32), nullable=True, index=True),
    Column("event", JSONB, nullable=False),
    PrimaryKeyConstraint("seq", "position"),
)

# The market (migration 0003). Every ledger movement's postings, as its event carries
# them: balances and holds rebuild from these, and `dataex ledger check` adds them up.
ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("seq", BigInteger, nullable=False),
    Column("movement", SmallInteger, nullable=False,
           comment="position of the event that carries the movement in its entry"),
    Column("position", SmallInteger, nullable=False),
    Column("account", String(64), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("bucket", String(10), nullable=False),
    Column("order_id", String(32), nullable=True, index=True),
    Column("amount", BigInteger, nullable=False),
    PrimaryKeyConstraint("seq", "movement", "position"),
)
Index("ix_ledger_postings_account", ledger_postings.c.account, ledger_postings.c.asset)

# Migration 0007: the ledger's current state, written in every batch's transaction from
# the in-memory ledger, so start-up reads balances instead of adding up all postings.
# `dataex ledger check` compares both with the postings' sums.
ledger_balances = Table(
    "ledger_balances",
    metadata,
    Column("account", String(64), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("available", BigInteger, nullable=False),
    Column("held", BigInteger, nullable=False,
           comment="the sum of this account's holds in this asset"),
    PrimaryKeyConstraint("account", "asset"),
)

# One row per order that holds something; the row goes when the hold ends.
ledger_holds = Table(
    "ledger_holds",
    metadata,
    Column("order_id", String(32), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("asset", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
)

# `view` is core's product_view, which start-up restores from.
products = Table(
    "products",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("issuer", String(32), nullable=False),
    Column("status", String(20), nullable=False),
    Column("defined_seq", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Column("view", JSONB, nullable=False),
)

# Every accepted order; the open ones are core's order views (start-up restores them).
orders = Table(
    "orders",
    metadata,
    Column("order_id", String(32), primary_key=True),
    Column("owner", String(32), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("order_type", String(10), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("hold_bps", Integer, nullable=False),
    Column("fee_credit", BigInteger, nullable=False),
    Column("stp", String(20), nullable=False),
    Column("client_order_ref", String(64), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("placed_seq", BigInteger, nullable=False),
    Column("status", String(10), nullable=False, comment="open, filled, cancelled or expired"),
    Column("updated_seq", BigInteger, nullable=False),
)
Index("ix_orders_owner", orders.c.owner, orders.c.status, orders.c.placed_seq)
Index("ix_orders_symbol_status", orders.c.symbol, orders.c.status)

trades = Table(
    "trades",
    metadata,
    Column("trade_id", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("notional", BigInteger, nullable=False),
    Column("taker_side", String(4), nullable=False),
    Column("maker_order_id", String(32), nullable=False),
    Column("taker_order_id", String(32), nullable=False),
    Column("buyer", String(32), nullable=False),
    Column("seller", String(32), nullable=False),
    Column("buyer_fee", BigInteger, nullable=False),
    Column("seller_fee", BigInteger, nullable=False),
)
Index("ix_trades_symbol_seq", trades.c.symbol, trades.c.seq)
Index("ix_trades_symbol_time", trades.c.symbol, trades.c.time)
Index("ix_trades_time", trades.c.time, postgresql_using="brin",
      postgresql_with={"autosummarize": "on"})

# `view` is core's licence_view (document, its hash, status), which start-up restores from.
licences = Table(
    "licences",
    metadata,
    Column("licence_id", String(32), primary_key=True),
    Column("symbol", String(32), nullable=False, index=True),
    Column("licensee", String(32), nullable=False, index=True),
    Column("licensor", String(32), nullable=False),
    Column("certificate_number", String(32), nullable=False),
    Column("trade_id", String(32), nullable=False),
    Column("status", String(10), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("document_hash", String(64), nullable=False),
    # Migration 0004: the platform's signature over `view.document` (SPEC §11).
    Column("platform_key_id", String(64), nullable=True,
           comment="the log key that signed the document; null if none was set up"),
    Column("platform_signature", String(86), nullable=True),
    Column("granted_seq", BigInteger, nullable=False),
    Column("updated_seq", BigInteger, nullable=False),
    Column("view", JSONB, nullable=False),
)

# The Merkle tree and its checkpoints (migration 0005). merkle_hashes holds the root of
# every complete subtree of height 8, 16, 24, ... (level 0 is audit_entries.entry_hash);
# level 8·L, idx [256N, 256N+W) is tlog-tiles tile L/N. See core/log/tiles.py.
merkle_hashes = Table(
    "merkle_hashes",
    metadata,
    Column("level", SmallInteger, nullable=False,
           comment="subtree height: 8, 16, 24, ... (tlog-tiles tile level = level / 8)"),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("level", "idx"),
)

entry_participants = Table(
    "entry_participants",
    metadata,
    Column("participant_id", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("participant_id", "seq"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False,
           comment="the signed note with the log key signature(s), no cosignatures"),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, nullable=False),
    Column("key_hash", LargeBinary(4), nullable=False),
    Column("key_name", Text, nullable=False),
    Column("signature_line", Text, nullable=False),
    Column("witness_participant_id", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("size", "key_hash"),
)

# Tables the application role may only read and append to.
LOG_TABLES: tuple[str, ...] = (
    "audit_entries", "registry_events", "ledger_postings", "trades",
    "merkle_hashes", "checkpoints", "cosignatures", "entry_participants",
)
