"""The FCM HTTP v1 client against the local fake: the signed JWT, token caching and refresh,
the exact request body, and error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from exocomms.clock import ManualClock
from exocomms.errors import (
    InvalidRequest,
    ProviderAuthError,
    ProviderUnavailable,
    RateLimited,
)
from exocomms.push.fcm import (
    SCOPE,
    FcmClient,
    ServiceAccount,
    is_dead_token,
    load_private_key,
    message_body,
    signed_assertion,
)
from tests.support import fcm_fake
from tests.support.fcm_fake import FcmFake, decode_jwt, make_service_account

BASE = "http://fcm.test"
TOKEN_URI = f"{BASE}/token"
DEVICE = "dKx9-fake-device-token:APA91bFakeFakeFake"


@pytest.fixture(scope="module")
def account_and_key() -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    return make_service_account(TOKEN_URI)


@pytest.fixture
def fake(account_and_key: tuple[dict[str, Any], rsa.RSAPublicKey]) -> FcmFake:
    return FcmFake(public_key=account_and_key[1], token_uri=TOKEN_URI)


@pytest.fixture
async def http(fake: FcmFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as client:
        yield client


def _client(
    http: httpx.AsyncClient, account: dict[str, Any], clock: ManualClock | None = None
) -> FcmClient:
    return FcmClient(
        http,
        project_id=fcm_fake.PROJECT,
        account=ServiceAccount.from_json(json.dumps(account)),
        clock=clock or ManualClock(),
        base_url=BASE,
    )


def test_the_assertion_is_an_rs256_jwt_with_googles_claims(
    account_and_key: tuple[dict[str, Any], rsa.RSAPublicKey],
) -> None:
    account, public = account_and_key
    sa = ServiceAccount.from_json(json.dumps(account))
    now = ManualClock().now()
    jwt = signed_assertion(sa, load_private_key(sa.private_key_pem), now)
    header, claims = decode_jwt(jwt, public)  # raises unless the signature verifies
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "test-key-1"}
    iat = int(now.timestamp())
    assert claims == {
        "iss": fcm_fake.CLIENT_EMAIL,
        "scope": SCOPE,
        "aud": TOKEN_URI,
        "iat": iat,
        "exp": iat + 3600,
    }
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(ValueError, match="signature"):
        decode_jwt(jwt, other)
    assert "PRIVATE KEY" not in repr(sa)


def test_service_account_errors_never_quote_the_key() -> None:
    for text in ("not json", "[]", json.dumps({"client_email": "a@b"})):
        with pytest.raises(ProviderAuthError) as info:
            ServiceAccount.from_json(text)
        assert "client_email" in info.value.message or "JSON" in info.value.message
    bad = json.dumps({"client_email": "a@b", "private_key": "-----BEGIN nonsense"})
    with pytest.raises(ProviderAuthError, match="not a PEM key") as info:
        load_private_key(ServiceAccount.from_json(bad).private_key_pem)
    assert "nonsense" not in info.value.message


def test_message_body_has_the_documented_shape() -> None:
    body = message_body(DEVICE, "New order 7", "Accept it", {"order_id": "7", "amount": 240})
    assert body == {
        "message": {
            "token": DEVICE,
            "notification": {"title": "New order 7", "body": "Accept it"},
            "data": {"order_id": "7", "amount": "240"},
            "android": {"priority": "high"},
        }
    }
    with pytest.raises(InvalidRequest, match="bytes"):
        message_body(DEVICE, "t", "b", {"big": "x" * 5000})


async def test_send_caches_the_token_until_shortly_before_expiry(
    fake: FcmFake, http: httpx.AsyncClient, account_and_key: tuple[dict[str, Any], Any]
) -> None:
    clock = ManualClock()
    client = _client(http, account_and_key[0], clock)
    name = await client.send(DEVICE, title="t", body="b", data={"k": "v"})
    assert name == f"projects/{fcm_fake.PROJECT}/messages/0:1%fake"
    await client.send(DEVICE, title="t", body="b", data={})
    assert (client.token_requests, len(fake.assertions), len(fake.messages)) == (1, 1, 2)
    clock.advance(3600 - 121)  # still inside the token's life minus the margin
    await client.send(DEVICE, title="t", body="b", data={})
    assert client.token_requests == 1
    clock.advance(2)  # within the margin: a new token before the send
    await client.send(DEVICE, title="t", body="b", data={})
    assert client.token_requests == 2
    assert fake.assertions[1]["iat"] == fake.assertions[0]["iat"] + 3600 - 119


async def test_a_401_refreshes_the_token_once(
    fake: FcmFake, http: httpx.AsyncClient, account_and_key: tuple[dict[str, Any], Any]
) -> None:
    client = _client(http, account_and_key[0])
    await client.send(DEVICE, title="t", body="b", data={})
    fake.revoke_tokens()
    await client.send(DEVICE, title="t", body="b", data={})
    assert client.token_requests == 2
    assert len(fake.messages) == 2
    fake.fail_next(401)
    fake.fail_next(401)
    with pytest.raises(ProviderAuthError, match="401"):
        await client.send(DEVICE, title="t", body="b", data={})
    assert client.token_requests == 3


async def test_errors_are_mapped(
    fake: FcmFake, http: httpx.AsyncClient, account_and_key: tuple[dict[str, Any], Any]
) -> None:
    client = _client(http, account_and_key[0])
    fake.unregistered.add(DEVICE)
    with pytest.raises(InvalidRequest) as dead:
        await client.send(DEVICE, title="t", body="b", data={})
    assert is_dead_token(dead.value)
    assert dead.value.details == {"fcm_error": "UNREGISTERED"}
    assert DEVICE not in dead.value.message
    fake.fail_next(429, retry_after="17")
    with pytest.raises(RateLimited) as limited:
        await client.send("other", title="t", body="b", data={})
    assert limited.value.retry_after == 17.0
    fake.fail_next(503, retry_after="3")
    with pytest.raises(ProviderUnavailable) as down:
        await client.send("other", title="t", body="b", data={})
    assert down.value.details == {"retry_after": 3.0}
    fake.fail_next(400)
    with pytest.raises(InvalidRequest) as invalid:
        await client.send("other", title="t", body="b", data={})
    assert not is_dead_token(invalid.value)
    async with httpx.AsyncClient(transport=httpx.MockTransport(_refuse)) as down_http:
        with pytest.raises(ProviderUnavailable):
            await _client(down_http, account_and_key[0]).send("x", title="t", body="b", data={})


async def test_a_wrong_key_is_refused_by_the_token_endpoint(
    http: httpx.AsyncClient, fake: FcmFake
) -> None:
    stranger, _ = make_service_account(TOKEN_URI)  # signed by a key the fake does not know
    with pytest.raises(ProviderAuthError, match="invalid_grant"):
        await _client(http, stranger).send(DEVICE, title="t", body="b", data={})
    assert fake.messages == []


async def test_the_token_is_fetched_by_the_manual_clock_time(
    fake: FcmFake, http: httpx.AsyncClient, account_and_key: tuple[dict[str, Any], Any]
) -> None:
    clock = ManualClock()
    start = clock.now()
    await _client(http, account_and_key[0], clock).send(DEVICE, title="t", body="b", data={})
    assert fake.assertions[0]["iat"] == int(start.timestamp())
    assert timedelta(seconds=fake.assertions[0]["exp"] - fake.assertions[0]["iat"]) == (
        timedelta(hours=1)
    )


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)
