"""Outbox routes: list messages, show one with its attempts, redeliver a dead one (admin)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from exocomms.errors import NotFound
from exocomms.outbox import repo, service
from exocomms.web.deps import RuntimeDep, SessionDep, require_admin

router = APIRouter(prefix="/outbox", tags=["outbox"], dependencies=[Depends(require_admin)])


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AttemptOut(_Out):
    """One delivery attempt."""

    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_excerpt: str | None


class MessageOut(_Out):
    """An outgoing webhook (without its body)."""

    id: int
    topic: str
    url: str
    idempotency_key: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, message: repo.Message) -> MessageOut:
        """From a repository row."""
        return cls.model_validate({name: getattr(message, name) for name in cls.model_fields})


class MessageDetailOut(MessageOut):
    """An outgoing webhook with the exact body sent and every attempt."""

    body: str
    payload: Any
    attempt_log: list[AttemptOut]


class MessagePage(_Out):
    """A page of messages, newest first; pass ``nextBefore`` as ``before`` for the next."""

    items: list[MessageOut]
    next_before: int | None


@router.get("/messages", response_model=MessagePage)
async def list_messages(
    session: SessionDep,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    topic: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[int | None, Query(gt=0, description="Only ids below this")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> MessagePage:
    """Outgoing webhooks, newest first, filtered by status and topic."""
    rows = await repo.list_messages(
        session, status=status, topic=topic, before_id=before, limit=limit
    )
    return MessagePage(
        items=[MessageOut.of(row) for row in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/messages/{message_id}", response_model=MessageDetailOut)
async def get_message(message_id: int, session: SessionDep) -> MessageDetailOut:
    """One outgoing webhook with its body and every delivery attempt."""
    message = await repo.get_message(session, message_id)
    if message is None:
        raise NotFound(f"outbox message {message_id} not found")
    attempts = await repo.list_attempts(session, message_id)
    base = MessageOut.of(message).model_dump()
    return MessageDetailOut(
        **base,
        body=message.body,
        payload=json.loads(message.body),
        attempt_log=[
            AttemptOut.model_validate({name: getattr(a, name) for name in AttemptOut.model_fields})
            for a in attempts
        ],
    )


@router.post("/messages/{message_id}/redeliver", status_code=202, response_model=MessageOut)
async def redeliver_message(
    message_id: int, session: SessionDep, runtime: RuntimeDep
) -> MessageOut:
    """Give a dead message a fresh round of attempts (409 unless it is dead)."""
    await service.redeliver(session, runtime.queue, message_id)
    message = await repo.get_message(session, message_id)
    assert message is not None  # redeliver raised NotFound otherwise
    return MessageOut.of(message)
