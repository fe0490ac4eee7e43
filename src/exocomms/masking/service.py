"""Masking use cases: create, end and expire sessions; route calls through virtual numbers.

Allocation is safe across processes: every change to holds runs under
:func:`~exocomms.masking.repo.lock` (a PostgreSQL advisory lock; SQLite's single writer), and
the holds' primary key ``(virtual_number, participant)`` refuses a second hold even if
something bypassed the lock. A unique-constraint failure rolls the attempt back and it is
retried (bounded) from fresh state.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import Conflict, NotFound, ValidationError
from exocomms.logging import get_logger
from exocomms.masking import allocator, repo
from exocomms.masking.leadassist import create_via_leadassist
from exocomms.masking.model import (
    Connect,
    MaskingSession,
    NewSession,
    PinRequired,
    Route,
    SessionKind,
    SessionMode,
    SessionStatus,
    Unknown,
)
from exocomms.phones import mask, normalize, try_normalize
from exocomms.runtime import Runtime

log = get_logger(__name__)

MAX_ATTEMPTS = 5  # allocation retries after a unique-constraint race
EXPIRE_JOB = "masking.expire"
MAX_HOURS = 168.0


def new_session(
    runtime: Runtime,
    *,
    order_id: str,
    party_a: str,
    party_b: str,
    kind: SessionKind = SessionKind.CUSTOMER_RIDER,
    expires_in_hours: float | None = None,
    context: str | None = None,
    revealed: bool = True,
) -> NewSession:
    """Validate and normalise a create request.

    Raises:
        ValidationError: bad phone, the same phone twice, an empty order id, or hours outside
            (0, 168].
    """
    a, b = normalize(party_a), normalize(party_b)
    if a == b:
        raise ValidationError("partyA and partyB must be different numbers")
    if not order_id or len(order_id) > 64:
        raise ValidationError("orderId must be 1-64 characters")
    hours = runtime.settings.masking_default_hours if expires_in_hours is None else expires_in_hours
    if not 0 < hours <= MAX_HOURS:
        raise ValidationError(f"expiresInHours must be in (0, {MAX_HOURS:g}]")
    return NewSession(order_id, kind, a, b, float(hours), context, revealed)


async def create_session(runtime: Runtime, request: NewSession) -> MaskingSession:
    """Create (or return the live) session for ``request``, in its own transaction(s).

    Raises:
        Conflict: the pool is empty, or allocation kept racing.
        ProviderError: Lead Assist failed (``leadassist`` backend).
    """
    if runtime.settings.masking_backend == "leadassist":
        return await create_via_leadassist(runtime, request)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with runtime.db.transaction() as session:
                return await create_in(session, runtime, request)
        except IntegrityError as exc:
            log.warning("masking.allocation_race", attempt=attempt, error=str(exc.orig)[:200])
    raise Conflict("could not allocate a virtual number; try again", code="allocation_conflict")


async def create_in(session: AsyncSession, runtime: Runtime, request: NewSession) -> MaskingSession:
    """Allocate from the pool inside the caller's transaction (idempotent per live key)."""
    await repo.lock(session)
    now = runtime.clock.now()
    existing = await repo.by_live_key(session, request.live_key)
    if existing is not None:
        if request.revealed and not existing.revealed:
            await repo.reveal(session, [existing.id], now)
            existing = await repo.get_session(session, existing.id) or existing
        return existing
    configured = [try_normalize(n) for n in runtime.settings.masking_pool]
    await repo.add_numbers(
        session, [n for n in configured if n], now, source="settings", reactivate=False
    )
    pool = await repo.active_pool(session)
    edges = await repo.live_edges(session)
    a, b = request.party_a, request.party_b
    sticky = await repo.previous_number(session, a, b)
    decision = allocator.allocate(
        pool, edges, a, b, sticky=sticky, recolour=runtime.settings.masking_recolour
    )
    for move in decision.moves:  # release every moved hold first, then take the new ones
        await repo.drop_pair_holds(session, move.old, move.a, move.b)
    for move in decision.moves:
        await repo.move_pair(session, move.a, move.b, move.old, move.new, now)
        await repo.add_pair_holds(session, move.new, move.a, move.b, now)
    values = {
        "order_id": request.order_id,
        "kind": request.kind.value,
        "party_a": a,
        "party_b": b,
        "status": SessionStatus.LIVE.value,
        "revealed": request.revealed,
        "live_key": request.live_key,
        "context": request.context,
        "created_at": now,
        "expires_at": now + timedelta(hours=request.hours),
        "updated_at": now,
    }
    if decision.number is not None:
        if decision.reason != "existing":
            await repo.add_pair_holds(session, decision.number, a, b, now)
        created = await repo.insert_session(
            session, mode=SessionMode.DIRECT.value, virtual_number=decision.number, **values
        )
    else:
        number = allocator.pin_number(pool, edges, a, b)
        if number is None:
            raise Conflict("the masking pool is empty", code="no_available_number")
        pin = _new_pin(runtime.settings.masking_pin_digits, await repo.pins_on(session, number))
        created = await repo.insert_session(
            session, mode=SessionMode.PIN.value, virtual_number=number, pin=pin, **values
        )
        await repo.add_pin(session, number, pin, created.id)
    await schedule_expiry(session, runtime, created.id, created.expires_at)
    log.info(
        "masking.session_created",
        session_id=created.id,
        order_id=created.order_id,
        mode=created.mode.value,
        reason=decision.reason,
        moved=len(decision.moves),
    )
    return created


def _new_pin(digits: int, taken: set[str]) -> str:
    space = 10**digits
    if len(taken) >= space // 2:  # keep PINs hard to guess and quick to draw
        raise Conflict("too many PIN sessions on one number", code="pin_space_exhausted")
    while True:
        pin = str(secrets.randbelow(space)).zfill(digits)
        if pin not in taken:
            return pin


async def schedule_expiry(
    session: AsyncSession, runtime: Runtime, session_id: int, at: datetime
) -> None:
    """A ``masking.expire`` job at ``at`` (one per distinct expiry time; stale ones no-op)."""
    await runtime.queue.enqueue(
        session,
        EXPIRE_JOB,
        {"session_id": session_id},
        run_at=at,
        key=f"{EXPIRE_JOB}:{session_id}:{at.isoformat()}",
    )


async def end_in(
    session: AsyncSession,
    runtime: Runtime,
    *,
    order_id: str | None = None,
    session_id: int | None = None,
    grace_hours: float | None = None,
) -> list[MaskingSession]:
    """End live sessions (of an order, or one) with the grace period; returns them.

    Calls keep connecting until ``now + grace``; then the ``masking.expire`` job releases the
    number. Ending twice changes nothing.

    Raises:
        NotFound: neither a known order nor a known session.
    """
    now = runtime.clock.now()
    if session_id is not None:
        one = await repo.get_session(session, session_id)
        if one is None:
            raise NotFound(f"masking session {session_id} not found")
        targets = [one]
    elif order_id is not None:
        targets = await repo.for_order(session, order_id)
    else:
        raise ValidationError("give an orderId or a sessionId")
    grace = timedelta(
        hours=runtime.settings.masking_grace_hours if grace_hours is None else grace_hours
    )
    ended = []
    for target in targets:
        if target.status != SessionStatus.LIVE:
            continue
        expires_at = min(target.expires_at, now + grace)
        await repo.update_session(
            session,
            target.id,
            status=SessionStatus.ENDED.value,
            ended_at=now,
            expires_at=expires_at,
            live_key=None,
            updated_at=now,
        )
        if expires_at <= now and target.mode != SessionMode.LEADASSIST:
            await expire_in(session, runtime, target.id)  # Lead Assist: the job releases it
        else:
            await schedule_expiry(session, runtime, target.id, expires_at)
        ended.append(await repo.get_session(session, target.id) or target)
    return ended


async def expire_in(session: AsyncSession, runtime: Runtime, session_id: int) -> bool:
    """Expire one session if its time is up: free its PIN and (when unused) its holds.

    Returns:
        True if it expired now; False if not due, already expired, or unknown (fencing: a
        stale ``masking.expire`` job is a no-op).
    """
    await repo.lock(session)
    now = runtime.clock.now()
    target = await repo.get_session(session, session_id)
    if target is None or target.status == SessionStatus.EXPIRED or target.expires_at > now:
        return False
    await repo.update_session(
        session,
        session_id,
        status=SessionStatus.EXPIRED.value,
        live_key=None,
        ended_at=target.ended_at or now,
        updated_at=now,
    )
    if target.mode == SessionMode.PIN:
        await repo.drop_pin(session, session_id)
    elif target.mode == SessionMode.DIRECT and target.virtual_number is not None:
        others = await repo.pair_sessions_on(
            session, target.virtual_number, target.party_a, target.party_b, exclude=session_id
        )
        if not others:
            await repo.drop_pair_holds(
                session, target.virtual_number, target.party_a, target.party_b
            )
    log.info("masking.session_expired", session_id=session_id, order_id=target.order_id)
    return True


async def expire_due(runtime: Runtime, *, limit: int = 500) -> int:
    """Expire every session whose time is up (a sweep; the per-session jobs do it too)."""
    count = 0
    async with runtime.db.transaction() as session:
        for session_id in await repo.due(session, runtime.clock.now(), limit):
            count += await expire_in(session, runtime, session_id)
    return count


# -- routing -----------------------------------------------------------------------------
async def route(session: AsyncSession, *, caller: str, virtual_number: str, now: datetime) -> Route:
    """Whom to connect when ``caller`` dials ``virtual_number``.

    * The caller holds the number (a direct session) and has no PIN session on it →
      :class:`Connect` to the counterparty.
    * The caller is in exactly one session on it, a PIN session, and holds nothing there →
      :class:`Connect` (no ambiguity, no PIN needed).
    * Otherwise, when PIN sessions use the number → :class:`PinRequired` (with the direct
      session as ``fallback`` if there is one).
    * Otherwise :class:`Unknown`.

    A connected session counts as revealed: its number never moves again.
    """
    number = try_normalize(virtual_number) or virtual_number
    who = try_normalize(caller)
    pins = await repo.routable_on(session, number, now, mode=SessionMode.PIN)
    direct: Connect | None = None
    if who is not None:
        counterparty = await repo.hold_of(session, number, who)
        if counterparty is not None:
            direct = await _direct_connect(session, number, who, counterparty, now)
    mine = [s for s in pins if who is not None and s.counterparty(who) is not None]
    if direct is not None and not mine:
        await repo.reveal(session, [direct.session_id], now)
        return direct
    if direct is None and len(mine) == 1 and who is not None:
        only = mine[0]
        to = only.counterparty(who)
        assert to is not None
        return Connect(to, number, only.id, only.order_id, only.kind)
    if pins:
        return PinRequired(number, fallback=direct)
    return Unknown(number)


async def _direct_connect(
    session: AsyncSession, number: str, caller: str, counterparty: str, now: datetime
) -> Connect | None:
    for candidate in await repo.routable_on(session, number, now, mode=SessionMode.DIRECT):
        if candidate.counterparty(caller) == counterparty:
            return Connect(counterparty, number, candidate.id, candidate.order_id, candidate.kind)
    return None  # holds outlived their sessions' time: the expiry job is on its way


async def route_by_pin(
    session: AsyncSession, *, pin: str, virtual_number: str, caller: str | None, now: datetime
) -> Route:
    """Whom to connect after ``caller`` entered ``pin`` on ``virtual_number``.

    A registered caller reaches the other party; an unregistered one (another phone) reaches
    ``party_b`` (the rider or vendor side: customers are always ``party_a``).
    """
    number = try_normalize(virtual_number) or virtual_number
    found = await repo.session_by_pin(session, number, pin.strip())
    if found is None or not found.routable(now):
        return Unknown(number, reason="wrong PIN")
    who = try_normalize(caller)
    to = (found.counterparty(who) if who else None) or found.party_b
    log.info("masking.pin_routed", session_id=found.id, caller=mask(caller or ""))
    return Connect(to, number, found.id, found.order_id, found.kind)


async def status(runtime: Runtime, order_id: str, *, reveal: bool = True) -> list[MaskingSession]:
    """Every session of an order; showing them reveals their numbers (they stop moving)."""
    async with runtime.db.transaction() as session:
        sessions = await repo.for_order(session, order_id)
        hidden = [s.id for s in sessions if not s.revealed and s.status == SessionStatus.LIVE]
        if reveal and hidden:
            await repo.reveal(session, hidden, runtime.clock.now())
            sessions = await repo.for_order(session, order_id)
        return sessions
