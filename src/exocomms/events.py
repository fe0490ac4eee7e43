"""In-transaction domain events: how slices tell each other what happened.

A slice that learns something (the vendor pressed 1, a WhatsApp button was tapped, the
commerce backend says the order was delivered) publishes a :class:`DomainEvent` *inside the
transaction that records it*. Subscribers run in that same transaction, so their effects
(cancel a ladder step, queue an outbox message, write a timeline entry) commit or roll back
together with the fact. Subscribers must be quick and must not call the network: anything
slow is a job they enqueue.

Event names (``data`` keys in brackets):

* ``vendor.accepted`` [prep_minutes, defaulted, channel] · ``vendor.rejected`` [reason, channel]
* ``rider.accepted`` [channel] · ``rider.rejected`` [reason, channel]
* ``party.acknowledged`` [channel, escalation_id?] — any explicit acknowledgement
* ``call.finished`` [call_id, purpose, status, outcome] · ``call.failed`` [call_id, purpose,
  attempts] (no more retries)
* ``message.status`` [message_id, channel, status] · ``message.reply`` [channel, text, button]
* ``order.*`` from the commerce backend: ``order.created``, ``order.accepted``,
  ``order.rejected``, ``order.ready``, ``order.picked_up``, ``order.delivered``,
  ``rider.assigned``, ``address.changed``
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from exocomms.runtime import Runtime


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, about an order and a party (vendor, rider, customer, admin)."""

    name: str
    at: datetime
    order_id: str | None = None
    party: str | None = None  # vendor | rider | customer | admin
    actor: str | None = None  # who did it: a phone (masked in logs), "api:<key>", "system"
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[AsyncSession, "Runtime", DomainEvent], Awaitable[None]]


class EventBus:
    """Synchronous, in-transaction publish/subscribe. ``"*"`` subscribes to every event."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, name: str, listener: Listener) -> None:
        """Call ``listener`` for every event called ``name`` (or every event for ``"*"``)."""
        self._listeners[name].append(listener)

    async def publish(self, session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
        """Run the listeners in subscription order, in the caller's transaction.

        A listener's exception propagates, rolling the whole transaction back: a fact is
        never committed without its consequences.
        """
        for listener in [*self._listeners.get(event.name, ()), *self._listeners.get("*", ())]:
            await listener(session, runtime, event)
