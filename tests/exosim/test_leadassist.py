"""exosim's Lead Assist endpoints: GreenVN/GreenPin allocation, auth, both field spellings."""

from __future__ import annotations

import httpx

from exosim.api.leadassist import DEFAULT_NUMBERS
from exosim.config import SimConfig
from tests.exosim.conftest import control

T = "/v1/tenants/t1"
A1, A2, B1, B2 = "+919876543201", "+919876543202", "+919123456701", "+919123456702"


def greenvn(client: httpx.Client, a: str, b: str, **extra: object) -> httpx.Response:
    body = {"connection_id": "c", "aparty_numbers": [a], "bparty_numbers": [b], "usage": "twoway"}
    return client.post(f"{T}/greenvn", json=body | extra)


def test_greenvn_lifecycle_and_routing(client: httpx.Client) -> None:
    created = greenvn(client, A1, B1)
    assert created.status_code == 201
    record = created.json()["response"]
    assert record["virtual_number"] == DEFAULT_NUMBERS[0]
    vn_id = record["greenvn_id"]
    assert client.get(f"{T}/greenvn/{vn_id}").json()["response"]["aparty_numbers"] == [A1]
    route = control(
        client, "GET", "leadassist/route", params={"caller": A1, "to": DEFAULT_NUMBERS[0]}
    )
    assert route["connect_to"] == B1
    back = control(
        client, "GET", "leadassist/route", params={"caller": B1, "to": DEFAULT_NUMBERS[0]}
    )
    assert back["connect_to"] == A1  # twoway
    moved = client.put(f"{T}/greenvn/{vn_id}/vn", json={})
    assert moved.json()["response"]["virtual_number"] == DEFAULT_NUMBERS[1]
    parties = client.put(f"{T}/greenvn/{vn_id}/call-party", json={"bparty_numbers": [B2]})
    assert parties.json()["response"]["bparty_numbers"] == [B2]
    assert client.delete(f"{T}/greenvn/{vn_id}").status_code == 200
    gone = client.get(f"{T}/greenvn/{vn_id}")
    assert gone.status_code == 404
    assert gone.json()["status"] == "failure"


def test_a_party_never_gets_a_number_it_already_holds(client: httpx.Client) -> None:
    control(client, "PUT", "leadassist/numbers", json={"numbers": DEFAULT_NUMBERS[:2]})
    first = greenvn(client, A1, B1).json()["response"]["virtual_number"]
    other_pair = greenvn(client, A2, B2).json()["response"]["virtual_number"]
    same_a = greenvn(client, A1, B2).json()["response"]["virtual_number"]
    assert first == other_pair == DEFAULT_NUMBERS[0]
    assert same_a == DEFAULT_NUMBERS[1]
    full = greenvn(client, A1, "+919123456709")
    assert full.status_code == 409
    assert "No virtual number" in full.json()["message"]


def test_oneway_lets_only_the_a_side_call(client: httpx.Client) -> None:
    greenvn(client, A1, B1, usage="oneway")
    route = control(
        client, "GET", "leadassist/route", params={"caller": B1, "to": DEFAULT_NUMBERS[0]}
    )
    assert route["connect_to"] is None
    assert greenvn(client, A1, B1, usage="sideways").status_code == 400


def test_doc_new_field_names_and_form_bodies(client: httpx.Client) -> None:
    new = client.post(f"{T}/greenvn", json={"from": A1, "to": f"{B1},{B2}", "duration": 600})
    assert new.status_code == 201
    assert new.json()["response"]["bparty_numbers"] == [B1, B2]
    form = client.post(
        f"{T}/greenpin",
        data={"connection_id": "f", "aparty_numbers": A2, "bparty_numbers": B2, "duration": "300"},
    )
    assert form.status_code == 201, form.text


def test_greenpin_allocation_bounds_and_bulk_update(client: httpx.Client) -> None:
    body = {"aparty_numbers": [A1], "bparty_numbers": [B1], "aparty_pins": [4321]}
    created = client.post(f"{T}/greenpin", json=body).json()["response"]
    assert created["pin"] == "4321"
    assert created["virtual_number"] == DEFAULT_NUMBERS[0]
    pin_id = created["greenpin_id"]
    route = control(
        client,
        "GET",
        "leadassist/route",
        params={"caller": "+919000000001", "to": DEFAULT_NUMBERS[0], "pin": "4321"},
    )
    assert route["connect_to"] == B1
    for bad in (299, 14_688_001):
        assert client.post(f"{T}/greenpin", json=body | {"duration": bad}).status_code == 400
    bulk = client.put(f"{T}/greenpin", json={"greenpins": [{"greenpin_id": pin_id, "to": B2}]})
    assert bulk.json()["response"]["greenpins"][0]["bparty_numbers"] == [B2]
    assert client.put(f"{T}/greenpin/{pin_id}", json={"duration": 900}).status_code == 200
    assert client.delete(f"{T}/greenpin/{pin_id}").status_code == 200
    assert client.delete(f"{T}/greenpin/{pin_id}").status_code == 404


def test_auth_and_bad_input(sim_url: str, sim_config: SimConfig, client: httpx.Client) -> None:
    with httpx.Client(base_url=sim_url) as anonymous:
        assert anonymous.post(f"{T}/greenvn", json={}).status_code == 401
        wrong = httpx.BasicAuth(sim_config.account_sid, "nope")
        assert anonymous.post(f"{T}/greenvn", json={}, auth=wrong).status_code == 401
        sid_auth = httpx.BasicAuth(sim_config.account_sid, sim_config.api_token)
        missing = anonymous.post(f"{T}/greenvn", json={"aparty_numbers": [A1]}, auth=sid_auth)
        assert missing.status_code == 400
        assert missing.json()["message"] == "bparty_numbers is required"
    not_json = client.post(
        f"{T}/greenvn", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    other_tenant = greenvn(client, A1, B1).json()["response"]["greenvn_id"]
    assert client.get(f"/v1/tenants/t2/greenvn/{other_tenant}").status_code == 404
