"""Licence signatures: the platform's log key signs each licence document.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "licences",
        sa.Column("platform_key_id", sa.String(64), nullable=True,
                  comment="the log key that signed the document; null if none was set up"),
    )
    op.add_column("licences", sa.Column("platform_signature", sa.String(86), nullable=True))


def downgrade() -> None:
    op.drop_column("licences", "platform_signature")
    op.drop_column("licences", "platform_key_id")
