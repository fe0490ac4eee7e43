"""Two-number calls (Calls/connect with To): outcomes, StatusCallbacks, recordings."""

from __future__ import annotations

import io
import wave
from typing import Any

import httpx

from exosim.runtime import Sim
from tests.exosim.engine.conftest import connect, script
from tests.exosim.engine.support import Customer, Driver, assert_golden, wait_real

FROM, TO = "09876543210", "+919812345678"


def test_to_busy_sends_answered_never_and_terminal_busy_multipart(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, FROM, answer_after=2)
    script(client, TO, behaviour="busy")
    sid = connect(
        client,
        From=FROM,
        To=TO,
        StatusCallback=customer.url + "/status",
        **{"StatusCallbackEvents[0]": "terminal", "StatusCallbackEvents[1]": "answered"},
        CustomField="order-42",
    )
    call = driver.finish(sid)
    assert call.status == "busy"
    assert [leg.status for leg in call.legs] == ["completed", "busy"]
    wait_real(lambda: len(customer.to("/status")) == 1)
    (hit,) = customer.to("/status")
    assert hit.content_type.startswith("multipart/form-data")
    fields = dict(hit.form)
    assert fields["EventType"] == "terminal"
    assert fields["Status"] == "busy"
    assert fields["Legs[1][Status]"] == "busy"
    assert fields["RecordingUrl"] == ""
    assert fields["CustomField"] == "order-42"
    assert_golden("status_busy_multipart.txt", _form_text(hit.form))


def test_answered_before_terminal_json(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, FROM, answer_after=1)
    script(client, TO, answer_after=3, hangup_after=41)
    sid = connect(
        client,
        From=FROM,
        To=TO,
        StatusCallback=customer.url + "/status",
        StatusCallbackContentType="application/json",
        **{"StatusCallbackEvents[]": ["answered", "terminal"]},
    )
    call = driver.finish(sid)
    assert call.status == "completed"
    wait_real(lambda: len(customer.to("/status")) == 2)
    answered, terminal = (hit.json() for hit in customer.to("/status"))
    assert answered["EventType"] == "answered"
    assert terminal["EventType"] == "terminal"
    assert terminal["Status"] == "completed"
    assert terminal["ConversationDuration"] == 41
    assert terminal["Legs"] == [
        {"OnCallDuration": 44, "Status": "completed", "AnsweredBy": "NA"},
        {"OnCallDuration": 41, "Status": "completed", "AnsweredBy": "Human"},
    ]
    assert terminal["RecordingUrl"] is None
    assert call.duration == 45
    assert call.price == "1.000"
    assert_golden("status_answered.json", customer.to("/status")[0].body.decode())
    assert_golden("status_completed.json", customer.to("/status")[1].body.decode())


def test_no_events_sends_only_the_four_fields(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, TO, behaviour="switched_off")
    sid = connect(client, From=FROM, To=TO, StatusCallback=customer.url + "/status")
    call = driver.finish(sid)
    assert call.status == "failed"
    wait_real(lambda: len(customer.to("/status")) == 1)
    assert [k for k, _ in customer.to("/status")[0].form] == [
        "CallSid",
        "DateUpdated",
        "Status",
        "RecordingUrl",
    ]
    assert dict(customer.to("/status")[0].form)["Status"] == "failed"


def test_leg1_no_answer_after_timeout(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, FROM, behaviour="no_answer")
    sid = connect(
        client,
        From=FROM,
        To=TO,
        TimeOut="20",
        StatusCallback=customer.url + "/status",
        StatusCallbackEvents="terminal",
        StatusCallbackContentType="application/json",
    )
    call = driver.finish(sid)
    assert call.status == "no-answer"
    ringing = call.legs[0]
    assert ringing.started_at
    assert ringing.ended_at
    assert (ringing.ended_at - ringing.started_at).total_seconds() == 20
    wait_real(lambda: len(customer.to("/status")) == 1)
    body = customer.to("/status")[0].json()
    assert body["Status"] == "no-answer"
    assert body["Legs"] == [
        {"OnCallDuration": 0, "Status": "no-answer", "AnsweredBy": "NA"},
        {"OnCallDuration": 0, "Status": "canceled", "AnsweredBy": "NA"},
    ]
    assert not any(e.kind.startswith("leg2.") for e in call.events)
    assert_golden("status_no_answer.json", customer.to("/status")[0].body.decode())


def test_voicemail_answers_as_machine(client: httpx.Client, sim: Sim, driver: Driver) -> None:
    script(client, FROM, behaviour="voicemail", answer_after=4, hangup_after=10)
    sid = connect(client, From=FROM, To=TO)
    call = driver.finish(sid)
    assert call.answered_by == "Machine"
    assert call.legs[0].answered_by == "Machine"
    details = client.get(f"/v1/Accounts/exosim/Calls/{sid}.json").json()["Call"]
    assert details["AnsweredBy"] == "Machine"


def test_time_limit_cuts_the_call(client: httpx.Client, sim: Sim, driver: Driver) -> None:
    script(client, FROM, answer_after=1)
    script(client, TO, answer_after=1, hangup_after=600)
    sid = connect(client, From=FROM, To=TO, TimeLimit="60")
    call = driver.finish(sid)
    assert call.status == "completed"
    assert any(e.kind == "time_limit" for e in call.events)
    assert call.legs[0].on_call_duration == 60
    assert call.duration == 61


def test_recording_is_a_wav_served_over_http(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, FROM, answer_after=1)
    script(client, TO, answer_after=2, hangup_after=5)
    sid = connect(
        client,
        From=FROM,
        To=TO,
        Record="true",
        StatusCallback=customer.url + "/status",
        StatusCallbackContentType="application/json",
    )
    call = driver.finish(sid)
    wait_real(lambda: len(customer.to("/status")) == 1)
    url = customer.to("/status")[0].json()["RecordingUrl"]
    assert url == f"{sim.config.base_url}/_exosim/recordings/{sid}.wav"
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        assert wav.getnframes() == 5 * 8000  # the 5 s conversation
    assert call.recording_url == url
    missing = httpx.get(f"{sim.config.base_url}/_exosim/recordings/{'0' * 32}.wav")
    assert missing.status_code == 404


def _form_text(form: list[tuple[str, str]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in form) + "\n"


def test_ringing_answered_terminal_in_order(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, FROM, answer_after=2)
    script(client, TO, answer_after=5, hangup_after=30)
    sid = connect(
        client,
        From=FROM,
        To=TO,
        StatusCallback=customer.url + "/status",
        StatusCallbackContentType="application/json",
        StatusCallbackEvents="ringing,answered,terminal",
    )
    call = driver.finish(sid)
    queued = [e.data["event"] for e in call.events if e.kind == "status_callback"]
    assert queued == ["ringing", "ringing", "answered", "terminal"]
    wait_real(lambda: len(customer.to("/status")) == 4)
    bodies = sorted((hit.json() for hit in customer.to("/status")), key=_by_event)
    assert [(b["EventType"], b["Status"]) for b in bodies] == [
        ("ringing", "ringing"),
        ("ringing", "ringing"),
        ("answered", "in-progress"),
        ("terminal", "completed"),
    ]


def test_details_appear_after_the_configured_delay(
    client: httpx.Client, sim: Sim, driver: Driver
) -> None:
    assert client.patch("/_exosim/engine", json={"details_delay": 120}).status_code == 200
    assert client.patch("/_exosim/engine", json={"details_delay": -1}).status_code == 422
    script(client, TO, hangup_after=10)
    sid = connect(client, From=FROM, To=TO)
    call = sim.store.calls[sid]
    driver.run_until(lambda: call.terminal)
    assert not call.details_ready
    moved = driver.run_until(lambda: call.details_ready, step=10)
    assert moved >= 110


def _by_event(body: dict[str, Any]) -> tuple[int, str]:
    """Sort received callbacks by event (deliveries run concurrently, arrival may differ)."""
    return {"ringing": 0, "answered": 1, "terminal": 2}[body["EventType"]], body["DateUpdated"]
