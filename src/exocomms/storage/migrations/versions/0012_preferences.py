"""Recipient preferences table (DND, category blocks, consents).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recipient_preferences",
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("dnd_full", sa.Boolean(), nullable=False),
        sa.Column("blocked_categories", sa.JSON(), nullable=False),
        sa.Column("consents", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("phone", name="pk_recipient_preferences"),
    )


def downgrade() -> None:
    op.drop_table("recipient_preferences")
