"""``POST /_exosim/reset`` ends live calls; SMS applet messages are delivered like API SMS."""

from __future__ import annotations

import httpx

from exosim.runtime import Sim
from tests.exosim.engine.conftest import EXOPHONE, connect, put_flow, script
from tests.exosim.engine.support import Customer, Driver

FROM, TO = "09876543210", "09812345678"
CALLER = "09876543210"


def test_reset_stops_a_live_call_and_deletes_its_recording(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, TO, answer_after=1)  # no hang-up script: the callee talks 30 s
    sid = connect(client, From=FROM, To=TO, Record="true", StatusCallback=customer.url + "/status")
    call = sim.store.calls[sid]
    driver.run_until(lambda: len(call.legs) == 2 and call.legs[1].answered_at is not None)
    assert client.get("/_exosim/engine").json()["live_calls"] == [sid]
    recording = client.get(f"/_exosim/recordings/{sid}.wav")
    assert recording.status_code == 409  # live: the recording is still being written
    wav = sim.engine.recording_path(sid)
    assert wav.exists()

    assert client.post("/_exosim/reset").json() == {"status": "reset"}

    assert client.get("/_exosim/engine").json()["live_calls"] == []
    assert call.status == "completed"  # ended by the reset, not left running
    assert not wav.exists()
    assert client.get(f"/_exosim/recordings/{sid}.wav").status_code == 404
    assert client.get(f"/_exosim/calls/{sid}").status_code == 404
    driver.advance(120)  # the 30 s talk would have ended by now: no terminal callback
    assert customer.to("/status") == []
    assert client.get("/_exosim/calls").json() == []


def test_engine_runs_new_calls_after_a_reset(
    client: httpx.Client, sim: Sim, driver: Driver
) -> None:
    script(client, TO, hangup_after=5)
    connect(client, From=FROM, To=TO)
    client.post("/_exosim/reset").raise_for_status()
    client.post("/_exosim/clock", json={"mode": "manual"}).raise_for_status()
    script(client, TO, hangup_after=5)
    call = driver.finish(connect(client, From=FROM, To=TO, Record="true"))
    assert call.status == "completed"
    assert call.legs[1].on_call_duration == 5
    wav = client.get(f"/_exosim/recordings/{call.sid}.wav")
    assert wav.status_code == 200
    assert wav.content[:4] == b"RIFF"


def _sms_flow(client: httpx.Client) -> None:
    put_flow(
        client,
        {
            "id": "thanks",
            "start": "t",
            "applets": {
                "t": {"type": "sms", "text": "Thanks for calling Sharma Stores", "next": "g"},
                "g": {"type": "greeting", "text": "Goodbye"},
            },
        },
    )
    assigned = client.post("/_exosim/flows/thanks/assign", json={"exophone": EXOPHONE})
    assert assigned.status_code == 200, assigned.text


def test_applet_sms_progresses_to_sent_on_the_clock(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    _sms_flow(client)
    placed = client.post(f"/_exosim/phones/{CALLER}/call", json={"to": EXOPHONE})
    assert placed.status_code == 201, placed.text
    driver.run_until(lambda: bool(sim.store.sms), step=0.25)
    (message,) = sim.store.sms.values()
    detail = client.get(f"/v1/Accounts/exosim/SMS/Messages/{message.sid}.json").json()
    sms = detail["SMSMessage"]
    assert (sms["Status"], sms["DetailedStatusCode"], sms["DateSent"]) == ("queued", 21010, None)
    assert sms["To"] == CALLER
    assert sms["From"] == EXOPHONE
    assert sms["Body"] == "Thanks for calling Sharma Stores"
    assert sms["Direction"] == "outbound-call"

    driver.run_until(lambda: message.status == "sent")
    sms = client.get(f"/v1/Accounts/exosim/SMS/Messages/{message.sid}.json").json()["SMSMessage"]
    assert (sms["Status"], sms["DetailedStatus"], sms["DetailedStatusCode"]) == (
        "sent",
        "DELIVERED_TO_HANDSET",
        20005,
    )
    assert sms["DateSent"] is not None
    assert sms["Price"] == "0.200"
    assert [event.kind for event in message.events] == ["sms.queued", "sms.submitted", "sms.sent"]
    assert message.callbacks == []  # an applet SMS has no StatusCallback


def test_applet_sms_to_a_landline_fails(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    _sms_flow(client)
    landline = "02212345678"  # Mumbai landline
    placed = client.post(f"/_exosim/phones/{landline}/call", json={"to": EXOPHONE})
    assert placed.status_code == 201, placed.text
    driver.run_until(lambda: bool(sim.store.sms), step=0.25)
    (message,) = sim.store.sms.values()
    driver.run_until(lambda: message.status in ("failed", "sent"))
    sms = client.get(f"/v1/Accounts/exosim/SMS/Messages/{message.sid}.json").json()["SMSMessage"]
    assert (sms["Status"], sms["DetailedStatusCode"], sms["Price"]) == ("failed", 23010, "0.000")
