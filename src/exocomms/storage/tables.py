"""Tables shared by the whole service. Feature slices add their own tables to ``metadata``.

Every table is declared here or imported here so that Alembic sees one ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from exocomms.storage.types import BigId, UTCDateTime

# Stable constraint names, so migrations are the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Durable jobs: timers, ladder steps, retries, webhook deliveries. See exocomms.jobs.
jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(100), nullable=False),
    Column("key", String(255), nullable=True, unique=True),  # dedupe key, unique forever
    Column("payload", JSON, nullable=False),
    # pending → running → done | dead; pending → canceled; running → pending (retry/release)
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False, default=0),  # higher runs first when due
    Column("run_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("locked_by", String(100), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
)
Index("ix_jobs_due", jobs.c.status, jobs.c.run_at)
Index("ix_jobs_lease", jobs.c.status, jobs.c.lease_until)

# Outgoing webhooks, written in the same transaction as the change that causes them.
outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("topic", String(100), nullable=False),  # e.g. "vendor.accepted"
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),  # exact bytes sent (JSON), fixed at creation
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
)
Index("ix_outbox_messages_status", outbox_messages.c.status, outbox_messages.c.created_at)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "message_id",
        BigId,
        ForeignKey("outbox_messages.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("response_excerpt", Text, nullable=True),
)

# Shared rate limits (GCRA): the theoretical arrival time of the next request per bucket.
rate_limit_buckets = Table(
    "rate_limit_buckets",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("tat", UTCDateTime, nullable=False),
)

# One row per call we place or receive (PRODUCT.md §1 "voice_calls").
voice_calls = Table(
    "voice_calls",
    metadata,
    Column("id", String(32), primary_key=True),  # uuid4 hex, our id
    Column("purpose", String(40), nullable=False),  # vendor_order_confirmation, …
    Column("status", String(16), nullable=False),  # calls.model.CallStatus
    Column("direction", String(16), nullable=False),  # outbound | inbound
    Column("outcome", String(40), nullable=True),  # accepted, rejected, not_acknowledged…
    Column("order_id", String(64), nullable=True, index=True),
    Column("vendor_id", String(64), nullable=True),
    Column("rider_id", String(64), nullable=True),
    Column("customer_id", String(64), nullable=True),
    Column("phone", String(20), nullable=False, index=True),  # E.164
    Column("name", String(200), nullable=True),
    Column("caller_id", String(20), nullable=True),
    Column("call_sid", String(64), nullable=True, unique=True),
    Column("digits", String(64), nullable=True),  # every key pressed, in order
    Column("prep_time_minutes", Integer, nullable=True),
    Column("rejection_reason", String(40), nullable=True),
    Column("recording_url", Text, nullable=True),
    Column("language", String(8), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("answered_by", String(16), nullable=True),
    Column("initiated_at", UTCDateTime, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("duration", Integer, nullable=True),
    Column("ivr_state", JSON, nullable=True),  # the IVR engine's state between webhooks
    Column("escalation_id", String(100), nullable=True, index=True),
    Column("meta", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every callback/applet request/poll result applied to a call, deduplicated by key.
call_events = Table(
    "call_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "call_id",
        String(32),
        ForeignKey("voice_calls.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("dedupe_key", String(255), nullable=False),
    Column("kind", String(40), nullable=False),  # status, applet, details, ivr, …
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("call_id", "dedupe_key", name="uq_call_events_call_id_dedupe_key"),
)


# --- telephony (IVR calls slice): tables below ---


# --- commerce (commerce backend slice): tables below ---


# --- escalation (orchestrator slice): tables below ---


# --- config (run-time configuration slice): tables below ---


# --- masking (connecting people slice): tables below ---
