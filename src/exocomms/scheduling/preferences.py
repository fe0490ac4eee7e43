"""Recipient preferences, stored: NCPR "fully blocked", category blocks, explicit consents.

The timing rules (``scheduling.engine``) already know what a :class:`Recipient` means: the
preferences bind promotional traffic only, and a ``service_explicit`` purpose goes out under its
own rule only with consent to the purpose or to its category. This module stores them per
number (``recipient_preferences``, keyed by E.164) and answers :func:`recipient_for`, which
every sender asks right before it dials or messages (``scheduling.gate``, scheduled calls, the
escalation ladders, ``GET /timing/check?phone=``). A number with nothing stored is
:data:`ANYONE`: no blocks, no consents.

Writes are upserts (one statement, ``ON CONFLICT``), so two writers of the same number never
fail on the primary key; an import is validated whole before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.errors import ValidationError
from exocomms.scheduling.model import ANYONE, Recipient, TimingPolicy
from exocomms.scheduling.purposes import CATEGORIES
from exocomms.storage.tables import recipient_preferences

T = recipient_preferences

#: Where a preference came from: our API, a bulk import, an NCPR (DND registry) scrub, the app,
#: a lead form (consent to be called back).
SOURCES = ("api", "import", "nccpr", "app", "lead")
MAX_IMPORT_ROWS = 10_000
MAX_CONSENTS = 64
MAX_ERRORS_SHOWN = 50
_LOOKUP_CHUNK = 500  # phones per IN (...) look-up: far below every driver's parameter limit


@dataclass(frozen=True)
class PreferencesIn:
    """One number's preferences as submitted (before validation)."""

    phone: str
    dnd_full: bool = False
    blocked_categories: Sequence[str] = ()
    consents: Sequence[str] = ()


def _known_consent(name: str, policy: TimingPolicy) -> bool:
    if name in CATEGORIES:
        return True
    try:
        policy.classify(name)
    except ValidationError:
        return False
    return True


def validate(new: PreferencesIn, policy: TimingPolicy) -> Recipient:
    """Normalise the phone and check categories and consents.

    Consents name a purpose the policy knows (``abandoned_cart``, a class name, a purpose the
    run-time configuration added) or an NCPR category.

    Raises:
        ValidationError: bad phone, unknown category, unknown consent, too many consents.
    """
    phone = phones.normalize(new.phone)
    blocked = frozenset(new.blocked_categories)
    if bad := sorted(blocked - CATEGORIES):
        raise ValidationError(
            f"unknown category {bad[0]!r}", details={"allowed": sorted(CATEGORIES)}
        )
    consents = frozenset(new.consents)
    if len(consents) > MAX_CONSENTS:
        raise ValidationError(f"at most {MAX_CONSENTS} consents per number")
    if unknown := sorted(c for c in consents if not _known_consent(c, policy)):
        raise ValidationError(
            f"unknown consent {unknown[0]!r}: name a purpose or a category",
            details={"categories": sorted(CATEGORIES)},
        )
    return Recipient(
        phone=phone, dnd_full=new.dnd_full, blocked_categories=blocked, consents=consents
    )


def validate_all(rows: Sequence[PreferencesIn], policy: TimingPolicy) -> list[Recipient]:
    """Validate a whole import: every row, or an error naming the bad ones (nothing written).

    Raises:
        ValidationError: too many rows, a bad row (up to :data:`MAX_ERRORS_SHOWN` listed with
            their index), or the same number twice.
    """
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(f"at most {MAX_IMPORT_ROWS} rows per import")
    out: list[Recipient] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        try:
            recipient = validate(row, policy)
        except ValidationError as exc:
            errors.append({"index": index, "message": exc.message})
            continue
        assert recipient.phone is not None  # validate() always sets it
        if recipient.phone in seen:
            message = f"the same number as row {seen[recipient.phone]}"
            errors.append({"index": index, "message": message})
            continue
        seen[recipient.phone] = index
        out.append(recipient)
    if errors:
        raise ValidationError(
            f"{len(errors)} of {len(rows)} rows are invalid; nothing was imported",
            details={"errors": errors[:MAX_ERRORS_SHOWN], "invalid": len(errors)},
        )
    return out


def to_recipient(row: Mapping[str, Any]) -> Recipient:
    """A stored row as the timing rules' :class:`Recipient`."""
    return Recipient(
        phone=row["phone"],
        dnd_full=bool(row["dnd_full"]),
        # A category retired from CATEGORIES must not make every send to the number crash.
        blocked_categories=frozenset(row["blocked_categories"]) & CATEGORIES,
        consents=frozenset(row["consents"]),
    )


async def get(session: AsyncSession, phone: str, *, lock: bool = False) -> dict[str, Any] | None:
    """The stored preferences of the E.164 ``phone``, if any (locked: PostgreSQL only;
    SQLite transactions already hold the database's write lock)."""
    query = select(T).where(T.c.phone == phone)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def recipient_for(session: AsyncSession, phone: str | None) -> Recipient:
    """The preferences the timing rules must apply to ``phone`` (:data:`ANYONE` if none).

    ``phone`` is normally the E.164 number a call or message row holds; other spellings are
    normalised, and a number that cannot be read gets the default recipient.
    """
    if not phone:
        return ANYONE
    number = phones.try_normalize(phone) or phone
    row = await get(session, number)
    return to_recipient(row) if row is not None else ANYONE


def _values(recipient: Recipient, source: str, actor: str, now: datetime) -> dict[str, Any]:
    if source not in SOURCES:
        raise ValidationError(f"unknown source {source!r}", details={"allowed": list(SOURCES)})
    return {
        "phone": recipient.phone,
        "dnd_full": recipient.dnd_full,
        "blocked_categories": sorted(recipient.blocked_categories),
        "consents": sorted(recipient.consents),
        "source": source,
        "updated_at": now,
        "updated_by": actor[:200],
    }


async def _upsert(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(T)
    stmt = stmt.on_conflict_do_update(
        index_elements=[T.c.phone],
        set_={c.name: stmt.excluded[c.name] for c in T.columns if c.name != "phone"},
    )
    await session.execute(stmt, values)


async def upsert(
    session: AsyncSession, recipient: Recipient, *, source: str, actor: str, now: datetime
) -> dict[str, Any]:
    """Store (create or replace) one number's preferences; returns the stored row.

    Raises:
        ValidationError: unknown ``source``.
    """
    values = _values(recipient, source, actor, now)
    await _upsert(session, [values])
    return values


async def upsert_many(
    session: AsyncSession,
    recipients: Sequence[Recipient],
    *,
    source: str,
    actor: str,
    now: datetime,
) -> tuple[int, int]:
    """Store validated preferences in bulk (distinct phones); returns ``(created, updated)``."""
    values = [_values(r, source, actor, now) for r in recipients]
    if not values:
        return 0, 0
    existing = await _existing(session, [v["phone"] for v in values])
    await _upsert(session, values)
    return len(values) - existing, existing


async def _existing(session: AsyncSession, numbers: Iterable[str]) -> int:
    numbers = list(numbers)
    found = 0
    for start in range(0, len(numbers), _LOOKUP_CHUNK):
        chunk = numbers[start : start + _LOOKUP_CHUNK]
        result = await session.execute(select(T.c.phone).where(T.c.phone.in_(chunk)))
        found += len(result.all())
    return found


async def add_consent(
    session: AsyncSession, phone: str, consent: str, *, source: str, actor: str, now: datetime
) -> Recipient:
    """Record one explicit consent for ``phone``, keeping its other preferences.

    For flows where the person's own action is the consent (a lead form asks to be called
    back: ``lead_call``), so a number on DND still gets the call it asked for.
    """
    number = phones.normalize(phone)
    row = await get(session, number, lock=True)
    current = to_recipient(row) if row is not None else Recipient(phone=number)
    if consent in current.consents:
        return current
    updated = Recipient(
        phone=number,
        dnd_full=current.dnd_full,
        blocked_categories=current.blocked_categories,
        consents=current.consents | {consent},
    )
    await upsert(session, updated, source=source, actor=actor, now=now)
    return updated


async def delete(session: AsyncSession, phone: str) -> bool:
    """Forget the preferences of the E.164 ``phone``; whether there were any."""
    result = await session.execute(sql_delete(T).where(T.c.phone == phone).returning(T.c.phone))
    return result.first() is not None
