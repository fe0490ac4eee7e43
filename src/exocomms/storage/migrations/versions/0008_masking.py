"""Masking slice tables (number pool, sessions, holds, PINs).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "masking_numbers",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("added_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("number", name="pk_masking_numbers"),
    )
    op.create_table(
        "masking_sessions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("party_a", sa.String(20), nullable=False),
        sa.Column("party_b", sa.String(20), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("virtual_number", sa.String(20), nullable=True),
        sa.Column("pin", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revealed", sa.Boolean(), nullable=False),
        sa.Column("live_key", sa.String(255), nullable=True),
        sa.Column("provider_ref", sa.String(64), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("ended_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_masking_sessions"),
        sa.UniqueConstraint("live_key", name="uq_masking_sessions_live_key"),
    )
    op.create_index("ix_masking_sessions_order_id", "masking_sessions", ["order_id"])
    op.create_index("ix_masking_sessions_virtual_number", "masking_sessions", ["virtual_number"])
    op.create_index("ix_masking_sessions_pair", "masking_sessions", ["party_a", "party_b"])
    op.create_index("ix_masking_sessions_due", "masking_sessions", ["status", "expires_at"])
    op.create_table(
        "masking_holds",
        sa.Column("virtual_number", sa.String(20), nullable=False),
        sa.Column("participant", sa.String(20), nullable=False),
        sa.Column("counterparty", sa.String(20), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("virtual_number", "participant", name="pk_masking_holds"),
    )
    op.create_index("ix_masking_holds_participant", "masking_holds", ["participant"])
    op.create_table(
        "masking_pins",
        sa.Column("virtual_number", sa.String(20), nullable=False),
        sa.Column("pin", sa.String(8), nullable=False),
        sa.Column("session_id", BigId, nullable=False),
        sa.PrimaryKeyConstraint("virtual_number", "pin", name="pk_masking_pins"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["masking_sessions.id"],
            name="fk_masking_pins_session_id_masking_sessions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("session_id", name="uq_masking_pins_session_id"),
    )


def downgrade() -> None:
    op.drop_table("masking_pins")
    op.drop_table("masking_holds")
    op.drop_table("masking_sessions")
    op.drop_table("masking_numbers")
