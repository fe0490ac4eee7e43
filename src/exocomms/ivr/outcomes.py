"""What an IVR's domain events mean for the call row and for the rest of the service.

Each engine event becomes columns of ``voice_calls`` (``outcome``, ``prep_time_minutes``,
``rejection_reason``) and domain events on the bus (``vendor.accepted``, ``rider.accepted``,
``party.acknowledged``…), in the transaction that recorded the key press. A decision outcome
is never overwritten by a later "not acknowledged" (a hang-up after the confirmation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.events import DomainEvent
from exocomms.ivr.model import (
    Acknowledged,
    Event,
    MessageDelivered,
    NotAcknowledged,
    RiderAccepted,
    RiderRejected,
    SendPickupSms,
    VendorAccepted,
    VendorRejected,
)

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

# Outcomes that mean "somebody answered by key": no retry, the escalation is acknowledged.
DECISIONS = frozenset({"accepted", "rejected", "acknowledged"})
# Outcomes that end a call successfully (no retry, no call.failed).
SUCCESSES = DECISIONS | {"message_delivered"}


async def apply_events(
    session: AsyncSession,
    runtime: Runtime,
    row: dict[str, Any],
    events: Sequence[Event],
    *,
    channel: str,
) -> None:
    """Record ``events`` on the call row and publish what they mean."""
    if not events:
        return
    now = runtime.clock.now()
    changes: dict[str, Any] = {}
    published: list[tuple[str, dict[str, Any]]] = []
    decided = False
    for event in events:
        if isinstance(event, VendorAccepted):
            changes.update(outcome="accepted", prep_time_minutes=event.prep_minutes)
            published.append(
                (
                    "vendor.accepted",
                    {
                        "prep_minutes": event.prep_minutes,
                        "defaulted": event.defaulted,
                        "channel": channel,
                    },
                )
            )
            decided = True
        elif isinstance(event, VendorRejected):
            changes.update(outcome="rejected", rejection_reason=event.reason.value)
            published.append(
                ("vendor.rejected", {"reason": event.reason.value, "channel": channel})
            )
            decided = True
        elif isinstance(event, RiderAccepted):
            changes.update(outcome="accepted")
            published.append(("rider.accepted", {"channel": channel}))
            decided = True
        elif isinstance(event, RiderRejected):
            changes.update(outcome="rejected", rejection_reason="rejected")
            published.append(("rider.rejected", {"reason": "rejected", "channel": channel}))
            decided = True
        elif isinstance(event, Acknowledged):
            changes.update(outcome="acknowledged")
            decided = True
        elif isinstance(event, MessageDelivered):
            changes.setdefault("outcome", "message_delivered")
        elif isinstance(event, NotAcknowledged):
            if row.get("outcome") not in SUCCESSES and "outcome" not in changes:
                changes["outcome"] = "not_acknowledged"
        elif isinstance(event, SendPickupSms):
            await _send_pickup_details(session, runtime, row)
    if decided:
        data: dict[str, Any] = {"channel": channel}
        published.append(("party.acknowledged", data))
    if changes:
        changes["updated_at"] = now
        await repo.update_call(session, row["id"], changes)
        row.update(changes)
    for name, data in published:
        await publish(session, runtime, row, name, data)


async def publish(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], name: str, data: dict[str, Any]
) -> None:
    """Publish ``name`` about the call in ``row`` (order, party, actor, call id, escalation)."""
    payload = {**data, "call_id": row["id"]}
    if row.get("escalation_id"):
        payload["escalation_id"] = row["escalation_id"]
    meta = row.get("meta") or {}
    await runtime.events.publish(
        session,
        runtime,
        DomainEvent(
            name=name,
            at=runtime.clock.now(),
            order_id=row.get("order_id"),
            party=meta.get("party"),
            actor=row.get("phone"),
            data=payload,
        ),
    )


async def _send_pickup_details(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any]
) -> None:
    from exocomms.messaging.service import queue_sms  # here: messaging imports ivr outcomes

    context = (row.get("meta") or {}).get("context") or {}
    await queue_sms(
        session,
        runtime,
        to=row["phone"],
        template="rider.pickup_details",
        params={
            "order_id": str(context.get("order_id", row.get("order_id") or ""))[:29],
            "pickup_name": str(context.get("pickup_name", ""))[:29],
            "pickup_address": str(context.get("pickup_address", ""))[:29],
        },
        purpose="rider_pickup_details",
        language=str(row.get("language") or "hi"),
        order_id=row.get("order_id"),
        # Not the ladder's message: the acceptance that sends it also closes the ladder, and
        # the send guard cancels whatever belongs to a closed escalation.
        escalation_id=None,
    )
