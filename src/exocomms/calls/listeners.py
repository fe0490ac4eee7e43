"""In-transaction listeners of the telephony slice: stop calls nobody needs any more.

A retry attempt waits in the queue for its backoff; if the party acknowledges meanwhile (a
WhatsApp button, an app action, another call) or the order is delivered, the waiting call is
canceled in the same transaction, so the ladder never calls someone who already answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls.service import cancel_queued_calls
from exocomms.events import DomainEvent, EventBus

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

ACK_EVENTS = (
    "party.acknowledged",
    "vendor.accepted",
    "vendor.rejected",
    "rider.accepted",
    "rider.rejected",
)


async def cancel_for_escalation(
    session: AsyncSession, runtime: Runtime, event: DomainEvent
) -> None:
    """An acknowledgement: cancel the escalation's calls that were not placed yet."""
    escalation_id = event.data.get("escalation_id")
    if isinstance(escalation_id, str) and escalation_id:
        await cancel_queued_calls(
            session, runtime.queue, runtime.clock.now(), escalation_id=escalation_id
        )


async def cancel_for_order(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """The order is over: cancel its calls that were not placed yet."""
    if event.order_id:
        await cancel_queued_calls(
            session, runtime.queue, runtime.clock.now(), order_id=event.order_id
        )


def subscribe_telephony_listeners(bus: EventBus) -> None:
    """Subscribe the slice's listeners on ``bus``."""
    for name in ACK_EVENTS:
        bus.subscribe(name, cancel_for_escalation)
    for name in ("order.delivered", "order.rejected"):
        bus.subscribe(name, cancel_for_order)
