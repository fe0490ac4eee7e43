"""``/scheduled-calls``: create, list, get, cancel, stats (``GET /timing/check`` is in api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from exocomms import phones
from exocomms.auth.deps import require_scope
from exocomms.errors import ValidationError
from exocomms.scheduling import repo, service
from exocomms.scheduling.calls import DEFAULT_PRIORITY, Status
from exocomms.web.deps import RuntimeDep, SessionDep

router = APIRouter(prefix="/scheduled-calls", tags=["scheduled calls"])
WRITE = [Depends(require_scope("integration"))]
READ = [Depends(require_scope("read-only"))]


class ScheduledCallIn(BaseModel):
    """``POST /scheduled-calls``."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=3, max_length=40)
    purpose: str = Field(min_length=1, max_length=40)
    preferredTime: str | None = Field(default=None, max_length=64)  # wire name
    context: dict[str, Any] | None = None
    useVerifiedCall: bool = False  # wire name
    retryConfig: dict[str, Any] | None = None  # wire name
    priority: int = DEFAULT_PRIORITY


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored scheduled call as the API shows it."""
    return {
        "id": row["id"],
        "phone": row["phone"],
        "purpose": row["purpose"],
        "context": row["context"],
        "preferredTime": _iso(row["preferred_time"]),
        "scheduledTime": _iso(row["scheduled_time"]),
        "status": row["status"],
        "priority": row["priority"],
        "retryConfig": row["retry"],
        "attempts": row["attempt"],
        "maxAttempts": row["max_attempts"],
        "lastOutcome": row["last_outcome"],
        "reason": row["reason"],
        "callId": row["call_id"],
        "useVerifiedCall": row["use_verified_call"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "canceledAt": _iso(row["canceled_at"]),
        "finishedAt": _iso(row["finished_at"]),
    }


@router.post("", status_code=201, dependencies=WRITE, summary="Schedule a call")
async def create_scheduled_call(
    body: ScheduledCallIn, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Validate, store and schedule; the call waits for the timing rules when it is due."""
    row = await service.create(
        session,
        runtime,
        service.NewScheduledCall(
            phone=body.phone,
            purpose=body.purpose,
            preferred_time=body.preferredTime,
            context=body.context,
            use_verified_call=body.useVerifiedCall,
            retry_config=body.retryConfig,
            priority=body.priority,
        ),
    )
    return to_wire(row)


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{name} must be ISO-8601 with an offset") from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{name} needs a UTC offset")
    return parsed


@router.get("", dependencies=READ, summary="List scheduled calls, newest first")
async def list_scheduled_calls(
    session: SessionDep,
    status: Annotated[Status | None, Query()] = None,
    purpose: Annotated[str | None, Query(max_length=40)] = None,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """Filters on status, purpose, phone and ``scheduledTime`` in ``[from, to)``;
    ``nextCursor`` continues the listing (null at the end)."""
    filters = repo.Filters(
        status=status.value if status else None,
        purpose=purpose,
        phone=phones.normalize(phone) if phone else None,
        since=_time(since, "from"),
        until=_time(until, "to"),
    )
    rows = await repo.page(session, filters, limit=limit + 1, after_id=cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [to_wire(r) for r in rows],
        "nextCursor": rows[-1]["id"] if more and rows else None,
    }


@router.get("/stats/summary", dependencies=READ, summary="Counts, success rate, attempts")
async def scheduled_call_stats(session: SessionDep) -> dict[str, Any]:
    """``{total, byStatus, byPurpose, successRate, averageAttempts}``."""
    return await service.summary(session)


@router.get("/{call_id}", dependencies=READ, summary="One scheduled call")
async def get_scheduled_call(call_id: int, session: SessionDep) -> dict[str, Any]:
    """The call, its next planned time and its last outcome."""
    return to_wire(await service.get(session, call_id))


@router.post("/{call_id}/cancel", dependencies=WRITE, summary="Cancel a scheduled call")
async def cancel_scheduled_call(
    call_id: int, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Cancel it and its pending job together; ``409`` when it already completed or failed."""
    return to_wire(await service.cancel(session, runtime, call_id))


def routers() -> list[APIRouter]:
    """The slice's routers: scheduled calls, then leads (``/leads``, ``/exotel/stats``)."""
    from exocomms.leads import api as leads_api

    return [router, leads_api.router]
