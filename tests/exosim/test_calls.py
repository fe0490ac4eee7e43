"""Calls/connect parameters, call details and the bulk call listing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.exosim.conftest import control

BASE = "/v1/Accounts/exosim"
TWO_NUMBERS = {"From": "09876543210", "To": "09812345678", "CallerId": "08047091234"}


def _connect(client: httpx.Client, data: Any) -> dict[str, Any]:
    response = client.post(BASE + "/Calls/connect.json", data=data)
    assert response.status_code == 200, response.text
    call: dict[str, Any] = response.json()["Call"]
    return call


@pytest.mark.parametrize(
    "events",
    [
        [("StatusCallbackEvents[0]", "terminal"), ("StatusCallbackEvents[1]", "answered")],
        [("StatusCallbackEvents[]", "terminal"), ("StatusCallbackEvents[]", "answered")],
        [("StatusCallbackEvents", "terminal"), ("StatusCallbackEvents", "answered")],
        [("StatusCallbackEvents", "terminal,answered")],
    ],
    ids=["indexed", "brackets", "repeated", "comma-joined"],
)
@pytest.mark.parametrize("encoding", ["form", "multipart"])
def test_status_callback_events_spellings(
    shared_client: httpx.Client, events: list[tuple[str, str]], encoding: str
) -> None:
    client = shared_client
    pairs = [*TWO_NUMBERS.items(), *events, ("StatusCallback", "http://127.0.0.1:9/cb")]
    if encoding == "form":
        response = client.post(
            BASE + "/Calls/connect.json",
            content=urlencode(pairs).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        response = client.post(
            BASE + "/Calls/connect.json", files=[(k, (None, v)) for k, v in pairs]
        )
    assert response.status_code == 200, response.text
    record = control(client, "GET", f"calls/{response.json()['Call']['Sid']}")
    assert record["status_callback_events"] == ["terminal", "answered"]
    assert record["params"]["StatusCallbackEvents"] == ["terminal", "answered"]
    assert record["status_callback"] == "http://127.0.0.1:9/cb"


def test_every_documented_parameter_is_accepted(client: httpx.Client) -> None:
    call = _connect(
        client,
        {
            **TWO_NUMBERS,
            "CallType": "trans",
            "TimeLimit": "14400",
            "TimeOut": "30",
            "WaitUrl": "https://cdn.example.com/wait.wav",
            "Record": "true",
            "RecordingChannels": "dual",
            "RecordingFormat": "mp3-hq",
            "CustomField": "x" * 128,
            "StatusCallback": "https://shop.example.com/status",
            "StatusCallbackContentType": "application/json",
            "StartPlaybackToNew": "Both",
            "StartPlaybackValueNew": "https://cdn.example.com/hello.wav",
            "StreamUrl": "wss://bot.example.com/stream",
            "StreamType": "bidirectional",
            "StreamName": "bot",
            "MaxRetries": "2",
        },
    )
    record = control(client, "GET", f"calls/{call['Sid']}")
    assert record["time_limit"] == 14400
    assert record["time_out"] == 30
    assert record["record"] is True
    assert record["recording_channels"] == "dual"
    assert record["custom_field"] == "x" * 128
    assert record["status_callback_content_type"] == "application/json"
    assert record["wait_url"] == "https://cdn.example.com/wait.wav"
    assert record["params"]["StreamUrl"] == "wss://bot.example.com/stream"
    assert record["direction"] == "outbound-api"
    assert record["from_number"] == "+919876543210"
    assert record["to_number"] == "+919812345678"


def test_call_details_and_details_flag(client: httpx.Client) -> None:
    sid = _connect(client, TWO_NUMBERS)["Sid"]
    plain = client.get(f"{BASE}/Calls/{sid}.json")
    assert plain.status_code == 200
    assert plain.json()["Call"]["Sid"] == sid
    assert "Details" not in plain.json()["Call"]
    detailed = client.get(f"{BASE}/Calls/{sid}.json", params={"details": "true"}).json()
    details = detailed["Call"]["Details"]
    assert list(details) == ["ConversationDuration", "Leg1Status", "Leg2Status", "Legs"]
    for index, entry in enumerate(details["Legs"], start=1):
        assert entry["Leg"]["Id"] == index
    xml = client.get(f"{BASE}/Calls/{sid}", params={"details": "true"})
    assert xml.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<TwilioResponse><Call>')
    assert "<Details><ConversationDuration>" in xml.text


def test_unknown_call_is_404(client: httpx.Client) -> None:
    response = client.get(f"{BASE}/Calls/{'0' * 32}.json")
    assert response.status_code == 404
    assert response.json()["RestException"]["Status"] == 404


def test_bulk_listing_filters_sorting_and_paging(client: httpx.Client) -> None:
    sids = [_connect(client, {**TWO_NUMBERS, "To": f"0981234567{i}"})["Sid"] for i in range(5)]
    listing = client.get(
        BASE + "/Calls.json", params={"PageSize": "2", "SortBy": "DateCreated:asc"}
    )
    assert listing.status_code == 200
    body = listing.json()
    assert list(body) == ["Metadata", "Calls"]
    assert body["Metadata"]["Total"] == 5
    assert body["Metadata"]["PageSize"] == 2
    assert body["Metadata"]["PrevPageUri"] is None
    seen = [call["Sid"] for call in body["Calls"]]
    next_uri = body["Metadata"]["NextPageUri"]
    while next_uri:
        page = client.get(next_uri).json()
        seen += [call["Sid"] for call in page["Calls"]]
        assert page["Metadata"]["PrevPageUri"] is not None
        next_uri = page["Metadata"]["NextPageUri"]
    assert sorted(seen) == sorted(sids)
    assert len(seen) == 5
    # Filters: To list, Sid list, Direction.
    by_to = client.get(BASE + "/Calls.json", params={"To": "09812345671,+919812345673"}).json()
    assert {c["To"] for c in by_to["Calls"]} == {"09812345671", "09812345673"}
    by_sid = client.get(BASE + "/Calls.json", params={"Sid": ",".join(sids[:2])}).json()
    assert {c["Sid"] for c in by_sid["Calls"]} == set(sids[:2])
    inbound = client.get(BASE + "/Calls.json", params={"Direction": "inbound"}).json()
    assert inbound["Calls"] == []
    assert inbound["Metadata"]["Total"] == 0
    xml = client.get(BASE + "/Calls", params={"PageSize": "1"})
    assert "<Metadata><Total>5</Total>" in xml.text
    assert "<Calls><Call><Sid>" in xml.text


@pytest.mark.parametrize(
    "params",
    [
        {"PageSize": "101"},
        {"PageSize": "zero"},
        {"SortBy": "Price:asc"},
        {"To": "1,2,3,4,5,6"},
        {"DateCreated": "yesterday"},
        {"DateCreated": "gte:2025-01-01 00:00:00;lte:2025-03-01 00:00:00"},
        {"Duration": "gte:ten"},
        {"After": "not-a-cursor"},
        {"Sid": ",".join(["a"] * 101)},
    ],
)
def test_bulk_listing_rejects_bad_filters(
    shared_client: httpx.Client, params: dict[str, str]
) -> None:
    response = shared_client.get(BASE + "/Calls.json", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["RestException"]["Message"]


def test_caller_id_must_be_an_exophone_once_registered(client: httpx.Client) -> None:
    control(client, "POST", "exophones", json={"number": "08047091234"})
    assert client.post(BASE + "/Calls/connect.json", data=TWO_NUMBERS).status_code == 200
    other = {**TWO_NUMBERS, "CallerId": "08047099999"}
    response = client.post(BASE + "/Calls/connect.json", data=other)
    assert response.status_code == 400
    assert "ExoPhone" in response.json()["RestException"]["Message"]


def test_json_body_is_accepted_on_v1(client: httpx.Client) -> None:
    events = {"StatusCallbackEvents": ["terminal"], "Record": True}
    response = client.post(BASE + "/Calls/connect.json", json=TWO_NUMBERS | events)
    assert response.status_code == 200, response.text
    record = control(client, "GET", f"calls/{response.json()['Call']['Sid']}")
    assert record["status_callback_events"] == ["terminal"]
    assert record["record"] is True
