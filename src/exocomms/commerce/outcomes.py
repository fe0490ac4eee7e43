"""Outcomes to the commerce backend: domain-event listeners that add outbox messages.

Each listener runs inside the transaction that records the fact, so the outcome is delivered
(signed, at least once, retried) if and only if the fact committed::

    POST {jupiter_url}{jupiter_outcomes_path}
    Idempotency-Key: vendor.accepted:12345:<call id or digest>
    {"event": "vendor.accepted", "orderId": "12345", "party": "vendor", "actor": "+9198…",
     "data": {"prep_minutes": 20, "channel": "ivr", "call_id": "…"}, "at": "…"}

``rider.rejected`` carries ``"action": "reassign_rider"`` (the reassign signal);
``call.failed`` carries ``"action": "follow_up"``. ``party.acknowledged`` goes out as
``escalation.acknowledged``. Events that came *from* the backend (``actor == "jupiter"``) are
not echoed back to it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.commerce.model import SOURCE
from exocomms.events import DomainEvent, EventBus
from exocomms.outbox import service as outbox

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

# domain event → (outcome topic, action for the backend or None)
OUTCOMES: dict[str, tuple[str, str | None]] = {
    "vendor.accepted": ("vendor.accepted", None),
    "vendor.rejected": ("vendor.rejected", None),
    "rider.accepted": ("rider.accepted", None),
    "rider.rejected": ("rider.rejected", "reassign_rider"),
    "call.failed": ("call.failed", "follow_up"),
    "party.acknowledged": ("escalation.acknowledged", None),
}


def outcomes_url(runtime: Runtime) -> str:
    """Where outcomes go: ``jupiter_url`` + ``jupiter_outcomes_path``."""
    settings = runtime.settings
    return settings.jupiter_url.rstrip("/") + settings.jupiter_outcomes_path


def outcome_key(event: DomainEvent, topic: str) -> str:
    """A deterministic ``Idempotency-Key``: the same fact published twice sends once.

    ``<topic>:<order>:<call id | message id | digest of the event without its time>``.
    """
    data = event.data
    for name in ("call_id", "message_id"):
        value = data.get(name)
        if isinstance(value, str | int) and str(value):
            discriminator = f"{name[0]}{value}"
            break
    else:
        canonical = outbox.canonical_json(
            {"name": event.name, "party": event.party, "actor": event.actor, "data": data}
        )
        discriminator = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]
    return f"{topic}:{event.order_id or '-'}:{discriminator}"[: outbox.MAX_KEY_LENGTH]


def outcome_payload(event: DomainEvent, topic: str, action: str | None) -> dict[str, Any]:
    """The JSON body sent for ``event``."""
    payload: dict[str, Any] = {
        "event": topic,
        "orderId": event.order_id,
        "party": event.party,
        "actor": event.actor,
        "data": dict(event.data),
        "at": event.at,
    }
    if action is not None:
        payload["action"] = action
    return payload


async def send_outcome(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Listener: queue ``event`` for the backend (skips events the backend sent us)."""
    mapping = OUTCOMES.get(event.name)
    if mapping is None or event.actor == SOURCE or event.data.get("source") == SOURCE:
        return
    if event.order_id is None:
        return  # e.g. a lead or scheduled call: nothing the commerce backend tracks
    topic, action = mapping
    await outbox.add_message(
        session,
        runtime.queue,
        topic=topic,
        url=outcomes_url(runtime),
        payload=outcome_payload(event, topic, action),
        clock=runtime.clock,
        idempotency_key=outcome_key(event, topic),
    )


def subscribe_outcomes(bus: EventBus) -> None:
    """Subscribe :func:`send_outcome` to every event in :data:`OUTCOMES`."""
    for name in OUTCOMES:
        bus.subscribe(name, send_outcome)
