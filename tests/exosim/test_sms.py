"""SMS: DLT validation, DND, static and dynamic bulk, details, delivery callbacks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.exosim.conftest import Receiver, advance, control, manual_clock

BASE = "/v1/Accounts/exosim"
TEMPLATE = "Dear {#var#}, your order {#var#} is out for delivery. - ShopCo"


@pytest.fixture
def dlt(client: httpx.Client) -> dict[str, Any]:
    template: dict[str, Any] = control(
        client,
        "POST",
        "dlt/templates",
        json={
            "template_id": "1107160000000012345",
            "entity_id": "1101160000000054321",
            "body": TEMPLATE,
            "sender_ids": ["SHOPCO"],
        },
    )
    return template


def _send(client: httpx.Client, **fields: Any) -> httpx.Response:
    data = {"From": "SHOPCO", "To": "09876543210"} | fields
    return client.post(BASE + "/Sms/send.json", data=data)


def test_dlt_exact_match_accepted(client: httpx.Client, dlt: dict[str, Any]) -> None:
    body = "Dear Asha, your order #A-1042 is out for delivery. - ShopCo"
    response = _send(
        client, Body=body, DltTemplateId=dlt["template_id"], DltEntityId=dlt["entity_id"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["SMSMessage"]["Body"] == body
    # Without ids the registered templates still apply, and the match is found.
    assert _send(client, Body=body).status_code == 200


@pytest.mark.parametrize(
    ("fields", "message_part"),
    [
        ({"Body": "Dear Asha, your order #A-1042 is out for  delivery. - ShopCo"}, "match"),
        ({"Body": f"Dear {'A' * 30}, your order 1 is out for delivery. - ShopCo"}, "30"),
        (
            {
                "Body": "Dear Asha, your order 1 is out for delivery. - ShopCo",
                "DltTemplateId": "99",
            },
            "not registered",
        ),
        (
            {"Body": "Dear Asha, your order 1 is out for delivery. - ShopCo", "DltEntityId": "7"},
            "entity",
        ),
        (
            {"Body": "Dear Asha, your order 1 is out for delivery. - ShopCo", "From": "OTHERS"},
            "Sender",
        ),
        ({"Body": "Completely different text"}, "match"),
    ],
    ids=["extra-space", "long-value", "unknown-template", "wrong-entity", "sender", "no-match"],
)
def test_dlt_violations_rejected(
    client: httpx.Client, dlt: dict[str, Any], fields: dict[str, str], message_part: str
) -> None:
    response = _send(client, **fields)
    assert response.status_code == 400, response.text
    assert message_part in response.json()["RestException"]["Message"]
    assert control(client, "GET", "sms") == []  # nothing was queued


def test_value_of_29_chars_is_fine(client: httpx.Client, dlt: dict[str, Any]) -> None:
    body = f"Dear {'A' * 29}, your order 1 is out for delivery. - ShopCo"
    assert _send(client, Body=body).status_code == 200


def test_dnd_promotional_fails_with_failed_dnd(client: httpx.Client, receiver: Receiver) -> None:
    control(client, "POST", "dnd", json={"numbers": ["9876543210"]})
    manual_clock(client)
    callback = receiver.url + "/sms"
    promo = _send(client, Body="Big sale today", SmsType="promotional", StatusCallback=callback)
    trans = _send(client, Body="OTP 1234", SmsType="transactional", StatusCallback=callback)
    assert promo.status_code == trans.status_code == 200
    advance(client, 5)
    received = receiver.wait_for(2)
    by_sid = {dict(r.form)["SmsSid"]: dict(r.form) for r in received}
    promo_cb = by_sid[promo.json()["SMSMessage"]["Sid"]]
    trans_cb = by_sid[trans.json()["SMSMessage"]["Sid"]]
    assert (promo_cb["Status"], promo_cb["DetailedStatusCode"]) == ("failed_dnd", "23005")
    assert promo_cb["DetailedStatus"] == "FAILED_DND"
    assert (trans_cb["Status"], trans_cb["DetailedStatusCode"]) == ("sent", "20005")


def test_landline_recipient_fails_invalid_number(client: httpx.Client, receiver: Receiver) -> None:
    manual_clock(client)
    sent = _send(client, To="02212345678", Body="Hello", StatusCallback=receiver.url + "/s")
    assert sent.status_code == 200
    advance(client, 5)
    (callback,) = receiver.wait_for(1)
    assert dict(callback.form)["Status"] == "failed"
    assert dict(callback.form)["DetailedStatusCode"] == "23010"


@pytest.mark.parametrize(
    "to_spelling",
    [
        [("To", "09876543210"), ("To", "09812345678")],
        [("To[]", "09876543210"), ("To[]", "09812345678")],
        [("To[0]", "09876543210"), ("To[1]", "09812345678")],
        [("To", "09876543210,09812345678")],
    ],
    ids=["repeated", "brackets", "indexed", "comma"],
)
def test_static_bulk_send(client: httpx.Client, to_spelling: list[tuple[str, str]]) -> None:
    files = [("From", (None, "SHOPCO")), ("Body", (None, "Hi"))]
    files += [(k, (None, v)) for k, v in to_spelling]
    response = client.post(BASE + "/Sms/send.json", files=files)
    assert response.status_code == 200, response.text
    items = response.json()
    assert isinstance(items, list)
    assert [list(i) for i in items] == [["SMSMessage"]] * 2
    assert [i["SMSMessage"]["To"] for i in items] == ["09876543210", "09812345678"]


def test_dynamic_bulk_doc_old_form(client: httpx.Client) -> None:
    data = {
        "From": "SHOPCO",
        "Messages[0][To]": "09876543210",
        "Messages[0][Body]": "Hi Asha",
        "Messages[1][To]": "09812345678",
        "Messages[1][Body]": "Hi Ravi",
    }
    response = client.post(BASE + "/Sms/bulksend.json", data=data)
    assert response.status_code == 200, response.text
    bodies = [item["SMSMessage"]["Body"] for item in response.json()]
    assert bodies == ["Hi Asha", "Hi Ravi"]
    xml = client.post(BASE + "/Sms/bulksend", data=data)
    assert xml.text.count("<SMSMessage>") == 2


def test_dynamic_bulk_doc_new_json(client: httpx.Client) -> None:
    payload = {"sms": [{"From": "SHOPCO", "To": "09876543210", "Body": "Hi Asha"}]}
    response = client.post(BASE + "/Sms/bulksend.json", json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["SMSMessages"][0]["Body"] == "Hi Asha"
    too_many = {"sms": payload["sms"] * 101}
    assert client.post(BASE + "/Sms/bulksend.json", json=too_many).status_code == 400
    bad_item = {"sms": [{"From": "SHOPCO", "Body": "no To"}]}
    rejected = client.post(BASE + "/Sms/bulksend.json", json=bad_item)
    assert rejected.status_code == 400
    assert rejected.json()["RestException"]["Message"] == "Messages[0]: Missing parameter: To"


def test_details_on_both_path_spellings(client: httpx.Client) -> None:
    sid = _send(client, Body="Hello").json()["SMSMessage"]["Sid"]
    for path in ("SMS/Messages", "Sms/Messages"):
        response = client.get(f"{BASE}/{path}/{sid}.json")
        assert response.status_code == 200
        assert response.json()["SMSMessage"]["Sid"] == sid
    assert client.get(f"{BASE}/SMS/Messages/{sid}").text.startswith("<?xml")
    assert client.get(f"{BASE}/SMS/Messages/{'f' * 32}.json").status_code == 404


@pytest.mark.parametrize(
    ("body", "encoding", "units"),
    [
        ("a" * 160, "plain", 1),
        ("a" * 161, "plain", 2),
        ("a" * 306, "plain", 2),
        ("[" * 80, "plain", 1),  # extension characters take two septets each
        ("[" * 81, "plain", 2),
        ("नमस्ते" * 10, "unicode", 1),
        ("न" * 71, "unicode", 2),
        ("a" * 71, "unicode", 2),
    ],
)
def test_sms_units(shared_client: httpx.Client, body: str, encoding: str, units: int) -> None:
    response = _send(shared_client, Body=body, EncodingType=encoding)
    assert response.json()["SMSMessage"]["SmsUnits"] == units


def test_invalid_sender_and_body_cap(client: httpx.Client) -> None:
    assert _send(client, From="SHOP-CO!", Body="x").status_code == 400
    assert _send(client, Body="x" * 2001).status_code == 400
    assert _send(client, Body="x" * 2000).status_code == 200
