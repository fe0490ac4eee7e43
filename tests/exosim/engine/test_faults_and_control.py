"""Callback faults seen by the receiver, and the flows/phones control API's validation."""

from __future__ import annotations

import httpx
import pytest

from exosim.runtime import Sim
from tests.exosim.engine.conftest import EXOPHONE, connect, script
from tests.exosim.engine.support import Customer, Driver, wait_real

FROM, TO = "09876543210", "09812345678"


def _fault(client: httpx.Client, kind: str, **extra: object) -> None:
    body = {"target": "callback", "kind": kind, "endpoint": "status", "remaining": 1, **extra}
    response = client.post("/_exosim/faults", json=body)
    assert response.status_code == 201, response.text


def _call(client: httpx.Client, customer: Customer) -> str:
    script(client, TO, hangup_after=5)
    return connect(client, From=FROM, To=TO, StatusCallback=customer.url + "/status")


def test_lost_callback_never_arrives(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    _fault(client, "lost")
    call = driver.finish(_call(client, customer))
    wait_real(lambda: len(call.callbacks) == 1)
    assert call.callbacks[0].fault == "lost"
    assert call.callbacks[0].status_code is None
    second = driver.finish(_call(client, customer))  # the fault was used up
    wait_real(lambda: len(customer.to("/status")) == 1)
    assert dict(customer.to("/status")[0].form)["CallSid"] == second.sid


def test_duplicated_callback_arrives_twice(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    _fault(client, "duplicated")
    call = driver.finish(_call(client, customer))
    wait_real(lambda: len(customer.to("/status")) == 2)
    first, second = customer.to("/status")
    assert first.form == second.form
    assert dict(first.form)["CallSid"] == call.sid


def test_delayed_callback_arrives_after_the_delay(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    _fault(client, "delayed", delay_seconds=120)
    call = driver.finish(_call(client, customer))
    driver.advance(60)
    assert customer.to("/status") == []
    driver.run_until(lambda: len(customer.to("/status")) == 1, step=10)
    assert dict(customer.to("/status")[0].form)["Status"] == call.status == "completed"


def test_applet_request_faults_apply_to_passthru(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    url = customer.url + "/p"
    flow = {
        "id": "f",
        "start": "p",
        "applets": {
            "p": {"type": "passthru", "url": url, "next": "ok", "on_error": "err"},
            "ok": {"type": "greeting", "text": "ok"},
            "err": {"type": "greeting", "text": "error branch"},
        },
    }
    assert client.post("/_exosim/flows", json=flow).status_code == 201
    client.post(
        "/_exosim/faults",
        json={"target": "callback", "kind": "lost", "endpoint": "applet", "remaining": 1},
    ).raise_for_status()
    call = driver.finish(
        connect(client, From=FROM, Url="http://my.exotel.com/exosim/exoml/start_voice/f")
    )
    assert customer.to("/p") == []
    assert [e.data["text"] for e in call.events if e.kind == "tts"] == ["error branch"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"start": "a", "applets": {}}, "applets"),
        ({"start": "zz", "applets": {"a": {"type": "hangup"}}}, "start applet 'zz'"),
        ({"start": "a", "applets": {"a": {"type": "hangup", "next": "b"}}}, "unknown applet 'b'"),
        ({"start": "a", "applets": {"a": {"type": "teleport"}}}, "type"),
        ({"start": "a", "applets": {"a": {"type": "passthru", "url": "ftp://x"}}}, "url"),
        ({"start": "a", "applets": {"a": {"type": "greeting"}}}, "exactly one"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_flows_get_400(client: httpx.Client, body: object, message: str) -> None:
    response = client.post("/_exosim/flows", json=body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_flow_crud(client: httpx.Client) -> None:
    flow = {"id": "f1", "start": "a", "applets": {"a": {"type": "hangup"}}}
    assert client.post("/_exosim/flows", json=flow).status_code == 201
    assert client.post("/_exosim/flows", json=flow).status_code == 409
    assert client.get("/_exosim/flows/f1").json()["applets"] == {"a": {"type": "hangup"}}
    assert client.put("/_exosim/flows/f1", json={**flow, "name": "x"}).json()["name"] == "x"
    assert client.put("/_exosim/flows/f1", json={**flow, "id": "other"}).status_code == 400
    assert [f["id"] for f in client.get("/_exosim/flows").json()["flows"]] == ["f1"]
    assert client.delete("/_exosim/flows/f1").status_code == 204
    assert client.get("/_exosim/flows/f1").status_code == 404
    assert client.post("/_exosim/flows", content=b"{nope").status_code == 400


def test_phone_control_validation(client: httpx.Client) -> None:
    assert client.put("/_exosim/phones/12ab", json={}).status_code == 400
    bad_keys = {"keys": [{"keys": "1"}]}
    response = client.put(f"/_exosim/phones/{FROM}", json=bad_keys)
    assert response.status_code == 400
    assert "exactly one of 'at' or 'when_heard'" in response.text
    assert client.put(f"/_exosim/phones/{FROM}", json={"behaviour": "dance"}).status_code == 400
    assert client.put(f"/_exosim/phones/{FROM}", json={"answer_after": -1}).status_code == 400
    regex = {"keys": [{"when_heard": "(", "keys": "1"}]}
    assert client.put(f"/_exosim/phones/{FROM}", json=regex).status_code == 400
    assert client.get("/_exosim/phones/09000000000").status_code == 404
    # 0-prefixed, bare 10-digit and E.164 spellings are one phone.
    reply = {"whatsapp_reply": {"after": 2, "text": "yes"}}
    assert client.put("/_exosim/phones/9876543210", json=reply).status_code == 200
    phone = client.get("/_exosim/phones/+919876543210").json()
    assert phone["number"] == "+919876543210"
    assert phone["script"]["whatsapp_reply"] == {
        "after": 2.0,
        "text": "yes",
        "button_payload": None,
        "button_text": None,
    }
    call = client.post(f"/_exosim/phones/{FROM}/call", json={"to": "09111111111"})
    assert call.status_code == 404
    assert client.post(f"/_exosim/phones/{FROM}/call", json={"too": 1}).status_code == 400
    assert client.post(f"/_exosim/calls/{'0' * 32}/hangup").status_code == 404


def test_whatsapp_reply_attribute_for_the_rest_layer(client: httpx.Client, sim: Sim) -> None:
    client.put(
        f"/_exosim/phones/{FROM}", json={"whatsapp_reply": {"after": 1, "button_payload": "YES"}}
    ).raise_for_status()
    reply = getattr(sim.store.phones["+919876543210"], "whatsapp_reply", None)
    assert reply is not None
    assert reply.button_payload == "YES"
    assert reply.after == 1


def test_scenario_yaml_loads_phones_flows_and_exophones(
    client: httpx.Client, sim: Sim, driver: Driver
) -> None:
    scenario = f"""
phones:
  "{FROM}": {{answer_after: 2, hangup_after: 9}}
  "+919800000009": {{behaviour: busy}}
flows:
  - id: hello
    start: g
    applets:
      g: {{type: greeting, text: Hello from the scenario}}
exophones:
  "{EXOPHONE}": hello
"""
    response = client.post("/_exosim/phones/scenario", content=scenario.encode())
    assert response.status_code == 200, response.text
    assert response.json()["loaded"] == {"phones": 2, "flows": 1, "exophones": 1}
    assert client.get("/_exosim/phones/09800000009").json()["script"]["behaviour"] == "busy"
    placed = client.post(f"/_exosim/phones/{FROM}/call", json={"to": EXOPHONE})
    call = driver.finish(placed.json()["call_sid"])
    assert [e.data["text"] for e in call.events if e.kind == "tts"] == ["Hello from the scenario"]

    bad = client.post("/_exosim/phones/scenario", content=b"exophones: {'0804': nope}")
    assert bad.status_code == 400
    assert client.post("/_exosim/phones/scenario", content=b"- a\n- b").status_code == 400
    assert client.post("/_exosim/phones/scenario", content=b"phones: [").status_code == 400
