"""Escalation slice tables (ladders, escalations, timeline).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ladders",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ladders"),
        sa.UniqueConstraint(
            "event_type", "city", "version", name="uq_ladders_event_type_city_version"
        ),
    )
    op.create_table(
        "escalations",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("party", sa.String(16), nullable=False),
        sa.Column("party_id", sa.String(64), nullable=True),
        sa.Column("party_phone", sa.String(20), nullable=False),
        sa.Column("party_name", sa.String(200), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledged_at", Timestamp, nullable=True),
        sa.Column("acknowledged_channel", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
    )
    op.create_index("ix_escalations_order_id", "escalations", ["order_id"])
    op.create_index("ix_escalations_status", "escalations", ["status"])
    op.create_table(
        "timeline_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("escalation_id", sa.String(100), nullable=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_timeline_entries"),
    )
    op.create_index("ix_timeline_entries_order_id", "timeline_entries", ["order_id"])
    op.create_index("ix_timeline_entries_escalation_id", "timeline_entries", ["escalation_id"])


def downgrade() -> None:
    op.drop_table("timeline_entries")
    op.drop_table("escalations")
    op.drop_table("ladders")
