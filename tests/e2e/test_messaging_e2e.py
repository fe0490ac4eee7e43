"""Messaging end to end: SMS and WhatsApp queued in the service, sent to exosim by the worker,
delivery reports and replies coming back over real HTTP.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.messaging import repo, templates
from exocomms.messaging.service import queue_sms, queue_whatsapp
from exocomms.runtime import Runtime
from tests.e2e.conftest import Telephony
from tests.e2e.support import CALLER_ID, SMS_SENDER, TOKEN, VENDOR, wait_for

NEW_ORDER = {"store_name": "Krishna Kirana", "order_id": "12345", "amount": 325, "item_count": 3}
ESCALATION = "vendor_order_12345"
LANDLINE = "+911123456789"  # a Delhi fixed line: no WhatsApp


def _whatsapp(env: Telephony, to: str = VENDOR) -> str:
    async def queue(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_whatsapp(
            session,
            runtime,
            to=to,
            template="vendor_new_order.whatsapp",
            params=NEW_ORDER,
            purpose="vendor_new_order",
            order_id="12345",
            escalation_id=ESCALATION,
        )

    return env.service.in_transaction(queue)


def _message_when(env: Telephony, message_id: str, status: str) -> dict[str, Any]:
    async def read(session: AsyncSession, runtime: Runtime) -> dict[str, Any] | None:
        return await repo.get_message(session, message_id=message_id)

    def probe() -> dict[str, Any] | None:
        row = env.service.in_transaction(read)
        return row if row is not None and row["status"] == status else None

    return wait_for(probe, what=f"message {message_id} to be {status}")


def _sent_to(env: Telephony, number: str) -> list[dict[str, Any]]:
    return [
        m
        for m in env.sim.whatsapp()
        if m["direction"] == "outbound" and m["to_number"].endswith(number[-10:])
    ]


def _acknowledgements(env: Telephony) -> list[Any]:
    return env.service.published("party.acknowledged")


def test_whatsapp_accept_button_acknowledges_the_escalation(telephony: Telephony) -> None:
    env = telephony
    env.sim.control(
        "PATCH",
        "accounts/exosim",
        json={"whatsapp_url": f"{env.service.url}/exotel/callbacks/whatsapp?t={TOKEN}"},
    )
    message_id = _whatsapp(env)
    [sent] = wait_for(lambda: _sent_to(env, VENDOR), what="the WhatsApp message in exosim")
    template = sent["content"]["template"]
    assert template["name"] == "vendor_new_order"
    body = next(c for c in template["components"] if c["type"] == "body")
    assert [p["text"] for p in body["parameters"]] == ["Krishna Kirana", "12345", "325", "3"]
    row = _message_when(env, message_id, "read")  # delivery reports came back
    assert row["provider_sid"] == sent["sid"]
    # Delivery reports may overtake each other (Exotel and exosim send them concurrently);
    # the status only moves forward, so a late "delivered" after "read" changes nothing.
    statuses = [e.data["status"] for e in env.service.published("message.status")]
    assert statuses[0] == "sent"
    assert statuses[-1] == "read"
    assert statuses in (["sent", "delivered", "read"], ["sent", "read"])
    # The vendor taps "Accept": WhatsApp sends back that button's payload.
    buttons = [c for c in template["components"] if c["type"] == "button"]
    accept = buttons[0]["parameters"][0]["payload"]
    assert accept == f"ack:{message_id}:accept"
    env.sim.control(
        "POST",
        "whatsapp/incoming",
        json={"from": VENDOR, "to": CALLER_ID, "button_payload": accept, "button_text": "स्वीकार"},
    )
    [ack] = wait_for(lambda: _acknowledgements(env), what="party.acknowledged")
    assert ack.data["escalation_id"] == ESCALATION
    assert (ack.data["channel"], ack.data["button"]) == ("whatsapp", "accept")
    assert (ack.order_id, ack.party, ack.actor) == ("12345", "vendor", VENDOR)
    [reply] = env.service.published("message.reply")
    assert reply.data["message_id"] == message_id
    replied = _message_when(env, message_id, "read")
    assert replied["reply"] == "accept"
    [incoming] = [m for m in env.sim.whatsapp() if m["direction"] == "inbound"]
    assert [c["status_code"] for c in incoming["callbacks"]] == [200]


def test_scripted_text_reply_acknowledges_the_latest_message(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, whatsapp_reply={"after": 3, "text": "haan, le liya"})
    message_id = _whatsapp(env)
    [ack] = wait_for(lambda: _acknowledgements(env), what="party.acknowledged")
    assert ack.data["escalation_id"] == ESCALATION
    assert ack.data["message_id"] == message_id
    [reply] = env.service.published("message.reply")
    assert reply.data["text"] == "haan, le liya"


def test_whatsapp_to_a_landline_fails(telephony: Telephony) -> None:
    env = telephony
    message_id = _whatsapp(env, to=LANDLINE)
    row = _message_when(env, message_id, "failed")
    assert row["provider_sid"]
    statuses = [e.data["status"] for e in env.service.published("message.status")]
    assert statuses[-1] == "failed"


def test_sms_is_sent_with_its_dlt_template_and_delivered(telephony: Telephony) -> None:
    env = telephony

    async def queue(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_sms(
            session,
            runtime,
            to=VENDOR,
            template="vendor_new_order.sms",
            params=NEW_ORDER,
            purpose="vendor_new_order",
            language="en",
            order_id="12345",
        )

    message_id = env.service.in_transaction(queue)
    row = _message_when(env, message_id, "delivered")
    [sms] = [s for s in env.sim.sms() if s["sid"] == row["provider_sid"]]
    expected = "Krishna Kirana, new order 12345: Rs 325, 3 items. Please accept it in the app."
    assert sms["body"] == expected + templates.SIGNATURE
    assert (sms["from_number"], sms["status"]) == (SMS_SENDER, "sent")
    dlt_ids = env.service.settings.dlt_template_ids
    assert sms["dlt_template_id"] == dlt_ids["vendor_new_order.sms.en"]
    assert sms["callbacks"]
    assert {c["status_code"] for c in sms["callbacks"]} == {200}
