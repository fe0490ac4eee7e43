"""Applet URLs that carry their own query (e.g. a ``?t=`` token) keep it: Exotel appends its
parameters to the URL the flow was configured with. And a flow call's status callback reports
its one leg's time as ``ConversationDuration``, as Call Details do.
"""

from __future__ import annotations

import time

import httpx

from tests.exosim.engine.conftest import connect, flow_url, put_flow, script
from tests.exosim.engine.support import Customer, Driver, Hit, Reply

CALLER = "09876543210"


def test_passthru_gather_and_greeting_urls_keep_their_query(
    client: httpx.Client, driver: Driver, customer: Customer
) -> None:
    start = customer.reply("/start", Reply(status=200))
    gather = customer.reply(
        "/gather", Reply.of_json({"gather_prompt": {"text": "Press 1"}, "max_input_digits": 1})
    )
    greeting = customer.reply("/greeting", Reply(text="Bye", content_type="text/plain"))
    put_flow(
        client,
        {
            "id": "with-token",
            "start": "a1",
            "applets": {
                "a1": {"type": "passthru", "url": f"{start}?t=s3cret", "next": "a2"},
                "a2": {"type": "gather", "url": f"{gather}?t=s3cret&x=1", "next": "a3"},
                "a3": {"type": "greeting", "url": f"{greeting}?t=s3cret", "next": "bye"},
                "bye": {"type": "hangup"},
            },
        },
    )
    script(client, CALLER, keys=[{"when_heard": "Press 1", "keys": "1"}])
    sid = connect(client, From=CALLER, Url=flow_url("with-token"))
    assert driver.finish(sid).status == "completed"
    (hit,) = customer.to("/start")
    assert hit.params["t"] == "s3cret"
    assert hit.params["CallSid"] == sid
    (hit,) = customer.to("/gather")
    assert (hit.params["t"], hit.params["x"], hit.params["CallSid"]) == ("s3cret", "1", sid)
    hits = customer.to("/greeting")
    assert [h.method for h in hits] == ["HEAD", "GET"]
    assert all(h.params["t"] == "s3cret" and h.params["CallSid"] == sid for h in hits)


def test_flow_call_callback_reports_the_single_legs_time(
    client: httpx.Client, driver: Driver, customer: Customer
) -> None:
    put_flow(
        client,
        {
            "id": "hello",
            "start": "a1",
            "applets": {
                "a1": {"type": "greeting", "text": "Hello, your order is on its way", "next": "a2"},
                "a2": {"type": "hangup"},
            },
        },
    )
    sid = connect(
        client,
        From=CALLER,
        Url=flow_url("hello"),
        StatusCallback=customer.url + "/status",
        StatusCallbackEvents="terminal",
    )
    assert driver.finish(sid).status == "completed"
    terminal = wait_for_hit(customer, "/status")
    fields = dict(terminal.form)
    assert int(fields["ConversationDuration"]) > 0
    assert fields["ConversationDuration"] == fields["Legs[0][OnCallDuration]"]
    details = client.get(f"/v1/Accounts/exosim/Calls/{sid}.json", params={"details": "true"})
    conversation = details.json()["Call"]["Details"]["ConversationDuration"]
    assert str(conversation) == fields["ConversationDuration"]


def wait_for_hit(customer: Customer, path: str) -> Hit:
    """The first request on ``path`` (status callbacks are sent after the call ends)."""
    deadline = time.monotonic() + 10
    while not customer.to(path):
        assert time.monotonic() < deadline, f"nothing arrived on {path}"
        time.sleep(0.02)
    return customer.to(path)[0]
