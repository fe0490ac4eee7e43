"""Escalation use cases: start, run a due step, acknowledge, stop (one transaction each).

The protocol is the one in :mod:`exocomms.escalation.engine`: the row is locked (``FOR
UPDATE`` on PostgreSQL; SQLite serialises writers), the pure engine decides, and the new state,
the next step's job, the channel sends (rows + jobs of other slices) and the timeline entry are
written in the caller's transaction. An acknowledgement that commits first turns a due step into
a no-op; a step that commits first has its next job canceled by the ack, and its sends are
checked with :func:`still_open` by the send jobs right before they dial or send.

Escalation ids are ``<prefix>_<order id>`` with the prefixes of :data:`ID_PREFIX`
(``vendor_order_123`` for the vendor new-order ladder), as the platform's API expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.errors import ExocommsError, NotFound, ValidationError
from exocomms.escalation import engine, repo
from exocomms.escalation.channels import Channels, Target, send_step
from exocomms.escalation.contract_channels import ContractChannels
from exocomms.escalation.ending import CLOSED as CLOSED  # re-exported, as the names below
from exocomms.escalation.ending import acknowledge as acknowledge
from exocomms.escalation.ending import acknowledge_order as acknowledge_order
from exocomms.escalation.ending import add_fact as add_fact
from exocomms.escalation.ending import end
from exocomms.escalation.ending import still_open as still_open
from exocomms.escalation.ending import stop as stop
from exocomms.escalation.ending import stop_order as stop_order
from exocomms.escalation.ladders import DEFAULT_LADDERS, pick_ladder
from exocomms.escalation.model import Escalation, Ladder, Status, step_key
from exocomms.escalation.model import escalation_id as make_id
from exocomms.logging import get_logger
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.preferences import recipient_for

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

#: Event type → escalation id prefix (the ids the platform's API knows).
ID_PREFIX: Mapping[str, str] = {
    "vendor_new_order": "vendor_order",
    "vendor_reminder": "vendor_reminder",
    "rider_assignment": "rider_assign",
    "address_change": "address_update",
    "customer_status": "customer_status",
    "customer_delay": "customer_delay",
}
#: Event type → the party it is about.
PARTY_OF: Mapping[str, str] = {
    "vendor_new_order": "vendor",
    "vendor_reminder": "vendor",
    "rider_assignment": "rider",
    "address_change": "rider",
    "customer_status": "customer",
    "customer_delay": "customer",
}
EVENT_TYPES = tuple(ID_PREFIX)
TIMING_POLICY_EXTRA = "timing_policy"  # runtime.extras key: a TimingPolicy overriding defaults
CHANNELS_EXTRA = "escalation_channels"  # runtime.extras key: a Channels (tests inject fakes)


def escalation_id_for(event_type: str, order_id: str) -> str:
    """``vendor_order_<order id>`` and friends.

    Raises:
        NotFound: unknown event type.
        ValidationError: the order id cannot be part of an id.
    """
    if event_type not in ID_PREFIX:
        raise NotFound(f"unknown event type {event_type!r}", details={"known": EVENT_TYPES})
    return make_id(ID_PREFIX[event_type], order_id)


def channels_of(runtime: Runtime) -> Channels:
    """The channels port of this runtime (tests put a fake in ``runtime.extras``)."""
    injected = runtime.extras.get(CHANNELS_EXTRA)
    return injected if injected is not None else ContractChannels()


async def timing_policy(session: AsyncSession, runtime: Runtime) -> TimingPolicy:
    """The timing rules in force: ``runtime.extras['timing_policy']`` if set (tests), else the
    run-time configuration's ``timing`` section (defaults when never edited)."""
    policy = runtime.extras.get(TIMING_POLICY_EXTRA)
    if isinstance(policy, TimingPolicy):
        return policy
    from exocomms.config.service import current

    return (await current(runtime, session)).timing


async def load_ladder(session: AsyncSession, event_type: str, city: str | None = None) -> Ladder:
    """The ladder in force for ``event_type`` (and ``city``): stored, else the default."""
    if event_type not in DEFAULT_LADDERS:
        raise NotFound(f"unknown event type {event_type!r}", details={"known": EVENT_TYPES})
    return pick_ladder(await repo.current_ladders(session, event_type), event_type, city)


async def save_ladder(
    session: AsyncSession,
    runtime: Runtime,
    event_type: str,
    definition: Mapping[str, Any],
    *,
    updated_by: str | None = None,
) -> Ladder:
    """Validate and store a new version of a ladder (running escalations keep theirs).

    Raises:
        NotFound: unknown event type.
        ValidationError: the definition is not a valid ladder.
    """
    if event_type not in DEFAULT_LADDERS:
        raise NotFound(f"unknown event type {event_type!r}", details={"known": EVENT_TYPES})
    data = dict(definition)
    if data.get("event_type", event_type) != event_type:
        raise ValidationError("event_type in the body differs from the path")
    data.pop("version", None)  # the server numbers versions
    data["event_type"] = event_type
    ladder = Ladder.from_dict(data)
    from exocomms.escalation.channels import IVR_FOR_TEMPLATE, ivr_name

    for i, step in enumerate(ladder.steps):
        if step.channel.value == "ivr_call":
            try:
                ivr_name(step.template)
            except NotFound:
                raise ValidationError(
                    f"steps[{i}].template: no IVR for {step.template!r}",
                    details={"known": sorted(IVR_FOR_TEMPLATE)},
                ) from None
    current = await repo.ladder_row(session, event_type, ladder.city)
    ladder = replace(ladder, version=(current["version"] + 1) if current else 1)
    await repo.insert_ladder(session, ladder, runtime.clock.now(), updated_by)
    return ladder


def _target(row: Mapping[str, Any], now: datetime) -> Target:
    context = dict(row["context"] or {})
    waited = int((now - row["started_at"]).total_seconds() // 60)
    context.setdefault("minutes_waiting", max(1, waited))  # the reminder templates say it
    return Target(
        escalation_id=row["id"],
        event_type=row["event_type"],
        order_id=row["order_id"],
        party=row["party"],
        party_id=row["party_id"],
        phone=row["party_phone"],
        name=row["party_name"],
        language=row["language"],
        context=context,
    )


async def start_escalation(
    session: AsyncSession,
    runtime: Runtime,
    *,
    event_type: str,
    order_id: str,
    phone: str,
    party_id: str | None = None,
    name: str | None = None,
    language: str = "hi",
    context: Mapping[str, Any] | None = None,
    city: str | None = None,
    facts: frozenset[str] = frozenset(),
    actor: str = "system",
) -> str:
    """Start the ladder of ``event_type`` for an order's party; returns the escalation id.

    Idempotent: the same party again while the escalation is active (or ended, with the same
    context) returns the existing one. A different party or context after it ended (a new
    rider assigned, the address changed again) restarts it; a different party while it is
    active stops the old ladder and starts a new one.

    Raises:
        NotFound: unknown event type. ValidationError: bad phone or order id.
    """
    esc_id = escalation_id_for(event_type, order_id)
    phone = phones.normalize(phone)
    context = {"order_id": order_id, **dict(context or {})}
    if name and "name" not in context:
        context["name"] = name
    now = runtime.clock.now()
    existing = await repo.get(session, esc_id, lock=True)
    fence = 0
    if existing is not None:
        same_party = existing["party_phone"] == phone
        if existing["status"] == Status.ACTIVE.value and same_party:
            return esc_id
        unchanged = dict(existing["context"] or {}) == context
        if existing["status"] != Status.ACTIVE.value and same_party and unchanged:
            return esc_id  # a duplicate of what already ran
        if existing["status"] == Status.ACTIVE.value:
            await end(session, runtime, existing, "reassigned", actor, ack=None)
            existing = await repo.get(session, esc_id)
            assert existing is not None
        # Restart: keep fencing upwards so job keys stay unique forever.
        fence = int(existing["fence"]) + 1
    ladder = await load_ladder(session, event_type, city)
    started = engine.start(esc_id, ladder, now, facts=facts)
    esc = replace(started.escalation, fence=fence)
    job = engine.StepJob(esc_id, 0, fence, started.job.run_at)
    values = {
        "event_type": event_type,
        "order_id": order_id,
        "party": PARTY_OF[event_type],
        "party_id": party_id,
        "party_phone": phone,
        "party_name": name,
        "language": language,
        "city": city,
        "context": context,
        "started_at": now,
        "acknowledged_channel": None,
        **repo.state_columns(esc, now),
    }
    if existing is None:
        await repo.insert_escalation(session, {"id": esc_id, **values})
    else:
        await repo.update_escalation(session, esc_id, values)
    await runtime.queue.enqueue(
        session, engine.STEP_JOB_KIND, job.payload(), run_at=job.run_at, key=job.key
    )
    steps = ", ".join(f"{s.channel.value}@{s.delay_seconds}s" for s in ladder.steps)
    await repo.add_entry(
        session,
        at=now,
        kind="status",
        order_id=order_id,
        escalation_id=esc_id,
        actor=actor,
        summary=f"escalation {esc_id} started ({event_type} v{ladder.version}: {steps})",
        data={"event_type": event_type, "ladder_version": ladder.version, "party_phone": phone},
    )
    log.info("escalation.started", escalation_id=esc_id, event_type=event_type)
    return esc_id


async def run_step(
    session: AsyncSession,
    runtime: Runtime,
    escalation_id: str,
    step: int,
    fence: int,
    *,
    channels: Channels | None = None,
) -> engine.Outcome | None:
    """The ``escalation.step`` job's work, in the caller's transaction.

    Returns the engine's outcome (None when the escalation does not exist). A channel that
    refuses (bad template, no admin on duty…) is recorded on the timeline and the ladder goes
    on: one broken channel must not stop the others.
    """
    row = await repo.get(session, escalation_id, lock=True)
    if row is None:
        return None
    esc = Escalation.from_dict(row["state"])
    now = runtime.clock.now()
    recipient = await recipient_for(session, row["party_phone"])  # stored DND, consents
    outcome = engine.on_step_due(
        esc, step, fence, now, policy=await timing_policy(session, runtime), recipient=recipient
    )
    if not outcome.changed:
        return outcome  # stale or ended: do nothing at all
    await repo.update_escalation(
        session, escalation_id, repo.state_columns(outcome.escalation, now)
    )
    next_job = outcome.next_job if not isinstance(outcome, engine.Stop) else None
    if next_job is not None:
        await runtime.queue.enqueue(
            session,
            engine.STEP_JOB_KIND,
            next_job.payload(),
            run_at=next_job.run_at,
            key=next_job.key,
        )
    entry: dict[str, Any] = {"order_id": row["order_id"], "escalation_id": escalation_id}
    if isinstance(outcome, engine.Execute):
        cur = outcome.step
        target = _target(row, now)
        data: dict[str, Any] = {"step": outcome.step_index, "template": cur.template}
        try:
            async with session.begin_nested():
                sent = await send_step(
                    session,
                    runtime,
                    channels or channels_of(runtime),
                    target,
                    cur,
                    key=step_key(escalation_id, step, fence),
                    ring_seconds=runtime.settings.escalation_ring_seconds,
                )
        except ExocommsError as exc:
            data["error"] = exc.message
            summary = f"step {outcome.step_index} {cur.channel.value} failed: {exc.message}"
            log.warning("escalation.step_failed", escalation_id=escalation_id, error=exc.message)
        else:
            data["sent"] = [{"channel": s.channel, "to": s.to, "ref": s.ref} for s in sent]
            what = ", ".join(f"{s.channel} to {s.to}" for s in sent)
            summary = f"step {outcome.step_index} {cur.channel.value}: queued {what}"
        await repo.add_entry(
            session, at=now, kind="step", channel=cur.channel.value, actor="system",
            summary=summary, data=data, **entry,
        )  # fmt: skip
    elif isinstance(outcome, engine.WaitForWindow):
        await repo.add_entry(
            session,
            at=now,
            kind="status",
            actor="system",
            summary=f"step {outcome.step_index} waits until {outcome.until.isoformat()}: "
            f"{outcome.reason}",
            data={"step": outcome.step_index, "until": outcome.until.isoformat()},
            **entry,
        )
    elif isinstance(outcome, engine.Skip):
        await repo.add_entry(
            session,
            at=now,
            kind="step",
            actor="system",
            summary=f"step {outcome.step_index} skipped: {outcome.reason}",
            data={"step": outcome.step_index, "skipped": outcome.reason},
            **entry,
        )
    if outcome.escalation.status is Status.EXHAUSTED:
        await repo.add_entry(
            session, at=now, kind="status", actor="system",
            summary=f"escalation {escalation_id} exhausted: nobody acknowledged", data={},
            **entry,
        )  # fmt: skip
    return outcome


def view(row: Mapping[str, Any]) -> dict[str, Any]:
    """The API form of an escalation row (camelCase, with the planned steps)."""
    esc = Escalation.from_dict(row["state"])

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "escalationId": row["id"],
        "eventType": row["event_type"],
        "orderId": row["order_id"],
        "party": row["party"],
        "partyId": row["party_id"],
        "phone": row["party_phone"],
        "name": row["party_name"],
        "language": row["language"],
        "status": row["status"],
        "startedAt": iso(row["started_at"]),
        "endedAt": iso(row["ended_at"]),
        "acknowledgedBy": row["acknowledged_by"],
        "acknowledgedAt": iso(row["acknowledged_at"]),
        "acknowledgedChannel": row["acknowledged_channel"],
        "ladderVersion": esc.ladder.version,
        "facts": sorted(esc.facts),
        "steps": engine.timeline(esc),
    }
