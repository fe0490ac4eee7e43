"""Routes of the commerce slice: inbound webhooks and their health, recorded events (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from exocomms.commerce import repo, webhooks
from exocomms.commerce.model import EVENTS
from exocomms.web.deps import RuntimeDep, SessionDep, require_admin

router = APIRouter(tags=["commerce"])

_SIGNED = {
    "description": "Signed with X-Jupiter-Timestamp and X-Jupiter-Signature (see docs/api.md)",
}


@router.get("/webhooks/jupiter/health")
async def webhooks_health(runtime: RuntimeDep) -> dict[str, Any]:
    """Is the inbound endpoint configured? Lists the events it accepts (no secret material)."""
    return {
        "status": "ok",
        "events": [spec.name for spec in EVENTS],
        "secretConfigured": bool(runtime.settings.jupiter_webhook_secret.get_secret_value()),
    }


@router.post(
    "/webhooks/jupiter/{event:path}",
    status_code=202,
    responses={
        200: {"description": "A repeat of an event already recorded: nothing was done"},
        401: {"description": "invalid_signature or stale_timestamp"},
        404: {"description": "unknown_event"},
        422: {"description": "invalid payload, with field details"},
    },
    openapi_extra={"x-authentication": _SIGNED},
)
async def receive_webhook(event: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Receive one signed commerce event (``order/new``, ``rider/assigned``…): 202 or 200."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > webhooks.MAX_BODY_BYTES:
        raise webhooks.PayloadTooLarge(f"the body is larger than {webhooks.MAX_BODY_BYTES} bytes")
    body = await request.body()
    result = await webhooks.receive(runtime, event, body, request.headers)
    return JSONResponse(result.to_dict(), status_code=202 if result.status == "accepted" else 200)


@router.get("/commerce/events", dependencies=[Depends(require_admin)])
async def list_events(
    session: SessionDep,
    order_id: Annotated[str | None, Query(alias="orderId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Inbound commerce events recorded, oldest first, optionally for one order (admin)."""
    events = await repo.list_events(session, order_id=order_id, limit=limit)
    return {
        "items": [
            {
                "id": e.id,
                "event": e.event,
                "domainEvent": e.domain_event,
                "orderId": e.order_id,
                "payload": e.payload,
                "signedAt": e.signed_at.isoformat(),
                "receivedAt": e.received_at.isoformat(),
            }
            for e in events
        ]
    }
