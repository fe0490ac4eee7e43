"""The order timeline (``GET /comms/timeline/{orderId}``): every step, message, call, key and
status, in order, with actors.

Not called ``timeline.py``: importing a submodule of that name would shadow
``exocomms.escalation.timeline`` (the pure engine's per-escalation plan) on the package.

Built on read from three sources: the orchestrator's ``timeline_entries`` (ladder starts, steps,
waits, acks, stops and every domain event about the order, written as they happened), the
``voice_calls`` and ``call_events`` tables (each call and each status it went through) and the
telephony slice's ``messages`` table (each SMS/WhatsApp and its delivery times). This is an
admin view, so phone numbers are shown in full (they are never logged unmasked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.escalation import repo
from exocomms.storage.tables import call_events, metadata, voice_calls

# At equal times the orchestrator's own entries keep the order they were written in (an event,
# then what it caused); the calls and messages they queued come after them.
_RANK = {"orchestrator": 0}


def _entry(
    at: datetime,
    kind: str,
    summary: str,
    *,
    source: str,
    channel: str | None = None,
    actor: str | None = None,
    escalation_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "kind": kind,
        "channel": channel,
        "actor": actor,
        "summary": summary,
        "escalationId": escalation_id,
        "source": source,
        "data": data or {},
        "_at": at,
    }


async def _calls(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    out = []
    rows = (
        await session.execute(
            select(voice_calls)
            .where(voice_calls.c.order_id == order_id)
            .order_by(voice_calls.c.created_at)
        )
    ).all()
    by_id = {r.id: r for r in rows}
    for r in rows:
        out.append(
            _entry(
                r.created_at,
                "call",
                f"{r.direction} call to {r.phone} ({r.purpose}) attempt {r.attempt}: {r.status}"
                + (f", outcome {r.outcome}" if r.outcome else "")
                + (f", keys {r.digits}" if r.digits else ""),
                source="voice_calls",
                channel="call",
                actor=r.phone,
                escalation_id=r.escalation_id,
                data={"call_id": r.id, "status": r.status, "outcome": r.outcome},
            )
        )
    if by_id:
        events = await session.execute(
            select(call_events)
            .where(call_events.c.call_id.in_(list(by_id)))
            .order_by(call_events.c.id)
        )
        for e in events.all():
            call = by_id[e.call_id]
            payload = e.payload if isinstance(e.payload, dict) else {}
            digits = payload.get("digits")
            kind = "key" if digits else "call"
            detail = f"key {digits}" if digits else (e.status or e.kind)
            out.append(
                _entry(
                    e.at,
                    kind,
                    f"call {call.phone}: {detail} ({e.source})",
                    source="call_events",
                    channel="call",
                    actor=call.phone,
                    escalation_id=call.escalation_id,
                    data={"call_id": e.call_id, "kind": e.kind, "status": e.status},
                )
            )
    return out


async def _messages(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    table = metadata.tables.get("messages")  # the telephony slice's table, if installed
    if table is None:
        return []
    rows = await session.execute(select(table).where(table.c.order_id == order_id))
    out = []
    for r in rows.mappings().all():
        to, channel = r.get("to_number"), r.get("channel")
        esc = r.get("escalation_id")
        base = {"message_id": r.get("id"), "template": r.get("template")}
        out.append(
            _entry(
                r["created_at"],
                "message",
                f"{channel} {r.get('template')} to {to}: {r.get('status')}",
                source="messages",
                channel=channel,
                actor=to,
                escalation_id=esc,
                data={**base, "status": r.get("status"), "error": r.get("error")},
            )
        )
        for column, what in (("sent_at", "sent"), ("delivered_at", "delivered")):
            if r.get(column) is not None:
                out.append(
                    _entry(
                        r[column],
                        "message",
                        f"{channel} {r.get('template')} to {to}: {what}",
                        source="messages",
                        channel=channel,
                        actor=to,
                        escalation_id=esc,
                        data=base,
                    )
                )
        if r.get("replied_at") is not None:
            out.append(
                _entry(
                    r["replied_at"],
                    "key",
                    f"{channel} reply from {to}: {r.get('reply')}",
                    source="messages",
                    channel=channel,
                    actor=to,
                    escalation_id=esc,
                    data=base,
                )
            )
    return out


async def order_timeline(session: AsyncSession, order_id: str) -> list[dict[str, Any]]:
    """Everything about ``order_id``, oldest first (stable order for equal times)."""
    items: list[dict[str, Any]] = []
    for row in await repo.entries_for_order(session, order_id):
        items.append(
            _entry(
                row["at"],
                row["kind"],
                row["summary"],
                source="orchestrator",
                channel=row["channel"],
                actor=row["actor"],
                escalation_id=row["escalation_id"],
                data=dict(row["data"] or {}),
            )
        )
    items += await _calls(session, order_id)
    items += await _messages(session, order_id)
    indexed = sorted(
        enumerate(items), key=lambda p: (p[1]["_at"], _RANK.get(p[1]["source"], 1), p[0])
    )
    out = []
    for _, item in indexed:
        item.pop("_at")
        out.append(item)
    return out
