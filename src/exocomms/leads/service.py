"""Lead use cases: store, sync to the CRM, call after the delay, retry, note the outcome.

Everything a lead still needs is a durable job, enqueued in the transaction that makes it
necessary, so nothing is lost on a restart:

* ``leads.crm_sync`` ``{id}`` (key ``leads.crm_sync:<id>``): upsert into the CRM;
* ``leads.call`` ``{id, seq}`` (key ``leads.call:<id>:<seq>``): place the next attempt if the
  timing rules allow it, else wait for them (``seq`` fences stale jobs, as for scheduled calls);
* ``leads.crm_note`` ``{id, title, body}`` (key ``leads.crm_note:<id>``): the final outcome.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.calls.model import CallStatus
from exocomms.errors import (
    InvalidRequest,
    NotFound,
    NotSupported,
    ProviderAuthError,
    ProviderError,
)
from exocomms.events import DomainEvent
from exocomms.leads import repo
from exocomms.leads.crm import crm_for
from exocomms.leads.model import LEAD_PURPOSE, CrmStatus, LeadStatus, NewLead, normalize
from exocomms.logging import get_logger
from exocomms.scheduling import preferences
from exocomms.scheduling.calls import Action, RetryConfig
from exocomms.scheduling.engine import allowed, next_allowed
from exocomms.scheduling.model import Recipient
from exocomms.scheduling.service import (
    call_outcome,
    place_call,
    retry_default,
    rng_of,
    timing_policy,
)

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

SYNC_JOB = "leads.crm_sync"
CALL_JOB = "leads.call"
NOTE_JOB = "leads.crm_note"


def call_key(lead_id: int, seq: int) -> str:
    """The dedupe key of the call job of ``lead_id`` with fencing token ``seq``."""
    return f"{CALL_JOB}:{lead_id}:{seq}"


def recipient(phone: str) -> Recipient:
    """The lead asked to be called: consent to ``lead_call`` (service-explicit traffic)."""
    return Recipient(phone=phone, consents=frozenset({LEAD_PURPOSE}))


async def create_lead(
    session: AsyncSession,
    runtime: Runtime,
    *,
    source: str,
    name: str,
    phone: str,
    email: str | None,
) -> tuple[dict[str, Any], bool]:
    """Store a lead and enqueue its CRM sync and its call (after ``lead_call_delay``).

    A lead with the same phone created within ``lead_dedupe_hours`` is returned instead
    (a form submitted twice is one lead).

    Returns:
        ``(lead row, created)``.

    Raises:
        ValidationError: a field is not acceptable.
    """
    lead = normalize(source, name, phone, email)
    settings = runtime.settings
    now = runtime.clock.now()
    await repo.lock_phone(session, lead.phone)
    if settings.lead_dedupe_hours > 0:
        since = now - timedelta(hours=settings.lead_dedupe_hours)
        existing = await repo.recent_by_phone(session, lead.phone, since)
        if existing is not None:
            return existing, False
    # Filling in the lead form is the person asking to be called: explicit consent for
    # lead calls, so a number on DND still gets the call it asked for (TRAI: service-explicit).
    await preferences.add_consent(
        session, lead.phone, "lead_call", source="lead", actor="leads", now=now
    )
    crm_on = crm_for(runtime).name != "none"
    call_at = now + timedelta(seconds=settings.lead_call_delay)
    lead_id = await repo.insert_lead(
        session,
        {
            "source": lead.source,
            "name": lead.name,
            "phone": lead.phone,
            "email": lead.email,
            "status": LeadStatus.NEW.value,
            "crm_status": (CrmStatus.PENDING if crm_on else CrmStatus.OFF).value,
            "attempt": 0,
            "max_attempts": settings.lead_max_attempts,
            "seq": 1,
            "next_call_at": call_at,
            "created_at": now,
            "updated_at": now,
        },
    )
    if crm_on:
        await runtime.queue.enqueue(session, SYNC_JOB, {"id": lead_id}, key=f"{SYNC_JOB}:{lead_id}")
    await runtime.queue.enqueue(
        session, CALL_JOB, {"id": lead_id, "seq": 1}, key=call_key(lead_id, 1), run_at=call_at
    )
    row = await repo.get(session, lead_id)
    assert row is not None
    log.info("lead.created", lead_id=lead_id, source=lead.source, crm=crm_on)
    return row, True


async def get(session: AsyncSession, lead_id: int) -> dict[str, Any]:
    """One lead.

    Raises:
        NotFound: no such id.
    """
    row = await repo.get(session, lead_id)
    if row is None:
        raise NotFound(f"no lead {lead_id}")
    return row


async def stats(session: AsyncSession) -> dict[str, Any]:
    """``{pending, total, byStatus}``: pending = leads that may still be called."""
    counts = await repo.count_by_status(session)
    by_status = {s.value: counts.get(s.value, 0) for s in LeadStatus}
    return {
        "pending": sum(n for s, n in by_status.items() if LeadStatus(s).pending),
        "total": sum(by_status.values()),
        "byStatus": by_status,
    }


def _new_lead(row: dict[str, Any]) -> NewLead:
    return NewLead(row["source"], row["name"], row["phone"], row["email"])


# ---------------------------------------------------------------- calling


def _action(runtime: Runtime) -> Action | None:
    settings = runtime.settings
    if settings.lead_flow:
        return Action("flow", settings.lead_flow, {}, "hi")
    if settings.lead_agent_phone:
        return Action("bridge", phones.normalize(settings.lead_agent_phone), {}, "hi")
    return None


async def run_call(runtime: Runtime, lead_id: int, seq: int) -> None:
    """The call job: call the lead into the flow or the agent, inside the timing rules."""
    async with runtime.db.transaction() as session:
        row = await repo.get(session, lead_id, lock=True)
        if row is None or row["seq"] != seq:
            return
        if row["status"] not in (LeadStatus.NEW.value, LeadStatus.WAITING.value):
            return
        now = runtime.clock.now()
        policy = await timing_policy(session, runtime)
        who = recipient(row["phone"])
        decision = allowed(now, LEAD_PURPOSE, who, policy, "call")
        action = _action(runtime)
        if action is None or not decision.allowed:
            at = None if action is None else next_allowed(now, LEAD_PURPOSE, who, policy, "call")
            outcome = "no_route" if action is None else "never_allowed"
            await _wait_or_fail(session, runtime, row, at, outcome)
            return
        attempt = row["attempt"] + 1
        call_id = await place_call(
            session,
            runtime,
            action=action,
            phone=row["phone"],
            purpose=LEAD_PURPOSE,
            attempt=attempt,
            name=row["name"],
        )
        await repo.change(
            session,
            lead_id,
            {
                "status": LeadStatus.CALLING.value,
                "attempt": attempt,
                "call_id": call_id,
                "next_call_at": None,
                "updated_at": now,
            },
        )
    log.info("lead.call_placed", lead_id=lead_id, attempt=attempt, call_id=call_id)


async def _wait_or_fail(
    session: AsyncSession,
    runtime: Runtime,
    row: dict[str, Any],
    at: Any,
    outcome: str,
) -> None:
    """Enqueue the next call job at ``at``, or fail with ``outcome`` (and note it)."""
    now = runtime.clock.now()
    if at is None:
        await _finish(session, runtime, row, LeadStatus.FAILED, outcome)
        return
    seq = row["seq"] + 1
    await repo.change(
        session,
        row["id"],
        {"status": LeadStatus.WAITING.value, "seq": seq, "next_call_at": at, "updated_at": now},
    )
    await runtime.queue.enqueue(
        session, CALL_JOB, {"id": row["id"], "seq": seq}, key=call_key(row["id"], seq), run_at=at
    )


async def _finish(
    session: AsyncSession, runtime: Runtime, row: dict[str, Any], status: LeadStatus, outcome: str
) -> None:
    now = runtime.clock.now()
    await repo.change(
        session,
        row["id"],
        {"status": status.value, "last_outcome": outcome, "next_call_at": None, "updated_at": now},
    )
    if row["crm_status"] == CrmStatus.OFF.value:
        return
    title = "Call: answered" if status is LeadStatus.CALLED else "Call: not reached"
    body = (
        f"exocomms called this lead {row['attempt']} time(s); "
        f"outcome: {outcome}; at {now.isoformat()}."
    )
    await runtime.queue.enqueue(
        session,
        NOTE_JOB,
        {"id": row["id"], "title": title, "body": body},
        key=f"{NOTE_JOB}:{row['id']}",
    )


async def on_call_finished(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
    """``call.finished`` listener: called, or retry (max ``lead_max_attempts``), or failed."""
    call_id = event.data.get("call_id")
    if not isinstance(call_id, str):
        return
    row = await repo.by_call_id(session, call_id)
    if row is None or row["status"] != LeadStatus.CALLING.value:
        return
    outcome = await call_outcome(session, call_id) or "failed"
    if outcome == CallStatus.COMPLETED.value:
        await _finish(session, runtime, row, LeadStatus.CALLED, outcome)
        return
    await repo.change(session, row["id"], {"last_outcome": outcome})
    row["last_outcome"] = outcome
    base = RetryConfig.from_policy(await retry_default(session, runtime, LEAD_PURPOSE))
    retry = RetryConfig(**{**base.to_fields(), "max_attempts": row["max_attempts"]})
    now = runtime.clock.now()
    at = retry.next_attempt(row["attempt"], outcome, now, rng_of(runtime))
    if at is None:
        await _finish(session, runtime, row, LeadStatus.FAILED, outcome)
        return
    policy = await timing_policy(session, runtime)
    at = next_allowed(at, LEAD_PURPOSE, recipient(row["phone"]), policy, "call")
    await _wait_or_fail(session, runtime, row, at, "never_allowed")


# ---------------------------------------------------------------- the CRM


async def sync(runtime: Runtime, lead_id: int, *, last_try: bool) -> None:
    """Upsert the lead into the CRM (idempotent: matched on phone) and remember its id.

    Raises:
        ProviderError: for the job to retry (after marking ``failed`` on the last try).
    """
    async with runtime.db.transaction() as session:
        row = await repo.get(session, lead_id)
    if row is None or row["crm_status"] != CrmStatus.PENDING.value:
        return
    try:
        crm_id = await crm_for(runtime).upsert_lead(_new_lead(row))
    except (InvalidRequest, ProviderAuthError, NotSupported) as exc:
        await _crm_failed(runtime, lead_id, exc.message)
        return  # retrying cannot help; the lead is still called
    except ProviderError as exc:
        if last_try:
            await _crm_failed(runtime, lead_id, exc.message)
        raise
    async with runtime.db.transaction() as session:
        await repo.change(
            session,
            lead_id,
            {
                "crm_status": CrmStatus.SYNCED.value,
                "crm_id": crm_id[:64],
                "crm_error": None,
                "updated_at": runtime.clock.now(),
            },
        )
    log.info("lead.crm_synced", lead_id=lead_id)


async def _crm_failed(runtime: Runtime, lead_id: int, message: str) -> None:
    log.warning("lead.crm_failed", lead_id=lead_id, error=message[:200])
    async with runtime.db.transaction() as session:
        await repo.change(
            session,
            lead_id,
            {
                "crm_status": CrmStatus.FAILED.value,
                "crm_error": message[:500],
                "updated_at": runtime.clock.now(),
            },
        )


async def note(runtime: Runtime, lead_id: int, title: str, body: str) -> bool:
    """Add the outcome note in the CRM.

    Returns:
        False when the lead is not in the CRM yet (the job tries again later).
    """
    async with runtime.db.transaction() as session:
        row = await repo.get(session, lead_id)
    if row is None or row["crm_status"] in (CrmStatus.OFF.value, CrmStatus.FAILED.value):
        return True
    if row["crm_status"] != CrmStatus.SYNCED.value or not row["crm_id"]:
        return False
    await crm_for(runtime).add_note(str(row["crm_id"]), title, body)
    return True
