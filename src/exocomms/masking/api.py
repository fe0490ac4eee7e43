"""Masking routes: sessions (create, end, status, ``/number-masking``) and the number pool."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from exocomms.errors import NotFound, ValidationError
from exocomms.masking import repo, service
from exocomms.masking.model import MaskingSession, SessionKind
from exocomms.phones import normalize
from exocomms.web.deps import RuntimeDep, SessionDep, require_admin

router = APIRouter(tags=["masking"], dependencies=[Depends(require_admin)])


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CreateIn(_Model):
    """``POST /masking/create``."""

    order_id: str = Field(min_length=1, max_length=64)
    party_a: str = Field(min_length=3, max_length=40)
    party_b: str = Field(min_length=3, max_length=40)
    kind: SessionKind = SessionKind.CUSTOMER_RIDER
    expires_in_hours: float | None = Field(default=None, gt=0, le=168)
    context: str | None = Field(default=None, max_length=500)


class EndIn(_Model):
    """``POST /masking/end``: an order (all its sessions) or one session."""

    order_id: str | None = Field(default=None, min_length=1, max_length=64)
    session_id: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_of(self) -> EndIn:
        if (self.order_id is None) == (self.session_id is None):
            raise ValueError("give exactly one of orderId and sessionId")
        return self


class NumberMaskingIn(_Model):
    """``POST /number-masking``: a mapping between two phones for 1–168 hours."""

    party_a: str = Field(min_length=3, max_length=40)
    party_b: str = Field(min_length=3, max_length=40)
    expires_in_hours: int = Field(ge=1, le=168)
    call_type: str | None = Field(default=None, max_length=40)
    context: dict[str, Any] | str | None = None


class SessionOut(_Model):
    """A masking session as the API shows it (the parties' phones included: admin only)."""

    session_id: int
    order_id: str
    kind: SessionKind
    mode: str
    status: str
    party_a: str
    party_b: str
    virtual_number: str | None
    pin: str | None
    expires_at: datetime
    ended_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, s: MaskingSession) -> SessionOut:
        """From the domain object."""
        return cls(
            session_id=s.id,
            order_id=s.order_id,
            kind=s.kind,
            mode=s.mode.value,
            status=s.status.value,
            party_a=s.party_a,
            party_b=s.party_b,
            virtual_number=s.virtual_number,
            pin=s.pin,
            expires_at=s.expires_at,
            ended_at=s.ended_at,
            created_at=s.created_at,
        )


class SessionsOut(_Model):
    """Sessions of an order (or those just ended)."""

    order_id: str | None = None
    sessions: list[SessionOut]


class NumberMaskingOut(_Model):
    """The mapping: call ``virtualNumber`` (and enter ``pin`` when it is set)."""

    virtual_number: str | None
    expires_at: datetime
    mapping_id: str
    pin: str | None = None


class NumbersIn(_Model):
    """Numbers to add to the pool (E.164 or any form :func:`~exocomms.phones.normalize` reads)."""

    numbers: list[str] = Field(min_length=1, max_length=1000)


class NumberOut(_Model):
    """A pool number."""

    number: str
    active: bool
    source: str
    added_at: datetime


@router.post("/masking/create", status_code=201, response_model=SessionOut)
async def create(body: CreateIn, runtime: RuntimeDep) -> SessionOut:
    """Create the session of an order's pair (idempotent while it is live)."""
    request = service.new_session(
        runtime,
        order_id=body.order_id,
        party_a=body.party_a,
        party_b=body.party_b,
        kind=body.kind,
        expires_in_hours=body.expires_in_hours,
        context=body.context,
    )
    return SessionOut.of(await service.create_session(runtime, request))


@router.post("/masking/end", response_model=SessionsOut)
async def end(body: EndIn, session: SessionDep, runtime: RuntimeDep) -> SessionsOut:
    """End an order's live sessions (or one); calls still connect for the grace period."""
    ended = await service.end_in(
        session, runtime, order_id=body.order_id, session_id=body.session_id
    )
    return SessionsOut(order_id=body.order_id, sessions=[SessionOut.of(s) for s in ended])


@router.get("/masking/status/{order_id}", response_model=SessionsOut)
async def status(
    order_id: Annotated[str, Path(min_length=1, max_length=64)], runtime: RuntimeDep
) -> SessionsOut:
    """Every session of the order, oldest first (showing them fixes their numbers)."""
    sessions = await service.status(runtime, order_id)
    return SessionsOut(order_id=order_id, sessions=[SessionOut.of(s) for s in sessions])


@router.post("/number-masking", status_code=201, response_model=NumberMaskingOut)
async def number_masking(body: NumberMaskingIn, runtime: RuntimeDep) -> NumberMaskingOut:
    """A masked mapping between two phones; ``context.orderId`` ties it to an order."""
    a, b = normalize(body.party_a), normalize(body.party_b)
    context = body.context if isinstance(body.context, dict) else {}
    order_id = str(context.get("orderId") or context.get("order_id") or "")
    if not order_id:  # no order: one mapping per pair, so repeating the request is idempotent
        order_id = "pair-" + hashlib.sha256("|".join(sorted((a, b))).encode()).hexdigest()[:20]
    kinds = {k.value: k for k in SessionKind}
    request = service.new_session(
        runtime,
        order_id=order_id[:64],
        party_a=a,
        party_b=b,
        kind=kinds.get(body.call_type or "", SessionKind.CUSTOMER_RIDER),
        expires_in_hours=body.expires_in_hours,
        context=None if body.context is None else json.dumps(body.context)[:2000],
    )
    created = await service.create_session(runtime, request)
    return NumberMaskingOut(
        virtual_number=created.virtual_number,
        expires_at=created.expires_at,
        mapping_id=str(created.id),
        pin=created.pin,
    )


@router.get("/masking/numbers", response_model=list[NumberOut])
async def list_numbers(session: SessionDep) -> list[NumberOut]:
    """The pool, active numbers first in allocation order."""
    return [
        NumberOut(number=n.number, active=n.active, source=n.source, added_at=n.added_at)
        for n in await repo.list_numbers(session)
    ]


@router.post("/masking/numbers", status_code=201, response_model=list[NumberOut])
async def add_numbers(body: NumbersIn, session: SessionDep, runtime: RuntimeDep) -> list[NumberOut]:
    """Add numbers (or reactivate removed ones); returns the whole pool."""
    numbers = [normalize(n) for n in body.numbers]
    await repo.add_numbers(session, numbers, runtime.clock.now(), source="api", reactivate=True)
    return await list_numbers(session)


@router.delete("/masking/numbers/{number}", status_code=204)
async def remove_number(number: str, session: SessionDep, runtime: RuntimeDep) -> None:
    """Stop allocating a number; sessions using it keep it until they expire."""
    try:
        e164 = normalize(number)
    except ValidationError as exc:
        raise NotFound(f"{number[:40]!r} is not in the pool") from exc
    if not await repo.deactivate_number(session, e164, runtime.clock.now()):
        raise NotFound(f"{e164} is not an active pool number")
