"""The Zoho CRM adapter against the local Zoho fake: token refresh and caching, a refused
token refreshed once, error mapping, and the wire shapes the fake received."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from exocomms.clock import ManualClock
from exocomms.errors import InvalidRequest, ProviderAuthError, ProviderUnavailable, RateLimited
from exocomms.leads.model import normalize
from exocomms.leads.zoho import ZohoCredentials, ZohoCrm, static_credentials
from tests.support import zoho_fake
from tests.support.zoho_fake import ZohoFake

GOOD = ZohoCredentials(zoho_fake.CLIENT_ID, zoho_fake.CLIENT_SECRET, zoho_fake.REFRESH_TOKEN)
LEAD = normalize("website", "  Asha   Rani Verma ", "098765 43210", "Asha@Example.COM")


@pytest.fixture
def fake() -> ZohoFake:
    return ZohoFake()


def _crm(
    fake: ZohoFake, http: httpx.AsyncClient, clock: ManualClock, creds: ZohoCredentials = GOOD
) -> ZohoCrm:
    return ZohoCrm(
        http,
        accounts_url="http://accounts.zoho.test",
        api_url="http://www.zohoapis.test",
        credentials=static_credentials(creds),
        clock=clock,
    )


@pytest.fixture
async def http(fake: ZohoFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as client:
        yield client


async def test_upsert_then_note_with_one_cached_token(
    fake: ZohoFake, http: httpx.AsyncClient
) -> None:
    clock = ManualClock()
    crm = _crm(fake, http, clock)
    crm_id = await crm.upsert_lead(LEAD)
    assert fake.leads[crm_id] == {
        "Last_Name": "Verma",
        "First_Name": "Asha Rani",
        "Phone": "+919876543210",
        "Email": "asha@example.com",
        "Lead_Source": "website",
    }
    assert await crm.upsert_lead(LEAD) == crm_id  # matched on Phone: updated, not duplicated
    await crm.add_note(crm_id, "Call: answered", "outcome: completed")
    assert fake.notes == [
        {"lead_id": crm_id, "Note_Title": "Call: answered", "Note_Content": "outcome: completed"}
    ]
    assert fake.token_requests() == 1
    clock.advance(3600)  # past the token's life (minus the margin): refreshed before use
    await crm.add_note(crm_id, "again", "x")
    assert fake.token_requests() == 2


async def test_a_refused_token_is_refreshed_once(fake: ZohoFake, http: httpx.AsyncClient) -> None:
    crm = _crm(fake, http, ManualClock())
    crm_id = await crm.upsert_lead(LEAD)
    fake.revoke_tokens()
    await crm.add_note(crm_id, "t", "b")
    assert fake.token_requests() == 2
    assert len(fake.notes) == 1
    fake.fail_next("/Notes", 401, {"code": "INVALID_TOKEN"})
    fake.fail_next("/Notes", 401, {"code": "INVALID_TOKEN"})
    with pytest.raises(ProviderAuthError, match="INVALID_TOKEN"):
        await crm.add_note(crm_id, "t", "b")
    assert fake.token_requests() == 3


async def test_errors_are_mapped(fake: ZohoFake, http: httpx.AsyncClient) -> None:
    crm = _crm(fake, http, ManualClock())
    fake.fail_next("/upsert", 429, {"code": "TOO_MANY_REQUESTS"})
    with pytest.raises(RateLimited):
        await crm.upsert_lead(LEAD)
    fake.fail_next("/upsert", 503)
    with pytest.raises(ProviderUnavailable):
        await crm.upsert_lead(LEAD)
    with pytest.raises(InvalidRequest):
        await crm.add_note("123", "t", "b")  # no such lead in the fake
    fake.fail_next("/oauth/v2/token", 500)
    crm2 = _crm(fake, http, ManualClock())
    with pytest.raises(ProviderUnavailable):
        await crm2.upsert_lead(LEAD)
    bad = ZohoCredentials(zoho_fake.CLIENT_ID, zoho_fake.CLIENT_SECRET, "1000.revoked")
    with pytest.raises(ProviderAuthError, match="invalid_code"):
        await _crm(fake, http, ManualClock(), bad).upsert_lead(LEAD)
    with pytest.raises(ProviderAuthError, match="not configured"):
        await _crm(fake, http, ManualClock(), ZohoCredentials("", "", "")).upsert_lead(LEAD)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_refuse)) as down:
        with pytest.raises(ProviderUnavailable):
            await _crm(fake, down, ManualClock()).upsert_lead(LEAD)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)
