"""``/preferences``: read, set, forget and bulk-import recipient preferences.

Reads need any key (scope ``read-only``); writes need ``admin``. Phones are accepted in any
Indian spelling and stored as E.164.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from exocomms import phones
from exocomms.auth.deps import require_scope
from exocomms.auth.model import Principal
from exocomms.scheduling import preferences
from exocomms.scheduling.gate import timing_policy
from exocomms.scheduling.model import Recipient
from exocomms.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/preferences", tags=["recipient preferences"])
READ = [Depends(require_scope("read-only"))]
ADMIN = [Depends(require_scope("admin"))]
AdminDep = Annotated[Principal, Depends(require_scope("admin"))]
Source = Literal["api", "import", "nccpr", "app", "lead"]

_Names = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=64)]


class PreferencesBody(BaseModel):
    """``PUT /preferences/{phone}``: the whole set (missing fields take their defaults)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    dndFull: bool = False  # wire name
    blockedCategories: _Names = []  # wire name
    consents: _Names = []
    source: Source = "api"


class PreferencesRow(PreferencesBody):
    """One row of ``POST /preferences/import``."""

    phone: str = Field(min_length=3, max_length=40)
    source: Source = "import"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def to_wire(phone: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """Stored preferences (or the defaults, ``stored: false``) as the API shows them."""
    recipient = preferences.to_recipient(row) if row is not None else Recipient(phone=phone)
    return {
        "phone": phone,
        "dndFull": recipient.dnd_full,
        "blockedCategories": sorted(recipient.blocked_categories),
        "consents": sorted(recipient.consents),
        "source": row["source"] if row else None,
        "updatedAt": _iso(row["updated_at"]) if row else None,
        "updatedBy": row["updated_by"] if row else None,
        "stored": row is not None,
    }


@router.post("/import", summary="Import preferences in bulk (all or nothing)")
async def import_preferences(
    principal: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
    rows: Annotated[list[PreferencesRow], Body(max_length=preferences.MAX_IMPORT_ROWS)],
    source: Annotated[Source | None, Query()] = None,
) -> dict[str, Any]:
    """Up to 10 000 rows ``{phone, dndFull, blockedCategories, consents}``; each replaces the
    number's stored preferences. One bad row (or a number listed twice) rejects the whole
    import with 422 listing the bad rows by index. ``?source=`` overrides every row's source.
    """
    policy = await timing_policy(runtime, session)
    checked = preferences.validate_all(
        [
            preferences.PreferencesIn(r.phone, r.dndFull, r.blockedCategories, r.consents)
            for r in rows
        ],
        policy,
    )
    now = runtime.clock.now()
    by_source: dict[str, list[Recipient]] = {}
    for row, recipient in zip(rows, checked, strict=True):
        by_source.setdefault(source or row.source, []).append(recipient)
    created = updated = 0
    for name, group in sorted(by_source.items()):
        c, u = await preferences.upsert_many(
            session, group, source=name, actor=principal.actor, now=now
        )
        created, updated = created + c, updated + u
    return {"imported": len(checked), "created": created, "updated": updated}


@router.get("/{phone}", dependencies=READ, summary="A number's preferences")
async def get_preferences(phone: str, session: SessionDep) -> dict[str, Any]:
    """The stored preferences, or the defaults (no blocks, no consents) with ``stored: false``."""
    number = phones.normalize(phone)
    return to_wire(number, await preferences.get(session, number))


@router.put("/{phone}", summary="Set a number's preferences")
async def put_preferences(
    principal: AdminDep,
    phone: str,
    body: PreferencesBody,
    session: SessionDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Replace the number's preferences; they apply to the next call or message."""
    policy = await timing_policy(runtime, session)
    recipient = preferences.validate(
        preferences.PreferencesIn(phone, body.dndFull, body.blockedCategories, body.consents),
        policy,
    )
    assert recipient.phone is not None  # validate() always sets it
    row = await preferences.upsert(
        session, recipient, source=body.source, actor=principal.actor, now=runtime.clock.now()
    )
    return to_wire(recipient.phone, row)


@router.delete("/{phone}", dependencies=ADMIN, summary="Forget a number's preferences")
async def delete_preferences(phone: str, session: SessionDep) -> dict[str, Any]:
    """Back to the defaults; ``deleted`` says whether anything was stored."""
    number = phones.normalize(phone)
    return {"phone": number, "deleted": await preferences.delete(session, number)}
