"""Ending escalations: acknowledge, stop, record facts, and the send-time check.

Each use case locks the row, asks the pure engine, and writes the new state, the canceled
jobs and the timeline entry in the caller's transaction (see :mod:`exocomms.escalation.service`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.escalation import engine, repo
from exocomms.escalation.model import Escalation, Status
from exocomms.logging import get_logger
from exocomms.storage.tables import messages

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

#: Statuses in which nothing may go out any more.
CLOSED = frozenset({Status.ACKNOWLEDGED.value, Status.STOPPED.value})


async def end(
    session: AsyncSession,
    runtime: Runtime,
    row: Mapping[str, Any],
    reason: str,
    actor: str,
    *,
    ack: str | None,
) -> bool:
    """End ``row`` (acknowledged when ``ack`` names a channel, else stopped); True if it did.

    Cancels the next step's job and the unsent calls and messages, and writes the timeline.
    """
    esc = Escalation.from_dict(row["state"])
    now = runtime.clock.now()
    if ack is not None:
        ended = engine.acknowledge(esc, actor[:200] or "unknown", now)
    else:
        ended = engine.stop(esc, reason, now)
    if not ended.changed:
        return False
    values = repo.state_columns(ended.escalation, now)
    if ack is not None:
        values["acknowledged_channel"] = ack[:32]
    await repo.update_escalation(session, row["id"], values)
    if ended.cancel_key is not None:
        await runtime.queue.cancel(session, ended.cancel_key)
    await cancel_unsent(session, runtime, row["id"], now)
    kind = "ack" if ack is not None else "stop"
    what = f"acknowledged via {ack}" if ack is not None else f"stopped: {reason}"
    await repo.add_entry(
        session,
        at=now,
        kind=kind,
        order_id=row["order_id"],
        escalation_id=row["id"],
        channel=ack,
        actor=actor,
        summary=f"escalation {row['id']} {what}",
        data={"reason": reason},
    )
    log.info("escalation.ended", escalation_id=row["id"], status=ended.escalation.status.value)
    return True


async def cancel_unsent(
    session: AsyncSession, runtime: Runtime, escalation_id: str, now: datetime
) -> None:
    """Cancel calls and messages a step queued that have not left yet (same transaction)."""
    from exocomms.calls.service import cancel_queued_calls
    from exocomms.messaging.service import send_job_key

    await cancel_queued_calls(session, runtime.queue, now, escalation_id=escalation_id)
    queued = await session.execute(
        select(messages.c.id).where(
            messages.c.escalation_id == escalation_id,
            messages.c.status == "queued",
            messages.c.provider_sid.is_(None),
        )
    )
    for message_id in queued.scalars():
        # The row stays "queued" (the messaging slice owns its status); its send job is gone.
        await runtime.queue.cancel(session, send_job_key(str(message_id)))


async def acknowledge(
    session: AsyncSession, runtime: Runtime, *, escalation_id: str, by: str, channel: str
) -> bool:
    """Acknowledge an escalation (IVR key, WhatsApp reply, app action, API); cancel its next step.

    Returns True if this call ended it (False: unknown, already acknowledged or stopped).
    """
    row = await repo.get(session, escalation_id, lock=True)
    if row is None:
        return False
    return await end(session, runtime, row, "acknowledged", by, ack=channel or "unknown")


async def stop(
    session: AsyncSession, runtime: Runtime, *, escalation_id: str, reason: str, actor: str
) -> bool:
    """Stop an active escalation without an acknowledgement; True if this call stopped it."""
    row = await repo.get(session, escalation_id, lock=True)
    if row is None:
        return False
    return await end(session, runtime, row, reason or "stopped", actor, ack=None)


async def stop_order(
    session: AsyncSession, runtime: Runtime, *, order_id: str, reason: str, actor: str
) -> int:
    """Stop every active escalation of an order; returns how many were stopped."""
    ids = await repo.ids_for_order(session, order_id, statuses=[Status.ACTIVE.value])
    count = 0
    for esc_id in ids:
        count += await stop(session, runtime, escalation_id=esc_id, reason=reason, actor=actor)
    return count


async def acknowledge_order(
    session: AsyncSession,
    runtime: Runtime,
    *,
    order_id: str,
    event_types: tuple[str, ...] | None = None,
    party: str | None = None,
    by: str,
    channel: str,
) -> int:
    """Acknowledge the open (active or exhausted) escalations of an order; returns how many."""
    ids = await repo.ids_for_order(
        session,
        order_id,
        party=party,
        event_types=event_types,
        statuses=[Status.ACTIVE.value, Status.EXHAUSTED.value],
    )
    count = 0
    for esc_id in ids:
        count += await acknowledge(session, runtime, escalation_id=esc_id, by=by, channel=channel)
    return count


async def add_fact(session: AsyncSession, runtime: Runtime, escalation_id: str, fact: str) -> bool:
    """Record a fact (``delivered``, ``read``, ``answered``…) for step conditions."""
    row = await repo.get(session, escalation_id, lock=True)
    if row is None or row["status"] != Status.ACTIVE.value:
        return False
    esc = Escalation.from_dict(row["state"])
    if fact in esc.facts:
        return False
    updated = esc.with_fact(fact)
    await repo.update_escalation(
        session, escalation_id, {"state": updated.to_dict(), "updated_at": runtime.clock.now()}
    )
    return True


async def still_open(session: AsyncSession, escalation_id: str | None) -> bool:
    """Whether a send queued for ``escalation_id`` may still go out (not acked or stopped).

    Send jobs call this right before dialling or sending. True for no escalation at all and
    for an exhausted one (its last step's admin alert must still go out).
    """
    if not escalation_id:
        return True
    row = await repo.get(session, escalation_id)
    return row is None or row["status"] not in CLOSED
