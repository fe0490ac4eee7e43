"""Bad input always gets a clear 4xx in the API's own error format, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

V1 = "/v1/Accounts/exosim"
CALL = {"From": "09876543210", "To": "09812345678", "CallerId": "08047091234"}
FLOW_URL = "http://my.exotel.com/exosim/exoml/start_voice/424242"

# (method, path, request kwargs, expected status)
CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", V1 + "/Calls/connect.json", {"data": {}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "From": ""}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {"From": "09876543210", "CallerId": "080"}}, 400),
    (
        "POST",
        V1 + "/Calls/connect.json",
        {"data": {k: v for k, v in CALL.items() if k != "To"}},
        400,
    ),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "To": "not-a-number"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "CustomField": "x" * 129}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "TimeLimit": "99999"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "TimeLimit": "-5"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "TimeOut": "soon"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "Record": "maybe"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "RecordingChannels": "stereo"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "StatusCallbackEvents": "hangup"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "StatusCallback": "ftp://x"}}, 400),
    (
        "POST",
        V1 + "/Calls/connect.json",
        {"data": {**CALL, "StatusCallbackContentType": "text/xml"}},
        400,
    ),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "StreamUrl": "http://not-ws"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "CallType": "promo"}}, 400),
    ("POST", V1 + "/Calls/connect.json", {"data": {**CALL, "Url": FLOW_URL}}, 400),
    (
        "POST",
        V1 + "/Calls/connect.json",
        {
            "data": {
                "From": "09876543210",
                "CallerId": "08047091234",
                "Url": "https://evil.example.com/x",
            }
        },
        400,
    ),
    (
        "POST",
        V1 + "/Calls/connect.json",
        {
            "data": {
                "From": "09876543210",
                "CallerId": "08047091234",
                "Url": "http://my.exotel.com/other/exoml/start_voice/1",
            }
        },
        400,
    ),
    (
        "POST",
        V1 + "/Calls/connect.json",
        {"content": b"\xff\xfe", "headers": {"content-type": "application/x-www-form-urlencoded"}},
        400,
    ),
    (
        "POST",
        V1 + "/Calls/connect.json",
        {
            "content": b"--x\r\nbroken",
            "headers": {"content-type": "multipart/form-data; boundary=x"},
        },
        400,
    ),
    ("POST", V1 + "/Calls/connect", {"data": {}}, 400),
    ("GET", V1 + "/Calls/" + "0" * 32 + ".json", {}, 404),
    ("GET", V1 + "/Calls/abc.json", {"params": {"details": "maybe"}}, 404),
    ("GET", "/v1/Accounts/nobody/Calls.json", {}, 401),
    ("GET", V1 + "/NoSuchThing.json", {}, 404),
    ("DELETE", V1 + "/Calls/connect.json", {}, 405),
    ("POST", V1 + "/Sms/send.json", {"data": {"To": "09876543210", "Body": "x"}}, 400),
    ("POST", V1 + "/Sms/send.json", {"data": {"From": "SHOPCO", "Body": "x"}}, 400),
    ("POST", V1 + "/Sms/send.json", {"data": {"From": "SHOPCO", "To": "09876543210"}}, 400),
    ("POST", V1 + "/Sms/send.json", {"data": {"From": "SHOPCO", "To": "12", "Body": "x"}}, 400),
    (
        "POST",
        V1 + "/Sms/send.json",
        {"data": {"From": "SHOPCO", "To": "09876543210", "Body": "x", "SmsType": "spam"}},
        400,
    ),
    (
        "POST",
        V1 + "/Sms/send.json",
        {"data": {"From": "SHOPCO", "To": "09876543210", "Body": "x", "EncodingType": "ascii"}},
        400,
    ),
    (
        "POST",
        V1 + "/Sms/send.json",
        {"data": {"From": "SHOPCO", "To": ["09876543210"] * 101, "Body": "x"}},
        400,
    ),
    ("POST", V1 + "/Sms/bulksend.json", {"data": {"From": "SHOPCO"}}, 400),
    ("POST", V1 + "/Sms/bulksend.json", {"json": {"sms": "nope"}}, 400),
    ("POST", V1 + "/Sms/bulksend.json", {"json": [1, 2]}, 400),
    (
        "POST",
        V1 + "/Sms/bulksend.json",
        {"content": b"{broken", "headers": {"content-type": "application/json"}},
        400,
    ),
    ("GET", V1 + "/Numbers/notanumber.json", {}, 400),
    (
        "PUT",
        "/v2_beta/Accounts/exosim/IncomingPhoneNumbers/" + "0" * 32,
        {"data": {"VoiceUrl": FLOW_URL}},
        404,
    ),
    (
        "POST",
        "/v2/accounts/exosim/messages",
        {"content": b"{garbage", "headers": {"content-type": "application/json"}},
        400,
    ),
    ("POST", "/v2/accounts/exosim/messages", {"json": ["not", "an", "object"]}, 400),
    ("POST", "/v2/accounts/exosim/messages", {"json": {"whatsapp": {"messages": []}}}, 400),
    (
        "POST",
        "/v2/accounts/exosim/messages",
        {"json": {"whatsapp": {"messages": [{"to": "x"}]}}},
        400,
    ),
    ("POST", "/v2/accounts/exosim/messages", {"json": {"whatsapp": {"messages": "x"}}}, 400),
    (
        "POST",
        "/v2/accounts/exosim/messages",
        {"json": {"status_callback": 5, "whatsapp": {"messages": [{}]}}},
        400,
    ),
    ("POST", "/_exosim/clock", {"json": {"scale": 0}}, 422),
    ("POST", "/_exosim/clock", {"json": {"at": "2025-01-01T00:00:00"}}, 422),
    (
        "POST",
        "/_exosim/clock",
        {"content": b"nope", "headers": {"content-type": "application/json"}},
        422,
    ),
    ("POST", "/_exosim/faults", {"json": {"target": "api", "kind": "lost"}}, 422),
    ("POST", "/_exosim/faults", {"json": {"target": "moon", "kind": "5xx"}}, 422),
    ("DELETE", "/_exosim/faults/999999", {}, 404),
    ("POST", "/_exosim/accounts", {"json": {"sid": "bad sid!"}}, 422),
    ("PATCH", "/_exosim/accounts/exosim", {"json": {"voice_per_minute": 0}}, 422),
    ("PATCH", "/_exosim/accounts/exosim", {"json": {"voice_per_minute": None}}, 422),
    ("PATCH", "/_exosim/accounts/nobody", {"json": {"voice_per_minute": 5}}, 404),
    ("POST", "/_exosim/exophones", {"json": {"number": "abc"}}, 422),
    (
        "POST",
        "/_exosim/exophones",
        {"json": {"number": "08047091234", "account_sid": "nobody"}},
        404,
    ),
    (
        "POST",
        "/_exosim/dlt/templates",
        {"json": {"template_id": "1", "entity_id": "2", "body": "Hi {#name#}"}},
        422,
    ),
    ("POST", "/_exosim/dnd", {"json": {"numbers": ["12"]}}, 422),
    ("DELETE", "/_exosim/dnd/09876543210", {}, 404),
    ("GET", "/_exosim/calls/nope", {}, 404),
    ("GET", "/_exosim/sms/nope", {}, 404),
    ("GET", "/_exosim/whatsapp/nope", {}, 404),
    (
        "POST",
        "/_exosim/whatsapp/incoming",
        {"json": {"from": "09876543210", "to": "08047091234"}},
        422,
    ),
    (
        "POST",
        "/_exosim/whatsapp/incoming",
        {"json": {"from": "x", "to": "08047091234", "text": "hi"}},
        422,
    ),
    (
        "POST",
        "/_exosim/whatsapp/incoming",
        {"json": {"from": "09876543210", "to": "08047091234", "text": "hi"}},
        409,
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), CASES)
def test_bad_input_gets_clear_4xx(
    shared_client: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    response = shared_client.request(method, path, **kwargs)
    assert response.status_code == status, response.text
    if path.startswith("/v2/"):
        body = response.json()["response"]
        # Envelope-level errors come as a list; per-message ones inside the channel.
        item = body[0] if isinstance(body, list) else body["whatsapp"]["messages"][0]
        assert item["status"] == "failure"
        assert isinstance(item["error_data"]["code"], int)
        assert item["error_data"]["description"]
    elif path.startswith("/v2_beta/") or (path.startswith("/v1/") and path.endswith(".json")):
        error = response.json()["RestException"]
        assert error["Status"] == status
        assert isinstance(error["Code"], int)
        assert error["Message"]
    elif path.startswith("/v1/"):
        assert "<RestException><Status>" in response.text
    else:
        assert response.json()["detail"]


def test_bad_input_changed_nothing(shared_client: httpx.Client) -> None:
    for kind in ("calls", "sms", "whatsapp"):
        assert shared_client.get(f"/_exosim/{kind}").json() == []
