"""Helpers of the connect slice's integration tests: a runtime with a fake Exotel, the sample
commerce backend in memory, and the app over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from exocomms.calls import repo as calls_repo
from exocomms.commerce.client import CommerceClient
from exocomms.demo.jupiter import create_jupiter_app
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.integration.test_ivr_support import TOKEN, FakeExotel, fake_runtime, settings_for

SECRET = "jupiter-test-secret-0123456789"
POOL = ("+918047092001", "+918047092002")
CUSTOMER, RIDER, STORE = "+919830030890", "+919820020501", "+919810010067"  # demo/jupiter.py
ADMIN = "+919811100000"


@dataclass
class Env:
    """The service under test and its fakes."""

    runtime: Runtime
    exotel: FakeExotel
    client: httpx.AsyncClient
    jupiter: Any  # JupiterState

    async def get(self, path: str, **params: str) -> httpx.Response:
        """An applet request with the webhook token."""
        return await self.client.get(path, params={"t": TOKEN, **params})

    async def row(self, call_sid: str) -> dict[str, Any]:
        """The ``voice_calls`` row of an Exotel call."""
        async with self.runtime.db.transaction() as session:
            row = await calls_repo.get_call(session, call_sid=call_sid)
        assert row is not None
        return row


@asynccontextmanager
async def connect_env(db: Database, tmp_path: Path, **overrides: Any) -> AsyncIterator[Env]:
    """A runtime on ``db`` with a fake Exotel, the sample commerce backend and the app."""
    values: dict[str, Any] = {
        "masking_numbers": ",".join(POOL),
        "admin_on_duty_phone": ADMIN,
        "jupiter_webhook_secret": SECRET,
    }
    settings = settings_for(tmp_path, **(values | overrides))
    jupiter = create_jupiter_app(SECRET, verify_lookups=False)
    async with (
        fake_runtime(settings, db) as (runtime, fake),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=jupiter)) as backend,
    ):
        runtime.commerce = CommerceClient(
            "http://jupiter", backend, secret=SECRET, ttl=0, clock=runtime.clock
        )
        app = create_app(settings, runtime=runtime, migrate_on_start=False, configure_logs=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield Env(runtime, fake, client, jupiter.state.jupiter)


def applet(sid: str, caller: str, to: str, **extra: str) -> dict[str, str]:
    """Query parameters of an applet request as Exotel sends them (0-prefixed numbers)."""
    return {
        "CallSid": sid,
        "CallFrom": "0" + caller[-10:],
        "CallTo": "0" + to[-10:],
        "CurrentTime": "2026-01-05 10:00:00",
        **extra,
    }
