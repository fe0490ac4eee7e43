"""Third-party Exotel SDKs from PyPI work against exosim with only their base URL changed.

* ``exotel`` 0.1.5 (sarathsp06/exotel-py): v1 calls and SMS with ``(sid, token)`` auth. It
  returns raw ``requests.Response`` objects, so the tests read status codes and bodies.
* ``exotelpy`` 0.1.1 (NooraHealth): v1 SMS, v2_beta ExoPhones and v2 campaigns/contacts/
  lists with ``(key, token)`` auth. It returns parsed JSON and maps errors to exceptions. It
  has no method that places a call (only campaigns, which exosim does not emulate).

Both SDKs use ``requests`` (a dependency of ``exotelpy``) over real loopback HTTP. The
emulator clock runs 1000x so calls and SMS deliveries finish in milliseconds; tests poll
with a wall-clock bound and never assert timings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import exotel
import exotelpy
import httpx
import pytest
import requests

from tests.exosim.conftest import Receiver, control, http_client

SID, KEY, TOKEN = "exosim", "exosim-key", "exosim-token"
EXOPHONE = "08047091234"
CUSTOMER = "09876543210"
AGENT = "09812345678"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
TERMINAL = {"completed", "busy", "no-answer", "failed"}

T = TypeVar("T")


def _until(read: Callable[[], T], done: Callable[[T], bool], seconds: float = 10.0) -> T:
    """Poll ``read`` until ``done`` holds (a bound for a stuck emulator, not a timing check)."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last value: {value!r}"
        time.sleep(0.02)


@pytest.fixture
def control_client(sim_url: str) -> Iterator[httpx.Client]:
    """An unauthenticated client for ``/_exosim/``, with the clock at 1000x."""
    with http_client(sim_url) as http:
        control(http, "POST", "clock", json={"scale": 1000})
        yield http


@pytest.fixture
def flow_id(control_client: httpx.Client) -> str:
    """A dashboard flow: greet the caller, then hang up."""
    flow = {
        "name": "Order greeting",
        "start": "greet",
        "applets": {
            "greet": {"type": "greeting", "text": "Your order is confirmed", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    created: str = control(control_client, "POST", "flows", json=flow)["id"]
    return created


# -- exotel 0.1.5 (sarathsp06/exotel-py) --------------------------------------------------
@pytest.fixture
def legacy(sim_url: str, control_client: httpx.Client) -> exotel.Exotel:
    """The ``exotel`` SDK pointed at exosim (its default base is ``https://twilix.exotel.in/``).

    The constructor joins ``v1/Accounts/<sid>/`` onto ``baseurl``, exactly as for Exotel.
    """
    client = exotel.Exotel(SID, TOKEN, baseurl=sim_url)
    assert client.baseurl == f"{sim_url}/v1/Accounts/{SID}/"
    return client


def _call_details(legacy: exotel.Exotel, call_sid: str) -> dict[str, Any]:
    response = legacy.call_details(call_sid)
    assert response.status_code == 200, response.text
    call: dict[str, Any] = response.json()["Call"]
    return call


def test_exotel_sdk_call_number(
    legacy: exotel.Exotel, control_client: httpx.Client, receiver: Receiver
) -> None:
    response = legacy.call_number(
        CUSTOMER,
        EXOPHONE,
        AGENT,
        status_callback=f"{receiver.url}/status",
        custom_data="order-42",
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    call = response.json()["Call"]
    assert HEX32.match(call["Sid"])
    assert (call["From"], call["To"], call["PhoneNumberSid"]) == (CUSTOMER, AGENT, EXOPHONE)
    assert call["Status"] == "in-progress"
    assert call["Direction"] == "outbound-api"
    assert call["Duration"] is None
    # What the SDK sent arrived intact (TimeLimit=14400 and CallType=trans are its defaults).
    record = control(control_client, "GET", f"calls/{call['Sid']}")
    assert record["params"]["TimeLimit"] == "14400"
    assert record["params"]["CallType"] == "trans"
    assert record["params"]["CustomField"] == "order-42"

    final = _until(lambda: _call_details(legacy, call["Sid"]), lambda c: c["Status"] in TERMINAL)
    assert final["Sid"] == call["Sid"]
    assert final["Status"] == "completed"
    assert final["Duration"].isdigit()
    assert re.fullmatch(r"\d+\.\d{3}", final["Price"])
    assert final["EndTime"] is not None

    # Without StatusCallbackEvents Exotel posts only the four basic fields (EXOTEL.md §1.6).
    (callback,) = receiver.wait_for(1)
    assert callback.path == "/status"
    fields = dict(callback.form)
    assert set(fields) == {"CallSid", "DateUpdated", "Status", "RecordingUrl"}
    assert (fields["CallSid"], fields["Status"]) == (call["Sid"], "completed")


def test_exotel_sdk_call_flow_with_old_flow_url(
    legacy: exotel.Exotel, control_client: httpx.Client, flow_id: str
) -> None:
    response = legacy.call_flow(CUSTOMER, EXOPHONE, flow_id, custom_data="order-7")

    assert response.status_code == 200, response.text
    call = response.json()["Call"]
    assert HEX32.match(call["Sid"])
    assert call["From"] == CUSTOMER
    assert call["To"] == EXOPHONE  # flow mode shows the ExoPhone as To
    record = control(control_client, "GET", f"calls/{call['Sid']}")
    assert record["params"]["Url"] == f"http://my.exotel.in/exoml/start/{flow_id}"
    assert record["flow_id"] == flow_id

    final = _until(lambda: _call_details(legacy, call["Sid"]), lambda c: c["Status"] in TERMINAL)
    assert final["Status"] == "completed"
    heard = control(control_client, "GET", f"phones/{CUSTOMER}/transcript")["transcript"]
    assert any(
        e["call_sid"] == call["Sid"] and e["text"] == "Your order is confirmed" for e in heard
    )


def test_exotel_sdk_sms_and_details(legacy: exotel.Exotel, receiver: Receiver) -> None:
    response = legacy.sms(
        "SHOPCO", CUSTOMER, "Your order is packed", status_callback=f"{receiver.url}/sms"
    )

    assert response.status_code == 200, response.text
    sms = response.json()["SMSMessage"]
    assert HEX32.match(sms["Sid"])
    assert (sms["From"], sms["To"], sms["Body"]) == ("SHOPCO", CUSTOMER, "Your order is packed")
    assert sms["Status"] == "queued"

    def details() -> dict[str, Any]:
        got = legacy.sms_details(sms["Sid"])  # the SDK reads Sms/Messages (mixed case)
        assert got.status_code == 200, got.text
        message: dict[str, Any] = got.json()["SMSMessage"]
        return message

    final = _until(details, lambda m: m["Status"] == "sent")
    assert final["Sid"] == sms["Sid"]
    assert (final["DetailedStatusCode"], final["DetailedStatus"]) == (20005, "DELIVERED_TO_HANDSET")
    (callback,) = receiver.wait_for(1)
    fields = dict(callback.form)
    assert callback.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (fields["SmsSid"], fields["Status"]) == (sms["Sid"], "sent")


def test_exotel_sdk_unicode_sms(legacy: exotel.Exotel) -> None:
    response = legacy.sms("SHOPCO", CUSTOMER, "आपका ऑर्डर पैक हो गया है", encoding_type="unicode")

    assert response.status_code == 200, response.text
    sms = response.json()["SMSMessage"]
    assert sms["Body"] == "आपका ऑर्डर पैक हो गया है"
    assert sms["SmsUnits"] == 1


def test_exotel_sdk_sees_rest_exceptions(sim_url: str, legacy: exotel.Exotel) -> None:
    bad_number = legacy.call_number(CUSTOMER, EXOPHONE, "12")
    assert bad_number.status_code == 400
    assert bad_number.json()["RestException"]["Status"] == 400
    assert "To" in bad_number.json()["RestException"]["Message"]

    wrong_token = exotel.Exotel(SID, "not-the-token", baseurl=sim_url).sms("SHOPCO", CUSTOMER, "x")
    assert wrong_token.status_code == 401
    assert wrong_token.json()["RestException"]["Status"] == 401

    unknown = legacy.call_details("0" * 32)
    assert unknown.status_code == 404
    assert unknown.json()["RestException"]["Status"] == 404


# -- exotelpy 0.1.1 (NooraHealth) ----------------------------------------------------------
@pytest.fixture
def noora(sim_url: str, control_client: httpx.Client) -> exotelpy.Exotel:
    """The ``exotelpy`` SDK with exosim as its ``baseurl`` (default ``https://api.exotel.com``)."""
    return exotelpy.Exotel(SID, KEY, TOKEN, baseurl=sim_url)


def test_exotelpy_send_sms_and_details(noora: exotelpy.Exotel, receiver: Receiver) -> None:
    answer = noora.send_bulk_sms(
        "SHOPCO",
        ["+919876543210"],
        "Your order is packed",
        priority="high",
        sms_type="transactional",
        status_callback=f"{receiver.url}/sms",
    )

    # One recipient: the plain single-SMS answer.
    sms = answer["SMSMessage"]
    assert HEX32.match(sms["Sid"])
    assert (sms["To"], sms["Status"]) == (CUSTOMER, "queued")

    final = _until(lambda: noora.get_sms_details(sms["Sid"])["SMSMessage"], _is_sent)
    assert final["Sid"] == sms["Sid"]
    assert final["DetailedStatusCode"] == 20005
    (callback,) = receiver.wait_for(1)
    assert dict(callback.form)["SmsSid"] == sms["Sid"]


def _is_sent(message: dict[str, Any]) -> bool:
    return bool(message["Status"] == "sent")


def test_exotelpy_static_bulk_sms(noora: exotelpy.Exotel) -> None:
    answer = noora.send_bulk_sms("SHOPCO", ["+919876543210", "+919812345678"], "Sale today")

    # Several recipients: one {"SMSMessage": …} per number, in request order.
    assert [item["SMSMessage"]["To"] for item in answer] == [CUSTOMER, AGENT]
    sids = {item["SMSMessage"]["Sid"] for item in answer}
    assert len(sids) == 2
    for sid in sids:
        assert noora.get_sms_details(sid)["SMSMessage"]["Body"] == "Sale today"


def test_exotelpy_dlt_fields(noora: exotelpy.Exotel, control_client: httpx.Client) -> None:
    template = {
        "template_id": "1107160000000000001",
        "entity_id": "1101160000000000001",
        "body": "Dear {#var#}, your order {#var#} is out for delivery. - ShopCo",
        "sender_ids": ["SHOPCO"],
        "sms_type": "transactional",
    }
    control(control_client, "POST", "dlt/templates", json=template)
    dlt = {
        "dlt_entity_id": template["entity_id"],
        "dlt_template_id": template["template_id"],
        "sms_type": "transactional",
    }

    body = "Dear Asha, your order 42 is out for delivery. - ShopCo"
    sms = noora.send_bulk_sms("SHOPCO", ["+919876543210"], body, **dlt)["SMSMessage"]
    assert (sms["Body"], sms["Status"]) == (body, "queued")

    # One extra space breaks the template match; the SDK raises with Exotel's message.
    with pytest.raises(exotelpy.ValidationError, match="template"):
        noora.send_bulk_sms("SHOPCO", ["+919876543210"], body.replace("out for", "out  for"), **dlt)


def test_exotelpy_exophones(noora: exotelpy.Exotel, control_client: httpx.Client) -> None:
    exophone = control(control_client, "POST", "exophones", json={"number": EXOPHONE})

    listed = noora.get_all_exophones()["IncomingPhoneNumbers"]
    assert [(p["Sid"], p["PhoneNumber"]) for p in listed] == [(exophone["sid"], EXOPHONE)]
    one = noora.get_exophone_details(exophone["sid"])["IncomingPhoneNumber"]
    assert (one["Sid"], one["PhoneNumber"], one["AccountSid"]) == (exophone["sid"], EXOPHONE, SID)


def test_exotelpy_error_mapping(noora: exotelpy.Exotel, control_client: httpx.Client) -> None:
    # v1 400/404 and v2_beta 404 carry a RestException whose Message the SDK surfaces.
    with pytest.raises(exotelpy.ValidationError, match="sender"):
        noora.send_bulk_sms("SH", ["+919876543210"], "x")
    with pytest.raises(exotelpy.NotFound, match="not found"):
        noora.get_sms_details("0" * 32)
    with pytest.raises(exotelpy.NotFound, match="not found"):
        noora.get_exophone_details("0" * 32)

    # Over the account's SMS limit: HTTP 429, which the SDK maps to Throttled.
    control(control_client, "PATCH", f"accounts/{SID}", json={"sms_per_minute": 1})
    noora.send_bulk_sms("SHOPCO", ["+919876543210"], "first")
    with pytest.raises(exotelpy.Throttled):
        noora.send_bulk_sms("SHOPCO", ["+919876543210"], "second")


def test_exotelpy_wrong_token_gets_401(sim_url: str) -> None:
    # exosim answers a v2_beta 401 with a RestException, as Exotel does on v1/v2_beta ...
    response = requests.get(
        f"{sim_url}/v2_beta/Accounts/{SID}/IncomingPhoneNumbers",
        auth=(KEY, "not-the-token"),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["RestException"]["Status"] == 401
    # ... but exotelpy 0.1.1 parses every 401 body as a v2 envelope (an SDK bug), so its
    # AuthenticationFailed never comes: the user sees KeyError('response').
    bad = exotelpy.Exotel(SID, KEY, "not-the-token", baseurl=sim_url)
    with pytest.raises(KeyError, match="response"):
        bad.get_all_exophones()
