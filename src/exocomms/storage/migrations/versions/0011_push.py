"""Push (FCM HTTP v1) table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "push_messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("party", sa.String(16), nullable=True),
        sa.Column("party_id", sa.String(64), nullable=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("device_token", sa.Text(), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_name", sa.String(255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("escalation_id", sa.String(100), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_push_messages"),
        sa.UniqueConstraint("idempotency_key", name="uq_push_messages_idempotency_key"),
    )
    op.create_index("ix_push_messages_order_id", "push_messages", ["order_id"])
    op.create_index("ix_push_messages_escalation_id", "push_messages", ["escalation_id"])


def downgrade() -> None:
    op.drop_table("push_messages")
