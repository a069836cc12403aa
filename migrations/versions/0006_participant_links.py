"""Participant links: pairs a regulator declared linked (shared owner or control).

A participant's freeze needs no column: it is the existing participants.status
(``frozen``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participant_links",
        sa.Column("link_id", sa.String(70), primary_key=True,
                  comment="participant_a~participant_b"),
        sa.Column("participant_a", sa.String(32),
                  sa.ForeignKey("participants.participant_id"), nullable=False),
        sa.Column("participant_b", sa.String(32),
                  sa.ForeignKey("participants.participant_id"), nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, comment="active or removed"),
        sa.Column("linked_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_participant_links_participant_a", "participant_links", ["participant_a"])
    op.create_index("ix_participant_links_participant_b", "participant_links", ["participant_b"])


def downgrade() -> None:
    op.drop_table("participant_links")
