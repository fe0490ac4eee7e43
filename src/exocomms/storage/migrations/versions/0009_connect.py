"""Connect slice tables (click-to-call, missed calls, inbound IVR).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "missed_calls",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("caller", sa.String(20), nullable=False),
        sa.Column("called_number", sa.String(20), nullable=True),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("callback_of", BigId, nullable=True),
        sa.Column("callback_at", Timestamp, nullable=True),
        sa.Column("callback_call_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_missed_calls"),
        sa.UniqueConstraint("call_sid", name="uq_missed_calls_call_sid"),
    )
    op.create_index("ix_missed_calls_caller_at", "missed_calls", ["caller", "at"])


def downgrade() -> None:
    op.drop_table("missed_calls")
