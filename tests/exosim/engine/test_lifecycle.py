"""Call lifecycle edges: hang-ups while ringing, parallel ringing, control hang-up, WAV content."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from exosim.engine.recording import RATE, Recorder
from exosim.runtime import Sim
from tests.exosim.engine.conftest import connect, flow_url, put_flow, script
from tests.exosim.engine.support import Customer, Driver, wait_real

FROM, TO = "09876543210", "09812345678"


def test_caller_hangs_up_while_to_rings_cancels_leg2(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    script(client, FROM, answer_after=1, hangup_after=5)
    script(client, TO, behaviour="no_answer")
    sid = connect(
        client,
        From=FROM,
        To=TO,
        StatusCallback=customer.url + "/s",
        StatusCallbackEvents="terminal",
        StatusCallbackContentType="application/json",
    )
    call = driver.finish(sid)
    assert [leg.status for leg in call.legs] == ["completed", "canceled"]
    assert call.status == "completed"
    wait_real(lambda: len(customer.to("/s")) == 1)
    legs = customer.to("/s")[0].json()["Legs"]
    assert legs[1] == {"OnCallDuration": 0, "Status": "canceled", "AnsweredBy": "NA"}
    transcript = client.get(f"/_exosim/phones/{TO}/transcript").json()["transcript"]
    assert [entry["kind"] for entry in transcript] == ["ringing", "missed"]


def test_start_playback_is_heard_by_the_callee(
    client: httpx.Client, sim: Sim, driver: Driver
) -> None:
    script(client, TO, hangup_after=10)
    playback = "http://203.0.113.7/masked-call-notice.wav"
    sid = connect(client, From=FROM, To=TO, StartPlaybackValueNew=playback)
    driver.finish(sid)
    heard = client.get(f"/_exosim/phones/{TO}").json()["transcript"]
    assert {"kind": "heard_audio", "text": playback} == {
        k: v for k, v in heard[2].items() if k in ("kind", "text")
    }
    caller = client.get(f"/_exosim/phones/{FROM}/transcript").json()["transcript"]
    assert not any(entry["kind"] == "heard_audio" for entry in caller)


def test_parallel_ringing_first_answer_wins(client: httpx.Client, sim: Sim, driver: Driver) -> None:
    put_flow(
        client,
        {
            "id": "riders",
            "start": "c",
            "applets": {
                "c": {
                    "type": "connect",
                    "numbers": ["09800000011", "09800000012", "09800000013"],
                    "parallel": True,
                    "max_conversation_duration": 15,
                }
            },
        },
    )
    script(client, "09800000011", answer_after=8)
    script(client, "09800000012", answer_after=3)
    script(client, "09800000013", behaviour="busy")
    call = driver.finish(connect(client, From=FROM, Url=flow_url("riders")))
    assert [(leg.number[-2:], leg.status) for leg in call.legs[1:]] == [
        ("11", "canceled"),
        ("12", "completed"),
        ("13", "busy"),
    ]
    assert call.legs[2].on_call_duration == 15
    assert call.to_number == "+919800000012"


def test_control_hangup_ends_a_live_call(client: httpx.Client, sim: Sim, driver: Driver) -> None:
    put_flow(
        client,
        {
            "id": "long",
            "start": "g",
            "applets": {"g": {"type": "greeting", "text": " ".join(["word"] * 300)}},
        },
    )
    sid = connect(client, From=FROM, Url=flow_url("long"))
    driver.run_until(lambda: any(e.kind == "tts" for e in sim.store.calls[sid].events))
    response = client.post(f"/_exosim/calls/{sid}/hangup")
    assert response.status_code == 200
    call = driver.finish(sid)
    assert call.status == "completed"
    assert call.duration is not None
    assert call.duration < 120
    assert client.post(f"/_exosim/calls/{sid}/hangup").status_code == 409


def test_unanswered_call_costs_nothing_and_shows_details(
    client: httpx.Client, sim: Sim, driver: Driver
) -> None:
    script(client, FROM, behaviour="busy")
    sid = connect(client, From=FROM, To=TO)
    call = driver.finish(sid)
    assert call.price == "0.000"
    assert call.duration == 1
    details = client.get(f"/v1/Accounts/exosim/Calls/{sid}.json").json()["Call"]
    assert details["Status"] == "busy"


def test_recorder_writes_speech_dtmf_and_silence(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    recorder = Recorder(tmp_path / "r.wav", start)
    recorder.speech(start + timedelta(seconds=1), 0.5)
    recorder.dtmf(start + timedelta(seconds=2), "5")
    recorder.close(start + timedelta(seconds=3))
    recorder.close(start + timedelta(seconds=9))  # idempotent
    with wave.open(str(tmp_path / "r.wav")) as wav:
        frames = wav.readframes(wav.getnframes())
        assert wav.getnframes() == 3 * RATE
    samples = memoryview(frames).cast("h")
    assert not any(samples[: RATE - 1])  # first second silent
    assert any(samples[RATE : RATE + RATE // 2])  # speech
    assert any(samples[2 * RATE : 2 * RATE + RATE // 10])  # the DTMF tone
    assert not any(samples[2 * RATE + RATE // 10 :])
    assert io.BytesIO(frames).getbuffer().nbytes == 2 * 3 * RATE


def test_per_call_behaviour_ignore_first_call_accept_second(
    client: httpx.Client, sim: Sim, driver: Driver
) -> None:
    script(
        client,
        TO,
        answer_after=2,
        hangup_after=12,
        calls=[{"behaviour": "no_answer"}, {"answer_after": 6}],
    )
    first = driver.finish(connect(client, From=FROM, To=TO, TimeOut="20"))
    second = driver.finish(connect(client, From=FROM, To=TO, TimeOut="20"))
    third = driver.finish(connect(client, From=FROM, To=TO, TimeOut="20"))
    assert [c.status for c in (first, second, third)] == ["no-answer", "completed", "completed"]
    assert second.legs[1].on_call_duration == 12
    assert third.legs[1].on_call_duration == 12
    phone = client.get(f"/_exosim/phones/{TO}").json()
    assert phone["calls_taken"] == 3
    assert [t["kind"] for t in phone["transcript"]].count("call_ended") == 2


def test_voicemail_applet_records_and_reports(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    after = customer.url + "/after"
    put_flow(
        client,
        {
            "id": "vm",
            "start": "v",
            "applets": {
                "v": {"type": "voicemail", "max_length": 20, "next": "p"},
                "p": {"type": "passthru", "url": after},
            },
        },
    )
    script(client, FROM, message_seconds=8)
    call = driver.finish(connect(client, From=FROM, Url=flow_url("vm")))
    params = customer.to("/after")[0].params
    assert params["CallType"] == "voicemail"
    assert params["RecordingUrl"] == call.recording_url
    assert call.recording_url is not None
    with wave.open(io.BytesIO(httpx.get(call.recording_url).content)) as wav:
        assert wav.getnframes() >= 8 * RATE


def test_wait_url_is_heard_while_to_rings(client: httpx.Client, sim: Sim, driver: Driver) -> None:
    script(client, TO, answer_after=7, hangup_after=10)
    music = "http://203.0.113.8/hold.wav"
    call = driver.finish(connect(client, From=FROM, To=TO, WaitUrl=music))
    heard = client.get(f"/_exosim/phones/{FROM}/transcript").json()["transcript"]
    assert [t["text"] for t in heard if t["kind"] == "heard_audio"] == [music, music]
    assert call.status == "completed"


def test_runs_on_a_scaled_clock_too(client: httpx.Client, sim: Sim) -> None:
    client.post("/_exosim/clock", json={"scale": 1000}).raise_for_status()
    script(client, TO, answer_after=2, hangup_after=30)
    sid = connect(client, From=FROM, To=TO)
    call = sim.store.calls[sid]
    wait_real(lambda: call.terminal and call.details_ready)
    assert call.status == "completed"
    assert call.legs[1].status == "completed"
    assert call.legs[1].on_call_duration >= 30
