"""SQL of the masking slice: the pool, sessions, holds and PINs (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.masking.allocator import Edge
from exocomms.masking.model import (
    ROUTABLE,
    MaskingSession,
    SessionKind,
    SessionMode,
    SessionStatus,
)
from exocomms.storage.tables import masking_holds, masking_numbers, masking_pins, masking_sessions

# Any constant: the PostgreSQL advisory lock that serialises hold changes across processes.
ADVISORY_LOCK_ID = 0x6D61736B  # "mask"
_ROUTABLE = [s.value for s in ROUTABLE]


@dataclass(frozen=True)
class PoolNumber:
    """A pool number as stored."""

    number: str
    active: bool
    source: str
    added_at: datetime


async def lock(session: AsyncSession) -> None:
    """Serialise allocation with every other process until this transaction ends.

    PostgreSQL: a transaction-level advisory lock. SQLite: every transaction already holds
    the database write lock (``BEGIN IMMEDIATE``). The holds' primary key stays the last line
    of defence either way.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})


# -- pool ---------------------------------------------------------------------------------
async def list_numbers(session: AsyncSession) -> list[PoolNumber]:
    """Every pool number, active first, in allocation order."""
    rows = await session.execute(
        select(masking_numbers).order_by(
            masking_numbers.c.active.desc(), masking_numbers.c.added_at, masking_numbers.c.number
        )
    )
    return [PoolNumber(r.number, bool(r.active), r.source, r.added_at) for r in rows]


async def add_numbers(
    session: AsyncSession, numbers: Iterable[str], now: datetime, *, source: str, reactivate: bool
) -> list[str]:
    """Insert missing numbers (and reactivate existing ones when asked); returns the new."""
    wanted = list(dict.fromkeys(numbers))
    if not wanted:
        return []
    known = {
        r.number: bool(r.active)
        for r in await session.execute(
            select(masking_numbers.c.number, masking_numbers.c.active).where(
                masking_numbers.c.number.in_(wanted)
            )
        )
    }
    new = [n for n in wanted if n not in known]
    if new:
        await session.execute(
            insert(masking_numbers),
            [
                {"number": n, "active": True, "source": source, "added_at": now, "updated_at": now}
                for n in new
            ],
        )
    inactive = [n for n, active in known.items() if not active]
    if reactivate and inactive:
        await session.execute(
            update(masking_numbers)
            .where(masking_numbers.c.number.in_(inactive))
            .values(active=True, updated_at=now)
        )
    return new


async def deactivate_number(session: AsyncSession, number: str, now: datetime) -> bool:
    """Stop allocating ``number`` (live sessions keep it until they expire)."""
    result: Any = await session.execute(
        update(masking_numbers)
        .where(masking_numbers.c.number == number, masking_numbers.c.active.is_(True))
        .values(active=False, updated_at=now)
    )
    return bool(result.rowcount)


async def active_pool(session: AsyncSession) -> list[str]:
    """Active numbers in allocation order (oldest first, so the pool fills from the front)."""
    return [n.number for n in await list_numbers(session) if n.active]


# -- sessions -----------------------------------------------------------------------------
def _session(row: Any) -> MaskingSession:
    return MaskingSession(
        id=int(row.id),
        order_id=row.order_id,
        kind=SessionKind(row.kind),
        party_a=row.party_a,
        party_b=row.party_b,
        mode=SessionMode(row.mode),
        virtual_number=row.virtual_number,
        pin=row.pin,
        status=SessionStatus(row.status),
        revealed=bool(row.revealed),
        created_at=row.created_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        provider_ref=row.provider_ref,
        context=row.context,
    )


async def insert_session(session: AsyncSession, **values: Any) -> MaskingSession:
    """Insert a session row and return it."""
    new_id = (
        await session.execute(
            insert(masking_sessions).values(**values).returning(masking_sessions.c.id)
        )
    ).scalar_one()
    found = await get_session(session, int(new_id))
    assert found is not None
    return found


async def get_session(session: AsyncSession, session_id: int) -> MaskingSession | None:
    """One session by id."""
    row = (
        await session.execute(select(masking_sessions).where(masking_sessions.c.id == session_id))
    ).first()
    return None if row is None else _session(row)


async def by_live_key(session: AsyncSession, live_key: str) -> MaskingSession | None:
    """The live session with this idempotency key."""
    row = (
        await session.execute(
            select(masking_sessions).where(masking_sessions.c.live_key == live_key)
        )
    ).first()
    return None if row is None else _session(row)


async def for_order(session: AsyncSession, order_id: str) -> list[MaskingSession]:
    """Every session of an order, oldest first."""
    rows = await session.execute(
        select(masking_sessions)
        .where(masking_sessions.c.order_id == order_id)
        .order_by(masking_sessions.c.id)
    )
    return [_session(r) for r in rows]


async def update_session(session: AsyncSession, session_id: int, **values: Any) -> None:
    """Change columns of one session."""
    await session.execute(
        update(masking_sessions).where(masking_sessions.c.id == session_id).values(**values)
    )


async def reveal(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Mark sessions as told to a party: their numbers never move again."""
    if ids:
        await session.execute(
            update(masking_sessions)
            .where(masking_sessions.c.id.in_(list(ids)), masking_sessions.c.revealed.is_(False))
            .values(revealed=True, updated_at=now)
        )


async def due(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Ids of routable sessions whose time is up."""
    rows = await session.execute(
        select(masking_sessions.c.id)
        .where(
            masking_sessions.c.status.in_(_ROUTABLE),
            masking_sessions.c.expires_at <= now,
        )
        .order_by(masking_sessions.c.expires_at)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def _pair(a: str, b: str) -> Any:
    c = masking_sessions.c
    return or_(and_(c.party_a == a, c.party_b == b), and_(c.party_a == b, c.party_b == a))


async def routable_on(
    session: AsyncSession, number: str, now: datetime, *, mode: SessionMode | None = None
) -> list[MaskingSession]:
    """Routable sessions on ``number`` (optionally of one mode), newest first."""
    c = masking_sessions.c
    query = select(masking_sessions).where(
        c.virtual_number == number, c.status.in_(_ROUTABLE), c.expires_at > now
    )
    if mode is not None:
        query = query.where(c.mode == mode.value)
    rows = await session.execute(query.order_by(c.id.desc()))
    return [_session(r) for r in rows]


async def previous_number(session: AsyncSession, a: str, b: str) -> str | None:
    """The number of the pair's most recent direct session (for sticky reuse)."""
    c = masking_sessions.c
    row = (
        await session.execute(
            select(c.virtual_number)
            .where(_pair(a, b), c.mode == SessionMode.DIRECT.value)
            .order_by(c.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else row.virtual_number


async def pair_sessions_on(
    session: AsyncSession, number: str, a: str, b: str, *, exclude: int | None = None
) -> list[int]:
    """Ids of routable direct sessions of the pair on ``number``."""
    c = masking_sessions.c
    query = select(c.id).where(
        c.virtual_number == number,
        c.mode == SessionMode.DIRECT.value,
        c.status.in_(_ROUTABLE),
        _pair(a, b),
    )
    if exclude is not None:
        query = query.where(c.id != exclude)
    return [int(r.id) for r in await session.execute(query)]


# -- holds and PINs -----------------------------------------------------------------------
async def live_edges(session: AsyncSession) -> list[Edge]:
    """Every held pair as an allocator edge; movable when no session on it was revealed."""
    holds = (await session.execute(select(masking_holds))).all()
    c = masking_sessions.c
    revealed = {
        (r.virtual_number, frozenset((r.party_a, r.party_b)))
        for r in await session.execute(
            select(c.virtual_number, c.party_a, c.party_b).where(
                c.mode == SessionMode.DIRECT.value,
                c.status.in_(_ROUTABLE),
                c.revealed.is_(True),
            )
        )
    }
    edges = []
    for h in holds:
        if h.participant < h.counterparty:  # each pair appears twice; keep one
            pair = frozenset((h.participant, h.counterparty))
            edges.append(
                Edge(
                    h.participant,
                    h.counterparty,
                    h.virtual_number,
                    movable=(h.virtual_number, pair) not in revealed,
                )
            )
    return edges


async def hold_of(session: AsyncSession, number: str, participant: str) -> str | None:
    """The counterparty ``participant`` reaches by calling ``number``, if they hold it."""
    row = (
        await session.execute(
            select(masking_holds.c.counterparty).where(
                masking_holds.c.virtual_number == number,
                masking_holds.c.participant == participant,
            )
        )
    ).first()
    return None if row is None else str(row.counterparty)


async def add_pair_holds(session: AsyncSession, number: str, a: str, b: str, now: datetime) -> None:
    """Both parties hold ``number`` (the primary key refuses a second hold of either)."""
    await session.execute(
        insert(masking_holds),
        [
            {"virtual_number": number, "participant": a, "counterparty": b, "created_at": now},
            {"virtual_number": number, "participant": b, "counterparty": a, "created_at": now},
        ],
    )


async def drop_pair_holds(session: AsyncSession, number: str, a: str, b: str) -> None:
    """Release the pair's holds on ``number``."""
    h = masking_holds.c
    await session.execute(
        delete(masking_holds).where(
            h.virtual_number == number,
            or_(
                and_(h.participant == a, h.counterparty == b),
                and_(h.participant == b, h.counterparty == a),
            ),
        )
    )


async def move_pair(
    session: AsyncSession, a: str, b: str, old: str, new: str, now: datetime
) -> None:
    """Point the pair's routable direct sessions on ``old`` at ``new`` (holds moved apart)."""
    ids = await pair_sessions_on(session, old, a, b)
    if ids:
        await session.execute(
            update(masking_sessions)
            .where(masking_sessions.c.id.in_(ids))
            .values(virtual_number=new, updated_at=now)
        )


async def pins_on(session: AsyncSession, number: str) -> set[str]:
    """PINs in use on ``number``."""
    rows = await session.execute(
        select(masking_pins.c.pin).where(masking_pins.c.virtual_number == number)
    )
    return {str(r.pin) for r in rows}


async def add_pin(session: AsyncSession, number: str, pin: str, session_id: int) -> None:
    """Reserve ``pin`` on ``number`` for a session."""
    await session.execute(
        insert(masking_pins).values(virtual_number=number, pin=pin, session_id=session_id)
    )


async def drop_pin(session: AsyncSession, session_id: int) -> None:
    """Free the session's PIN."""
    await session.execute(delete(masking_pins).where(masking_pins.c.session_id == session_id))


async def session_by_pin(session: AsyncSession, number: str, pin: str) -> MaskingSession | None:
    """The session whose PIN on ``number`` is ``pin``."""
    row = (
        await session.execute(
            select(masking_sessions)
            .join(masking_pins, masking_pins.c.session_id == masking_sessions.c.id)
            .where(masking_pins.c.virtual_number == number, masking_pins.c.pin == pin)
        )
    ).first()
    return None if row is None else _session(row)
