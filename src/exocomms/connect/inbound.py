"""Inbound IVR: who is calling (vendor, rider, customer, unknown), which IVR they hear, and
whom to connect them to when they ask.

Look-ups on the commerce backend happen outside any database transaction (a slow backend
must not hold SQLite's write lock); what the service recorded itself (open vendor ladders,
rider assignments, order timelines, masking sessions) is read in short transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exocomms import phones
from exocomms.commerce.model import Order
from exocomms.connect import repo
from exocomms.connect.model import (
    FINISHED_STATUSES,
    STATUS_BY_BACKEND,
    Role,
    Target,
)
from exocomms.errors import ExocommsError
from exocomms.logging import get_logger
from exocomms.masking import repo as masking_repo
from exocomms.masking.model import ROUTABLE
from exocomms.runtime import Runtime

log = get_logger(__name__)


@dataclass(frozen=True)
class Caller:
    """An inbound caller as the commerce backend knows them."""

    role: Role
    phone: str
    id: str | None = None
    name: str = ""
    language: str = "hi"
    unavailable: bool = False  # the backend could not be asked: we cannot tell who it is


@dataclass(frozen=True)
class Plan:
    """The IVR an inbound caller hears, with its context and the order it is about."""

    ivr: str
    context: dict[str, Any]
    language: str
    party: str | None
    order_id: str | None = None
    escalation_id: str | None = None
    ids: dict[str, str] = field(default_factory=dict)


async def identify(runtime: Runtime, phone: str) -> Caller:
    """Store, rider or customer with ``phone`` (in that order), else unknown."""
    commerce = runtime.commerce
    if commerce is None:
        return Caller(Role.UNKNOWN, phone, unavailable=True)
    try:
        store = await commerce.get_store_by_phone(phone)
        if store is not None:
            return Caller(Role.VENDOR, phone, store.id, store.name, store.language)
        rider = await commerce.get_rider_by_phone(phone)
        if rider is not None:
            return Caller(Role.RIDER, phone, rider.id, rider.name, rider.language)
        customer = await commerce.get_customer_by_phone(phone)
        if customer is not None:
            return Caller(Role.CUSTOMER, phone, customer.id, customer.name, customer.language)
    except ExocommsError as exc:
        log.warning("connect.identify_failed", error=exc.code)
        return Caller(Role.UNKNOWN, phone, unavailable=True)
    return Caller(Role.UNKNOWN, phone)


def _message(message: str, caller: Caller) -> Plan:
    party = None if caller.role is Role.UNKNOWN else caller.role.value
    return Plan("inbound_message", {"message": message}, caller.language, party)


async def _order(runtime: Runtime, order_id: str) -> Order | None:
    if runtime.commerce is None:
        return None
    try:
        return await runtime.commerce.get_order(order_id)
    except ExocommsError as exc:
        log.warning("connect.order_lookup_failed", error=exc.code)
        return None


async def plan_for(runtime: Runtime, caller: Caller) -> Plan:
    """Which IVR ``caller`` hears, from what we know about their orders."""
    if caller.unavailable:
        return _message("unavailable", caller)
    if caller.role is Role.VENDOR:
        return await _vendor_plan(runtime, caller)
    if caller.role is Role.RIDER:
        return await _rider_plan(runtime, caller)
    if caller.role is Role.CUSTOMER:
        return await _customer_plan(runtime, caller)
    return _message("unknown", caller)


async def _vendor_plan(runtime: Runtime, caller: Caller) -> Plan:
    async with runtime.db.transaction() as session:
        pending = await repo.open_vendor_orders(session, caller.id, caller.phone)
    if not pending:
        return _message("vendor_none", caller)
    oldest = pending[0]
    order_id = str(oldest["order_id"])
    saved = oldest["context"] if isinstance(oldest["context"], dict) else {}
    context: dict[str, Any] = {
        "store_name": caller.name or saved.get("store_name") or oldest["party_name"] or "",
        "pending_count": len(pending),
        "order_id": order_id,
        "amount": saved.get("amount"),
        "items": saved.get("items"),
    }
    if context["amount"] is None or not context["items"]:
        order = await _order(runtime, order_id)
        if order is not None:
            context["amount"] = context["amount"] if context["amount"] is not None else order.amount
            context["items"] = context["items"] or [
                {"name": i.name, "quantity": i.quantity} for i in order.items
            ]
    context["amount"] = context["amount"] or 0
    context["items"] = context["items"] or []
    return Plan(
        "inbound_vendor",
        context,
        oldest["language"] or caller.language,
        Role.VENDOR.value,
        order_id=order_id,
        escalation_id=oldest["id"],
        ids={"vendor_id": caller.id} if caller.id else {},
    )


async def _status(runtime: Runtime, order_id: str) -> str:
    order = await _order(runtime, order_id)
    remote = STATUS_BY_BACKEND.get(order.status) if order is not None else None
    if remote is not None:
        return remote
    async with runtime.db.transaction() as session:
        return await repo.local_status(session, order_id) or "placed"


async def _rider_plan(runtime: Runtime, caller: Caller) -> Plan:
    async with runtime.db.transaction() as session:
        assignments = await repo.rider_assignments(session, caller.id, caller.phone)
    for row in assignments:
        order_id = str(row["order_id"])
        if await _status(runtime, order_id) in FINISHED_STATUSES:
            continue
        saved = row["context"] if isinstance(row["context"], dict) else {}
        pickup = saved.get("pickup_name")
        if not pickup:
            order = await _order(runtime, order_id)
            store = await _store_name(runtime, order.store_id) if order is not None else None
            pickup = store or order_id
        context = {
            "rider_name": caller.name or row["party_name"] or "",
            "order_id": order_id,
            "pickup_name": pickup,
        }
        ids = {"rider_id": caller.id} if caller.id else {}
        return Plan("inbound_rider", context, caller.language, Role.RIDER.value, order_id, ids=ids)
    return _message("rider_none", caller)


async def _store_name(runtime: Runtime, store_id: str) -> str | None:
    if runtime.commerce is None:
        return None
    try:
        store = await runtime.commerce.get_store(store_id)
    except ExocommsError:
        return None
    return store.name if store is not None else None


async def _customer_plan(runtime: Runtime, caller: Caller) -> Plan:
    async with runtime.db.transaction() as session:
        orders = await repo.customer_orders(session, caller.id, caller.phone)
    if not orders:
        return _message("customer_none", caller)
    order_id = orders[0][1]
    status = await _status(runtime, order_id)
    ids = {"customer_id": caller.id} if caller.id else {}
    context = {"order_id": order_id, "status": status}
    return Plan(
        "inbound_customer", context, caller.language, Role.CUSTOMER.value, order_id, ids=ids
    )


# -- whom to connect ----------------------------------------------------------------------
# (caller's party, target) → (masking session kind, the caller's side in it: "a" or "b")
SESSION_SIDE = {
    ("customer", Target.RIDER): ("customer_rider", "a"),
    ("customer", Target.STORE): ("customer_vendor", "a"),
    ("rider", Target.CUSTOMER): ("customer_rider", "b"),
    ("rider", Target.STORE): ("rider_vendor", "a"),
}


def support_phone(runtime: Runtime) -> str | None:
    """The support desk (``EXOCOMMS_SUPPORT_PHONE``, else the admin on duty)."""
    s = runtime.settings
    return phones.try_normalize(s.support_phone) or phones.try_normalize(s.admin_on_duty_phone)


async def resolve_target(
    runtime: Runtime, row: dict[str, Any], target: Target
) -> dict[str, str] | None:
    """``{"to", "caller_id"}`` for the party ``target`` of the call in ``row``, or None.

    A live (or grace-period) masking session of the order gives both the counter-party and
    the virtual number they see (revealing the session: its number never moves again);
    otherwise the phone comes from the commerce backend and the callee sees the number this
    call runs on. Support is the configured desk.
    """
    own_number = str(row["caller_id"] or "")
    if target is Target.SUPPORT:
        desk = support_phone(runtime)
        return {"to": desk, "caller_id": own_number} if desk else None
    order_id = row["order_id"] or ((row["meta"] or {}).get("context") or {}).get("order_id")
    if not order_id:
        return None
    party = str((row["meta"] or {}).get("party") or "customer")
    side = SESSION_SIDE.get((party, target))
    if side is not None:
        now = runtime.clock.now()
        async with runtime.db.transaction() as session:
            for s in await repo.order_sessions(session, str(order_id)):
                mine = s["party_a"] if side[1] == "a" else s["party_b"]
                routable = s["status"] in {r.value for r in ROUTABLE} and s["expires_at"] > now
                if (
                    s["kind"] == side[0]
                    and mine == row["phone"]
                    and routable
                    and s["virtual_number"]
                ):
                    # The callee will see this number (and may call it back): it must not move.
                    await masking_repo.reveal(session, [s["id"]], now)
                    other = s["party_b"] if side[1] == "a" else s["party_a"]
                    return {"to": other, "caller_id": s["virtual_number"]}
    phone = await _party_phone(runtime, str(order_id), target)
    return {"to": phone, "caller_id": own_number} if phone else None


async def _party_phone(runtime: Runtime, order_id: str, target: Target) -> str | None:
    commerce = runtime.commerce
    order = await _order(runtime, order_id)
    if commerce is None or order is None:
        return None
    try:
        if target is Target.STORE:
            store = await commerce.get_store(order.store_id)
            return store.phone if store is not None else None
        if target is Target.RIDER and order.rider_id:
            rider = await commerce.get_rider(order.rider_id)
            return rider.phone if rider is not None else None
        if target is Target.CUSTOMER and order.customer_id:
            customer = await commerce.get_customer(order.customer_id)
            return customer.phone if customer is not None else None
    except ExocommsError as exc:
        log.warning("connect.party_lookup_failed", error=exc.code)
    return None
