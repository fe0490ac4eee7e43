"""The Exotel client against exosim over real HTTP: shapes, error mapping, safe retries."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from exocomms.errors import InvalidRequest, ProviderAuthError, ProviderUnavailable, RateLimited
from exocomms.telephony.exotel.client import ExotelClient
from exosim.app import create_app
from exosim.config import SimConfig
from tests.support.servers import serve_in_thread

CALLER_ID = "08047112233"


@pytest.fixture
def sim_url() -> Iterator[str]:
    with serve_in_thread(create_app(SimConfig())) as url:
        httpx.post(f"{url}/_exosim/exophones", json={"number": CALLER_ID}).raise_for_status()
        yield url


@pytest.fixture
async def client(sim_url: str) -> AsyncIterator[ExotelClient]:
    async with ExotelClient(
        base_url=sim_url, account_sid="exosim", api_key="exosim-key", api_token="exosim-token"
    ) as exotel:
        yield exotel


def _fault(sim_url: str, **rule: object) -> None:
    httpx.post(f"{sim_url}/_exosim/faults", json=rule).raise_for_status()


def _hits(sim_url: str) -> list[dict[str, object]]:
    return list(httpx.get(f"{sim_url}/_exosim/faults").json())


async def test_connect_numbers_returns_the_call_and_details_read_it_back(
    client: ExotelClient,
) -> None:
    call = await client.connect_numbers(
        from_number="+919812345678",
        to_number="+919876543210",
        caller_id=CALLER_ID,
        time_limit=600,
        custom_field='{"order_id": 12345}',
        status_callback="http://127.0.0.1:9/status",
        status_callback_events=["terminal", "answered"],
    )
    assert re.fullmatch(r"[0-9a-f]{32}", call.sid)
    assert call.direction == "outbound-api"
    assert call.status in {"queued", "in-progress"}
    again = await client.get_call(call.sid)
    assert again.sid == call.sid
    assert again.from_number is not None
    assert again.from_number.endswith("9812345678")


async def test_wrong_token_is_an_auth_error(sim_url: str) -> None:
    async with ExotelClient(
        base_url=sim_url, account_sid="exosim", api_key="exosim-key", api_token="wrong"
    ) as exotel:
        with pytest.raises(ProviderAuthError):
            await exotel.get_call("0" * 32)


async def test_unknown_call_is_an_invalid_request_with_exotels_message(
    client: ExotelClient,
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.get_call("f" * 32)
    assert caught.value.details["status"] == 404


async def test_custom_field_over_128_chars_is_refused_before_sending(
    client: ExotelClient, sim_url: str
) -> None:
    with pytest.raises(InvalidRequest, match="128"):
        await client.connect_numbers(
            from_number="+919812345678",
            to_number="+919876543210",
            caller_id=CALLER_ID,
            custom_field="x" * 129,
        )
    assert httpx.get(f"{sim_url}/_exosim/calls").json() == []


async def test_a_5xx_on_a_read_is_retried(client: ExotelClient, sim_url: str) -> None:
    call = await client.connect_numbers(
        from_number="+919812345678", to_number="+919876543210", caller_id=CALLER_ID
    )
    _fault(sim_url, target="api", kind="5xx", status_code=503, remaining=1)
    assert (await client.get_call(call.sid)).sid == call.sid
    assert _hits(sim_url) == []  # the one-shot fault was consumed by the first try


async def test_a_5xx_on_connect_is_not_retried(client: ExotelClient, sim_url: str) -> None:
    _fault(
        sim_url, target="api", kind="5xx", endpoint="Calls/connect", status_code=503, remaining=2
    )
    with pytest.raises(ProviderUnavailable):
        await client.connect_numbers(
            from_number="+919812345678", to_number="+919876543210", caller_id=CALLER_ID
        )
    remaining = _hits(sim_url)
    assert len(remaining) == 1
    assert remaining[0]["remaining"] == 1


async def test_rate_limit_maps_to_rate_limited(client: ExotelClient, sim_url: str) -> None:
    _fault(sim_url, target="api", kind="429", endpoint="Calls/connect", remaining=5)
    with pytest.raises(RateLimited) as caught:
        await client.connect_numbers(
            from_number="+919812345678", to_number="+919876543210", caller_id=CALLER_ID
        )
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0


async def test_sms_send_and_details(client: ExotelClient) -> None:
    [sms] = await client.send_sms(
        from_number=CALLER_ID, to="+919812345678", body="Your order 12345 is confirmed."
    )
    assert re.fullmatch(r"[0-9a-f]{32}", sms.sid)
    assert sms.status == "queued"
    assert (await client.get_sms(sms.sid)).sid == sms.sid


async def test_whatsapp_send_returns_the_message_sid(client: ExotelClient, sim_url: str) -> None:
    sid = await client.send_whatsapp(
        from_number=CALLER_ID,
        to="+919812345678",
        content={"type": "text", "text": {"body": "New order 12345: reply 1 to accept"}},
    )
    detail = httpx.get(f"{sim_url}/_exosim/whatsapp/{sid}")
    assert detail.status_code == 200
