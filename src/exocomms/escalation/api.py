"""Orchestrator API (PRODUCT.md §3, §12): notify, stop, bridge, timeline, escalations, ladders.

Thin routes: validate (phones normalised to E.164; 422 on bad input), call the service in the
request's transaction, shape the answer. Every route needs the admin API key when one is set.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from exocomms import phones
from exocomms.errors import NotFound, ValidationError
from exocomms.escalation import repo, service
from exocomms.escalation.timeline_view import order_timeline
from exocomms.web.deps import RuntimeDep, SessionDep, require_admin

router = APIRouter(tags=["orchestrator"], dependencies=[Depends(require_admin)])

OrderId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _phone(value: str) -> str:
    try:
        return phones.normalize(value)
    except ValidationError:
        raise ValueError("not a valid phone number") from None


Phone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


class _In(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Item(_In):
    """One order line."""

    name: str = Field(min_length=1, max_length=100)
    quantity: float = Field(default=1, gt=0, le=10_000)
    price: float | None = Field(default=None, ge=0)


class NotifyIn(_In):
    """Start a ladder. Extra fields (``storeName``, ``newAddress``, ``delayMinutes``…) become
    the order context the templates and IVRs read (snake_cased)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    order_id: OrderId
    phone: Phone
    name: str | None = Field(default=None, max_length=200)
    language: Literal["hi", "en", "mr"] = "hi"
    party_id: str | None = Field(default=None, max_length=64)
    store_id: str | None = Field(default=None, max_length=64)
    rider_id: str | None = Field(default=None, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)
    city: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    amount: float | None = Field(default=None, ge=0, le=10_000_000)
    items: list[Item] | None = Field(default=None, max_length=200)
    call_requested: bool = False

    @field_validator("order_id", "party_id", "store_id", "rider_id", "customer_id", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def context(self) -> dict[str, Any]:
        """The order context: known fields plus the extras, JSON-ready."""
        out: dict[str, Any] = {}
        if self.amount is not None:
            out["amount"] = self.amount
        if self.items is not None:
            out["items"] = [i.model_dump(exclude_none=True) for i in self.items]
        for key, value in (self.model_extra or {}).items():
            if len(out) >= 50 or len(str(value)) > 2000:
                raise ValidationError(f"context field {key!r} is too large (or too many fields)")
            out[_snake(key)] = value
        return out


class NotifyOut(BaseModel):
    """``{"success": true, "escalationId": "vendor_order_<order id>"}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    success: bool = True
    escalation_id: str


NOTIFY_PATHS = {
    "/comms/notify/vendor/order": ("vendor_new_order", "store_id"),
    "/comms/notify/vendor/reminder": ("vendor_reminder", "store_id"),
    "/comms/notify/rider/assign": ("rider_assignment", "rider_id"),
    "/comms/notify/rider/address-update": ("address_change", "rider_id"),
    "/comms/notify/customer/status": ("customer_status", "customer_id"),
    "/comms/notify/customer/delay": ("customer_delay", "customer_id"),
}


def _notify_route(event_type: str, id_field: str) -> Any:
    async def notify(body: NotifyIn, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
        context = body.context()
        name_key = {"store_id": "store_name", "rider_id": "rider_name"}.get(id_field)
        if name_key and body.name:
            context.setdefault(name_key, body.name)
        esc_id = await service.start_escalation(
            session,
            runtime,
            event_type=event_type,
            order_id=body.order_id,
            phone=body.phone,
            party_id=body.party_id or getattr(body, id_field),
            name=body.name,
            language=body.language,
            context=context,
            city=body.city,
            facts=frozenset({"call_requested"}) if body.call_requested else frozenset(),
            actor="api",
        )
        return NotifyOut(escalation_id=esc_id).model_dump(by_alias=True)

    notify.__name__ = f"notify_{event_type}"
    return notify


for _path, (_event, _id_field) in NOTIFY_PATHS.items():
    router.add_api_route(
        _path,
        _notify_route(_event, _id_field),
        methods=["POST"],
        summary=f"Start the {_event} ladder",
    )


class StopIn(_In):
    """``POST /comms/stop``: acknowledge (default) or stop an escalation."""

    escalation_id: str = Field(min_length=1, max_length=100)
    action: Literal["acknowledge", "stop"] = "acknowledge"
    actor: str = Field(default="api", min_length=1, max_length=200)
    channel: str = Field(default="api", min_length=1, max_length=32)


@router.post("/comms/stop", summary="Acknowledge or stop an escalation")
async def stop_escalation(body: StopIn, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """Ends the escalation at once: its pending step is canceled in this transaction."""
    if await repo.get(session, body.escalation_id) is None:
        raise NotFound(f"unknown escalation {body.escalation_id!r}")
    if body.action == "acknowledge":
        changed = await service.acknowledge(
            session, runtime, escalation_id=body.escalation_id, by=body.actor, channel=body.channel
        )
    else:
        changed = await service.stop(
            session, runtime, escalation_id=body.escalation_id, reason="stopped via API",
            actor=body.actor,
        )  # fmt: skip
    row = await repo.get(session, body.escalation_id)
    assert row is not None
    return {
        "success": True,
        "escalationId": body.escalation_id,
        "status": row["status"],
        "changed": changed,
    }


class BridgeIn(_In):
    """``POST /comms/bridge``: connect two people (first leg rings first)."""

    party_a_phone: Phone
    party_b_phone: Phone
    order_id: OrderId | None = None
    time_limit: int = Field(default=600, ge=30, le=14_400)
    caller: Literal["new_order", "reminder", "address_update", "default"] = "default"


@router.post("/comms/bridge", summary="Bridge two phones")
async def bridge(body: BridgeIn, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """Queues a bridge call (the call is placed by a job after commit)."""
    if body.party_a_phone == body.party_b_phone:
        raise ValidationError("cannot bridge a phone with itself")
    call_id = await service.channels_of(runtime).bridge(
        session,
        runtime,
        first=body.party_a_phone,
        second=body.party_b_phone,
        purpose="masked_call",
        caller=body.caller,
        order_id=body.order_id,
        escalation_id=None,
        time_limit_seconds=body.time_limit,
    )
    return {"success": True, "callId": call_id}


@router.get("/comms/timeline/{order_id}", summary="Everything about an order, in order")
async def timeline(order_id: str, session: SessionDep) -> dict[str, Any]:
    """Steps, messages, calls, keys and statuses with times and actors."""
    entries = await order_timeline(session, order_id)
    rows = await repo.listing(session, order_id=order_id)
    return {
        "orderId": order_id,
        "escalations": [service.view(r) for r in reversed(rows)],
        "entries": entries,
    }


@router.get("/escalations", summary="List escalations")
async def list_escalations(
    session: SessionDep,
    status: Annotated[
        Literal["active", "acknowledged", "stopped", "exhausted"] | None, Query()
    ] = None,
    order_id: Annotated[str | None, Query(alias="orderId", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Newest first, filtered by status and/or order."""
    rows = await repo.listing(session, status=status, order_id=order_id, limit=limit)
    return {"items": [service.view(r) for r in rows], "count": len(rows)}


def _ladder_out(ladder: Any, row: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "eventType": ladder.event_type,
        "version": ladder.version,
        "city": ladder.city,
        "source": "stored" if row else "default",
        "updatedAt": row["updated_at"].isoformat() if row else None,
        "updatedBy": row["updated_by"] if row else None,
        "steps": [s.to_dict() for s in ladder.steps],
    }


@router.get("/escalations/ladders/{event_type}", summary="The ladder in force for an event")
async def get_ladder(
    event_type: str,
    session: SessionDep,
    city: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The newest stored version (the city's own first), or the built-in default."""
    ladder = await service.load_ladder(session, event_type, city)
    row = await repo.ladder_row(session, event_type, ladder.city)
    stored = row is not None and row["version"] == ladder.version
    return _ladder_out(ladder, row if stored else None)


@router.put("/escalations/ladders/{event_type}", summary="Store a new ladder version")
async def put_ladder(
    event_type: str,
    runtime: RuntimeDep,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Validated with the pure model; running escalations keep the ladder they froze."""
    ladder = await service.save_ladder(session, runtime, event_type, body, updated_by="api")
    row = await repo.ladder_row(session, event_type, ladder.city)
    return _ladder_out(ladder, row)


@router.get("/escalations/{escalation_id}", summary="One escalation")
async def get_escalation(escalation_id: str, session: SessionDep) -> dict[str, Any]:
    """The escalation with its planned steps and what became of them."""
    row = await repo.get(session, escalation_id)
    if row is None:
        raise NotFound(f"unknown escalation {escalation_id!r}")
    return service.view(row)
