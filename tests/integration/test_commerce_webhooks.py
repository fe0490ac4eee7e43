"""Inbound commerce webhooks on a real database: signatures, replays, validation, events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.commerce import webhooks
from exocomms.commerce.model import EVENT_NAMES
from exocomms.demo.jupiter import event_headers, send_event
from exocomms.events import DomainEvent, EventBus
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import commerce_events, outbox_messages
from exocomms.web.app import create_app

SECRET = "jupiter-test-secret-0123456789"
BASE = "http://exocomms.test"
ORDER = {
    "order_id": 12345,
    "store_id": 67,
    "customer_id": 890,
    "amount": 325,
    "payment_method": "cash_on_delivery",
    "items": [
        {"name": "Butter Chicken", "quantity": 1, "price": 280},
        {"name": "Naan", "quantity": 2, "price": 45},
    ],
}
STORE_CONTACT = {"store_phone": "98100 10067", "store_name": "Krishna Kirana"}


class Recorder:
    """A bus listener that keeps every event it sees."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    async def __call__(self, session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
        self.events.append(event)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "jupiter_webhook_secret": SecretStr(SECRET),
        "jupiter_url": "http://127.0.0.1:9",  # nothing listens: look-ups fail fast
        "jupiter_timeout_seconds": 1.0,
        "embedded_worker": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def runtime(db: Database, clock: ManualClock) -> AsyncIterator[Runtime]:
    rt = build_runtime(make_settings(), clock=clock, db=db)
    rt.events = EventBus()  # only this slice's behaviour: no other slice's listeners
    yield rt
    await rt.http.aclose()


@pytest.fixture
def recorder(runtime: Runtime) -> Recorder:
    rec = Recorder()
    runtime.events.subscribe("*", rec)
    return rec


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime.settings, runtime=runtime, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            yield c


async def post(
    client: httpx.AsyncClient, clock: ManualClock, event: str, payload: Any, **kw: Any
) -> httpx.Response:
    return await send_event(client, BASE, SECRET, event, payload, timestamp=clock.now(), **kw)


async def stored(db: Database) -> int:
    async with db.sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(commerce_events))).scalar_one()
        )


async def test_signed_order_new_is_recorded_and_published(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder, db: Database
) -> None:
    response = await post(client, clock, "order/new", {**ORDER, **STORE_CONTACT})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "accepted"
    assert body["event"] == "order/new"
    assert body["domainEvent"] == "order.created"
    [event] = recorder.events
    assert (event.name, event.order_id, event.party, event.actor) == (
        "order.created",
        "12345",
        "vendor",
        "jupiter",
    )
    order = event.data["order"]
    assert order["order_id"] == "12345"
    assert order["store_id"] == "67"
    assert order["amount"] == 325
    assert order["items"][1] == {"name": "Naan", "quantity": 2, "price": 45.0}
    assert order["store_phone"] == "+919810010067"
    assert event.data["store"] == {
        "id": "67",
        "name": "Krishna Kirana",
        "phone": "+919810010067",
        "language": "hi",
        "city": None,
    }
    assert event.data["event_id"] == body["eventId"]
    async with db.sessions() as session:
        row = (await session.execute(select(commerce_events))).one()
    assert row.event == "order/new"
    assert row.order_id == "12345"
    assert row.payload["payment_method"] == "cash_on_delivery"
    assert row.signed_at == clock.now().replace(microsecond=0)

    health = await client.get("/webhooks/jupiter/health")
    assert health.json() == {"status": "ok", "events": list(EVENT_NAMES), "secretConfigured": True}
    assert SECRET not in health.text


BAD_HEADERS: list[tuple[str, dict[str, str | None]]] = [
    ("none", {"X-Jupiter-Signature": None, "X-Jupiter-Timestamp": None}),
    ("no-signature", {"X-Jupiter-Signature": None}),
    ("no-timestamp", {"X-Jupiter-Timestamp": None}),
    ("wrong", {"X-Jupiter-Signature": "sha256=" + "0" * 64}),
    ("malformed", {"X-Jupiter-Signature": "sha256=deadbeef"}),
    ("bad-timestamp", {"X-Jupiter-Timestamp": "not-a-number"}),
]


async def test_unauthenticated_requests_are_401_and_change_nothing(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder, db: Database
) -> None:
    body = json.dumps(ORDER).encode()
    now = int(clock.now().timestamp())
    signed = event_headers(SECRET, body, now)
    for label, changes in BAD_HEADERS:
        merged = {**signed, **changes}
        headers = {k: v for k, v in merged.items() if v is not None}
        response = await client.post("/webhooks/jupiter/order/new", content=body, headers=headers)
        assert response.status_code == 401, label
        assert response.json()["error"]["code"] == "invalid_signature", label
    tampered = await client.post(
        "/webhooks/jupiter/order/new", content=body.replace(b"325", b"1"), headers=signed
    )
    wrong_secret = await send_event(
        client, BASE, "another-secret-0123456789", "order/new", ORDER, timestamp=now
    )
    assert tampered.status_code == wrong_secret.status_code == 401
    for skew in (-301, 301, 86_400):  # outside the 5-minute window, either way
        stale = await send_event(client, BASE, SECRET, "order/new", ORDER, timestamp=now + skew)
        assert stale.status_code == 401, skew
        assert stale.json()["error"]["code"] == "stale_timestamp", skew
    # An unauthenticated request does not learn whether the event exists.
    unknown = await client.post("/webhooks/jupiter/nope", content=body)
    assert unknown.status_code == 401

    assert recorder.events == []
    assert await stored(db) == 0


async def test_a_replay_is_a_duplicate_and_publishes_nothing_more(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder, db: Database
) -> None:
    body = json.dumps(ORDER).encode()
    headers = event_headers(SECRET, body, int(clock.now().timestamp()))
    first = await client.post("/webhooks/jupiter/order/new", content=body, headers=headers)
    clock.advance(120)  # still inside the window: the captured request verifies again
    replay = await client.post("/webhooks/jupiter/order/new", content=body, headers=headers)
    # Re-signed later with the same content: the same event.
    resent = await post(client, clock, "order-new", ORDER)

    assert first.status_code == 202
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    assert (resent.status_code, resent.json()["status"]) == (200, "duplicate")
    assert replay.json()["eventId"] == first.json()["eventId"]
    assert len(recorder.events) == 1
    assert await stored(db) == 1

    # Two deliveries of one event at the same moment: exactly one is accepted.
    racing = await asyncio.gather(
        *(post(client, clock, "order/delivered", {"order_id": 12345}) for _ in range(4))
    )
    assert sorted(r.json()["status"] for r in racing) == ["accepted"] + ["duplicate"] * 3
    assert [e.name for e in recorder.events] == ["order.created", "order.delivered"]


async def test_event_id_header_is_the_dedupe_key(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder, db: Database
) -> None:
    assigned = {"order_id": 12345, "rider_id": 501, "rider_phone": "+919820020501"}
    first = await post(client, clock, "rider/assigned", assigned, event_id="evt-1")
    same_id = await post(
        client, clock, "rider/assigned", {**assigned, "rider_id": 502}, event_id="evt-1"
    )
    # The same body again under a new id is a new fact (re-assigned after a rejection).
    again = await post(client, clock, "rider/assigned", assigned, event_id="evt-2")

    assert [first.status_code, same_id.status_code, again.status_code] == [202, 200, 202]
    assert [e.data["rider_id"] for e in recorder.events] == ["501", "501"]
    assert await stored(db) == 2


INVALID: list[tuple[dict[str, Any], list[Any]]] = [
    ({**ORDER, "order_id": -5}, ["order_id"]),
    ({**ORDER, "order_id": "12 345; DROP"}, ["order_id"]),
    ({**ORDER, "amount": -1}, ["amount"]),
    ({**ORDER, "store_id": None}, ["store_id"]),
    ({**ORDER, "items": [{"name": "Naan", "quantity": 0, "price": 45}]}, ["items", 0, "quantity"]),
    ({**ORDER, "items": [{"name": "x", "quantity": 1, "price": 1}] * 201}, ["items"]),
    ({**ORDER, "store_phone": "12345"}, ["store_phone"]),
    ({k: v for k, v in ORDER.items() if k != "order_id"}, ["order_id"]),
]


async def test_unknown_events_and_invalid_payloads_are_refused(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder, db: Database
) -> None:
    unknown = await post(client, clock, "order/teleported", ORDER)
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error["code"] == "unknown_event"
    assert error["details"]["known"] == list(EVENT_NAMES)

    for payload, loc in INVALID:
        response = await post(client, clock, "order/new", payload)
        assert response.status_code == 422, loc
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert loc in [detail["loc"] for detail in error["details"]], error

    now = int(clock.now().timestamp())
    for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
        response = await client.post(
            "/webhooks/jupiter/order/new", content=body, headers=event_headers(SECRET, body, now)
        )
        assert response.status_code == 422, body

    assert recorder.events == []
    assert await stored(db) == 0


TEN_EVENTS: list[tuple[str, dict[str, Any], str, str | None, dict[str, Any]]] = [
    ("order/new", {**ORDER, **STORE_CONTACT}, "order.created", "vendor", {}),
    ("order/accepted", {"order_id": 1, "prep_minutes": 20}, "order.accepted", "vendor",
     {"prep_minutes": 20, "channel": "app"}),
    ("order/rejected", {"order_id": 1, "reason": "out_of_stock"}, "order.rejected", "vendor",
     {"reason": "out_of_stock", "channel": "app"}),
    ("order/ready", {"order_id": 1}, "order.ready", "rider", {}),
    ("rider/assigned", {"order_id": 1, "rider_id": 501, "rider_phone": "09820020501",
                        "rider_name": "Ravi Kumar", "rider_language": "hi-IN"},
     "rider.assigned", "rider",
     {"rider_id": "501", "rider_phone": "+919820020501", "rider_name": "Ravi Kumar",
      "rider_language": "hi"}),
    ("rider/accepted", {"order_id": 1, "rider_id": 501}, "rider.accepted", "rider",
     {"rider_id": "501", "channel": "app"}),
    ("rider/rejected", {"order_id": 1, "rider_id": "R-7", "reason": "too far"},
     "rider.rejected", "rider", {"rider_id": "R-7", "reason": "too far", "channel": "app"}),
    ("address/changed", {"order_id": 1, "address": "Gate 2, Kothrud, Pune"},
     "address.changed", "rider", {"address": {"text": "Gate 2, Kothrud, Pune"}}),
    ("order/picked-up", {"order_id": 1, "rider_id": 501}, "order.picked_up", "customer",
     {"rider_id": "501"}),
    ("order/delivered", {"order_id": 1}, "order.delivered", "customer", {}),
]  # fmt: skip


async def test_each_event_publishes_its_domain_event(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder, db: Database
) -> None:
    for event, payload, *_ in TEN_EVENTS:
        response = await post(client, clock, event, payload)
        assert response.status_code == 202, response.text

    assert len(recorder.events) == len(TEN_EVENTS)
    for published, (event, payload, name, party, data) in zip(
        recorder.events, TEN_EVENTS, strict=True
    ):
        assert (published.name, published.party, published.actor) == (name, party, "jupiter")
        assert published.order_id == str(payload["order_id"])
        assert published.at == clock.now()
        assert published.data["source"] == "jupiter"
        assert published.data["event"] == event
        for key, value in data.items():
            assert published.data[key] == value, (event, key)
    assert await stored(db) == len(TEN_EVENTS)


async def test_dash_and_dot_paths_are_the_same_event(
    client: httpx.AsyncClient, clock: ManualClock, recorder: Recorder
) -> None:
    paths = ["order/picked-up", "order-picked-up", "order.picked-up", "ORDER/Picked-Up"]
    for order_id, path in enumerate(paths, start=1):
        response = await post(client, clock, path, {"order_id": order_id})
        assert response.status_code == 202, path
        assert response.json()["event"] == "order/picked-up"

    assert [e.name for e in recorder.events] == ["order.picked_up"] * len(paths)


async def test_a_failing_listener_rolls_the_event_back(
    clock: ManualClock, runtime: Runtime, db: Database
) -> None:
    async def broken(session: AsyncSession, rt: Runtime, event: DomainEvent) -> None:
        raise RuntimeError("listener bug")

    runtime.events.subscribe("order.delivered", broken)
    body = b'{"order_id": 9}'
    headers = event_headers(SECRET, body, int(clock.now().timestamp()))
    with pytest.raises(RuntimeError, match="listener bug"):  # the route answers 500
        await webhooks.receive(runtime, "order/delivered", body, headers)

    assert await stored(db) == 0
    # Nothing recorded, so the backend's retry is processed normally once the bug is gone.


async def test_no_secret_configured_refuses_everything(db: Database, clock: ManualClock) -> None:
    rt = build_runtime(make_settings(jupiter_webhook_secret=SecretStr("")), clock=clock, db=db)
    app = create_app(rt.settings, runtime=rt, configure_logs=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
                signed_with_empty = await send_event(
                    c, BASE, "", "order/new", ORDER, timestamp=clock.now()
                )
                health = (await c.get("/webhooks/jupiter/health")).json()
    finally:
        await rt.http.aclose()
    assert signed_with_empty.status_code == 401
    assert health == {"status": "ok", "events": list(EVENT_NAMES), "secretConfigured": False}


async def test_recorded_events_are_listed_for_admins(
    client: httpx.AsyncClient, clock: ManualClock, db: Database
) -> None:
    await post(client, clock, "order/new", {**ORDER, **STORE_CONTACT})
    await post(client, clock, "order/delivered", {"order_id": 12345})
    await post(client, clock, "order/delivered", {"order_id": 99})

    listed = (await client.get("/commerce/events", params={"orderId": "12345"})).json()

    assert [item["event"] for item in listed["items"]] == ["order/new", "order/delivered"]
    async with db.sessions() as session:
        assert (
            await session.execute(select(func.count()).select_from(outbox_messages))
        ).scalar_one() == 0
