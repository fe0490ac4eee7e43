"""A sample commerce backend ("Jupiter") for tests and ``exocomms demo``.

In memory: stores, riders, customers and orders (an Indian seed set), the look-up API that
:class:`~exocomms.commerce.client.CommerceClient` calls (signed requests verified), and the
two endpoints exocomms delivers to through its outbox:

- ``POST /exocomms/outcomes`` and ``POST /exocomms/push``: verify ``X-Exocomms-*`` (401
  otherwise), drop repeats by ``Idempotency-Key`` (200 ``duplicate``), record, apply simple
  effects to the order (accepted, rejected, rider reassigned…).
- ``GET /_jupiter/received``: what arrived; ``POST /_jupiter/orders``: add or replace an order;
  ``POST /_jupiter/faults``: slow look-ups or failing deliveries, to exercise timeouts and
  retries.

:func:`send_event` signs and posts an event to exocomms, as the real backend would.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from exocomms.clock import Clock, SystemClock
from exocomms.outbox.signing import DEFAULT_TOLERANCE_SECONDS, sign, verify
from exocomms.phones import try_normalize

STORES: tuple[dict[str, Any], ...] = (
    {"id": "67", "name": "Krishna Kirana", "phone": "+919810010067", "language": "mr",
     "city": "Pune"},
    {"id": "68", "name": "Sharma Sweets", "phone": "+919810010068", "language": "hi",
     "city": "Delhi"},
    {"id": "69", "name": "Annapurna Tiffins", "phone": "+919810010069", "language": "mr",
     "city": "Mumbai"},
    {"id": "70", "name": "Brigade Bakes", "phone": "+919810010070", "language": "en",
     "city": "Bengaluru"},
)  # fmt: skip
RIDERS: tuple[dict[str, Any], ...] = (
    {"id": "501", "name": "Ravi Kumar", "phone": "+919820020501", "language": "hi"},
    {"id": "502", "name": "Suresh Patil", "phone": "+919820020502", "language": "mr"},
    {"id": "503", "name": "Arjun Rao", "phone": "+919820020503", "language": "en"},
)
CUSTOMERS: tuple[dict[str, Any], ...] = (
    {"id": "890", "name": "Priya Deshmukh", "phone": "+919830030890", "language": "mr"},
    {"id": "891", "name": "Amit Verma", "phone": "+919830030891", "language": "hi"},
    {"id": "892", "name": "Kavya Iyer", "phone": "+919830030892", "language": "en"},
)
ORDERS: tuple[dict[str, Any], ...] = (
    {
        "id": "12345", "store_id": "67", "customer_id": "890", "rider_id": None,
        "amount": 325, "payment_method": "cash_on_delivery", "status": "placed",
        "address": "Flat 12, Shanti Niwas, Kothrud, Pune 411038",
        "items": [{"name": "Butter Chicken", "quantity": 1, "price": 280},
                  {"name": "Naan", "quantity": 2, "price": 45}],
    },
)  # fmt: skip

# outcome topic → order changes the sample backend makes when it receives it
_EFFECTS: dict[str, dict[str, Any]] = {
    "vendor.accepted": {"status": "accepted"},
    "vendor.rejected": {"status": "rejected"},
    "rider.accepted": {"status": "rider_accepted"},
    "rider.rejected": {"status": "awaiting_rider", "rider_id": None},
}


@dataclass
class JupiterState:
    """Everything the sample backend knows; tests read it directly (``app.state.jupiter``)."""

    secret: str
    clock: Clock
    tolerance: float
    verify_lookups: bool
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    riders: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    rejected_signatures: int = 0
    lookups: int = 0
    lookup_delay_seconds: float = 0.0
    delivery_status: int | None = None  # answer outcomes/push with this status (a fault)
    _seen: set[str] = field(default_factory=set)

    def seed(self) -> None:
        """Load the sample stores, riders, customers and orders."""
        for source, target in (
            (STORES, self.stores),
            (RIDERS, self.riders),
            (CUSTOMERS, self.customers),
            (ORDERS, self.orders),
        ):
            for record in source:
                target[record["id"]] = copy.deepcopy(record)
        for kind, table in (
            ("store", self.stores),
            ("rider", self.riders),
            ("customer", self.customers),
        ):
            for key, record in table.items():  # the app's FCM token (push_provider=fcm)
                record.setdefault("push_token", f"demo-fcm-token-{kind}-{key}")

    def verified(self, request: Request, body: bytes) -> bool:
        """True when ``X-Exocomms-*`` sign ``body`` within the tolerance of our clock."""
        ok = verify(
            self.secret,
            request.headers.get("x-exocomms-timestamp"),
            request.headers.get("x-exocomms-signature"),
            body,
            self.clock.now(),
            tolerance=self.tolerance,
        )
        if not ok:
            self.rejected_signatures += 1
        return ok


def _signed_target(request: Request) -> bytes:
    # What CommerceClient signs: method, space, the raw path and query exactly as sent.
    raw_path = request.scope.get("raw_path") or request.url.path.encode("ascii")
    query = request.scope.get("query_string") or b""
    return request.method.encode("ascii") + b" " + raw_path + (b"?" + query if query else b"")


def _unauthorized() -> JSONResponse:
    return JSONResponse({"error": "invalid or stale signature"}, status_code=401)


def create_jupiter_app(
    secret: str,
    *,
    seed: bool = True,
    clock: Clock | None = None,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    verify_lookups: bool = True,
) -> FastAPI:
    """The sample commerce backend.

    Args:
        secret: The secret shared with exocomms (``EXOCOMMS_JUPITER_WEBHOOK_SECRET``).
        seed: Start with the sample stores, riders, customers and order 12345.
        clock: Time used to check signatures (the demo's accelerated clock); default real time.
        tolerance: Accepted signature age/skew in seconds.
        verify_lookups: Require signed look-up requests (401 otherwise).
    """
    state = JupiterState(secret, clock or SystemClock(), tolerance, verify_lookups)
    if seed:
        state.seed()
    app = FastAPI(title="Jupiter (sample commerce backend)", docs_url=None, redoc_url=None)
    app.state.jupiter = state

    async def lookup(request: Request, table: dict[str, dict[str, Any]], key: str) -> Any:
        if state.verify_lookups and not state.verified(request, _signed_target(request)):
            return _unauthorized()
        state.lookups += 1
        if state.lookup_delay_seconds:
            await asyncio.sleep(state.lookup_delay_seconds)
        record = table.get(key)
        if record is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return record

    async def by_phone(request: Request, table: dict[str, dict[str, Any]]) -> Any:
        if state.verify_lookups and not state.verified(request, _signed_target(request)):
            return _unauthorized()
        state.lookups += 1
        if state.lookup_delay_seconds:
            await asyncio.sleep(state.lookup_delay_seconds)
        phone = try_normalize(request.query_params.get("phone"))
        return {"items": [r for r in table.values() if phone and r.get("phone") == phone]}

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/orders/{order_id}")
    async def get_order(order_id: str, request: Request) -> Any:
        return await lookup(request, state.orders, order_id)

    @app.get("/api/stores/{store_id}")
    async def get_store(store_id: str, request: Request) -> Any:
        return await lookup(request, state.stores, store_id)

    @app.get("/api/stores")
    async def find_stores(request: Request) -> Any:
        return await by_phone(request, state.stores)

    @app.get("/api/riders/{rider_id}")
    async def get_rider(rider_id: str, request: Request) -> Any:
        return await lookup(request, state.riders, rider_id)

    @app.get("/api/riders")
    async def find_riders(request: Request) -> Any:
        return await by_phone(request, state.riders)

    @app.get("/api/customers/{customer_id}")
    async def get_customer(customer_id: str, request: Request) -> Any:
        return await lookup(request, state.customers, customer_id)

    @app.get("/api/customers")
    async def find_customers(request: Request) -> Any:
        return await by_phone(request, state.customers)

    async def receive(request: Request, kind: str) -> JSONResponse:
        body = await request.body()
        if not state.verified(request, body):
            return _unauthorized()
        if state.delivery_status is not None:
            return JSONResponse({"status": "fault"}, status_code=state.delivery_status)
        key = request.headers.get("idempotency-key", "")
        if key and key in state._seen:
            state.duplicates += 1
            return JSONResponse({"status": "duplicate"})
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        state._seen.add(key)
        state.received.append(
            {
                "kind": kind,
                "topic": request.headers.get("x-exocomms-topic"),
                "idempotencyKey": key,
                "payload": payload,
                "receivedAt": state.clock.now().isoformat(),
            }
        )
        if kind == "outcome" and isinstance(payload, dict):
            order = state.orders.get(str(payload.get("orderId")))
            if order is not None:
                order.update(_EFFECTS.get(str(payload.get("event")), {}))
        return JSONResponse({"status": "ok"})

    @app.post("/exocomms/outcomes")
    async def outcomes(request: Request) -> JSONResponse:
        return await receive(request, "outcome")

    @app.post("/exocomms/push")
    async def push(request: Request) -> JSONResponse:
        return await receive(request, "push")

    @app.get("/_jupiter/received")
    async def received() -> dict[str, Any]:
        return {"items": state.received, "duplicates": state.duplicates}

    @app.post("/_jupiter/orders")
    async def put_order(request: Request) -> Any:
        order = await request.json()
        if not isinstance(order, dict) or not (order.get("id") or order.get("order_id")):
            return JSONResponse({"error": "an order object with an id"}, status_code=422)
        order["id"] = str(order.get("id") or order.get("order_id"))
        state.orders[order["id"]] = order
        return order

    @app.post("/_jupiter/faults")
    async def faults(request: Request) -> dict[str, Any]:
        body = await request.json()
        if "lookup_delay_seconds" in body:
            state.lookup_delay_seconds = float(body["lookup_delay_seconds"])
        if "delivery_status" in body:
            status = body["delivery_status"]
            state.delivery_status = int(status) if status is not None else None
        return {
            "lookup_delay_seconds": state.lookup_delay_seconds,
            "delivery_status": state.delivery_status,
        }

    return app


def event_headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """``X-Jupiter-Timestamp`` and ``X-Jupiter-Signature`` for ``body`` sent at ``timestamp``."""
    return {
        "X-Jupiter-Timestamp": str(timestamp),
        "X-Jupiter-Signature": sign(secret, timestamp, body),
    }


async def send_event(
    client: httpx.AsyncClient,
    base_url: str,
    secret: str,
    event: str,
    payload: dict[str, Any],
    *,
    timestamp: int | datetime | None = None,
    event_id: str | None = None,
) -> httpx.Response:
    """Sign ``payload`` and POST it to exocomms' ``/webhooks/jupiter/{event}``.

    Args:
        client: Any httpx client (an ASGI-transport client works too).
        base_url: exocomms' root URL.
        secret: The shared secret.
        event: ``order/new``, ``rider/assigned``…
        payload: The event's JSON object.
        timestamp: Unix seconds or a datetime (the demo's clock); default now.
        event_id: Sent as ``X-Jupiter-Event-Id`` (the dedupe key) when given.
    """
    if timestamp is None:
        timestamp = SystemClock().now()
    seconds = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", **event_headers(secret, body, seconds)}
    if event_id is not None:
        headers["X-Jupiter-Event-Id"] = event_id
    return await client.post(
        f"{base_url.rstrip('/')}/webhooks/jupiter/{event}", content=body, headers=headers
    )
