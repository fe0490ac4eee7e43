"""Commerce backend slice: inbound webhook events, recorded once (``commerce_events``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "commerce_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("domain_event", sa.String(40), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("signed_at", Timestamp, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_commerce_events"),
        sa.UniqueConstraint("event_key", name="uq_commerce_events_event_key"),
    )
    op.create_index("ix_commerce_events_order_id", "commerce_events", ["order_id"])


def downgrade() -> None:
    op.drop_table("commerce_events")
