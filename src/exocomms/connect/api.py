"""Connect API: click-to-call (by phones, or by order and party), bridges, and the Exotel-
facing missed-call and incoming-call entry points.

Partner routes need an API key with the ``integration`` scope (``admin`` works too); the
Exotel-facing ones the ``t`` webhook token (``/exotel/ivr/missed-call`` also takes a key, for
partners reporting missed calls themselves).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl
from pydantic.alias_generators import to_camel

from exocomms import phones
from exocomms.auth.deps import require_scope
from exocomms.calls import repo as calls_repo
from exocomms.commerce.client import CommerceClient
from exocomms.connect import applets, clicktocall, inbound, repo, service
from exocomms.connect.clicktocall import ClickToCall
from exocomms.connect.model import PURPOSE_ADMIN_BRIDGE, PURPOSE_MASKED
from exocomms.errors import NotFound, ProviderUnavailable, ValidationError
from exocomms.ivr.api import exoml_params, token_ok
from exocomms.masking import repo as masking_repo
from exocomms.masking.model import ROUTABLE
from exocomms.runtime import Runtime
from exocomms.telephony.service import queue_bridge
from exocomms.web.deps import RuntimeDep

INTEGRATION = [Depends(require_scope("integration"))]
partner = APIRouter(tags=["connect"], dependencies=INTEGRATION)
exotel = APIRouter(prefix="/exotel/ivr", tags=["connect"])

OrderId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]


def _phone(value: str) -> str:
    try:
        return phones.normalize(value)
    except ValidationError:
        raise ValueError("not a valid phone number") from None


Phone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]


class _In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ClickToCallIn(_In):
    """``POST /click-to-call``: ``agentPhone`` is called first, then ``customerPhone``."""

    agent_phone: Phone
    customer_phone: Phone
    caller_id: str | None = Field(default=None, max_length=40)
    time_limit: int = Field(default=600, ge=1, le=14_400)
    record_call: bool = False
    custom_field: str | None = Field(default=None, max_length=128)
    status_callback: HttpUrl | None = None
    order_id: OrderId | None = None


class CallOut(BaseModel):
    """A placed call: Exotel's sid and status, and our id."""

    call_sid: str = Field(serialization_alias="callSid")
    status: str
    call_id: str = Field(serialization_alias="callId")


class PartyCallIn(_In):
    """``POST /click-to-call/vendor|rider|support``: parties by order, phones looked up."""

    order_id: OrderId
    from_: Literal["customer", "rider", "vendor"] = Field(default="customer", alias="from")
    time_limit: int = Field(default=600, ge=1, le=14_400)
    record_call: bool = True


class MaskedBridgeIn(_In):
    """``POST /exotel/ivr/bridge/masked``."""

    party_a_phone: Phone
    party_b_phone: Phone
    context: str | None = Field(default=None, max_length=200)
    order_id: OrderId | None = None
    time_limit: int = Field(default=600, ge=10, le=14_400)


class AdminBridgeIn(_In):
    """``POST /exotel/ivr/bridge/admin``: the admin on duty is called first."""

    party_phone: Phone
    context: str | None = Field(default=None, max_length=200)
    order_id: OrderId | None = None
    time_limit: int = Field(default=600, ge=10, le=14_400)


def _out(placed: clicktocall.Placed) -> dict[str, Any]:
    return CallOut(
        call_sid=placed.call_sid, status=placed.status, call_id=placed.call_id
    ).model_dump(by_alias=True)


@partner.post("/click-to-call")
async def click_to_call(body: ClickToCallIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Call the agent, then connect the customer; answers Exotel's ``callSid`` and status."""
    placed = await clicktocall.place(
        runtime,
        ClickToCall(
            first=body.agent_phone,
            second=body.customer_phone,
            caller_id=clicktocall.caller_number(body.caller_id, runtime),
            time_limit=body.time_limit,
            record=body.record_call,
            custom_field=body.custom_field,
            status_callback=None if body.status_callback is None else str(body.status_callback),
            order_id=body.order_id,
        ),
    )
    return _out(placed)


def _commerce(runtime: Runtime) -> CommerceClient:
    if runtime.commerce is None:
        raise ProviderUnavailable("no commerce backend is configured to look the parties up")
    return runtime.commerce


async def _party(runtime: Runtime, order_id: str, party: str) -> str:
    commerce = _commerce(runtime)
    order = await commerce.get_order(order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found on the commerce backend")
    found: Any = None
    if party == "customer" and order.customer_id:
        found = await commerce.get_customer(order.customer_id)
    elif party == "rider" and order.rider_id:
        found = await commerce.get_rider(order.rider_id)
    elif party == "vendor":
        found = await commerce.get_store(order.store_id)
    if found is None:
        raise NotFound(f"order {order_id} has no {party} with a phone")
    return str(found.phone)


async def _masked_number(runtime: Runtime, order_id: str, a: str, b: str) -> str | None:
    """The virtual number of a routable masking session of the order joining ``a`` and ``b``."""
    now = runtime.clock.now()
    routable = {s.value for s in ROUTABLE}
    async with runtime.db.transaction() as session:
        for s in await repo.order_sessions(session, order_id):
            pair = {s["party_a"], s["party_b"]} == {a, b}
            if pair and s["status"] in routable and s["expires_at"] > now and s["virtual_number"]:
                # Both parties will see this number (and may call it back): it must not move.
                await masking_repo.reveal(session, [s["id"]], now)
                return str(s["virtual_number"])
    return None


async def _party_call(
    runtime: Runtime, body: PartyCallIn, to: str, *, support: bool
) -> dict[str, Any]:
    first = await _party(runtime, body.order_id, body.from_)
    second = to
    if first == second:
        raise ValidationError("both parties have the same phone")
    vn = await _masked_number(runtime, body.order_id, first, second)
    placed = await clicktocall.place(
        runtime,
        ClickToCall(
            first=first,
            second=second,
            caller_id=vn or clicktocall.default_caller_id(runtime),
            time_limit=body.time_limit,
            record=body.record_call,
            purpose="support_call" if support else PURPOSE_MASKED,
            order_id=body.order_id,
            meta={"masked": vn is not None},
        ),
    )
    return {**_out(placed), "maskedNumber": vn}


@partner.post("/click-to-call/vendor")
async def call_vendor(body: PartyCallIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Connect the order's customer (or rider) with its store, masked."""
    if body.from_ == "vendor":
        raise ValidationError("from must be customer or rider")
    store = await _party(runtime, body.order_id, "vendor")
    return await _party_call(runtime, body, store, support=False)


@partner.post("/click-to-call/rider")
async def call_rider(body: PartyCallIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Connect the order's customer (or store) with its rider, masked."""
    if body.from_ == "rider":
        raise ValidationError("from must be customer or vendor")
    rider = await _party(runtime, body.order_id, "rider")
    return await _party_call(runtime, body, rider, support=False)


@partner.post("/click-to-call/support")
async def call_support(body: PartyCallIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Connect a party of the order with the support desk."""
    desk = inbound.support_phone(runtime)
    if desk is None:
        raise NotFound("no support phone (EXOCOMMS_SUPPORT_PHONE / ADMIN_ON_DUTY_PHONE)")
    return await _party_call(runtime, body, desk, support=True)


@partner.post("/exotel/ivr/bridge/masked", status_code=202)
async def bridge_masked(body: MaskedBridgeIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Queue a bridge A→B; both see the order's virtual number when a session joins them."""
    vn = None
    if body.order_id:
        vn = await _masked_number(runtime, body.order_id, body.party_a_phone, body.party_b_phone)
    async with runtime.db.transaction() as session:
        call_id = await queue_bridge(
            session,
            runtime,
            first=body.party_a_phone,
            second=body.party_b_phone,
            purpose=PURPOSE_MASKED,
            time_limit_seconds=body.time_limit,
            record=runtime.settings.masked_call_record,
            order_id=body.order_id,
        )
        if vn is not None:  # the place job dials with the row's caller id
            await calls_repo.update_call(session, call_id, {"caller_id": vn})
    return {"success": True, "callId": call_id, "maskedNumber": vn}


@partner.post("/exotel/ivr/bridge/admin", status_code=202)
async def bridge_admin(body: AdminBridgeIn, runtime: RuntimeDep) -> dict[str, Any]:
    """Queue a bridge: the admin on duty first, then the party."""
    admin = phones.try_normalize(runtime.settings.admin_on_duty_phone)
    if admin is None:
        raise NotFound("no admin on duty (EXOCOMMS_ADMIN_ON_DUTY_PHONE is not set)")
    async with runtime.db.transaction() as session:
        call_id = await queue_bridge(
            session,
            runtime,
            first=admin,
            second=body.party_phone,
            purpose=PURPOSE_ADMIN_BRIDGE,
            time_limit_seconds=body.time_limit,
            order_id=body.order_id,
        )
    return {"success": True, "callId": call_id}


# ---------------------------------------------------------------- Exotel-facing entry points


async def _params(request: Request) -> dict[str, str]:
    params = await exoml_params(request)  # query, plus form fields of a POST
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/json"
    ):
        try:
            data = await request.json()
        except ValueError:
            raise ValidationError("body is not JSON") from None
        if isinstance(data, dict):
            params.update({str(k): str(v) for k, v in data.items() if isinstance(v, str | int)})
    return params


@exotel.get("/missed-call", operation_id="connect_missed_call_get")
@exotel.post("/missed-call", operation_id="connect_missed_call_post")
async def missed_call(request: Request, runtime: RuntimeDep) -> Response:
    """A missed call (Exotel's Passthru fields, or ``{phone}``): one callback per window.

    GET (a Passthru) answers ``302`` so the flow hangs up; POST answers ``202`` JSON.
    """
    params = await _params(request)
    if not token_ok(runtime.settings, params.get("t")):
        await require_scope("integration")(request)
    caller = params.get("CallFrom") or params.get("From") or params.get("phone") or ""
    sid = (params.get("CallSid") or "").strip()[:64] or None
    async with runtime.db.transaction() as session:
        missed = await service.register_missed(
            session,
            runtime,
            caller=caller,
            called=params.get("CallTo") or params.get("To"),
            call_sid=sid,
        )
    if request.method == "GET":
        return Response(status_code=302)
    return JSONResponse(
        {
            "missedCallId": missed.id,
            "deduplicated": missed.deduplicated,
            "callbackAt": None if missed.callback_at is None else missed.callback_at.isoformat(),
        },
        status_code=202,
    )


@exotel.get("/incoming", operation_id="connect_incoming_get")
@exotel.post("/incoming", operation_id="connect_incoming_post")
async def incoming(request: Request, runtime: RuntimeDep) -> Response:
    """An incoming call (Passthru fields): identify the caller, start their IVR (200 → menu,
    302 → one-way message), as ``/exotel/applets/inbound/answer`` does."""
    return await applets.answer(runtime, await exoml_params(request))


def routers() -> list[APIRouter]:
    """The slice's routers: applets, Exotel entry points, partner routes."""
    return [applets.router, exotel, partner]
