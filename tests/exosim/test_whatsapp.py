"""WhatsApp v2: delivery reports, incoming replies, button replies and scripted auto-replies."""

from __future__ import annotations

from typing import Any

import httpx

from tests.exosim.conftest import Receiver, advance, assert_golden, control, manual_clock

MESSAGES = "/v2/accounts/exosim/messages"
BUSINESS = "+918047091234"
CUSTOMER = "+919876543210"


def _send(client: httpx.Client, callback: str | None, **extra: Any) -> str:
    message = {
        "from": BUSINESS,
        "to": CUSTOMER,
        "content": {"type": "text", "text": {"body": "Your order is packed"}},
        "custom_data": "order-42",
    }
    body: dict[str, Any] = {"whatsapp": {"messages": [message]}} | extra
    if callback:
        body["status_callback"] = callback
    response = client.post(MESSAGES, json=body)
    assert response.status_code == 202, response.text
    sid: str = response.json()["response"]["whatsapp"]["messages"][0]["data"]["sid"]
    return sid


def test_delivery_reports_sent_delivered_read(client: httpx.Client, receiver: Receiver) -> None:
    manual_clock(client)
    sid = _send(client, receiver.url + "/wa")
    advance(client, 10)
    reports = [r.json()["whatsapp"]["messages"][0] for r in receiver.wait_for(3)]
    assert all(r.headers["content-type"] == "application/json" for r in receiver.requests)
    by_status = {r["exo_detailed_status"]: r for r in reports}
    assert set(by_status) == {"EX_MESSAGE_SENT", "EX_MESSAGE_DELIVERED", "EX_MESSAGE_SEEN"}
    delivered = by_status["EX_MESSAGE_DELIVERED"]
    assert list(delivered) == [
        "callback_type", "sid", "to", "from", "exo_status_code", "exo_detailed_status",
        "description", "timestamp", "custom_data",
    ]  # fmt: skip
    assert (delivered["callback_type"], delivered["sid"]) == ("dlr", sid)
    assert (delivered["to"], delivered["exo_status_code"]) == ("919876543210", 30002)
    assert delivered["custom_data"] == "order-42"
    delivered_body = next(r for r in receiver.requests if b"EX_MESSAGE_DELIVERED" in r.body)
    assert_golden("whatsapp_dlr_delivered.json", delivered_body.body.decode())
    assert control(client, "GET", f"whatsapp/{sid}")["status"] == "read"


def test_channel_level_callback_and_custom_data_win(
    client: httpx.Client, receiver: Receiver
) -> None:
    manual_clock(client)
    message = {
        "from": BUSINESS,
        "to": CUSTOMER,
        "content": {"type": "template", "template": {"name": "order_update"}},
    }
    body = {
        "status_callback": "http://127.0.0.1:9/ignored",
        "custom_data": "outer",
        "whatsapp": {
            "status_callback": receiver.url + "/inner",
            "custom_data": "inner",
            "messages": [message],
        },
    }
    assert client.post(MESSAGES, json=body).status_code == 202
    advance(client, 1)
    (report,) = receiver.wait_for(1)
    assert report.path == "/inner"
    assert report.json()["whatsapp"]["messages"][0]["custom_data"] == "inner"


def test_partial_failure_is_207(client: httpx.Client) -> None:
    good = {"from": BUSINESS, "to": CUSTOMER, "content": {"type": "text", "text": {"body": "x"}}}
    bad = {"from": BUSINESS, "to": CUSTOMER, "content": {"type": "sticker"}}
    response = client.post(MESSAGES, json={"whatsapp": {"messages": [good, bad]}})
    assert response.status_code == 207
    body = response.json()
    assert body["metadata"] == {"success": 1, "failed": 1, "total": 2}
    results = body["response"]["whatsapp"]["messages"]
    assert [r["status"] for r in results] == ["success", "failure"]


def test_incoming_text_and_button_reply(client: httpx.Client, receiver: Receiver) -> None:
    created = control(
        client, "POST", "exophones", json={"number": BUSINESS, "whatsapp_url": receiver.url + "/in"}
    )
    assert created["whatsapp_url"] == receiver.url + "/in"
    text = control(
        client, "POST", "whatsapp/incoming", json={"from": CUSTOMER, "to": BUSINESS, "text": "Hi"}
    )
    button = control(
        client,
        "POST",
        "whatsapp/incoming",
        json={"from": CUSTOMER, "to": BUSINESS, "button_payload": "ACCEPT", "button_text": "Yes"},
    )
    assert text["url"] == button["url"] == receiver.url + "/in"
    received = receiver.wait_for(2)
    items = {r.json()["whatsapp"]["messages"][0]["sid"]: r.json() for r in received}
    text_item = items[text["sid"]]["whatsapp"]["messages"][0]
    assert text_item["callback_type"] == "incoming_message"
    assert (text_item["from"], text_item["to"]) == ("919876543210", "918047091234")
    assert text_item["content"] == {"type": "text", "text": {"body": "Hi"}}
    assert text_item["profile_name"]
    button_item = items[button["sid"]]["whatsapp"]["messages"][0]
    assert button_item["content"] == {
        "type": "button",
        "button": {"payload": "ACCEPT", "text": "Yes"},
    }
    inbound = control(client, "GET", f"whatsapp/{text['sid']}")
    assert inbound["direction"] == "inbound"


def test_account_url_is_used_when_the_exophone_has_none(
    client: httpx.Client, receiver: Receiver
) -> None:
    control(client, "PATCH", "accounts/exosim", json={"whatsapp_url": receiver.url + "/acct"})
    control(
        client, "POST", "whatsapp/incoming", json={"from": CUSTOMER, "to": BUSINESS, "text": "?"}
    )
    assert receiver.wait_for(1)[0].path == "/acct"


def test_scripted_phone_replies_to_the_last_callback_url(
    client: httpx.Client, receiver: Receiver
) -> None:
    manual_clock(client)
    script = {"whatsapp_reply": {"after": 5, "button_payload": "CONFIRM"}, "name": "Asha"}
    assert client.put(f"/_exosim/phones/{CUSTOMER}", json=script).status_code < 300
    _send(client, receiver.url + "/wa")
    advance(client, 10)
    received = receiver.wait_for(4)
    incoming = [
        r.json()["whatsapp"]["messages"][0]
        for r in received
        if r.json()["whatsapp"]["messages"][0]["callback_type"] == "incoming_message"
    ]
    assert len(incoming) == 1
    assert incoming[0]["content"]["button"]["payload"] == "CONFIRM"
    assert incoming[0]["profile_name"] == "Asha"
