"""Lead calls: ``POST /leads`` → CRM upsert (Zoho fake on loopback) → the call after the delay
→ retries (max 3) → the outcome as a CRM note; ``/exotel/stats``; a restart loses nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from exocomms.calls.model import CallStatus
from exocomms.clock import ManualClock
from exocomms.leads import service
from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.integration.test_ivr_support import FakeExotel
from tests.integration.test_scheduled_support import end_call, run_jobs, scheduling_runtime
from tests.support import zoho_fake
from tests.support.servers import serve_in_thread
from tests.support.zoho_fake import ZohoFake

KEY = "leads-admin-key-0123456789"
FORM = {"source": "website", "name": "Asha Verma", "phone": "098765 43210", "email": "A@B.in"}


@dataclass
class Env:
    runtime: Runtime
    client: httpx.AsyncClient
    exotel: FakeExotel
    zoho: ZohoFake
    clock: ManualClock


@pytest.fixture
def zoho() -> Iterator[tuple[ZohoFake, str]]:
    fake = ZohoFake()
    with serve_in_thread(fake.app) as url:
        yield fake, url


def _settings(zoho_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "admin_api_key": SecretStr(KEY),
        "crm_provider": "zoho",
        "zoho_accounts_url": zoho_url,
        "zoho_api_url": zoho_url,
        "zoho_client_id": zoho_fake.CLIENT_ID,
        "zoho_client_secret": SecretStr(zoho_fake.CLIENT_SECRET),
        "zoho_refresh_token": SecretStr(zoho_fake.REFRESH_TOKEN),
        "lead_flow": "lead_sales",
        **extra,
    }


@pytest.fixture
async def env(tmp_path: Path, db: Database, zoho: tuple[ZohoFake, str]) -> AsyncIterator[Env]:
    fake, url = zoho
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock, **_settings(url)) as (runtime, exotel):
        app = create_app(
            runtime.settings, runtime=runtime, migrate_on_start=False, configure_logs=False
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://exocomms.test",
                headers={"X-API-Key": KEY},
            ) as client,
        ):
            yield Env(runtime, client, exotel, fake, clock)


async def _lead(env: Env, lead_id: int) -> dict[str, Any]:
    r = await env.client.get(f"/leads/{lead_id}")
    assert r.status_code == 200
    return dict(r.json())


async def test_a_lead_is_normalised_synced_called_after_the_delay_and_noted(env: Env) -> None:
    r = await env.client.post("/leads", json={**FORM, "utm_campaign": "diwali"})
    assert r.status_code == 201, r.text
    lead = r.json()
    assert (lead["phone"], lead["email"], lead["status"], lead["crmStatus"]) == (
        "+919876543210",
        "a@b.in",
        "new",
        "pending",
    )
    again = await env.client.post("/leads", json={**FORM, "phone": "+91 98765-43210"})
    assert again.status_code == 200
    assert again.json()["id"] == lead["id"]
    assert again.json()["duplicate"] is True

    assert await run_jobs(env.runtime) == ["leads.crm_sync"]  # the call waits for the delay
    lead = await _lead(env, lead["id"])
    assert lead["crmStatus"] == "synced"
    assert env.zoho.leads[lead["crmId"]]["Phone"] == "+919876543210"
    assert env.exotel.posted("Calls/connect.json") == []

    env.clock.advance(60)
    await run_jobs(env.runtime)
    (connect,) = env.exotel.posted("Calls/connect.json")
    assert connect["From"] == "+919876543210"
    assert connect["Url"].endswith("/lead_sales")
    lead = await _lead(env, lead["id"])
    assert (lead["status"], lead["attempts"]) == ("calling", 1)
    stats = (await env.client.get("/exotel/stats")).json()
    assert stats == {
        "pending": 1,
        "total": 1,
        "byStatus": {"new": 0, "waiting": 0, "calling": 1, "called": 0, "failed": 0},
    }

    await end_call(env.runtime, lead["callId"], CallStatus.COMPLETED)
    await run_jobs(env.runtime)
    lead = await _lead(env, lead["id"])
    assert (lead["status"], lead["lastOutcome"]) == ("called", "completed")
    (note,) = env.zoho.notes
    assert note["lead_id"] == lead["crmId"]
    assert note["Note_Title"] == "Call: answered"
    assert "outcome: completed" in note["Note_Content"]
    assert env.zoho.token_requests() == 1  # one token for the upsert and the note
    stats = (await env.client.get("/exotel/stats")).json()
    assert (stats["pending"], stats["byStatus"]["called"]) == (0, 1)


async def test_no_answer_is_retried_at_most_three_times(env: Env) -> None:
    lead = (await env.client.post("/leads", json=FORM)).json()
    env.clock.advance(60)
    for attempt in range(1, 4):
        await run_jobs(env.runtime)
        current = await _lead(env, lead["id"])
        assert (current["status"], current["attempts"]) == ("calling", attempt)
        await end_call(env.runtime, current["callId"], CallStatus.NO_ANSWER)
        current = await _lead(env, lead["id"])
        if attempt < 3:
            assert current["status"] == "waiting"
            assert current["nextCallAt"] is not None
            env.clock.advance(3600)  # past any backoff (≤ 3600 s)
    await run_jobs(env.runtime)
    current = await _lead(env, lead["id"])
    assert (current["status"], current["lastOutcome"]) == ("failed", "no-answer")
    assert len(env.exotel.posted("Calls/connect.json")) == 3
    (note,) = env.zoho.notes
    assert note["Note_Title"] == "Call: not reached"
    assert "3 time(s)" in note["Note_Content"]


async def test_bad_leads_are_422_and_a_key_is_required(env: Env) -> None:
    for body in (
        {**FORM, "phone": "12345"},
        {**FORM, "phone": "call me maybe"},
        {**FORM, "email": "not-an-email"},
        {**FORM, "name": "   "},
        {**FORM, "source": "<script>"},
        {"name": "Asha"},
    ):
        r = await env.client.post("/leads", json=body)
        assert r.status_code == 422, (body, r.text)
    assert (await env.client.get("/exotel/stats")).json()["total"] == 0
    r = await env.client.post("/leads", json=FORM, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401
    del env.client.headers["X-API-Key"]
    assert (await env.client.post("/leads", json=FORM)).status_code == 401


async def test_a_pending_lead_call_survives_a_restart(
    tmp_path: Path, db: Database, zoho: tuple[ZohoFake, str]
) -> None:
    fake, url = zoho
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock, **_settings(url)) as (first, _exotel):
        async with first.db.transaction() as session:
            row, created = await service.create_lead(
                session, first, source="ads", name="Ravi", phone="9812345678", email=None
            )
        assert created
    # A fresh process: new runtime, registry, queue and clients on the same database.
    clock.advance(61)
    async with scheduling_runtime(tmp_path, db, clock, **_settings(url)) as (second, exotel):
        ran = await run_jobs(second)
        assert sorted(ran) == ["calls.place", "leads.call", "leads.crm_sync"]
        (connect,) = exotel.posted("Calls/connect.json")
        assert connect["From"] == "+919812345678"
        async with second.db.transaction() as session:
            lead = await service.get(session, row["id"])
        assert (lead["status"], lead["crm_status"]) == ("calling", "synced")
        assert fake.leads[lead["crm_id"]]["Last_Name"] == "Ravi"
