"""Exact wire bodies over real HTTP, pinned in tests/golden/exosim/ (sids/dates normalised)."""

from __future__ import annotations

import httpx

from tests.exosim.conftest import (
    Receiver,
    advance,
    assert_golden,
    control,
    http_client,
    manual_clock,
)

CALLS = "/v1/Accounts/exosim/Calls/connect"
SMS = "/v1/Accounts/exosim/Sms/send"
TWO_NUMBERS = {"From": "09876543210", "To": "+919812345678", "CallerId": "08047091234"}


def test_call_object_json(client: httpx.Client) -> None:
    response = client.post(CALLS + ".json", data=TWO_NUMBERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    call = response.json()["Call"]
    assert list(call) == [
        "Sid", "ParentCallSid", "DateCreated", "DateUpdated", "AccountSid", "To", "From",
        "PhoneNumberSid", "Status", "StartTime", "EndTime", "Duration", "Price", "Direction",
        "AnsweredBy", "ForwardedFrom", "CallerName", "Uri", "RecordingUrl",
    ]  # fmt: skip
    assert len(call["Sid"]) == 32
    assert int(call["Sid"], 16) >= 0
    assert call["Uri"] == f"/v1/Accounts/exosim/Calls/{call['Sid']}.json"
    assert_golden("call_connect.json", response.text)


def test_call_object_xml(client: httpx.Client) -> None:
    response = client.post(CALLS, data=TWO_NUMBERS)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert "<TwilioResponse><Call><Sid>" in response.text
    assert_golden("call_connect.xml", response.text)


def test_sms_message_json_and_xml(client: httpx.Client) -> None:
    body = {"From": "EXOSMS", "To": "9876543210", "Body": "Your OTP is 1234"}
    as_json = client.post(SMS + ".json", data=body)
    as_xml = client.post(SMS, data=body)
    assert (as_json.status_code, as_xml.status_code) == (200, 200)
    message = as_json.json()["SMSMessage"]
    assert (message["Status"], message["SmsUnits"], message["To"]) == ("queued", 1, "09876543210")
    assert_golden("sms_send.json", as_json.text)
    assert_golden("sms_send.xml", as_xml.text)


def test_rest_exception_json_and_xml(sim_url: str) -> None:
    bad = httpx.BasicAuth("exosim-key", "wrong-token")
    with http_client(sim_url, auth=bad) as http:
        as_json = http.post(CALLS + ".json", data=TWO_NUMBERS)
        as_xml = http.post(CALLS, data=TWO_NUMBERS)
    assert (as_json.status_code, as_xml.status_code) == (401, 401)
    assert as_json.json()["RestException"]["Status"] == 401
    assert isinstance(as_json.json()["RestException"]["Code"], int)
    assert_golden("rest_exception_401.json", as_json.text)
    assert_golden("rest_exception_401.xml", as_xml.text)


def test_missing_parameter_rest_exception(client: httpx.Client) -> None:
    response = client.post(CALLS + ".json", data={"To": "09812345678", "CallerId": "08047091234"})
    assert response.status_code == 400
    assert_golden("rest_exception_400.json", response.text)


def test_whatsapp_202_and_1001(client: httpx.Client) -> None:
    message = {
        "from": "+918047091234",
        "to": "+919876543210",
        "content": {"type": "text", "text": {"body": "Your order is on the way"}},
    }
    accepted = client.post(
        "/v2/accounts/exosim/messages", json={"whatsapp": {"messages": [message]}}
    )
    assert accepted.status_code == 202
    sid = accepted.json()["response"]["whatsapp"]["messages"][0]["data"]["sid"]
    assert len(sid) == 32
    assert_golden("whatsapp_202.json", accepted.text)
    flat = client.post("/v2/accounts/exosim/messages", json=message)
    assert flat.status_code == 400
    assert flat.json()["response"][0]["error_data"]["code"] == 1001
    assert flat.json()["response"][0]["error_data"]["description"] == (
        "at least one channel is mandatory"
    )
    assert_golden("whatsapp_1001.json", flat.text)


def test_sms_status_callback_fields(client: httpx.Client, receiver: Receiver) -> None:
    manual_clock(client)
    sent = client.post(
        SMS + ".json",
        data={
            "From": "EXOSMS",
            "To": "+919876543210",
            "Body": "Order 42 is packed",
            "StatusCallback": receiver.url + "/sms-status",
            "CustomField": "order-42",
        },
    )
    assert sent.status_code == 200
    sid = sent.json()["SMSMessage"]["Sid"]
    advance(client, 5)
    (callback,) = receiver.wait_for(1)
    assert callback.method == "POST"
    assert callback.path == "/sms-status"
    assert callback.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "x-exotel-signature" not in callback.headers  # Exotel signs nothing
    assert [name for name, _ in callback.form] == [
        "SmsSid", "To", "Status", "SmsUnits", "DetailedStatus", "DetailedStatusCode",
        "DateSent", "CustomField",
    ]  # fmt: skip
    assert dict(callback.form)["SmsSid"] == sid
    assert_golden("sms_status_callback.txt", callback.body.decode())
    detail = client.get(f"/v1/Accounts/exosim/SMS/Messages/{sid}.json").json()["SMSMessage"]
    assert (detail["Status"], detail["DetailedStatusCode"]) == ("sent", 20005)
    record = control(client, "GET", f"sms/{sid}")
    assert [attempt["status_code"] for attempt in record["callbacks"]] == [200]
