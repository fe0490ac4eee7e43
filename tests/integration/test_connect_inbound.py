"""Inbound calls: the caller is identified on the (sample) commerce backend and hears their
IVR; vendors accept by key, customers are connected (masked) to their rider."""

from __future__ import annotations

from pathlib import Path

from exocomms.escalation import service as escalation
from exocomms.masking import service as masking
from exocomms.storage.db import Database
from tests.integration.test_connect_support import (
    CUSTOMER,
    RIDER,
    STORE,
    Env,
    applet,
    connect_env,
)
from tests.integration.test_ivr_support import capture

MAIN = "+918047112233"  # the number inbound callers dial (the default caller id)


async def _menu(env: Env, q: dict[str, str]) -> str:
    return str((await env.get("/exotel/applets/inbound/menu", **q)).json()["gather_prompt"]["text"])


async def test_a_vendor_hears_pending_orders_and_accepts_by_key(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        accepted = capture(env.runtime, "vendor.accepted")
        async with env.runtime.db.transaction() as session:
            esc_id = await escalation.start_escalation(
                session,
                env.runtime,
                event_type="vendor_new_order",
                order_id="12345",
                phone=STORE,
                party_id="67",
                name="Krishna Kirana",
                language="en",
                context={"amount": 325, "items": [{"name": "Naan", "quantity": 2}]},
            )
        q = applet("v1", STORE, MAIN)
        assert (await env.get("/exotel/applets/inbound/answer", **q)).status_code == 200
        text = await _menu(env, q)
        assert "You have 1 pending orders" in text  # the ladder's language (en)
        assert "12345" in text
        assert (await env.get("/exotel/applets/inbound/keys", **q, digits='"1"')).status_code == 200
        q2 = q | {"CurrentTime": "2026-01-05 10:00:09"}
        assert (
            await env.get("/exotel/applets/inbound/keys", **q2, digits='"3"')
        ).status_code == 302
        assert "accepted" in (await env.get("/exotel/applets/inbound/say", **q)).text
        assert (await env.get("/exotel/applets/inbound/next", **q)).status_code == 302
        await env.get("/exotel/applets/inbound/done", **q)
        [event] = accepted
        assert (event.order_id, event.data["prep_minutes"]) == ("12345", 30)
        row = await env.row("v1")
        assert (row["status"], row["outcome"], row["escalation_id"]) == (
            "completed",
            "accepted",
            esc_id,
        )


async def test_a_customer_hears_the_status_and_talks_to_the_rider_masked(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        request = masking.new_session(
            env.runtime, order_id="12345", party_a=CUSTOMER, party_b=RIDER
        )
        vn = (await masking.create_session(env.runtime, request)).virtual_number
        q = applet("c1", CUSTOMER, MAIN)
        assert (await env.get("/exotel/applets/inbound/answer", **q)).status_code == 200
        text = await _menu(env, q)  # Priya's language is Marathi; order 12345 is "placed"
        assert "12345" in text
        assert "दुकानाला पाठवली" in text
        assert (await env.get("/exotel/applets/inbound/keys", **q, digits='"1"')).status_code == 302
        assert (await env.get("/exotel/applets/inbound/next", **q)).status_code == 200
        answer = (await env.get("/exotel/applets/inbound/connect", **q)).json()
        assert answer["destination"] == {"numbers": [RIDER]}
        assert answer["outgoing_phone_number"] == vn
        await env.get("/exotel/applets/inbound/done", **q, DialCallStatus="completed")
        row = await env.row("c1")
        assert (row["purpose"], row["status"], row["order_id"]) == (
            "inbound_ivr",
            "completed",
            "12345",
        )
        assert row["meta"]["ivr"] == "inbound_customer"


async def test_riders_without_work_and_strangers_hear_a_short_message(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        rider = applet("r1", RIDER, MAIN)
        assert (await env.get("/exotel/applets/inbound/answer", **rider)).status_code == 302
        assert "कोई डिलीवरी नहीं" in (await env.get("/exotel/applets/inbound/say", **rider)).text
        stranger = applet("s1", "+919999988888", MAIN)
        assert (await env.get("/exotel/applets/inbound/answer", **stranger)).status_code == 302
        assert "पंजीकृत नहीं" in (await env.get("/exotel/applets/inbound/say", **stranger)).text
        env.runtime.commerce = None
        down = applet("d1", CUSTOMER, MAIN)
        via_legacy = await env.client.post(
            "/exotel/ivr/incoming", params={"t": "test-webhook-token-0123456789"}, data=down
        )
        assert via_legacy.status_code == 302
        assert "कुछ मिनट बाद" in (await env.get("/exotel/applets/inbound/say", **down)).text
