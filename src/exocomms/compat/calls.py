"""Compat aliases for calls and IVR (PRODUCT.md §12); shapes documented in ``docs/api.md``.

Every alias maps onto the canonical route or use case; nothing here has logic of its own
beyond reshaping the request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from exocomms.calls import api as calls_api
from exocomms.calls import repo
from exocomms.calls.service import retry_policy_for
from exocomms.errors import ExocommsError
from exocomms.ivr import api as ivr_api
from exocomms.ivr import service as ivr_service
from exocomms.logging import get_logger
from exocomms.telephony.exotel import applets
from exocomms.web.deps import RuntimeDep, SessionDep, require_admin

log = get_logger(__name__)

router = APIRouter(tags=["compat"])
protected = APIRouter(tags=["compat"], dependencies=[Depends(require_admin)])


# ---------------------------------------------------------------- Exotel-facing aliases


@router.get("/exoml/vendor-order-start", operation_id="compat_exoml_vendor_order_start_get")
@router.post("/exoml/vendor-order-start", operation_id="compat_exoml_vendor_order_start_post")
async def exoml_vendor_order_start(request: Request, runtime: RuntimeDep) -> Response:
    """Alias of ``/exotel/exoml/vendor_order/start``."""
    return await ivr_api.exoml_start("vendor_order", request, runtime)


@router.get("/exoml/vendor-order-action", operation_id="compat_exoml_vendor_order_action_get")
@router.post("/exoml/vendor-order-action", operation_id="compat_exoml_vendor_order_action_post")
@router.get("/exoml/vendor-order-time", operation_id="compat_exoml_vendor_order_time_get")
@router.post("/exoml/vendor-order-time", operation_id="compat_exoml_vendor_order_time_post")
async def exoml_vendor_order_input(request: Request, runtime: RuntimeDep) -> Response:
    """Alias of ``/exotel/exoml/vendor_order/input`` (the engine knows which question it was)."""
    return await ivr_api.exoml_input("vendor_order", request, runtime)


@router.get("/webhook/exotel/passthru", operation_id="compat_webhook_exotel_passthru")
@router.get("/exotel/ivr/dtmf", operation_id="compat_exotel_ivr_dtmf")
async def passthru(request: Request, runtime: RuntimeDep) -> Response:
    """A Passthru that does not name its IVR: the call's own IVR; start first, then keys."""
    params = dict(request.query_params)
    try:
        async with runtime.db.transaction() as session:
            sid = params.get("CallSid", "")
            row = await ivr_service.find_call(
                session, runtime, call_sid=sid[:64], custom_field=params.get("CustomField")
            )
            ivr = str(((row or {}).get("meta") or {}).get("ivr") or "")
            row = await ivr_api.locate(session, runtime, ivr, params)
            if not (row["meta"] or {}).get("started"):
                key = ivr_service.request_key("start", params)
                answer = await ivr_service.begin(session, runtime, row, key=key, channel="ivr")
            else:
                key = ivr_service.request_key("input", params)
                received = ivr_api.received_input(params.get("digits"))
                answer = await ivr_service.advance(
                    session, runtime, row, received, key=key, channel="ivr"
                )
    except ExocommsError as exc:
        log.warning("applet.refused", endpoint="compat-passthru", error=exc.code)
        return ivr_api.GOODBYE
    return Response(status_code=applets.passthru_decision(answer.proceed))


@router.post("/webhook/exotel/status", operation_id="compat_webhook_exotel_status")
@router.post("/nerve/callback", operation_id="compat_nerve_callback")
async def status(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """Alias of ``POST /exotel/callbacks/status``."""
    return await calls_api.status_callback(request, runtime)


@router.get("/nerve/health", operation_id="compat_nerve_health")
async def nerve_health(session: SessionDep) -> dict[str, str]:
    """Liveness with a database round trip."""
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}


# ---------------------------------------------------------------- platform-facing aliases


class NotifyIn(BaseModel):
    """Place an IVR call. Slot values go in ``context`` or at the top level (merged)."""

    model_config = ConfigDict(extra="allow")

    phone: str = Field(min_length=3, max_length=40)
    order_id: str | int | None = None
    language: str = Field(default="hi", max_length=10)
    name: str | None = Field(default=None, max_length=200)
    vendor_id: str | int | None = None
    rider_id: str | int | None = None
    customer_id: str | int | None = None
    escalation_id: str | None = Field(default=None, max_length=100)
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    context: dict[str, Any] = Field(default_factory=dict)

    def slots(self) -> dict[str, Any]:
        """Context values: ``context`` plus top-level extras plus the order id."""
        merged = {**(self.model_extra or {}), **self.context}
        if self.order_id is not None:
            merged.setdefault("order_id", str(self.order_id))
        return merged


class CallQueued(BaseModel):
    """A call was queued."""

    call_id: str
    status: str = "queued"


_NOTIFY = {
    "vendor_order": ("vendor_order_confirmation", "new_order"),
    "vendor_reminder": ("vendor_order_reminder", "reminder"),
    "rider_assignment": ("rider_assignment", "new_order"),
    "rider_delivery_alert": ("rider_delivery_alert", "default"),
}


async def notify(ivr: str, body: NotifyIn, session: Any, runtime: Any) -> CallQueued:
    """Queue an IVR call of ``ivr`` (purpose and caller number per IVR)."""
    purpose, caller = _NOTIFY[ivr]
    attempts = body.max_attempts or retry_policy_for(runtime.settings, purpose).max_attempts
    call_id = await ivr_service.start_ivr_call(
        session,
        runtime,
        ivr=ivr,
        phone=body.phone,
        context=body.slots(),
        purpose=purpose,
        language=body.language,
        order_id=None if body.order_id is None else str(body.order_id),
        vendor_id=None if body.vendor_id is None else str(body.vendor_id),
        rider_id=None if body.rider_id is None else str(body.rider_id),
        customer_id=None if body.customer_id is None else str(body.customer_id),
        name=body.name,
        escalation_id=body.escalation_id,
        caller=caller,
        max_attempts=attempts,
    )
    return CallQueued(call_id=call_id)


@protected.post(
    "/exotel/ivr/notify/vendor/order",
    status_code=202,
    response_model=CallQueued,
    operation_id="compat_exotel_ivr_notify_vendor_order",
)
@protected.post(
    "/nerve/vendor/confirm",
    status_code=202,
    response_model=CallQueued,
    operation_id="compat_nerve_vendor_confirm",
)
async def notify_vendor_order(body: NotifyIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Vendor order confirmation call."""
    return await notify("vendor_order", body, session, runtime)


@protected.post(
    "/exotel/ivr/notify/vendor/reminder",
    status_code=202,
    response_model=CallQueued,
    operation_id="compat_exotel_ivr_notify_vendor_reminder",
)
async def notify_vendor_reminder(body: NotifyIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Vendor order reminder call."""
    return await notify("vendor_reminder", body, session, runtime)


@protected.post(
    "/exotel/ivr/notify/rider/assign",
    status_code=202,
    response_model=CallQueued,
    operation_id="compat_exotel_ivr_notify_rider_assign",
)
@protected.post(
    "/nerve/rider/assign",
    status_code=202,
    response_model=CallQueued,
    operation_id="compat_nerve_rider_assign",
)
async def notify_rider_assign(body: NotifyIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Rider assignment call."""
    return await notify("rider_assignment", body, session, runtime)


@protected.post(
    "/api/call/rider-delivery",
    status_code=202,
    response_model=CallQueued,
    operation_id="compat_api_call_rider_delivery",
)
async def rider_delivery(body: NotifyIn, session: SessionDep, runtime: RuntimeDep) -> Any:
    """Rider delivery alert (one-way, a key acknowledges)."""
    return await notify("rider_delivery_alert", body, session, runtime)


@protected.get(
    "/nerve/calls/order/{order_id}",
    response_model=calls_api.CallPage,
    operation_id="compat_nerve_calls_order_order_id",
)
async def calls_for_order(order_id: str, session: SessionDep) -> calls_api.CallPage:
    """An order's calls, newest first."""
    rows = await repo.list_calls(session, order_id=order_id[:64], limit=200)
    return calls_api.CallPage(items=[calls_api.CallOut.of(r) for r in rows])


@protected.get("/nerve/calls/stats", operation_id="compat_nerve_calls_stats")
async def call_stats(session: SessionDep) -> dict[str, dict[str, int]]:
    """Calls by status and by outcome."""
    return await repo.call_stats(session)


@protected.post(
    "/nerve/calls/{call_id}/retry",
    status_code=202,
    response_model=calls_api.CallOut,
    operation_id="compat_nerve_calls_call_id_retry",
)
async def retry(call_id: str, session: SessionDep, runtime: RuntimeDep) -> calls_api.CallOut:
    """Alias of ``POST /calls/{call_id}/retry``."""
    return await calls_api.retry_call(call_id, session, runtime)
