"""The /_exosim/ control and inspection API, number routes, and the CLI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from exosim.cli import banner, config_from_args, main
from tests.exosim.conftest import control

V1 = "/v1/Accounts/exosim"
V2_BETA = "/v2_beta/Accounts/exosim/IncomingPhoneNumbers"


def test_health_and_default_account(client: httpx.Client) -> None:
    health = control(client, "GET", "health")
    assert health["status"] == "ok"
    assert health["account_sid"] == "exosim"
    (account,) = control(client, "GET", "accounts")
    assert (account["sid"], account["api_key"], account["api_token"]) == (
        "exosim",
        "exosim-key",
        "exosim-token",
    )
    assert account["voice_per_minute"] == account["sms_per_minute"] == 200


def test_create_account_generates_credentials(client: httpx.Client) -> None:
    created = control(client, "POST", "accounts", json={"sid": "shop2"})
    assert created["api_key"]
    assert created["api_token"]
    auth = httpx.BasicAuth(created["api_key"], created["api_token"])
    response = client.get("/v1/Accounts/shop2/Calls.json", auth=auth)
    assert response.status_code == 200
    assert response.json()["Calls"] == []
    assert client.post("/_exosim/accounts", json={"sid": "shop2"}).status_code == 409
    assert control(client, "GET", "accounts/shop2")["sid"] == "shop2"


def test_exophones_and_incoming_phone_numbers(client: httpx.Client) -> None:
    exophone = control(
        client, "POST", "exophones", json={"number": "+918047091234", "friendly_name": "Support"}
    )
    assert exophone["phone_number"] == "08047091234"
    assert client.post("/_exosim/exophones", json={"number": "08047091234"}).status_code == 409
    listed = client.get(V2_BETA + ".json").json()["IncomingPhoneNumbers"]
    assert [p["PhoneNumber"] for p in listed] == ["08047091234"]
    one = client.get(f"{V2_BETA}/{exophone['sid']}").json()["IncomingPhoneNumber"]
    assert one["FriendlyName"] == "Support"
    assert one["VoiceUrl"] is None
    flow = {"name": "Hi", "start": "a1", "applets": {"a1": {"type": "hangup"}}}
    flow_id = control(client, "POST", "flows", json=flow)["id"]
    voice_url = f"http://my.exotel.com/exosim/exoml/start_voice/{flow_id}"
    updated = client.put(
        f"{V2_BETA}/{exophone['sid']}",
        data={"VoiceUrl": voice_url, "SMSUrl": "http://my.exotel.in/exoml/start/77"},
    )
    assert updated.status_code == 200, updated.text
    fields = updated.json()["IncomingPhoneNumber"]
    assert fields["VoiceUrl"] == voice_url
    assert fields["SMSUrl"] == "http://my.exotel.com/exosim/exoml/start_sms/77"
    record = control(client, "GET", "exophones")[0]
    assert (record["voice_flow_id"], record["sms_flow_id"]) == (flow_id, "77")
    bad = client.put(f"{V2_BETA}/{exophone['sid']}", data={"VoiceUrl": "https://x.example/y"})
    assert bad.status_code == 400
    patched = control(client, "PATCH", f"exophones/{exophone['sid']}", json={"voice_flow_id": None})
    assert patched["voice_flow_id"] is None
    control(client, "DELETE", f"exophones/{exophone['sid']}")
    assert control(client, "GET", "exophones") == []


def test_number_metadata_reflects_dnd(client: httpx.Client) -> None:
    control(client, "POST", "dnd", json={"numbers": ["+919876543210"]})
    assert control(client, "GET", "dnd") == {"numbers": ["+919876543210"]}
    info = client.get(f"{V1}/Numbers/09876543210.json").json()["Numbers"]
    assert list(info) == [
        "PhoneNumber", "Circle", "CircleName", "Type", "Operator", "OperatorName", "DND",
    ]  # fmt: skip
    assert (info["PhoneNumber"], info["Type"], info["DND"]) == ("09876543210", "Mobile", "Yes")
    control(client, "DELETE", "dnd/9876543210")
    assert client.get(f"{V1}/Numbers/+919876543210.json").json()["Numbers"]["DND"] == "No"
    assert "<Numbers><PhoneNumber>" in client.get(f"{V1}/Numbers/09876543210").text


def test_dlt_templates_crud(client: httpx.Client) -> None:
    body = {"template_id": "T1", "entity_id": "E1", "body": "OTP {#var#}"}
    control(client, "POST", "dlt/templates", json=body)
    assert client.post("/_exosim/dlt/templates", json=body).status_code == 409
    assert [t["template_id"] for t in control(client, "GET", "dlt/templates")] == ["T1"]
    control(client, "DELETE", "dlt/templates/T1")
    assert control(client, "GET", "dlt/templates") == []


def test_clock_modes(client: httpx.Client) -> None:
    frozen = control(
        client, "POST", "clock", json={"mode": "manual", "at": "2025-03-01T04:30:00+00:00"}
    )
    assert frozen["mode"] == "manual"
    assert frozen["now_ist"] == "2025-03-01 10:00:00"
    moved = control(client, "POST", "clock", json={"advance": 90})
    assert moved["now_ist"] == "2025-03-01 10:01:30"
    assert control(client, "GET", "clock")["now_ist"] == "2025-03-01 10:01:30"
    call = client.post(
        f"{V1}/Calls/connect.json",
        data={"From": "09876543210", "To": "09812345678", "CallerId": "08047091234"},
    ).json()["Call"]
    assert call["DateCreated"] == "2025-03-01 10:01:30"  # IST, from the emulator clock
    fast = control(client, "POST", "clock", json={"scale": 60})
    assert (fast["mode"], fast["scale"]) == ("scaled", 60.0)
    assert control(client, "POST", "clock", json={"mode": "real"})["scale"] == 1.0


def test_faults_crud(client: httpx.Client) -> None:
    fault = control(client, "POST", "faults", json={"target": "callback", "kind": "lost"})
    assert fault["endpoint"] == "*"
    assert fault["kind"] == "lost"
    assert [f["id"] for f in control(client, "GET", "faults")] == [fault["id"]]
    control(client, "DELETE", f"faults/{fault['id']}")
    assert control(client, "GET", "faults") == []


def test_inspection_and_reset(client: httpx.Client) -> None:
    call = client.post(
        f"{V1}/Calls/connect.json",
        data={"From": "09876543210", "To": "09812345678", "CallerId": "08047091234"},
    ).json()["Call"]
    sms = client.post(
        f"{V1}/Sms/send.json", data={"From": "SHOPCO", "To": "09876543210", "Body": "Hi"}
    ).json()["SMSMessage"]
    record = control(client, "GET", f"calls/{call['Sid']}")
    for key in ("legs", "digits", "events", "callbacks", "params"):
        assert key in record
    assert control(client, "GET", f"sms/{sms['Sid']}")["events"][0]["kind"] == "sms.queued"
    assert len(control(client, "GET", "calls")) == len(control(client, "GET", "sms")) == 1
    control(client, "POST", "accounts", json={"sid": "extra"})
    control(client, "PATCH", "accounts/exosim", json={"voice_per_minute": 1})
    control(client, "POST", "reset")
    assert control(client, "GET", "calls") == control(client, "GET", "sms") == []
    accounts: list[dict[str, Any]] = control(client, "GET", "accounts")
    assert [(a["sid"], a["voice_per_minute"]) for a in accounts] == [("exosim", 200)]


def test_cli_config_banner_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    config = config_from_args(["--port", "4100", "--sid", "acme", "--time-scale", "60"])
    assert (config.port, config.account_sid, config.time_scale) == (4100, "acme", 60.0)
    text = banner(config)
    assert "http://127.0.0.1:4100" in text
    assert "acme" in text
    assert "exosim-token" in text
    assert main(["--help"]) == 0
    assert "--time-scale" in capsys.readouterr().out
    assert main(["--port", "0"]) == 2
    assert main(["--time-scale", "-1"]) == 2
