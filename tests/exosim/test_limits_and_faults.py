"""Per-account rate limits on the emulator clock, and API fault injection."""

from __future__ import annotations

import httpx
import pytest

from tests.exosim.conftest import advance, control, manual_clock

CONNECT = "/v1/Accounts/exosim/Calls/connect.json"
SMS = "/v1/Accounts/exosim/Sms/send.json"
CALL = {"From": "09876543210", "To": "09812345678", "CallerId": "08047091234"}
TEXT = {"From": "SHOPCO", "To": "09876543210", "Body": "Hi"}


def test_voice_limit_429_then_freed_after_a_minute(client: httpx.Client) -> None:
    manual_clock(client)
    control(client, "PATCH", "accounts/exosim", json={"voice_per_minute": 3})
    statuses = [client.post(CONNECT, data=CALL).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.post(CONNECT, data=CALL)
    assert limited.status_code == 429
    error = limited.json()["RestException"]
    assert error["Status"] == 429
    assert "per minute" in error["Message"]
    # Limits are per API family: SMS still goes through.
    assert client.post(SMS, data=TEXT).status_code == 200
    advance(client, 59)
    assert client.post(CONNECT, data=CALL).status_code == 429
    advance(client, 1)
    assert client.post(CONNECT, data=CALL).status_code == 200
    # Rejected requests created nothing.
    assert len(control(client, "GET", "calls")) == 4


def test_sms_limit_is_separate(client: httpx.Client) -> None:
    manual_clock(client)
    control(client, "PATCH", "accounts/exosim", json={"sms_per_minute": 1})
    assert client.post(SMS, data=TEXT).status_code == 200
    assert client.post(SMS, data=TEXT).status_code == 429
    assert client.post(SMS.replace(".json", ""), data=TEXT).text.count("<Status>429</Status>") == 1
    assert client.post(CONNECT, data=CALL).status_code == 200


def test_503_fault_for_next_request_only(client: httpx.Client) -> None:
    fault = control(
        client,
        "POST",
        "faults",
        json={
            "target": "api",
            "kind": "5xx",
            "endpoint": "Calls/connect",
            "status_code": 503,
            "remaining": 1,
        },
    )
    assert fault["remaining"] == 1
    first = client.post(CONNECT, data=CALL)
    assert first.status_code == 503
    assert first.json()["RestException"]["Status"] == 503
    assert client.post(CONNECT, data=CALL).status_code == 200
    assert control(client, "GET", "faults") == []  # used up
    assert len(control(client, "GET", "calls")) == 1


def test_fault_on_other_endpoint_does_not_apply(client: httpx.Client) -> None:
    control(client, "POST", "faults", json={"target": "api", "kind": "429", "endpoint": "Sms/send"})
    assert client.post(CONNECT, data=CALL).status_code == 200
    limited = client.post(SMS, data=TEXT)
    assert limited.status_code == 429
    control(client, "DELETE", "faults")
    assert client.post(SMS, data=TEXT).status_code == 200


def test_latency_fault_waits_on_the_clock(client: httpx.Client) -> None:
    control(client, "POST", "clock", json={"scale": 1000})
    control(
        client,
        "POST",
        "faults",
        json={"target": "api", "kind": "latency", "delay_seconds": 20, "remaining": 1},
    )
    assert client.post(CONNECT, data=CALL).status_code == 200  # 20 sim s = 20 ms real


def test_timeout_fault_makes_the_client_time_out(client: httpx.Client) -> None:
    control(
        client,
        "POST",
        "faults",
        json={"target": "api", "kind": "timeout", "endpoint": "Calls/connect", "remaining": 1},
    )
    with pytest.raises(httpx.ReadTimeout):
        client.post(CONNECT, data=CALL, timeout=0.5)
    assert client.post(CONNECT, data=CALL).status_code == 200
    assert len(control(client, "GET", "calls")) == 1  # the timed-out request created nothing
