"""Legacy ExoML run from a flow applet: Say, Gather with action, Dial, Record, errors."""

from __future__ import annotations

import httpx

from exosim.runtime import Sim
from tests.exosim.engine.conftest import connect, flow_url, put_flow, script
from tests.exosim.engine.support import Customer, Driver, Reply

CALLER = "09876543210"
XML = "application/xml"


def _exoml_flow(client: httpx.Client, url: str, flow_id: str = "legacy") -> None:
    put_flow(
        client,
        {
            "id": flow_id,
            "start": "x",
            "applets": {
                "x": {"type": "exoml", "url": url, "next": "bye"},
                "bye": {"type": "hangup"},
            },
        },
    )


def test_say_and_gather_posts_digits_to_action(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    action = customer.url + "/action"
    start = customer.reply(
        "/start",
        Reply(
            text=(
                "<Response><Say>Welcome to Sharma Stores</Say>"
                f'<Gather action="{action}" numDigits="1" timeout="5">'
                "<Say>Press 1 for English</Say></Gather>"
                "<Say>We did not get your choice</Say></Response>"
            ),
            content_type=XML,
        ),
    )
    customer.reply(
        "/action", Reply(text="<Response><Say>Thanks</Say><Hangup/></Response>", content_type=XML)
    )
    _exoml_flow(client, start)
    script(client, CALLER, keys=[{"when_heard": "english", "keys": "1"}])
    sid = connect(client, From=CALLER, Url=flow_url("legacy"))
    call = driver.finish(sid)
    assert call.status == "completed"
    (fetch,) = customer.to("/start")
    assert fetch.method == "GET"
    assert fetch.params["CallSid"] == sid
    (posted,) = customer.to("/action")
    assert posted.method == "POST"
    form = dict(posted.form)
    assert form["Digits"] == "1"
    assert form["CallSid"] == sid
    said = [e.data["text"] for e in call.events if e.kind == "tts"]
    assert said == ["Welcome to Sharma Stores", "Press 1 for English", "Thanks"]


def test_dial_and_record_report_to_their_actions(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    dialled = customer.url + "/dialled"
    recorded = customer.url + "/recorded"
    start = customer.reply(
        "/start",
        Reply(
            text=(
                f'<Response><Dial action="{dialled}" timeout="10">'
                "<Number>09800000005</Number></Dial></Response>"
            ),
            content_type=XML,
        ),
    )
    customer.reply(
        "/dialled",
        Reply(
            text=f'<Response><Record action="{recorded}" maxLength="30"/></Response>',
            content_type=XML,
        ),
    )
    customer.reply("/recorded", Reply(text="<Response/>", content_type=XML))
    _exoml_flow(client, start)
    script(client, "09800000005", behaviour="busy")
    script(client, CALLER, message_seconds=7)
    sid = connect(client, From=CALLER, Url=flow_url("legacy"))
    call = driver.finish(sid)
    assert dict(customer.to("/dialled")[0].form)["DialCallStatus"] == "busy"
    form = dict(customer.to("/recorded")[0].form)
    assert form["RecordingUrl"] == call.recording_url
    assert form["RecordingDuration"] == "7"


def test_malformed_xml_hangs_up_gracefully(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    start = customer.reply("/start", Reply(text="<Response><Say>oops</Response", content_type=XML))
    _exoml_flow(client, start)
    sid = connect(client, From=CALLER, Url=flow_url("legacy"))
    call = driver.finish(sid)
    assert call.status == "completed"
    (error,) = [e for e in call.events if e.kind == "exoml.error"]
    assert "malformed XML" in error.data["reason"]
    assert not any(e.kind == "tts" for e in call.events)
    # The engine still runs calls afterwards.
    again = connect(client, From=CALLER, Url=flow_url("legacy"))
    assert driver.finish(again).status == "completed"


def test_entities_and_unknown_verbs_are_refused(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    bomb = '<!DOCTYPE r [<!ENTITY a "aaaa">]><Response><Say>&a;</Say></Response>'
    start = customer.reply("/start", Reply(text=bomb, content_type=XML))
    _exoml_flow(client, start)
    call = driver.finish(connect(client, From=CALLER, Url=flow_url("legacy")))
    assert [e.data["reason"] for e in call.events if e.kind == "exoml.error"] == [
        "DTDs and entities are not allowed"
    ]
    customer.reply("/start", Reply(text="<Response><Dance/></Response>", content_type=XML))
    call = driver.finish(connect(client, From=CALLER, Url=flow_url("legacy")))
    assert [e.data["reason"] for e in call.events if e.kind == "exoml.error"] == [
        "unknown verb <Dance>"
    ]


def test_relative_redirect_and_play(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    start = customer.reply(
        "/start", Reply(text='<Response><Redirect method="GET">next</Redirect></Response>')
    )
    audio = "http://203.0.113.9/menu.wav"
    customer.reply("/next", Reply(text=f'<Response><Play loop="2">{audio}</Play></Response>'))
    _exoml_flow(client, start)
    call = driver.finish(connect(client, From=CALLER, Url=flow_url("legacy")))
    (redirected,) = customer.to("/next")
    assert redirected.method == "GET"
    assert [e.data["url"] for e in call.events if e.kind == "audio"] == [audio, audio]
    transcript = client.get(f"/_exosim/phones/{CALLER}/transcript").json()["transcript"]
    assert [t["text"] for t in transcript if t["kind"] == "heard_audio"] == [audio, audio]


def test_dial_number_send_digits_reaches_the_callee(
    client: httpx.Client, sim: Sim, driver: Driver, customer: Customer
) -> None:
    start = customer.reply(
        "/start",
        Reply(
            text=(
                '<Response><Dial timeLimit="20"><Number sendDigits="12w3">09800000006</Number>'
                "</Dial></Response>"
            )
        ),
    )
    _exoml_flow(client, start)
    script(client, "09800000006", answer_after=2)
    call = driver.finish(connect(client, From=CALLER, Url=flow_url("legacy")))
    assert [e.data["digits"] for e in call.events if e.kind == "dtmf.sent"] == ["12w3"]
    assert call.legs[1].on_call_duration == 20
    bad = customer.reply("/bad", Reply(text="<Response><Dial><Say>x</Say></Dial></Response>"))
    _exoml_flow(client, bad, "bad")
    call = driver.finish(connect(client, From=CALLER, Url=flow_url("bad")))
    assert [e.data["reason"] for e in call.events if e.kind == "exoml.error"] == [
        "<Say> cannot be nested in <Dial>"
    ]
