"""``POST /leads``, ``GET /leads/{id}`` and ``GET /exotel/stats``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from exocomms.auth.deps import require_scope
from exocomms.leads import service
from exocomms.web.deps import RuntimeDep, SessionDep

router = APIRouter(tags=["leads"])


class LeadIn(BaseModel):
    """``POST /leads`` (a web form, an ad platform…)."""

    model_config = ConfigDict(extra="ignore")  # forms send extra fields; only these are kept

    source: str = Field(default="api", min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=40)
    email: str | None = Field(default=None, max_length=254)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """A stored lead as the API shows it."""
    return {
        "id": row["id"],
        "source": row["source"],
        "name": row["name"],
        "phone": row["phone"],
        "email": row["email"],
        "status": row["status"],
        "crmStatus": row["crm_status"],
        "crmId": row["crm_id"],
        "attempts": row["attempt"],
        "maxAttempts": row["max_attempts"],
        "lastOutcome": row["last_outcome"],
        "callId": row["call_id"],
        "nextCallAt": _iso(row["next_call_at"]),
        "createdAt": _iso(row["created_at"]),
    }


@router.post(
    "/leads",
    status_code=201,
    dependencies=[Depends(require_scope("integration"))],
    summary="Store a lead, push it to the CRM, call it after the delay",
)
async def create_lead(
    body: LeadIn, response: Response, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """``201`` with the lead; ``200`` with the existing lead when it is a duplicate."""
    row, created = await service.create_lead(
        session, runtime, source=body.source, name=body.name, phone=body.phone, email=body.email
    )
    if not created:
        response.status_code = 200
    return {**to_wire(row), "duplicate": not created}


@router.get(
    "/leads/{lead_id}", dependencies=[Depends(require_scope("read-only"))], summary="One lead"
)
async def get_lead(lead_id: int, session: SessionDep) -> dict[str, Any]:
    """The lead, its CRM id and its call's progress."""
    return to_wire(await service.get(session, lead_id))


@router.get(
    "/exotel/stats",
    dependencies=[Depends(require_scope("read-only"))],
    summary="Lead calls: pending, total, by status",
)
async def lead_stats(session: SessionDep) -> dict[str, Any]:
    """``{pending, total, byStatus}`` over every lead; pending = new + waiting + calling."""
    return await service.stats(session)
