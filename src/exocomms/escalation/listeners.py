"""Domain-event listeners of the orchestrator (run in the publisher's transaction, no network).

* ``order.created`` → the vendor new-order ladder for the store; ``rider.assigned`` → the rider
  assignment ladder; ``address.changed`` → the address-change ladder for the order's rider.
  When the event carries the party's phone the ladder starts at once; otherwise an
  ``escalation.start`` job looks the party up on the commerce backend first.
* ``vendor.accepted|rejected`` and ``order.accepted|rejected`` acknowledge the order's vendor
  ladders; ``rider.accepted|rejected`` its rider-assignment ladder; ``party.acknowledged`` the
  escalation named in ``data.escalation_id`` (else the order's ladders for that party).
* ``order.delivered`` stops every ladder of the order.
* ``message.status`` (delivered/read) and ``call.finished`` (answered) record facts for step
  conditions ("skip the SMS if the WhatsApp was read").
* ``"*"`` writes every event about an order onto its timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.escalation import repo, service
from exocomms.escalation.jobs import enqueue_start
from exocomms.events import DomainEvent, EventBus, Listener
from exocomms.storage.tables import metadata, voice_calls

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

VENDOR_LADDERS = ("vendor_new_order", "vendor_reminder")
RIDER_LADDERS = ("rider_assignment",)
# A WhatsApp button or an IVR key is a "key" on the timeline; everything else an "event".
KEY_CHANNELS = frozenset({"ivr", "dtmf", "whatsapp", "whatsapp_button", "sms"})


def _actor(event: DomainEvent) -> str:
    return event.actor or "system"


def _channel(event: DomainEvent, default: str) -> str:
    value = event.data.get("channel")
    return value if isinstance(value, str) and value else default


def _first_str(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


async def _start_or_look_up(
    session: AsyncSession,
    runtime: Runtime,
    event: DomainEvent,
    *,
    event_type: str,
    party_id: str | None,
    phone: str | None,
    name: str | None,
    language: str | None,
    context: Mapping[str, Any],
) -> None:
    assert event.order_id is not None
    normalized = phones.try_normalize(phone)
    if normalized is not None:
        await service.start_escalation(
            session,
            runtime,
            event_type=event_type,
            order_id=event.order_id,
            phone=normalized,
            party_id=party_id,
            name=name,
            language=language or "hi",
            context=context,
            actor=_actor(event),
        )
        return
    dedupe = f"{event_type}:{event.order_id}:{party_id}:{event.at.isoformat()}"
    await enqueue_start(
        session,
        runtime,
        event_type=event_type,
        order_id=event.order_id,
        party_id=party_id,
        context=context,
        actor=_actor(event),
        dedupe=dedupe,
    )


async def on_order_created(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Start the vendor new-order ladder."""
    if event.order_id is None:
        return
    raw = event.data.get("order")
    order: Mapping[str, Any] = raw if isinstance(raw, Mapping) else event.data
    raw_store = order.get("store")
    store: Mapping[str, Any] = raw_store if isinstance(raw_store, Mapping) else {}
    context: dict[str, Any] = {
        k: order[k] for k in ("amount", "items", "payment_method") if order.get(k) is not None
    }
    store_name = _first_str(order.get("store_name"), store.get("name"))
    if store_name:
        context["store_name"] = store_name
    await _start_or_look_up(
        session,
        runtime,
        event,
        event_type="vendor_new_order",
        party_id=_first_str(order.get("store_id"), store.get("id")),
        phone=_first_str(order.get("store_phone"), store.get("phone")),
        name=store_name,
        language=_first_str(order.get("store_language"), store.get("language")),
        context=context,
    )


async def on_rider_assigned(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Start the rider assignment ladder."""
    if event.order_id is None:
        return
    d = event.data
    keep = ("pickup_name", "pickup_address", "drop_area", "amount", "earning")
    context = {k: d[k] for k in keep if d.get(k) is not None}
    name = _first_str(d.get("rider_name"))
    if name:
        context["rider_name"] = name
    await _start_or_look_up(
        session,
        runtime,
        event,
        event_type="rider_assignment",
        party_id=_first_str(d.get("rider_id")),
        phone=_first_str(d.get("rider_phone"), d.get("phone")),
        name=name,
        language=_first_str(d.get("rider_language"), d.get("language")),
        context=context,
    )


async def on_address_changed(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Start the address-change ladder for the order's rider."""
    if event.order_id is None:
        return
    d = event.data
    context: dict[str, Any] = {}
    raw = d.get("address")
    # Commerce events carry the address as {text, landmark?, pincode?, …}.
    text = raw.get("text") if isinstance(raw, Mapping) else raw
    address = _first_str(text, d.get("new_address"))
    if address:
        context["new_address"] = address
    rider_id, phone = _first_str(d.get("rider_id")), _first_str(d.get("rider_phone"))
    name, language = _first_str(d.get("rider_name")), _first_str(d.get("rider_language"))
    if phone is None:
        # The rider we are already talking to about this order, if any.
        ids = await repo.ids_for_order(session, event.order_id, event_types=RIDER_LADDERS)
        row = await repo.get(session, ids[-1]) if ids else None
        if row is not None and (rider_id is None or rider_id == row["party_id"]):
            rider_id, phone = row["party_id"], row["party_phone"]
            name, language = row["party_name"], row["language"]
    if name:
        context["rider_name"] = name
    await _start_or_look_up(
        session,
        runtime,
        event,
        event_type="address_change",
        party_id=rider_id,
        phone=phone,
        name=name,
        language=language,
        context=context,
    )


async def ack_vendor(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """The vendor answered (accept or reject, any channel): end the vendor ladders."""
    if event.order_id is None:
        return
    default = "app" if event.name.startswith("order.") else "unknown"
    await service.acknowledge_order(
        session,
        runtime,
        order_id=event.order_id,
        event_types=VENDOR_LADDERS,
        by=_actor(event),
        channel=_channel(event, default),
    )


async def ack_rider(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """The rider answered the assignment: end the rider-assignment ladder."""
    if event.order_id is None:
        return
    await service.acknowledge_order(
        session,
        runtime,
        order_id=event.order_id,
        event_types=RIDER_LADDERS,
        by=_actor(event),
        channel=_channel(event, "unknown"),
    )


async def on_party_acknowledged(
    session: AsyncSession, runtime: Runtime, event: DomainEvent
) -> None:
    """An explicit acknowledgement: the named escalation, else the party's on the order."""
    channel = _channel(event, "unknown")
    esc_id = event.data.get("escalation_id")
    if isinstance(esc_id, str) and esc_id:
        await service.acknowledge(
            session, runtime, escalation_id=esc_id, by=_actor(event), channel=channel
        )
    elif event.order_id is not None and event.party:
        await service.acknowledge_order(
            session,
            runtime,
            order_id=event.order_id,
            party=event.party,
            by=_actor(event),
            channel=channel,
        )


async def on_order_delivered(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """The order is done: stop everything still running for it."""
    if event.order_id is not None:
        await service.stop_order(
            session, runtime, order_id=event.order_id, reason="order delivered", actor=_actor(event)
        )


async def on_message_status(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """A message of a ladder was delivered or read: a fact for later steps' conditions."""
    status, message_id = event.data.get("status"), event.data.get("message_id")
    messages = metadata.tables.get("messages")  # the telephony slice's table
    if status not in ("delivered", "read") or not isinstance(message_id, str) or messages is None:
        return
    found = await session.execute(
        select(messages.c.escalation_id).where(messages.c.id == message_id)
    )
    esc_id = found.scalar_one_or_none()
    if isinstance(esc_id, str):
        await service.add_fact(session, runtime, esc_id, str(status))


async def on_call_finished(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """A ladder call was answered (not an acknowledgement, but a fact)."""
    call_id = event.data.get("call_id")
    if not isinstance(call_id, str):
        return
    row = (
        await session.execute(
            select(voice_calls.c.escalation_id, voice_calls.c.answered_at).where(
                voice_calls.c.id == call_id
            )
        )
    ).first()
    if row is not None and row.escalation_id and row.answered_at is not None:
        await service.add_fact(session, runtime, row.escalation_id, "answered")


_RECORDED = "exocomms.escalation.recorded_events"  # session.info: events already on a timeline


async def record_event(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """Put every event about an order on its timeline (once, before what it causes)."""
    if event.order_id is None:
        return
    # Kept by reference (not id()): a freed event's id may be reused by the next one.
    recorded: list[DomainEvent] = session.info.setdefault(_RECORDED, [])
    if any(seen is event for seen in recorded):
        return
    recorded.append(event)
    channel = event.data.get("channel") if isinstance(event.data.get("channel"), str) else None
    kind = "key" if event.name == "party.acknowledged" or channel in KEY_CHANNELS else "event"
    esc_id = event.data.get("escalation_id")
    summary = event.name if not event.party else f"{event.name} ({event.party})"
    await repo.add_entry(
        session,
        at=event.at,
        kind=kind,
        order_id=event.order_id,
        escalation_id=esc_id if isinstance(esc_id, str) else None,
        channel=channel,
        actor=event.actor,
        summary=summary,
        data={"event": event.name, "party": event.party, **_jsonable(event.data)},
    )


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or isinstance(value, str | int | float | bool | list | dict):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out


def _recorded_first(listener: Listener) -> Listener:
    # The bus runs "*" listeners last; the event itself belongs on the timeline before the
    # acks and stops it causes.
    async def run(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
        await record_event(session, runtime, event)
        await listener(session, runtime, event)

    return run


def subscribe(bus: EventBus) -> None:
    """Subscribe the orchestrator's listeners on ``bus``."""
    listeners: list[tuple[tuple[str, ...], Listener]] = [
        (("order.created",), on_order_created),
        (("rider.assigned",), on_rider_assigned),
        (("address.changed",), on_address_changed),
        (("vendor.accepted", "vendor.rejected", "order.accepted", "order.rejected"), ack_vendor),
        (("rider.accepted", "rider.rejected"), ack_rider),
        (("party.acknowledged",), on_party_acknowledged),
        (("order.delivered",), on_order_delivered),
        (("message.status",), on_message_status),
        (("call.finished",), on_call_finished),
    ]
    for names, listener in listeners:
        for name in names:
            bus.subscribe(name, _recorded_first(listener))
    bus.subscribe("*", record_event)
