"""ExoML: the typed builder, escaping, deterministic output, and rendering of call flows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from exocomms.ivr import engine, flows
from exocomms.ivr.model import Digits
from exocomms.telephony import callflow as cf
from exocomms.telephony.exotel import exoml
from tests.golden.telephony import assert_golden

IVR = flows.get("vendor_order")
CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": 12345,
    "amount": 325,
    "items": [{"name": "Butter Chicken", "quantity": 1}, {"name": "Naan", "quantity": 2}],
}
ACTION = "https://comms.example.in/exotel/exoml/vendor_order/input?t=TOKEN&call=42"
LANGS = ["hi", "en", "mr"]


@pytest.mark.parametrize("lang", LANGS)
def test_vendor_menu_and_confirmation_golden(lang: str) -> None:
    first = engine.start(IVR, CONTEXT, lang)
    menu = exoml.from_callflow(first.prompt, action_url=ACTION).render()
    assert_golden(f"exoml/vendor_order_menu_{lang}.xml", menu)
    rejected = engine.step(IVR, engine.step(IVR, first.state, Digits("2")).state, Digits("3"))
    bye = exoml.from_callflow(rejected.prompt, action_url=ACTION).render()
    assert_golden(f"exoml/vendor_order_rejected_{lang}.xml", bye)
    # Same words as the applet channel: renderers only translate.
    root = ET.fromstring(menu.encode())  # noqa: S314 - parses our own output, not untrusted input
    said = " ".join(s.text or "" for s in root.iter("Say"))
    assert said == first.prompt.spoken_text()


def test_escaping_of_text_and_attributes_golden() -> None:
    nasty = 'Tom & Jerry\'s <Dhaba> "24x7" दुकान'
    doc = exoml.Response(
        (
            exoml.Say(nasty, voice='fe"male', language="hi-IN"),
            exoml.Play("https://cdn.example.in/a.wav?x=1&y=<2>"),
            exoml.Redirect("https://comms.example.in/next?a=1&b='2'", method="GET"),
            exoml.Say("bell\x07 and nul\x00 and tab\tend"),
            exoml.Gather(action="https://comms.example.in/g?a=1\n2", num_digits=1),
        )
    )
    xml = doc.render()
    assert_golden("exoml/escaping.xml", xml)
    root = ET.fromstring(doc.to_bytes())  # noqa: S314 - parses our own output, not untrusted input
    assert root[0].text == nasty
    assert root[0].get("voice") == 'fe"male'
    assert root[1].text == "https://cdn.example.in/a.wav?x=1&y=<2>"
    assert root[3].text == "bell and nul and tab\tend"  # XML 1.0 forbids the control chars
    assert root[4].get("action") == "https://comms.example.in/g?a=1\n2"


def test_every_verb_with_fixed_attribute_order_golden() -> None:
    doc = exoml.Response(
        (
            exoml.Say("Hello", voice="female", language="en-IN", loop=2),
            exoml.Play("https://cdn.example.in/hold.mp3", loop=1, digits="ww1"),
            exoml.Gather(
                (exoml.Say("Press 1"), exoml.Play("https://cdn.example.in/beep.wav")),
                action="https://comms.example.in/g",
                method="POST",
                timeout=5,
                finish_on_key="#",
                num_digits=1,
            ),
            exoml.Dial(
                (
                    exoml.Number(
                        "+919800000001",
                        send_digits="1",
                        url="https://comms.example.in/w",
                        method="GET",
                        status_callback_event="answered",
                        status_callback="https://comms.example.in/s",
                        status_callback_method="POST",
                    ),
                ),
                action="https://comms.example.in/d",
                method="POST",
                timeout=30,
                hangup_on_star=False,
                time_limit=600,
                caller_id="+918047000000",
                record=True,
            ),
            exoml.Record(
                action="https://comms.example.in/r",
                method="POST",
                timeout=5,
                finish_on_key="#",
                max_length=60,
                transcribe=False,
                transcribe_callback="https://comms.example.in/t",
                play_beep=True,
                trim="trim-silence",
            ),
            exoml.Redirect("https://comms.example.in/next", method="POST"),
            exoml.Hangup(),
        )
    )
    assert_golden("exoml/all_verbs.xml", doc.render())
    assert doc.render() == doc.render()  # deterministic


def test_from_callflow_retries_record_connect_and_pause() -> None:
    flow = cf.CallFlow(
        (
            cf.Say("Hi", cf.Language.EN, voice="female"),
            cf.Pause(2),
            cf.Gather((cf.Say("Press 1", cf.Language.EN),), retries=2, finish_on_key=""),
            cf.Record(max_seconds=30, play_beep=False),
            cf.Connect(
                ("+919800000001",),
                caller_id="+918047000000",
                record=True,
                time_limit_seconds=300,
                announce=cf.Say("x"),
            ),
            cf.Hangup(),
        )
    )
    doc = exoml.from_callflow(flow, action_url="https://comms.example.in/a", method="GET")
    tags = [v.__class__.__name__ for v in doc.verbs]
    assert tags == ["Say", "Gather", "Gather", "Gather", "Redirect", "Record", "Dial", "Hangup"]
    xml = doc.render()
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say voice="female"')
    assert (
        '<Gather action="https://comms.example.in/a" method="GET" timeout="6" numDigits="1">' in xml
    )
    record = (
        '<Record action="https://comms.example.in/a" method="GET" finishOnKey="#"'
        ' maxLength="30" playBeep="false"/>'
    )
    assert record in xml
    assert (
        'timeLimit="300" callerId="+918047000000" record="true"><Number>+919800000001</Number>'
        in xml
    )
    ET.fromstring(xml.encode())  # noqa: S314 - parses our own output, not untrusted input
