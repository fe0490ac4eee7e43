"""The connect slice end to end through exosim over real HTTP: missed calls and their one
callback, the inbound IVR against the sample commerce backend, and click-to-call.

Each test gets exosim (the telephony IVRs plus the connect blueprints), the sample commerce
backend (``demo/jupiter.py``, on the same scaled clock so signatures stay fresh) and the
service, each on its own loopback port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo as calls_repo
from exocomms.clock import ScaledClock
from exocomms.connect import blueprint
from exocomms.connect import repo as connect_repo
from exocomms.demo.jupiter import JupiterState, create_jupiter_app, send_event
from exocomms.demo.setup import press
from exocomms.outbox.signing import verify
from exocomms.runtime import Runtime
from exocomms.storage.tables import masking_sessions
from tests.e2e.support import (
    CALLER_ID,
    DID_NEW_ORDER,
    SCALE,
    TOKEN,
    Service,
    Sim,
    database_url,
    load_flows,
    register_dlt,
    running_service,
    running_sim,
    service_settings,
    start_time,
    wait_for,
)
from tests.support.servers import free_port, serve_in_thread

SECRET = "jupiter-e2e-connect-secret-0123456789"
MAIN = CALLER_ID  # the number inbound callers dial (runs the ``inbound`` flow)
MISSED_NUMBER = "08047100021"  # the missed-call number (runs the ``missed-call`` flow)
POOL = ("+918047109001", "+918047109002")  # virtual numbers (ExoPhones in exosim)
# The sample backend's seed (demo/jupiter.py): store 67, rider 501, customer 890, order 12345.
STORE, RIDER, CUSTOMER = "+919810010067", "+919820020501", "+919830030890"
ORDER = "12345"
STRANGER = "+919999988888"
DELAY, WINDOW = 45.0, 240.0  # missed-call callback delay and dedupe window (simulated seconds)
ENDED = ("completed", "failed", "no-answer", "busy", "canceled")


@dataclass
class Env:
    """exosim, the sample commerce backend and the service, wired to each other."""

    sim: Sim
    service: Service
    jupiter: JupiterState

    def now(self) -> datetime:
        """The service's (scaled) clock."""

        async def read(runtime: Runtime) -> datetime:
            return runtime.clock.now()

        return self.service.run(read)

    def send(self, event: str, payload: dict[str, Any]) -> None:
        """POST a signed commerce event to the service, as the backend would."""

        async def post(runtime: Runtime) -> int:
            response = await send_event(
                runtime.http,
                self.service.url,
                SECRET,
                event,
                payload,
                timestamp=runtime.clock.now(),
            )
            return response.status_code

        assert self.service.run(post) == 202

    def slow_ladder(self, name: str) -> None:
        """Push every step but the first far out, so ladders never dial during a test."""
        http = self.service.http
        steps = http.get(f"/escalations/ladders/{name}").json()["steps"]
        slow = [{**s, "delay_seconds": 0 if i == 0 else 36_000 + i} for i, s in enumerate(steps)]
        assert http.put(f"/escalations/ladders/{name}", json={"steps": slow}).status_code == 200

    def phone_call(self, caller: str, to: str, **body: Any) -> str:
        """A virtual phone calls ``to``; returns the call's sid."""
        placed = self.sim.control("POST", f"phones/{caller}/call", json={"to": to, **body})
        return str(placed["call_sid"])

    def ended(self, sid: str) -> dict[str, Any]:
        """exosim's record of the call once it has ended."""

        def probe() -> dict[str, Any] | None:
            call = self.sim.call(sid)
            return call if call["status"] in ENDED else None

        return wait_for(probe, what=f"call {sid} to end", seconds=30)

    def row(self, sid: str) -> dict[str, Any] | None:
        """The service's ``voice_calls`` row of an Exotel call, if any."""

        async def read(session: AsyncSession, runtime: Runtime) -> dict[str, Any] | None:
            return await calls_repo.get_call(session, call_sid=sid)

        return self.service.in_transaction(read)

    def finished_row(self, sid: str) -> dict[str, Any]:
        """The row once the service has ended the call."""

        def probe() -> dict[str, Any] | None:
            row = self.row(sid)
            return row if row and (row["meta"] or {}).get("finished") else None

        return wait_for(probe, what=f"the service to end call {sid}")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A fresh exosim, sample commerce backend and service for one test."""
    start = start_time()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    jupiter = create_jupiter_app(SECRET, clock=ScaledClock(SCALE, start=start))
    with (
        running_sim(start) as sim,
        database_url(tmp_path) as db_url,
        serve_in_thread(jupiter) as jupiter_url,
    ):
        settings = service_settings(tmp_path, url=url, sim_url=sim.url, db_url=db_url)
        settings = settings.model_copy(
            update={
                "jupiter_url": jupiter_url,
                "jupiter_webhook_secret": SecretStr(SECRET),
                "jupiter_cache_seconds": 0.0,
                "masking_numbers": ",".join(POOL),
                "missed_call_delay_seconds": DELAY,
                "missed_call_window_seconds": WINDOW,
            }
        )
        load_flows(sim, url, settings.resolved_webhook_token)
        register_dlt(sim, settings)
        for name in blueprint.FLOWS:
            sim.load_flow(blueprint.to_exosim(blueprint.build(name, base_url=url, token=TOKEN)))
        sim.control("POST", "flows/missed-call/assign", json={"exophone": MISSED_NUMBER})
        sim.control("POST", "flows/inbound/assign", json={"exophone": MAIN})
        for vn in POOL:
            sim.control("POST", "flows/masked-call/assign", json={"exophone": vn})
        with running_service(settings, port=port, start=start) as service:
            yield Env(sim, service, jupiter.state.jupiter)


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and a[-10:] == b[-10:]


def _rang(sim: Sim, number: str, sid: str | None = None) -> list[str]:
    """Caller ids ``number`` saw ringing (of call ``sid`` only, when given)."""
    return [
        e["text"]
        for e in sim.transcript(number)
        if e["kind"] == "ringing" and (sid is None or e["call_sid"] == sid)
    ]


def _heard(sim: Sim, number: str, sid: str) -> str:
    return " ".join(
        e["text"]
        for e in sim.transcript(number)
        if e["kind"] == "heard_tts" and e["call_sid"] == sid
    )


# ---------------------------------------------------------------- missed calls


def test_three_missed_calls_in_the_window_get_one_callback_into_the_ordering_menu(
    env: Env,
) -> None:
    customer = "+919830030892"  # Kavya Iyer, English
    env.sim.script(customer, keys=[press("ordering", "options", "1")], hangup_after=60)
    first_at = env.now()
    for _ in range(3):
        sid = env.phone_call(customer, MISSED_NUMBER, missed=True)
        assert env.ended(sid)["status"] == "no-answer"

    def callbacks() -> list[dict[str, Any]]:
        return [
            c
            for c in env.sim.calls()
            if c["flow_id"] == "ordering"
            and any(_same(leg["number"], customer) for leg in c["legs"])
        ]

    [callback] = wait_for(callbacks, what="the callback", seconds=30)
    assert env.now() - first_at >= timedelta(seconds=DELAY)  # not before the configured delay
    callback = env.ended(callback["sid"])
    # From the new-order number, into the ordering menu (in the customer's language).
    assert [_same(text, DID_NEW_ORDER) for text in _rang(env.sim, customer, callback["sid"])] == [
        True
    ]
    assert "You gave us a missed call" in _heard(env.sim, customer, callback["sid"])
    assert "To repeat your last order, press 1" in _heard(env.sim, customer, callback["sid"])
    assert callback["digits"] == ["1"]  # "repeat my last order" → the reorder request
    [reorder] = wait_for(
        lambda: env.service.published("order.reorder_requested"), what="the reorder request"
    )
    assert _same(reorder.actor, customer)

    async def missed(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await connect_repo.missed_for(session, customer)

    rows = env.service.in_transaction(missed)
    assert len(rows) == 3
    assert [r["callback_of"] is None for r in rows] == [True, False, False]
    assert [r["callback_of"] for r in rows[1:]] == [rows[0]["id"]] * 2
    assert rows[0]["callback_call_id"] == env.finished_row(callback["sid"])["id"]

    # After the window, a fourth missed call gets a callback of its own.
    window_end = rows[0]["at"] + timedelta(seconds=WINDOW)
    wait_for(lambda: env.now() > window_end, what="the window to pass", seconds=30)
    sid = env.phone_call(customer, MISSED_NUMBER, missed=True)
    assert env.ended(sid)["status"] == "no-answer"

    def two() -> list[dict[str, Any]] | None:
        found = callbacks()
        return found if len(found) >= 2 else None

    both = wait_for(two, what="a second callback", seconds=30)
    assert len(both) == 2  # one for the three missed calls in the window, one for the fourth
    assert _same(_rang(env.sim, customer, both[1]["sid"])[0], DID_NEW_ORDER)
    rows = env.service.in_transaction(missed)
    assert [r["callback_of"] is None for r in rows] == [True, False, False, True]


# ---------------------------------------------------------------- inbound IVR


def test_a_vendor_calls_in_hears_the_pending_order_and_accepts_it(env: Env) -> None:
    env.slow_ladder("vendor_new_order")  # the vendor calls us before any ladder call
    env.send(
        "order/new", {"order_id": ORDER, "store_id": "67", "customer_id": "890", "amount": 325}
    )
    esc_id = f"vendor_order_{ORDER}"
    wait_for(
        lambda: env.service.http.get(f"/escalations/{esc_id}").status_code == 200,
        what="the vendor ladder",
    )
    env.sim.script(
        STORE,
        keys=[press("inbound_vendor", "options", "1"), press("inbound_vendor", "ask_prep", "2")],
        hangup_after=120,
    )
    sid = env.phone_call(STORE, MAIN)
    call = env.ended(sid)
    assert call["status"] == "completed"
    assert call["digits"] == ["1", "2"]
    said = _heard(env.sim, STORE, sid)  # store 67 speaks Marathi
    assert "Krishna Kirana" in said
    assert ORDER in said
    row = env.finished_row(sid)
    assert (row["purpose"], row["direction"], row["outcome"]) == (
        "inbound_ivr",
        "inbound",
        "accepted",
    )
    assert (row["order_id"], row["escalation_id"]) == (ORDER, esc_id)
    [accepted] = env.service.published("vendor.accepted")
    assert (accepted.order_id, accepted.data["prep_minutes"]) == (ORDER, 20)
    esc = env.service.http.get(f"/escalations/{esc_id}").json()
    assert (esc["status"], esc["acknowledgedChannel"]) == ("acknowledged", "ivr")
    assert _same(esc["acknowledgedBy"], STORE)
    # The acceptance reached the commerce backend (signed outcome, order now accepted).
    wait_for(
        lambda: env.jupiter.orders[ORDER]["status"] == "accepted", what="the outcome delivered"
    )
    assert env.jupiter.rejected_signatures == 0
    assert not [c for c in env.sim.calls() if c["sid"] != sid]  # no ladder call went out
    states = [(s["channel"], s["state"]) for s in esc["steps"]]
    assert states[0] == ("push", "sent")
    assert {state for _, state in states[1:]} == {"canceled"}


def test_a_customer_calls_in_and_talks_to_the_rider_who_sees_only_the_virtual_number(
    env: Env,
) -> None:
    env.slow_ladder("rider_assignment")
    env.send("rider/assigned", {"order_id": ORDER, "rider_id": "501"})

    async def sessions(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        rows = await session.execute(
            select(masking_sessions).where(masking_sessions.c.order_id == ORDER)
        )
        return [dict(r) for r in rows.mappings()]

    wait_for(lambda: env.service.in_transaction(sessions), what="the masking session")
    env.sim.script(CUSTOMER, keys=[press("inbound_customer", "options", "1")], hangup_after=120)
    env.sim.script(RIDER, hangup_after=15)
    sid = env.phone_call(CUSTOMER, MAIN)
    call = env.ended(sid)
    assert call["status"] == "completed"
    assert "1" in call["digits"]
    [masking] = env.service.in_transaction(sessions)
    vn = masking["virtual_number"]
    assert (masking["party_a"], masking["party_b"], vn in POOL) == (CUSTOMER, RIDER, True)
    assert masking["revealed"] is True  # the rider saw it: the number must never move now
    [shown] = _rang(env.sim, RIDER, sid)  # the rider's phone rang once, showing the VN
    assert _same(shown, vn)
    assert CUSTOMER[-10:] not in shown
    assert any(e["kind"] == "connected" for e in env.sim.transcript(RIDER))
    assert ORDER in _heard(env.sim, CUSTOMER, sid)
    row = env.finished_row(sid)
    assert (row["purpose"], row["order_id"], row["meta"]["ivr"]) == (
        "inbound_ivr",
        ORDER,
        "inbound_customer",
    )
    assert row["meta"]["connect"] == {"to": RIDER, "caller_id": vn}
    assert row["meta"]["dial_status"] == "completed"
    # The rider calls in too and hears the current assignment (pickup from the store).
    rider_sid = env.phone_call(RIDER, MAIN, hangup_after=60)
    assert env.ended(rider_sid)["status"] == "completed"
    said = _heard(env.sim, RIDER, rider_sid)
    assert ORDER in said
    assert "Krishna Kirana" in said
    assert env.finished_row(rider_sid)["meta"]["ivr"] == "inbound_rider"


def test_an_unknown_caller_hears_a_short_message_and_the_call_ends(env: Env) -> None:
    sid = env.phone_call(STRANGER, MAIN, hangup_after=120)
    call = env.ended(sid)
    assert call["status"] == "completed"
    assert call["digits"] == []
    assert "पंजीकृत नहीं" in _heard(env.sim, STRANGER, sid)  # "not registered" (Hindi default)
    kinds = [e["kind"] for e in env.sim.transcript(STRANGER) if e["call_sid"] == sid]
    assert "connected" not in kinds
    assert "pressed" not in kinds
    assert kinds[-1] == "call_ended"
    row = env.finished_row(sid)
    assert (row["purpose"], row["status"], row["meta"]["ivr"]) == (
        "inbound_ivr",
        "completed",
        "inbound_message",
    )
    assert [e.data["call_id"] for e in env.service.published("call.finished")] == [row["id"]]
    assert [c["sid"] for c in env.sim.calls()] == [sid]  # nobody else was dialled


# ---------------------------------------------------------------- click-to-call


@dataclass
class Receiver:
    """A client's status-callback endpoint: what it received."""

    url: str
    received: list[dict[str, Any]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A tiny app recording the JSON bodies and headers POSTed to ``/status``."""
    app = FastAPI()
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    @app.post("/status")
    async def status(request: Request) -> dict[str, str]:
        raw = await request.body()
        with lock:
            received.append({"raw": raw, "body": json.loads(raw), "headers": dict(request.headers)})
        return {"status": "ok"}

    with serve_in_thread(app) as url:
        yield Receiver(f"{url}/status", received)


def test_click_to_call_rings_the_agent_first_and_forwards_the_status_callback(
    env: Env, receiver: Receiver
) -> None:
    agent, customer = "+919876500111", "+919876500222"
    env.sim.script(agent, answer_after=1, hangup_after=30)
    env.sim.script(customer, answer_after=2, hangup_after=10)
    answer = env.service.http.post(
        "/click-to-call",
        json={
            "agentPhone": agent,
            "customerPhone": "0" + customer[-10:],  # Indian formats are normalised
            "timeLimit": 300,
            "customField": "ticket-77",
            "statusCallback": receiver.url,
        },
    )
    assert answer.status_code == 200, answer.text
    placed = answer.json()
    sid = placed["callSid"]
    assert placed["status"]
    assert placed["callId"]
    call = env.ended(sid)
    assert call["status"] == "completed"
    legs = [(leg["number"][-10:], leg["status"]) for leg in call["legs"]]
    assert legs == [(agent[-10:], "completed"), (customer[-10:], "completed")]  # agent first
    assert [_same(t, CALLER_ID) for t in _rang(env.sim, agent, sid)] == [True]
    assert [_same(t, CALLER_ID) for t in _rang(env.sim, customer, sid)] == [True]
    # The agent's phone rang before the customer's.
    first = {
        n: min(e["at"] for e in env.sim.transcript(n) if e["kind"] == "ringing")
        for n in (agent, customer)
    }
    assert first[agent] < first[customer]
    [delivery] = wait_for(lambda: list(receiver.received), what="the forwarded status callback")
    body = delivery["body"]
    assert (body["callSid"], body["callId"], body["status"]) == (sid, placed["callId"], "completed")
    assert body["customField"] == "ticket-77"
    headers = delivery["headers"]
    assert headers["idempotency-key"] == f"click-to-call:{placed['callId']}:finished"
    assert verify(  # signed like every outbox delivery (the shared secret)
        SECRET,
        headers.get("x-exocomms-timestamp"),
        headers.get("x-exocomms-signature"),
        delivery["raw"],
        env.now(),
    )
    row = env.service.call_row(placed["callId"])
    assert (row["purpose"], row["phone"], row["caller_id"]) == ("click_to_call", agent, CALLER_ID)
    assert (body["duration"], body["status"]) == (row["duration"], row["status"])
    assert row["duration"] > 0  # they talked


def test_click_to_call_by_order_connects_customer_and_rider_through_the_virtual_number(
    env: Env,
) -> None:
    env.slow_ladder("rider_assignment")
    env.send("rider/assigned", {"order_id": ORDER, "rider_id": "501"})
    env.jupiter.orders[ORDER]["rider_id"] = "501"  # the backend knows whom it assigned

    async def live(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await connect_repo.order_sessions(session, ORDER)

    wait_for(lambda: env.service.in_transaction(live), what="the masking session")
    env.sim.script(CUSTOMER, hangup_after=30)
    env.sim.script(RIDER, answer_after=2, hangup_after=10)
    answer = env.service.http.post("/click-to-call/rider", json={"orderId": ORDER})
    assert answer.status_code == 200, answer.text
    placed = answer.json()
    vn = placed["maskedNumber"]
    assert vn in POOL
    call = env.ended(placed["callSid"])
    legs = [(leg["number"][-10:], leg["status"]) for leg in call["legs"]]
    assert legs == [(CUSTOMER[-10:], "completed"), (RIDER[-10:], "completed")]
    for party, other in ((CUSTOMER, RIDER), (RIDER, CUSTOMER)):
        [shown] = _rang(env.sim, party, placed["callSid"])
        assert _same(shown, vn)  # each sees the virtual number, never the other's phone
        assert other[-10:] not in shown
    [masking] = env.service.in_transaction(live)
    assert (masking["virtual_number"], masking["revealed"]) == (vn, True)
    row = env.service.call_row(placed["callId"])
    assert (row["purpose"], row["order_id"], row["caller_id"]) == ("masked_call", ORDER, vn)


def test_a_missed_callback_connects_a_customer_with_an_order_to_the_store(env: Env) -> None:
    env.slow_ladder("vendor_new_order")
    env.send(
        "order/new", {"order_id": ORDER, "store_id": "67", "customer_id": "890", "amount": 325}
    )
    env.sim.script(CUSTOMER, keys=[press("ordering", "options", "2")], hangup_after=120)
    env.sim.script(STORE, hangup_after=10)
    sid = env.phone_call(CUSTOMER, MISSED_NUMBER, missed=True)
    assert env.ended(sid)["status"] == "no-answer"

    def callback() -> list[dict[str, Any]]:
        return [c for c in env.sim.calls() if c["flow_id"] == "ordering"]

    [started] = wait_for(callback, what="the callback", seconds=30)
    call = env.ended(started["sid"])
    assert call["status"] == "completed"
    assert call["digits"] == ["2"]
    [shown] = _rang(env.sim, STORE, started["sid"])  # the store sees our number, not hers
    assert _same(shown, DID_NEW_ORDER)
    assert any(e["kind"] == "connected" for e in env.sim.transcript(STORE))
    row = wait_for(lambda: env.row(started["sid"]), what="the callback's row")
    assert (row["purpose"], row["order_id"], row["customer_id"]) == (
        "missed_call_callback",
        ORDER,
        "890",
    )
    assert row["meta"]["connect"]["to"] == STORE


# ---------------------------------------------------------------- masked calls with a PIN


def test_a_rider_shared_by_three_customers_reaches_the_right_one_with_the_pin(env: Env) -> None:
    customers = ("+919830030801", "+919830030802", "+919830030803")
    created = []
    for n, customer in enumerate(customers, 1):
        answer = env.service.http.post(
            "/masking/create", json={"orderId": f"o{n}", "partyA": customer, "partyB": RIDER}
        )
        assert answer.status_code == 201, answer.text
        created.append(answer.json())
    # Two numbers for three customers of one rider: the third shares a number, with a PIN.
    third = created[2]
    assert (third["mode"], third["virtualNumber"]) == ("pin", created[0]["virtualNumber"])
    vn, pin = third["virtualNumber"], third["pin"]
    wrong = str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))
    for customer in customers:
        env.sim.script(customer, hangup_after=10)

    def rider_calls(keys: str) -> tuple[str, dict[str, Any]]:
        env.sim.script(RIDER, keys=[{"when_heard": "enter your PIN", "keys": keys, "once": True}])
        sid = env.phone_call(RIDER, vn, hangup_after=60)
        call = env.ended(sid)
        assert call["status"] == "completed"
        return sid, env.finished_row(sid)

    sid, row = rider_calls(f"{wrong}#")  # a wrong PIN: the message, nobody rings
    assert "PIN is not valid" in _heard(env.sim, RIDER, sid)
    assert not [c for c in customers if _rang(env.sim, c, sid)]
    assert (row["purpose"], row["outcome"]) == ("masked_call", "wrong_pin")
    sid, row = rider_calls(f"{pin}#")  # the right PIN: the third customer, shown the VN
    assert [c for c in customers if _rang(env.sim, c, sid)] == [customers[2]]
    [shown] = _rang(env.sim, customers[2], sid)
    assert _same(shown, vn)
    assert RIDER[-10:] not in shown
    assert (row["outcome"], row["order_id"]) == ("connected", "o3")
