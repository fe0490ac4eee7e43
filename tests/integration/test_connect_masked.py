"""Masked calls through the applet routes: direct, PIN, unknown and expired routes."""

from __future__ import annotations

from pathlib import Path

from exocomms.clock import ManualClock
from exocomms.masking import service as masking
from exocomms.masking.model import SessionKind
from exocomms.storage.db import Database
from tests.integration.test_connect_support import (
    CUSTOMER,
    POOL,
    RIDER,
    Env,
    applet,
    connect_env,
)
from tests.integration.test_ivr_support import capture

OTHER = "+919830030891"


async def _session(env: Env, customer: str = CUSTOMER, order: str = "12345") -> str:
    request = masking.new_session(
        env.runtime,
        order_id=order,
        party_a=customer,
        party_b=RIDER,
        kind=SessionKind.CUSTOMER_RIDER,
    )
    created = await masking.create_session(env.runtime, request)
    assert created.virtual_number is not None
    return created.virtual_number


async def test_a_party_reaches_the_other_through_the_virtual_number(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        finished = capture(env.runtime, "call.finished")
        vn = await _session(env)
        q = applet("m1", CUSTOMER, vn)
        assert (await env.get("/exotel/applets/masked/route", **q)).status_code == 200
        answer = (await env.get("/exotel/applets/masked/connect", **q)).json()
        assert answer["destination"] == {"numbers": [RIDER]}
        assert answer["outgoing_phone_number"] == vn  # the rider sees the VN, not the customer
        assert answer["record"] is True
        assert answer["max_conversation_duration"] == 1800
        done = await env.get("/exotel/applets/masked/done", **q, DialCallStatus="completed")
        assert done.status_code == 200
        row = await env.row("m1")
        assert (row["purpose"], row["direction"], row["status"]) == (
            "masked_call",
            "inbound",
            "completed",
        )
        assert (row["outcome"], row["order_id"], row["phone"]) == ("connected", "12345", CUSTOMER)
        # the rider calls back: reaches the customer; a replayed route changes nothing
        back = applet("m2", RIDER, vn)
        await env.get("/exotel/applets/masked/route", **back)
        await env.get("/exotel/applets/masked/route", **back)
        answer = (await env.get("/exotel/applets/masked/connect", **back)).json()
        assert answer["destination"]["numbers"] == [CUSTOMER]
        await env.get("/exotel/applets/masked/done", **q, DialCallStatus="completed")  # replay
        assert [e.data["call_id"] for e in finished] == [row["id"]]


async def test_an_unknown_caller_hears_a_message_and_nobody_is_dialled(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        vn = await _session(env)
        q = applet("u1", "+919999988888", vn)
        assert (await env.get("/exotel/applets/masked/route", **q)).status_code == 200
        answer = (await env.get("/exotel/applets/masked/connect", **q)).json()
        assert answer["destination"] == {"numbers": []}
        text = (await env.get("/exotel/applets/masked/message", **q)).text
        assert "not linked to any of your orders" in text
        await env.get("/exotel/applets/masked/done", **q)
        assert (await env.row("u1"))["outcome"] == "unknown_caller"


async def test_an_expired_session_no_longer_connects(db: Database, tmp_path: Path) -> None:
    async with connect_env(db, tmp_path) as env:
        vn = await _session(env)
        async with env.runtime.db.transaction() as session:
            await masking.end_in(session, env.runtime, order_id="12345", grace_hours=1)
        clock = env.runtime.clock
        assert isinstance(clock, ManualClock)
        q = applet("e1", CUSTOMER, vn)
        await env.get("/exotel/applets/masked/route", **q)  # within the grace period
        assert (await env.get("/exotel/applets/masked/connect", **q)).json()["destination"][
            "numbers"
        ] == [RIDER]
        clock.advance(2 * 3600)
        q = applet("e2", CUSTOMER, vn)
        await env.get("/exotel/applets/masked/route", **q)
        assert (await env.get("/exotel/applets/masked/connect", **q)).json()["destination"][
            "numbers"
        ] == []


async def test_pin_sessions_ask_for_the_pin_and_route_by_it(db: Database, tmp_path: Path) -> None:
    async with connect_env(db, tmp_path, masking_numbers=POOL[0]) as env:
        await _session(env, CUSTOMER, "A1")
        request = masking.new_session(env.runtime, order_id="A2", party_a=OTHER, party_b=RIDER)
        pinned = await masking.create_session(env.runtime, request)
        assert pinned.mode.value == "pin"
        assert pinned.pin is not None
        q = applet("p1", "+919999988888", POOL[0])
        assert (await env.get("/exotel/applets/masked/route", **q)).status_code == 302
        gather = (await env.get("/exotel/applets/masked/pin", **q)).json()
        assert "PIN" in gather["gather_prompt"]["text"]
        assert gather["finish_on_key"] == "#"
        wrong = "0000" if pinned.pin != "0000" else "1111"
        bad = applet("p2", "+919999988888", POOL[0])
        await env.get("/exotel/applets/masked/route", **bad)
        assert (
            await env.get("/exotel/applets/masked/pin-check", **bad, digits=f'"{wrong}"')
        ).status_code == 302
        assert "PIN is not valid" in (await env.get("/exotel/applets/masked/message", **bad)).text
        check = await env.get("/exotel/applets/masked/pin-check", **q, digits=f'"{pinned.pin}"')
        assert check.status_code == 200
        answer = (await env.get("/exotel/applets/masked/connect", **q)).json()
        assert answer["destination"]["numbers"] == [RIDER]
        assert answer["outgoing_phone_number"] == POOL[0]
        assert (await env.row("p1"))["order_id"] == "A2"


async def test_applets_refuse_a_bad_token_without_a_500(db: Database, tmp_path: Path) -> None:
    async with connect_env(db, tmp_path) as env:
        q = applet("x1", CUSTOMER, POOL[0], t="wrong")
        response = await env.client.get("/exotel/applets/masked/route", params=q)
        assert response.status_code == 401
        missing = await env.get(
            "/exotel/applets/masked/connect", **applet("nope", CUSTOMER, POOL[0])
        )
        assert missing.status_code == 404
