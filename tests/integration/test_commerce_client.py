"""The look-up client against the sample backend over real HTTP, and what uses it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.commerce.client import CommerceClient
from exocomms.commerce.model import Order, OrderItem, Rider, Store
from exocomms.demo.jupiter import JupiterState, create_jupiter_app, send_event
from exocomms.errors import ProviderAuthError, ProviderError, ProviderUnavailable, RateLimited
from exocomms.events import DomainEvent, EventBus
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.support.servers import free_port, serve_in_thread

SECRET = "jupiter-client-secret-0123456789"


class Timer:
    """Monotonic seconds that move only when told (cache expiry without waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def jupiter(clock: ManualClock) -> Iterator[tuple[str, JupiterState]]:
    app = create_jupiter_app(SECRET, clock=clock)
    with serve_in_thread(app) as base:
        yield base, app.state.jupiter


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_client(
    base: str, http: httpx.AsyncClient, clock: ManualClock, timer: Timer, **kw: Any
) -> CommerceClient:
    options: dict[str, Any] = {"secret": SECRET, "timeout": 2.0, "ttl": 30.0}
    options.update(kw)
    return CommerceClient(base, http, clock=clock, timer=timer, **options)


async def test_lookups_return_typed_records(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, _ = jupiter
    client = make_client(base, http, clock, Timer())

    store = await client.get_store(67)
    by_phone = await client.get_store_by_phone("098100 10067")
    rider = await client.get_rider_by_phone("+91 98200-20502")
    customer = await client.get_customer_by_phone("919830030892")
    order = await client.get_order("12345")

    assert store == Store("67", "Krishna Kirana", "+919810010067", "mr", "Pune")
    assert by_phone == store
    assert rider == Rider("502", "Suresh Patil", "+919820020502", "mr")
    assert customer is not None
    assert (customer.id, customer.language) == ("892", "en")
    assert order == Order(
        id="12345",
        store_id="67",
        customer_id="890",
        amount=325,
        status="placed",
        payment_method="cash_on_delivery",
        rider_id=None,
        address="Flat 12, Shanti Niwas, Kothrud, Pune 411038",
        items=(OrderItem("Butter Chicken", 1, 280), OrderItem("Naan", 2, 45)),
    )


async def test_answers_are_cached_then_refreshed(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, state = jupiter
    timer = Timer()
    client = make_client(base, http, clock, timer)

    first = await client.get_rider(501)
    state.riders["501"]["name"] = "Ravi K."
    cached = await client.get_rider("501")
    timer.now += 31
    fresh = await client.get_rider(501)

    assert first is not None
    assert cached == first
    assert fresh is not None
    assert fresh.name == "Ravi K."
    assert state.lookups == 2

    await client.get_order(12345)
    state.orders["12345"]["rider_id"] = "502"
    client.invalidate_order("12345")
    order = await client.get_order(12345)
    assert order is not None
    assert order.rider_id == "502"
    assert state.lookups == 4


async def test_not_found_is_none_and_cached_briefly(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, state = jupiter
    timer = Timer()
    client = make_client(base, http, clock, timer)

    assert await client.get_store(999) is None
    assert await client.get_customer_by_phone("+919811122233") is None
    state.stores["999"] = {"id": 999, "name": "New Store", "phone": "9811122233"}
    assert await client.get_store(999) is None  # still the cached "not found"
    timer.now += 6
    store = await client.get_store(999)

    assert store is not None
    assert store.phone == "+919811122233"
    assert state.lookups == 3


async def test_invalid_phone_or_id_sends_nothing(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, state = jupiter
    client = make_client(base, http, clock, Timer())

    assert await client.get_rider_by_phone("12") is None
    with pytest.raises(ProviderError):
        await client.get_order("../admin")
    assert state.lookups == 0


async def test_a_hanging_backend_is_provider_unavailable(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, state = jupiter
    state.lookup_delay_seconds = 0.5
    client = make_client(base, http, clock, Timer(), timeout=0.05)

    with pytest.raises(ProviderUnavailable, match="timed out"):
        await client.get_order(12345)
    state.lookup_delay_seconds = 0


async def test_unreachable_backend_is_provider_unavailable(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    client = make_client(f"http://127.0.0.1:{free_port()}", http, clock, Timer())

    with pytest.raises(ProviderUnavailable):
        await client.get_store(67)
    health = await client.ping()
    assert not health.reachable
    assert health.error == "ConnectError"


async def test_the_backend_refuses_a_wrong_signature(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, state = jupiter
    client = make_client(base, http, clock, Timer(), secret="wrong-secret-0123456789")

    with pytest.raises(ProviderAuthError):
        await client.get_store(67)
    assert state.rejected_signatures == 1


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, b"{}", ProviderUnavailable),
        (503, b"down", ProviderUnavailable),
        (429, b"{}", RateLimited),
        (400, b"{}", ProviderError),
        (200, b"not json", ProviderError),
        (200, json.dumps({"id": 67, "name": "x", "phone": "123"}).encode(), ProviderError),
        (200, json.dumps({"name": "no id", "phone": "9810010067"}).encode(), ProviderError),
    ],
)
async def test_backend_failures_map_to_provider_errors(
    clock: ManualClock, status: int, body: bytes, error: type[Exception]
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"Retry-After": "7"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = make_client("http://jupiter.test", http, clock, Timer())
        with pytest.raises(error) as caught:
            await client.get_store(67)
        with pytest.raises(error):
            await client.get_store(67)  # errors are never cached

    assert len(seen) == 2
    assert seen[0].headers["x-exocomms-signature"].startswith("sha256=")
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 7


async def test_health_probe_measures_and_is_cached(
    jupiter: tuple[str, JupiterState], http: httpx.AsyncClient, clock: ManualClock
) -> None:
    base, _ = jupiter
    timer = Timer()
    client = make_client(base, http, clock, timer)

    first = await client.health()
    again = await client.health()
    timer.now += 6
    later = await client.health()

    assert first.reachable
    assert first.error is None
    assert first.latency_ms > 0
    assert again is first
    assert later is not first
    assert client.requests == 2


def make_runtime(db: Database, clock: ManualClock, jupiter_url: str) -> Runtime:
    settings = Settings(  # type: ignore[call-arg]  # pydantic-settings' _env_file
        _env_file=None,
        jupiter_webhook_secret=SecretStr(SECRET),
        jupiter_url=jupiter_url,
        jupiter_timeout_seconds=2.0,
        embedded_worker=False,
    )
    rt = build_runtime(settings, clock=clock, db=db)
    rt.events = EventBus()  # only this slice's behaviour
    return rt


async def test_exocomms_health_shows_the_commerce_backend(
    db: Database, clock: ManualClock, jupiter: tuple[str, JupiterState]
) -> None:
    base, _ = jupiter
    rt = make_runtime(db, clock, base)
    app = create_app(rt.settings, runtime=rt, configure_logs=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x.test") as c:
                body = (await c.get("/health")).json()
    finally:
        await rt.http.aclose()

    assert body["commerce"]["reachable"] is True
    assert body["commerce"]["latencyMs"] > 0
    assert body["status"] == "ok"


async def test_webhooks_fill_in_contact_details_from_the_backend(
    db: Database, clock: ManualClock, jupiter: tuple[str, JupiterState]
) -> None:
    base, state = jupiter
    state.orders["12345"]["rider_id"] = "503"
    rt = make_runtime(db, clock, base)
    seen: list[DomainEvent] = []

    async def record(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
        seen.append(event)

    rt.events.subscribe("*", record)
    app = create_app(rt.settings, runtime=rt, configure_logs=False)
    order = {"order_id": 12345, "store_id": 68, "customer_id": 891, "amount": 99, "items": []}
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x.test") as c:
                for event, payload in [
                    ("order/new", order),
                    ("rider/assigned", {"order_id": 12345, "rider_id": 502}),
                    ("address/changed", {"order_id": 12345, "address": "Gate 2"}),
                ]:
                    response = await send_event(
                        c, "http://x.test", SECRET, event, payload, timestamp=clock.now()
                    )
                    assert response.status_code == 202, response.text
    finally:
        await rt.http.aclose()

    created, assigned, changed = seen
    assert created.data["store"]["phone"] == "+919810010068"
    assert created.data["order"]["store_phone"] == "+919810010068"
    assert created.data["order"]["store_language"] == "hi"
    assert created.data["customer"]["name"] == "Amit Verma"
    assert assigned.data["rider_phone"] == "+919820020502"
    assert assigned.data["rider"]["language"] == "mr"
    assert changed.data["rider_id"] == "503"  # the order's current rider
    assert changed.data["rider_phone"] == "+919820020503"


async def test_webhooks_still_accept_when_the_backend_is_down(
    db: Database, clock: ManualClock
) -> None:
    rt = make_runtime(db, clock, f"http://127.0.0.1:{free_port()}")
    seen: list[DomainEvent] = []

    async def record(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
        seen.append(event)

    rt.events.subscribe("*", record)
    app = create_app(rt.settings, runtime=rt, configure_logs=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x.test") as c:
                response = await send_event(
                    c, "http://x.test", SECRET, "order/new",
                    {"order_id": 1, "store_id": 67, "amount": 10}, timestamp=clock.now(),
                )  # fmt: skip
                health = (await c.get("/health")).json()
    finally:
        await rt.http.aclose()

    assert response.status_code == 202
    [created] = seen
    assert "store" not in created.data
    assert created.data["order"]["store_id"] == "67"
    assert health["commerce"]["reachable"] is False
    assert health["status"] == "ok"  # a partner outage does not take this instance out
