"""Tables shared by the whole service. Feature slices add their own tables to ``metadata``.

Every table is declared here or imported here so that Alembic sees one ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
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

# SMS and WhatsApp messages we send (and the replies they get), one row per message.
messages = Table(
    "messages",
    metadata,
    Column("id", String(32), primary_key=True),  # uuid4 hex, our id
    Column("channel", String(16), nullable=False),  # sms | whatsapp
    Column("to_number", String(20), nullable=False, index=True),  # E.164
    Column("template", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("body", Text, nullable=False),  # the exact SMS text, or WhatsApp text rendition
    Column("content", JSON, nullable=False),  # WhatsApp content object / SMS DLT fields
    Column("status", String(16), nullable=False),  # queued, sent, delivered, read, failed
    Column("provider_sid", String(64), nullable=True, unique=True),
    Column("order_id", String(64), nullable=True, index=True),
    Column("escalation_id", String(100), nullable=True, index=True),
    Column("error", Text, nullable=True),
    Column("reply", Text, nullable=True),  # the first reply or button, if any
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("replied_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)


# --- commerce (commerce backend slice): tables below ---

# Every inbound commerce-backend webhook we accepted, once (the unique key makes replays no-ops).
commerce_events = Table(
    "commerce_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_key", String(255), nullable=False, unique=True),  # X-Jupiter-Event-Id or hash
    Column("event", String(40), nullable=False),  # path name, e.g. "order/new"
    Column("domain_event", String(40), nullable=False),  # e.g. "order.created"
    Column("order_id", String(64), nullable=True, index=True),
    Column("payload", JSON, nullable=False),  # the validated payload
    Column("signed_at", UTCDateTime, nullable=False),  # X-Jupiter-Timestamp
    Column("received_at", UTCDateTime, nullable=False),
)


# --- escalation (orchestrator slice): tables below ---

# Ladder definitions edited at run time; every PUT adds a version (the highest one is current).
# ``city`` is "" for the ladder of every city (NULL would defeat the unique constraint).
ladders = Table(
    "ladders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_type", String(64), nullable=False),
    Column("city", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSON, nullable=False),  # Ladder.to_dict()
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=True),
    UniqueConstraint("event_type", "city", "version"),
)

# One row per escalation; ``state`` is the pure model's Escalation.to_dict() (ladder frozen).
escalations = Table(
    "escalations",
    metadata,
    Column("id", String(100), primary_key=True),  # vendor_order_<order id>, …
    Column("event_type", String(64), nullable=False),
    Column("order_id", String(64), nullable=True, index=True),
    Column("party", String(16), nullable=False),  # vendor | rider | customer
    Column("party_id", String(64), nullable=True),
    Column("party_phone", String(20), nullable=False),  # E.164
    Column("party_name", String(200), nullable=True),
    Column("language", String(8), nullable=False),
    Column("city", String(64), nullable=True),
    Column("status", String(16), nullable=False, index=True),  # escalation.model.Status
    Column("fence", Integer, nullable=False),
    Column("state", JSON, nullable=False),
    Column("context", JSON, nullable=False),  # order details for templates and IVRs
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(200), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_channel", String(32), nullable=True),
)

# What happened to an order, written as it happens (merged with calls and messages on read).
timeline_entries = Table(
    "timeline_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=True, index=True),
    Column("escalation_id", String(100), nullable=True, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),  # step, status, ack, stop, event, key
    Column("channel", String(32), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),
)


# --- config (run-time configuration slice): tables below ---

# One row per run-time configuration section (timing, retry, features, general).
config_entries = Table(
    "config_entries",
    metadata,
    Column("section", String(32), primary_key=True),
    Column("value", JSON, nullable=False),  # the section's complete wire form
    Column("version", Integer, nullable=False),  # +1 per write; caches compare it
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# Who changed which section (or credential) when, with the values before and after.
config_audit = Table(
    "config_audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("section", String(64), nullable=False),
    Column("before", JSON, nullable=True),  # credentials: masked hints only
    Column("after", JSON, nullable=True),
)
Index("ix_config_audit_section", config_audit.c.section, config_audit.c.id)

# Credentials (Exotel, CRM…), Fernet-encrypted with the newest of EXOCOMMS_SECRET_KEYS.
stored_secrets = Table(
    "secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("key_id", String(16), nullable=False),  # fingerprint of the key that encrypted it
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),
)

# API keys with scopes; only a SHA-256 of each key is stored.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False, index=True),  # shown in lists, used to look up
    Column("hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)


# --- masking (connecting people slice): tables below ---

# The virtual-number pool: from EXOCOMMS_MASKING_NUMBERS at start-up, plus the run-time API.
masking_numbers = Table(
    "masking_numbers",
    metadata,
    Column("number", String(20), primary_key=True),  # E.164
    Column("active", Boolean, nullable=False),  # inactive: no new sessions, old ones run out
    Column("source", String(16), nullable=False),  # settings | api
    Column("added_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One masking session per order and pair of parties (exocomms.masking.model).
masking_sessions = Table(
    "masking_sessions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # customer_rider | customer_vendor | rider_vendor
    Column("party_a", String(20), nullable=False),  # E.164
    Column("party_b", String(20), nullable=False),
    Column("mode", String(16), nullable=False),  # direct | pin | leadassist
    Column("virtual_number", String(20), nullable=True, index=True),
    Column("pin", String(8), nullable=True),  # spoken/SMSed to callers, so kept in clear
    Column("status", String(16), nullable=False),  # live | ended | expired
    Column("revealed", Boolean, nullable=False),  # told to a party: the number may not move
    # "<order>:<kind>:<a>:<b>" while live (idempotent create), NULL once ended.
    Column("live_key", String(255), nullable=True, unique=True),
    Column("provider_ref", String(64), nullable=True),  # Lead Assist greenvn/greenpin id
    Column("context", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_masking_sessions_pair", masking_sessions.c.party_a, masking_sessions.c.party_b)
Index("ix_masking_sessions_due", masking_sessions.c.status, masking_sessions.c.expires_at)

# The masking rule as a database fact: a participant holds a number at most once among live
# sessions (the primary key). A row lives while any routable direct session of the pair does.
masking_holds = Table(
    "masking_holds",
    metadata,
    Column("virtual_number", String(20), primary_key=True),
    Column("participant", String(20), primary_key=True, index=True),
    Column("counterparty", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# PINs of routable PIN sessions, unique per number.
masking_pins = Table(
    "masking_pins",
    metadata,
    Column("virtual_number", String(20), primary_key=True),
    Column("pin", String(8), primary_key=True),
    Column(
        "session_id",
        BigId,
        ForeignKey("masking_sessions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
)


# --- connect (click-to-call, missed calls, inbound IVR slice): tables below ---

# Missed calls to our numbers; repeats within the window share one callback (PRODUCT.md §5).
missed_calls = Table(
    "missed_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("caller", String(20), nullable=False),  # E.164
    Column("called_number", String(20), nullable=True),  # the number that was dialled
    Column("call_sid", String(64), nullable=True, unique=True),  # replays are no-ops
    Column("at", UTCDateTime, nullable=False),
    Column("callback_of", BigId, nullable=True),  # the missed call whose callback covers this
    Column("callback_at", UTCDateTime, nullable=True),  # when the callback is due (first only)
    Column("callback_call_id", String(32), nullable=True),  # voice_calls.id once queued
)
Index("ix_missed_calls_caller_at", missed_calls.c.caller, missed_calls.c.at)


# --- scheduling (scheduled calls and leads slice): tables below ---

# Scheduled calls (exocomms.scheduling.calls): one row per request, attempts are voice_calls.
scheduled_calls = Table(
    "scheduled_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("phone", String(20), nullable=False, index=True),  # E.164
    Column("purpose", String(64), nullable=False, index=True),
    Column("context", JSON, nullable=False),
    Column("preferred_time", UTCDateTime, nullable=False),
    Column("scheduled_time", UTCDateTime, nullable=False),  # the next planned attempt
    # scheduled | waiting_window | in_progress | completed | failed | canceled
    Column("status", String(20), nullable=False),
    Column("priority", Integer, nullable=False),  # 1 (lowest) … 10
    Column("retry", JSON, nullable=False),  # the retry config, frozen at creation
    Column("attempt", Integer, nullable=False),  # attempts placed so far
    Column("max_attempts", Integer, nullable=False),
    Column("seq", Integer, nullable=False),  # fencing token of the pending due job
    Column("last_outcome", String(32), nullable=True),
    Column("reason", Text, nullable=True),
    Column("call_id", String(32), nullable=True, index=True),  # the current attempt's call
    Column("use_verified_call", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("canceled_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
)
Index("ix_scheduled_calls_status", scheduled_calls.c.status, scheduled_calls.c.scheduled_time)

# Leads (exocomms.leads): stored, pushed to the CRM, called after a delay.
leads = Table(
    "leads",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("phone", String(20), nullable=False),  # E.164
    Column("email", String(254), nullable=True),  # lower-cased
    Column("status", String(16), nullable=False),  # new | waiting | calling | called | failed
    Column("crm_status", String(16), nullable=False),  # pending | synced | failed | off
    Column("crm_id", String(64), nullable=True),
    Column("crm_error", Text, nullable=True),
    Column("attempt", Integer, nullable=False),  # calls placed so far
    Column("max_attempts", Integer, nullable=False),
    Column("seq", Integer, nullable=False),  # fencing token of the pending call job
    Column("last_outcome", String(32), nullable=True),
    Column("call_id", String(32), nullable=True, index=True),
    Column("next_call_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_leads_phone", leads.c.phone, leads.c.created_at)
Index("ix_leads_status", leads.c.status)


# --- push (FCM) ---

# App pushes of the escalation ladders (exocomms.push): one row per push, sent by a job through
# FCM HTTP v1, or handed to the commerce backend's push webhook when no device token is known.
push_messages = Table(
    "push_messages",
    metadata,
    Column("id", String(32), primary_key=True),  # uuid4 hex, our id
    Column("channel", String(16), nullable=False),  # fcm | webhook (the fallback)
    Column("party", String(16), nullable=True),  # vendor | rider | customer | admin
    Column("party_id", String(64), nullable=True),
    Column("template", String(100), nullable=True),  # the ladder step's template
    # The FCM registration token: personal data (never logged); empty until looked up.
    Column("device_token", Text, nullable=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("data", JSON, nullable=False),  # string values only (FCM's rule)
    Column("status", String(16), nullable=False),  # queued | sent | failed | canceled
    Column("message_name", String(255), nullable=True),  # FCM's name, or "outbox:<id>"
    Column("error", Text, nullable=True),
    Column("order_id", String(64), nullable=True, index=True),
    Column("escalation_id", String(100), nullable=True, index=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
)


# --- recipient preferences ---

# Recipient preferences (exocomms.scheduling.preferences): NCPR "fully blocked", category blocks
# and explicit consents per number. They bind promotional traffic only (scheduling.engine).
recipient_preferences = Table(
    "recipient_preferences",
    metadata,
    Column("phone", String(20), primary_key=True),  # E.164
    Column("dnd_full", Boolean, nullable=False),
    Column("blocked_categories", JSON, nullable=False),  # sorted NCPR category names
    Column("consents", JSON, nullable=False),  # sorted purposes or categories
    Column("source", String(16), nullable=False),  # api | import | nccpr | app
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(200), nullable=False),  # the API key's actor
)
