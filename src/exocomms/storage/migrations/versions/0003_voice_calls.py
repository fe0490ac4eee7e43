"""Calls: the voice_calls record and its deduplicated event log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("vendor_id", sa.String(64), nullable=True),
        sa.Column("rider_id", sa.String(64), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("caller_id", sa.String(20), nullable=True),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("digits", sa.String(64), nullable=True),
        sa.Column("prep_time_minutes", sa.Integer(), nullable=True),
        sa.Column("rejection_reason", sa.String(40), nullable=True),
        sa.Column("recording_url", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("answered_by", sa.String(16), nullable=True),
        sa.Column("initiated_at", Timestamp, nullable=True),
        sa.Column("answered_at", Timestamp, nullable=True),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("ivr_state", sa.JSON(), nullable=True),
        sa.Column("escalation_id", sa.String(100), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_voice_calls"),
        sa.UniqueConstraint("call_sid", name="uq_voice_calls_call_sid"),
    )
    for column in ("order_id", "phone", "escalation_id", "created_at"):
        op.create_index(f"ix_voice_calls_{column}", "voice_calls", [column])

    op.create_table(
        "call_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_call_events"),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["voice_calls.id"],
            name="fk_call_events_call_id_voice_calls",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("call_id", "dedupe_key", name="uq_call_events_call_id_dedupe_key"),
    )
    op.create_index("ix_call_events_call_id", "call_events", ["call_id"])


def downgrade() -> None:
    op.drop_table("call_events")
    op.drop_table("voice_calls")
