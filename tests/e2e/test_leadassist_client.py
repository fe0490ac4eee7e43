"""The Lead Assist client and the ``leadassist`` masking backend against exosim over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from exocomms.errors import InvalidRequest, ProviderAuthError
from exocomms.masking import jobs, service
from exocomms.masking.model import SessionMode, SessionStatus
from exocomms.storage.db import Database
from exocomms.telephony.exotel.leadassist import LeadAssistClient
from exosim.api.leadassist import DEFAULT_NUMBERS
from exosim.app import create_app
from exosim.config import SimConfig
from tests.integration.test_masking_service import (
    CUSTOMERS,
    RIDERS,
    make_runtime,
    masking_settings,
    run_due_expiry_jobs,
)
from tests.support.servers import serve_in_thread


@pytest.fixture
def sim_url() -> Iterator[str]:
    with serve_in_thread(create_app(SimConfig())) as url:
        yield url


@pytest.fixture
async def client(sim_url: str) -> AsyncIterator[LeadAssistClient]:
    async with LeadAssistClient(
        base_url=sim_url, tenant_id="t1", account_sid="exosim", token="exosim-token"
    ) as la:
        yield la


def allocations(sim_url: str) -> list[dict[str, object]]:
    return list(httpx.get(f"{sim_url}/_exosim/leadassist").json()["allocations"])


async def test_greenvn_round_trip(client: LeadAssistClient, sim_url: str) -> None:
    vn = await client.create_greenvn(
        connection_id="order-1", aparty_numbers=[CUSTOMERS[0]], bparty_numbers=[RIDERS[0]]
    )
    assert vn.virtual_number == DEFAULT_NUMBERS[0]
    assert (await client.get_greenvn(vn.id)) == vn
    updated = await client.update_call_party(vn.id, bparty_numbers=[RIDERS[1]])
    assert updated.raw["bparty_numbers"] == [RIDERS[1]]
    moved = await client.change_vn(vn.id)
    assert moved.virtual_number == DEFAULT_NUMBERS[1]
    assert await client.delete_greenvn(vn.id) is True
    assert await client.delete_greenvn(vn.id) is False  # already gone: not an error
    assert allocations(sim_url) == []


async def test_greenpin_round_trip_and_errors(client: LeadAssistClient, sim_url: str) -> None:
    pin = await client.create_greenpin(
        connection_id="order-2",
        aparty_numbers=[CUSTOMERS[1]],
        bparty_numbers=[RIDERS[1]],
        duration=600,
    )
    assert pin.pin is not None
    assert len(pin.pin) == 4
    assert (await client.get_greenpin(pin.id)).pin == pin.pin
    assert (await client.update_greenpin(pin.id, duration=3600)).id == pin.id
    with pytest.raises(InvalidRequest):
        await client.create_greenpin(
            connection_id="x",
            aparty_numbers=[CUSTOMERS[1]],
            bparty_numbers=[RIDERS[1]],
            duration=60,
        )
    with pytest.raises(InvalidRequest) as missing:
        await client.get_greenpin("nope")
    assert missing.value.details["status"] == 404
    assert await client.delete_greenpin(pin.id) is True
    async with LeadAssistClient(
        base_url=sim_url, tenant_id="t1", account_sid="exosim", token="wrong"
    ) as bad:
        with pytest.raises(ProviderAuthError):
            await bad.get_greenvn("x")


async def test_masking_backend_allocates_through_lead_assist(db: Database, sim_url: str) -> None:
    httpx.put(
        f"{sim_url}/_exosim/leadassist/numbers", json={"numbers": DEFAULT_NUMBERS[:1]}
    ).raise_for_status()
    settings = masking_settings(
        masking_backend="leadassist",
        leadassist_base_url=sim_url,
        leadassist_tenant_id="t1",
        exotel_account_sid="exosim",
        leadassist_token=SecretStr("exosim-token"),
    )
    rt = make_runtime(db, settings)
    try:
        first = await service.create_session(
            rt, service.new_session(rt, order_id="o1", party_a=CUSTOMERS[0], party_b=RIDERS[0])
        )
        again = await service.create_session(
            rt, service.new_session(rt, order_id="o1", party_a=CUSTOMERS[0], party_b=RIDERS[0])
        )
        assert first.id == again.id
        assert first.mode == SessionMode.LEADASSIST
        assert first.virtual_number == DEFAULT_NUMBERS[0]
        assert first.pin is None
        assert (first.provider_ref or "").startswith("greenvn:")
        # The customer already holds the only number: Lead Assist refuses, GreenPin it is.
        second = await service.create_session(
            rt, service.new_session(rt, order_id="o2", party_a=CUSTOMERS[0], party_b=RIDERS[1])
        )
        assert (second.provider_ref or "").startswith("greenpin:")
        assert second.pin is not None
        assert len(allocations(sim_url)) == 2
        async with rt.db.transaction() as session:
            await service.end_in(session, rt, order_id="o1", grace_hours=0)
        assert await run_due_expiry_jobs(rt) == 1
        assert len(allocations(sim_url)) == 1
        (ended,) = await service.status(rt, "o1")
        assert ended.status == SessionStatus.EXPIRED
        assert jobs.CREATE_JOB in rt.registry
    finally:
        await rt.http.aclose()
