"""Client code written from Exotel's documentation works against exosim unchanged."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.exosim.conftest import control, http_client


def _flow(sim_url: str) -> str:
    """A dashboard-style flow: greet, then hang up (created through the control API)."""
    flow = {
        "name": "Order greeting",
        "start": "greet",
        "applets": {
            "greet": {"type": "greeting", "text": "Your order is confirmed", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    with http_client(sim_url) as http:
        flow_id: str = control(http, "POST", "flows", json=flow)["id"]
        control(http, "POST", "clock", json={"scale": 1000})  # seconds of call in ms
    return flow_id


def _wait_terminal(get: Any, seconds: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        call: dict[str, Any] = get()
        if call["Status"] in ("completed", "busy", "no-answer", "failed"):
            return call
        assert time.monotonic() < deadline, f"call stuck in {call['Status']}"
        time.sleep(0.02)


def test_documented_connect_to_flow_then_details(sim_url: str) -> None:
    flow_id = _flow(sim_url)
    # --- what an integrator writes from developer.exotel.com, with only the host changed ---
    sid, key, token = "exosim", "exosim-key", "exosim-token"
    base = sim_url  # was: https://api.exotel.com
    url = f"{base}/v1/Accounts/{sid}/Calls/connect.json"
    data = {
        "From": "09876543210",
        "CallerId": "08047091234",
        "Url": f"http://my.exotel.com/{sid}/exoml/start_voice/{flow_id}",
        "CallType": "trans",
        "TimeLimit": "300",
        "TimeOut": "30",
        "CustomField": "order-42",
    }
    with httpx.Client(auth=(key, token), timeout=30) as exotel:
        response = exotel.post(url, data=data)
        response.raise_for_status()
        call_sid = response.json()["Call"]["Sid"]
        details_url = f"{base}/v1/Accounts/{sid}/Calls/{call_sid}.json"

        def details() -> dict[str, Any]:
            got = exotel.get(details_url)
            got.raise_for_status()
            call: dict[str, Any] = got.json()["Call"]
            return call

        first = details()
        final = _wait_terminal(details)
    # ---------------------------------------------------------------------------------------
    assert first["Sid"] == call_sid
    assert first["Direction"] == "outbound-api"
    assert first["From"] == "09876543210"
    assert final["Status"] == "completed"
    assert final["Duration"] is not None
    assert isinstance(final["Duration"], str)


def test_legacy_sdk_style_sid_token_and_old_flow_url(sim_url: str) -> None:
    # The `exotel` PyPI SDK: auth (sid, token), Url=http://my.exotel.in/exoml/start/<id>.
    flow_id = _flow(sim_url)
    response = httpx.post(
        f"{sim_url}/v1/Accounts/exosim/Calls/connect.json",
        data={
            "From": "09876543210",
            "CallerId": "08047091234",
            "Url": f"http://my.exotel.in/exoml/start/{flow_id}",
            "TimeLimit": "14400",
            "CallType": "trans",
            "TimeOut": "30",
        },
        auth=("exosim", "exosim-token"),
    )
    assert response.status_code == 200, response.text
    with http_client(sim_url) as http:
        record = control(http, "GET", f"calls/{response.json()['Call']['Sid']}")
    assert record["flow_id"] == flow_id
    assert record["to_number"] is None
