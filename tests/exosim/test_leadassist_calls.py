"""Calls from virtual phones to Lead Assist virtual numbers: GreenVN bridges at once, GreenPin
asks for the PIN first; the callee sees the virtual number, never the caller's."""

from __future__ import annotations

import time
from typing import Any

import httpx

from exosim.api.leadassist import DEFAULT_NUMBERS
from tests.exosim.conftest import control

T = "/v1/tenants/t1"
A, B, C = "+919876543201", "+919123456701", "+919123456777"
VN_TAIL = DEFAULT_NUMBERS[0][-10:]


def _fast(client: httpx.Client) -> None:
    control(client, "POST", "clock", json={"scale": 200})


def _ended(client: httpx.Client, sid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        call = control(client, "GET", f"calls/{sid}")
        if call["status"] in ("completed", "busy", "no-answer", "failed"):
            return dict(call)
        assert time.monotonic() < deadline, f"call still {call['status']}"
        time.sleep(0.05)


def _entries(client: httpx.Client, number: str, sid: str) -> list[dict[str, Any]]:
    body = control(client, "GET", f"phones/{number}/transcript")
    return [e for e in body["transcript"] if e["call_sid"] == sid]


def test_a_call_to_a_greenvn_reaches_the_other_party_showing_the_vn(
    client: httpx.Client,
) -> None:
    _fast(client)
    body = {"connection_id": "o1", "aparty_numbers": [A], "bparty_numbers": [B]}
    assert client.post(f"{T}/greenvn", json=body).status_code == 201
    control(client, "PUT", f"phones/{B}", json={"hangup_after": 5})
    placed = control(client, "POST", f"phones/{A}/call", json={"to": DEFAULT_NUMBERS[0]})
    call = _ended(client, placed["call_sid"])
    assert call["status"] == "completed"
    rang = [e for e in _entries(client, B, placed["call_sid"]) if e["kind"] == "ringing"]
    assert len(rang) == 1
    assert rang[0]["text"].endswith(VN_TAIL)
    assert A[-10:] not in rang[0]["text"]
    # twoway: B reaches A through the same number
    back = control(client, "POST", f"phones/{B}/call", json={"to": DEFAULT_NUMBERS[0]})
    _ended(client, back["call_sid"])
    assert any(e["kind"] == "ringing" for e in _entries(client, A, back["call_sid"]))


def test_a_greenpin_call_asks_for_the_pin_then_connects(client: httpx.Client) -> None:
    _fast(client)
    created = client.post(
        f"{T}/greenpin", json={"aparty_numbers": [A], "bparty_numbers": [B], "duration": 3600}
    )
    record = created.json()["response"]
    keys = [{"when_heard": "PIN", "keys": f"{record['pin']}#", "once": True}]
    control(client, "PUT", f"phones/{C}", json={"keys": keys})  # any phone with the PIN
    control(client, "PUT", f"phones/{B}", json={"hangup_after": 5})
    placed = control(client, "POST", f"phones/{C}/call", json={"to": record["virtual_number"]})
    assert _ended(client, placed["call_sid"])["status"] == "completed"
    heard = [e["text"] for e in _entries(client, C, placed["call_sid"]) if e["kind"] == "heard_tts"]
    assert any("PIN" in text for text in heard)
    rang = [e for e in _entries(client, B, placed["call_sid"]) if e["kind"] == "ringing"]
    assert rang
    assert rang[0]["text"].endswith(record["virtual_number"][-10:])


def test_a_wrong_pin_connects_nobody(client: httpx.Client) -> None:
    _fast(client)
    created = client.post(f"{T}/greenpin", json={"aparty_numbers": [A], "bparty_numbers": [B]})
    vn = created.json()["response"]["virtual_number"]
    keys = [{"when_heard": "PIN", "keys": "0000#", "once": True}]
    if created.json()["response"]["pin"] == "0000":
        keys[0]["keys"] = "1111#"
    control(client, "PUT", f"phones/{C}", json={"keys": keys})
    control(client, "PUT", f"phones/{B}", json={})
    placed = control(client, "POST", f"phones/{C}/call", json={"to": vn})
    _ended(client, placed["call_sid"])
    assert not [e for e in _entries(client, B, placed["call_sid"]) if e["kind"] == "ringing"]


def test_a_number_nobody_allocated_is_still_refused(client: httpx.Client) -> None:
    response = client.post("/_exosim/phones/+919876543201/call", json={"to": DEFAULT_NUMBERS[5]})
    assert response.status_code == 404
