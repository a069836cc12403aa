"""Market: ledger postings, products, orders, trades and licences.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


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


def upgrade() -> None:
    op.create_table(
        "ledger_postings",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("movement", sa.SmallInteger(), nullable=False,
                  comment="position of the event that carries the movement in its entry"),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(32), nullable=False),
        sa.Column("bucket", sa.String(10), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "movement", "position"),
    )
    op.create_index("ix_ledger_postings_account", "ledger_postings", ["account", "asset"])
    op.create_index(op.f("ix_ledger_postings_order_id"), "ledger_postings", ["order_id"])
    _protect_append_only("ledger_postings")

    op.create_table(
        "products",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("issuer", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("defined_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.Column("view", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("symbol"),
    )

    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(10), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("hold_bps", sa.Integer(), nullable=False),
        sa.Column("fee_credit", sa.BigInteger(), nullable=False),
        sa.Column("stp", sa.String(20), nullable=False),
        sa.Column("client_order_ref", sa.String(64), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_seq", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False,
                  comment="open, filled, cancelled or expired"),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("ix_orders_owner", "orders", ["owner", "status", "placed_seq"])
    op.create_index("ix_orders_symbol_status", "orders", ["symbol", "status"])

    op.create_table(
        "trades",
        sa.Column("trade_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("notional", sa.BigInteger(), nullable=False),
        sa.Column("taker_side", sa.String(4), nullable=False),
        sa.Column("maker_order_id", sa.String(32), nullable=False),
        sa.Column("taker_order_id", sa.String(32), nullable=False),
        sa.Column("buyer", sa.String(32), nullable=False),
        sa.Column("seller", sa.String(32), nullable=False),
        sa.Column("buyer_fee", sa.BigInteger(), nullable=False),
        sa.Column("seller_fee", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    op.create_index("ix_trades_symbol_seq", "trades", ["symbol", "seq"])
    op.create_index("ix_trades_symbol_time", "trades", ["symbol", "time"])
    _protect_append_only("trades")

    op.create_table(
        "licences",
        sa.Column("licence_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("licensee", sa.String(32), nullable=False),
        sa.Column("licensor", sa.String(32), nullable=False),
        sa.Column("certificate_number", sa.String(32), nullable=False),
        sa.Column("trade_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document_hash", sa.String(64), nullable=False),
        sa.Column("granted_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.Column("view", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("licence_id"),
    )
    op.create_index(op.f("ix_licences_licensee"), "licences", ["licensee"])
    op.create_index(op.f("ix_licences_symbol"), "licences", ["symbol"])


def downgrade() -> None:
    op.drop_table("licences")
    op.drop_table("trades")
    op.drop_table("orders")
    op.drop_table("products")
    op.drop_table("ledger_postings")
