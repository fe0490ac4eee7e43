"""Push notifications through the commerce backend's app (the escalation's ``push`` channel).

exocomms does not talk to phones' push services: it asks the backend to push, through the
outbox (signed, at least once, retried until acknowledged)::

    POST {jupiter_url}{jupiter_push_path}
    {"party": "vendor", "partyId": "67", "orderId": "12345", "template": "vendor_new_order.push",
     "data": {...}, "escalationId": "…", "at": "2026-01-05T04:30:00+00:00"}
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import ValidationError
from exocomms.outbox import service as outbox

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

PUSH_TOPIC = "push"
PARTIES = frozenset({"vendor", "rider", "customer", "admin"})


def push_url(runtime: Runtime) -> str:
    """Where push requests go: ``jupiter_url`` + ``jupiter_push_path``."""
    settings = runtime.settings
    return settings.jupiter_url.rstrip("/") + settings.jupiter_push_path


async def queue_push(
    session: AsyncSession,
    runtime: Runtime,
    *,
    party: str,
    party_id: str | None,
    order_id: str | None,
    template: str,
    data: Mapping[str, Any],
    escalation_id: str | None,
    idempotency_key: str | None = None,
) -> int:
    """Ask the backend to push ``template`` to a party's app, inside the caller's transaction.

    The idempotency key is derived from every argument, so a retried job that queues the same
    push again adds nothing. To push the same thing twice on purpose (a second ladder step),
    pass a distinct ``idempotency_key`` (e.g. with the step number).

    Args:
        session: The caller's session (its transaction commits the push with the state change).
        runtime: The process runtime.
        party: vendor, rider, customer or admin.
        party_id: The backend's id of that party, when known.
        order_id: The order it is about.
        template: Notification template name, e.g. ``vendor_new_order.push``.
        data: Template parameters (JSON values).
        escalation_id: The escalation that asks, so an app action can acknowledge it.
        idempotency_key: Overrides the derived key.

    Returns:
        The outbox message id (the existing one for a repeat).

    Raises:
        ValidationError: Unknown party, empty template, or data that is not JSON.
    """
    if party not in PARTIES:
        raise ValidationError(f"unknown party {party!r}", details={"allowed": sorted(PARTIES)})
    if not template or len(template) > 100:
        raise ValidationError("push template must be 1-100 characters")
    payload = {
        "party": party,
        "partyId": party_id,
        "orderId": order_id,
        "template": template,
        "data": dict(data),
        "escalationId": escalation_id,
    }
    if idempotency_key is None:
        digest = hashlib.sha256(outbox.canonical_json(payload).encode("utf-8")).hexdigest()
        idempotency_key = f"push:{order_id or '-'}:{digest[:40]}"
    return await outbox.add_message(
        session,
        runtime.queue,
        topic=PUSH_TOPIC,
        url=push_url(runtime),
        payload={**payload, "at": runtime.clock.now()},
        clock=runtime.clock,
        idempotency_key=idempotency_key,
    )
