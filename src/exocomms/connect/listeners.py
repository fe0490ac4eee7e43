"""In-transaction listeners of the connect slice.

* ``call.finished`` of a click-to-call with a ``statusCallback`` → the final status is
  POSTed there through the outbox (signed, retried, at least once; the idempotency key makes
  a repeated ``call.finished`` a no-op). Exotel takes one StatusCallback per call and it is
  ours, so the client's is served by forwarding.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo as calls_repo
from exocomms.events import DomainEvent, EventBus
from exocomms.outbox.service import add_message
from exocomms.runtime import Runtime

TOPIC = "call.status"


async def forward_status(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Queue the client's status callback of a finished click-to-call."""
    call_id = event.data.get("call_id")
    if not isinstance(call_id, str):
        return
    row = await calls_repo.get_call(session, call_id=call_id)
    meta = (row or {}).get("meta") or {}
    url = meta.get("status_callback")
    if row is None or not isinstance(url, str) or not url:
        return
    await add_message(
        session,
        runtime.queue,
        topic=TOPIC,
        url=url,
        payload={
            "callId": row["id"],
            "callSid": row["call_sid"],
            "status": row["status"],
            "outcome": row["outcome"],
            "duration": row["duration"],
            "recordingUrl": row["recording_url"],
            "customField": meta.get("custom_field"),
            "endedAt": row["ended_at"],
        },
        clock=runtime.clock,
        idempotency_key=f"click-to-call:{row['id']}:finished",
    )


def subscribe_connect_listeners(bus: EventBus) -> None:
    """Subscribe the connect listeners on ``bus``."""
    bus.subscribe("call.finished", forward_status)
