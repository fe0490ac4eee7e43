"""SQL of the connect slice: missed calls, and what we know locally about a caller's orders
(open vendor ladders, rider assignments, customers' orders, order timelines, masking sessions).

The commerce backend has no "orders of a store/rider/customer" look-up, so inbound routing reads
what the service itself recorded from the backend's events and its own ladders.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.connect.model import STATUS_BY_EVENT
from exocomms.storage.tables import (
    commerce_events,
    escalations,
    masking_sessions,
    missed_calls,
    timeline_entries,
)

RECENT_ORDERS_SCANNED = 500  # order.created events read to find a customer's latest order


async def lock_caller(session: AsyncSession, phone: str) -> None:
    """Serialise missed-call handling per caller until this transaction ends.

    PostgreSQL: a transaction-level advisory lock on a hash of the phone. SQLite: every
    transaction already holds the write lock (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"missed:{phone}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


# -- missed calls --------------------------------------------------------------------------
async def missed_by_sid(session: AsyncSession, call_sid: str) -> dict[str, Any] | None:
    """The missed call recorded for ``call_sid``, if any."""
    row = (
        (await session.execute(select(missed_calls).where(missed_calls.c.call_sid == call_sid)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def get_missed(session: AsyncSession, missed_id: int) -> dict[str, Any] | None:
    """One missed call by id."""
    row = (
        (await session.execute(select(missed_calls).where(missed_calls.c.id == missed_id)))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def latest_with_callback(session: AsyncSession, caller: str) -> dict[str, Any] | None:
    """The caller's newest missed call that scheduled a callback."""
    c = missed_calls.c
    row = (
        (
            await session.execute(
                select(missed_calls)
                .where(c.caller == caller, c.callback_at.is_not(None))
                .order_by(c.at.desc(), c.id.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def insert_missed(session: AsyncSession, **values: Any) -> int:
    """Add a missed call; returns its id."""
    result = await session.execute(
        insert(missed_calls).values(**values).returning(missed_calls.c.id)
    )
    return int(result.scalar_one())


async def set_callback_call(session: AsyncSession, missed_id: int, call_id: str) -> None:
    """Remember the callback call queued for ``missed_id``."""
    await session.execute(
        update(missed_calls).where(missed_calls.c.id == missed_id).values(callback_call_id=call_id)
    )


async def missed_for(session: AsyncSession, caller: str) -> list[dict[str, Any]]:
    """A caller's missed calls, oldest first."""
    rows = await session.execute(
        select(missed_calls).where(missed_calls.c.caller == caller).order_by(missed_calls.c.id)
    )
    return [dict(r) for r in rows.mappings()]


# -- what we know about a caller's orders ------------------------------------------------
def _party(store_or_rider_id: str | None, phone: str) -> Any:
    c = escalations.c
    if store_or_rider_id:
        return or_(c.party_phone == phone, c.party_id == store_or_rider_id)
    return c.party_phone == phone


async def open_vendor_orders(
    session: AsyncSession, store_id: str | None, phone: str
) -> list[dict[str, Any]]:
    """Active vendor ladders of a store (one per order, oldest first)."""
    c = escalations.c
    rows = await session.execute(
        select(escalations)
        .where(
            c.party == "vendor",
            c.status == "active",
            c.event_type.in_(("vendor_new_order", "vendor_reminder")),
            _party(store_id, phone),
        )
        .order_by(c.started_at, c.id)
    )
    seen: dict[str, dict[str, Any]] = {}
    for row in rows.mappings():
        if row["order_id"] and row["order_id"] not in seen:
            seen[row["order_id"]] = dict(row)
    return list(seen.values())


async def rider_assignments(
    session: AsyncSession, rider_id: str | None, phone: str, *, limit: int = 10
) -> list[dict[str, Any]]:
    """The rider's recent assignment ladders (not stopped), newest first."""
    c = escalations.c
    rows = await session.execute(
        select(escalations)
        .where(c.event_type == "rider_assignment", c.status != "stopped", _party(rider_id, phone))
        .order_by(c.started_at.desc(), c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


async def customer_orders(
    session: AsyncSession, customer_id: str | None, phone: str
) -> list[tuple[datetime, str]]:
    """``(when, order id)`` of orders we saw for a customer (newest first): new-order events
    naming them, and masking sessions they are party A of."""
    found: list[tuple[datetime, str]] = []
    c = commerce_events.c
    rows = await session.execute(
        select(c.order_id, c.payload, c.received_at)
        .where(c.domain_event == "order.created", c.order_id.is_not(None))
        .order_by(c.id.desc())
        .limit(RECENT_ORDERS_SCANNED)
    )
    for order_id, payload, at in rows:
        data = payload if isinstance(payload, dict) else {}
        ident = str(data.get("customer_id") or "")
        if data.get("customer_phone") == phone or (customer_id and ident == customer_id):
            found.append((at, str(order_id)))
    m = masking_sessions.c
    sessions = await session.execute(
        select(m.order_id, m.created_at)
        .where(m.party_a == phone, m.kind.in_(("customer_rider", "customer_vendor")))
        .order_by(m.id.desc())
        .limit(20)
    )
    found += [(at, str(order_id)) for order_id, at in sessions]
    return sorted(found, key=lambda pair: pair[0], reverse=True)


async def local_status(session: AsyncSession, order_id: str) -> str | None:
    """The order's status code from the newest timeline event we know of, if any."""
    t = timeline_entries.c
    rows = await session.execute(
        select(t.data).where(t.order_id == order_id).order_by(t.id.desc()).limit(200)
    )
    for (data,) in rows:
        name = data.get("event") if isinstance(data, dict) else None
        if isinstance(name, str) and name in STATUS_BY_EVENT:
            return STATUS_BY_EVENT[name]
    return None


async def order_sessions(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    """Masking sessions of an order, newest first."""
    m = masking_sessions.c
    rows = await session.execute(
        select(masking_sessions).where(m.order_id == order_id).order_by(m.id.desc())
    )
    return [dict(r) for r in rows.mappings()]
