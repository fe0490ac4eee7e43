"""exocomms and the sample commerce backend talking over real loopback HTTP, both ways.

The backend posts a signed ``order/new``; exocomms looks the store up on the backend, records
the event and publishes it; a vendor's acceptance (as the IVR would publish it) goes back to the
backend through the outbox and the embedded worker, signed, exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.bootstrap import build_runtime
from exocomms.commerce.outcomes import subscribe_outcomes
from exocomms.demo.jupiter import JupiterState, create_jupiter_app, send_event
from exocomms.demo.servers import free_port, serving
from exocomms.events import DomainEvent, EventBus
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.web.app import create_app

SECRET = "jupiter-e2e-secret-0123456789"


async def wait_until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 30  # a bound to fail instead of hanging, not a timing assert
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_order_in_outcome_out_over_http(db: Database) -> None:
    jupiter_app = create_jupiter_app(SECRET)
    state: JupiterState = jupiter_app.state.jupiter
    seen: list[DomainEvent] = []

    async def record(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
        seen.append(event)

    async with serving(jupiter_app, free_port()) as jupiter_url:
        settings = Settings(  # type: ignore[call-arg]  # pydantic-settings' _env_file
            _env_file=None,
            jupiter_webhook_secret=SecretStr(SECRET),
            jupiter_url=jupiter_url,
            jupiter_timeout_seconds=5.0,
            embedded_worker=True,
            job_poll_seconds=0.05,
        )
        rt = build_runtime(settings, db=db)
        rt.events = EventBus()  # this slice only: no ladders, no carrier calls
        subscribe_outcomes(rt.events)
        rt.events.subscribe("*", record)
        app = create_app(settings, runtime=rt, configure_logs=False)
        try:
            async with serving(app, free_port()) as exocomms_url, httpx.AsyncClient() as http:
                order = {"order_id": 12345, "store_id": 67, "customer_id": 890, "amount": 325}
                first = await send_event(http, exocomms_url, SECRET, "order/new", order)
                again = await send_event(http, exocomms_url, SECRET, "order-new", order)

                async with rt.db.transaction() as session:  # what the IVR does on key 1
                    await rt.events.publish(
                        session,
                        rt,
                        DomainEvent(
                            name="vendor.accepted",
                            at=rt.clock.now(),
                            order_id="12345",
                            party="vendor",
                            actor="+919810010067",
                            data={"prep_minutes": 15, "channel": "ivr", "call_id": "call-1"},
                        ),
                    )

                async def delivered() -> bool:
                    return len(state.received) >= 1

                await wait_until(delivered, "the outcome at the backend")
                health = (await http.get(f"{exocomms_url}/health")).json()
        finally:
            await rt.http.aclose()

    assert first.status_code == 202
    assert again.json()["status"] == "duplicate"
    created = seen[0]
    assert created.name == "order.created"
    assert created.data["store"]["name"] == "Krishna Kirana"
    assert created.data["customer"]["phone"] == "+919830030890"
    [outcome] = state.received
    assert outcome["payload"]["event"] == "vendor.accepted"
    assert outcome["payload"]["data"]["prep_minutes"] == 15
    assert state.rejected_signatures == 0
    assert state.orders["12345"]["status"] == "accepted"
    assert health["commerce"]["reachable"] is True
