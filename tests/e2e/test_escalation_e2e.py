"""The orchestrator end to end through exosim, over real HTTP: a vendor ladder started with
``POST /comms/notify/vendor/order``, exosim's virtual phones answering (or not) on WhatsApp and
the IVR, and what the service then did — or, after an acknowledgement, did not do.

The vendor ladder is the default one (push → WhatsApp → ring → IVR → admin alert and bridge),
stored with shorter delays through the ladder API so each test takes seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.demo.setup import press
from exocomms.escalation.engine import STEP_JOB_KIND
from exocomms.runtime import Runtime
from exocomms.storage.tables import jobs
from tests.e2e.conftest import Telephony
from tests.e2e.support import CALLER_ID, TOKEN, VENDOR, wait_for

ADMIN = "+919876500001"
ORDER = "555"
ESC = f"vendor_order_{ORDER}"
# Delays (simulated seconds) of the faster ladder; the admin's is set per test. Gaps leave the
# virtual phones' answers a few real seconds to arrive before the next step is due.
DELAYS = {"push": 0, "whatsapp": 5, "ring": 45, "ivr_call": 75}


@pytest.fixture
def overrides() -> dict[str, Any]:
    """An admin on duty (the conftest's ``telephony`` reads this)."""
    return {"admin_on_duty_phone": ADMIN}


def _same(a: object, b: str) -> bool:
    return isinstance(a, str) and a[-10:] == b[-10:]


def _start(env: Telephony, *, admin_after: int) -> None:
    """Store a faster copy of the default vendor ladder, point WhatsApp replies at the
    service, and start the ladder for order 555."""
    http = env.service.http
    ladder = http.get("/escalations/ladders/vendor_new_order").json()
    steps = [
        {**step, "delay_seconds": DELAYS.get(step["channel"], admin_after)}
        for step in ladder["steps"]
    ]
    assert (
        http.put("/escalations/ladders/vendor_new_order", json={"steps": steps}).status_code == 200
    )
    env.sim.control(
        "PATCH",
        "accounts/exosim",
        json={"whatsapp_url": f"{env.service.url}/exotel/callbacks/whatsapp?t={TOKEN}"},
    )
    body = {
        "orderId": ORDER,
        "phone": VENDOR,
        "name": "Krishna Kirana",
        "language": "en",
        "storeName": "Krishna Kirana",
        "amount": 325,
        "items": [{"name": "Atta", "quantity": 1}, {"name": "Dal", "quantity": 2}],
    }
    answer = http.post("/comms/notify/vendor/order", json=body)
    assert answer.json() == {"success": True, "escalationId": ESC}, answer.text


def _escalation(env: Telephony) -> dict[str, Any]:
    return dict(env.service.http.get(f"/escalations/{ESC}").json())


def _ended(env: Telephony) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        esc = _escalation(env)
        return esc if esc["status"] != "active" else None

    return wait_for(probe, what=f"{ESC} to end", seconds=30)


def _past_the_admin_step(env: Telephony, esc: dict[str, Any]) -> None:
    """Wait (service clock) until well after the admin steps were due."""
    due = max(datetime.fromisoformat(s["due_at"]) for s in esc["steps"])

    async def now(runtime: Runtime) -> datetime:
        return runtime.clock.now()

    wait_for(
        lambda: env.service.run(now) > due + timedelta(seconds=20),
        what="the admin step's time to pass",
        seconds=30,
    )


def _calls_to(env: Telephony, number: str) -> list[dict[str, Any]]:
    return [c for c in env.sim.calls() if any(_same(leg["number"], number) for leg in c["legs"])]


def _to(records: list[dict[str, Any]], number: str) -> list[dict[str, Any]]:
    return [
        r
        for r in records
        if r.get("direction", "").startswith("outbound") and _same(r["to_number"], number)
    ]


def _pending_steps(env: Telephony) -> list[dict[str, Any]]:
    async def read(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        rows = await session.execute(select(jobs).where(jobs.c.kind == STEP_JOB_KIND))
        return [dict(r) for r in rows.mappings().all() if r["status"] in ("pending", "running")]

    return env.service.in_transaction(read)


def _states(esc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["channel"], s["state"]) for s in esc["steps"]]


def test_vendor_who_ignores_whatsapp_and_presses_1_on_the_ivr(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(
        VENDOR,
        calls=[{"behaviour": "no_answer"}],  # lets the ring step's call ring out
        keys=[press("vendor_order", "options", "1"), press("vendor_order", "ask_prep", "2")],
        hangup_after=120,
    )
    _start(env, admin_after=200)
    esc = _ended(env)
    assert (esc["status"], esc["acknowledgedChannel"]) == ("acknowledged", "ivr")
    assert _same(esc["acknowledgedBy"], VENDOR)
    assert _states(esc) == [
        ("push", "sent"),
        ("whatsapp", "sent"),
        ("ring", "sent"),
        ("ivr_call", "sent"),
        ("admin_alert", "canceled"),
        ("admin_bridge", "canceled"),
    ]
    [accepted] = env.service.published("vendor.accepted")
    assert accepted.data["prep_minutes"] == 20
    assert not _pending_steps(env)  # nothing left that could still fire
    _past_the_admin_step(env, esc)
    # On the wire: the ring (missed) and the IVR call, nothing after; no admin alert.
    calls = _calls_to(env, VENDOR)
    assert [(c["flow_id"], c["status"]) for c in calls] == [
        ("ring", "no-answer"),
        ("vendor_order", "completed"),
    ]
    assert [c["digits"] for c in calls] == [[], ["1", "2"]]
    assert len(_to(env.sim.whatsapp(), VENDOR)) == 1
    assert not _calls_to(env, ADMIN)
    assert not _to(env.sim.sms(), ADMIN)
    assert not _to(env.sim.whatsapp(), ADMIN)


def test_vendor_who_replies_on_whatsapp_is_never_called(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, whatsapp_reply={"after": 2, "text": "Accept"})
    _start(env, admin_after=100)
    esc = _ended(env)
    assert (esc["status"], esc["acknowledgedChannel"]) == ("acknowledged", "whatsapp")
    assert [state for _, state in _states(esc)] == ["sent", "sent"] + ["canceled"] * 4
    assert not _pending_steps(env)
    _past_the_admin_step(env, esc)
    assert env.sim.calls() == []  # no ring, no IVR call, no bridge: no call at all
    [sent] = _to(env.sim.whatsapp(), VENDOR)
    [reply] = [m for m in env.sim.whatsapp() if m["direction"] == "inbound"]
    assert _same(reply["from_number"], VENDOR)
    assert _same(reply["to_number"], CALLER_ID)
    assert not _to(env.sim.sms(), ADMIN)
    assert [e.data["channel"] for e in env.service.published("party.acknowledged")] == ["whatsapp"]
    assert sent["sid"]


def test_vendor_who_never_answers_reaches_the_admin(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, behaviour="no_answer")
    env.sim.script(ADMIN, answer_after=2, hangup_after=20)
    _start(env, admin_after=110)
    esc = _ended(env)
    assert esc["status"] == "exhausted"
    assert esc["acknowledgedAt"] is None
    assert [state for _, state in _states(esc)] == ["sent"] * 6
    [alert] = wait_for(lambda: _to(env.sim.sms(), ADMIN), what="the admin alert SMS")
    assert ORDER in alert["body"]
    assert wait_for(lambda: _to(env.sim.whatsapp(), ADMIN), what="the admin alert WhatsApp")

    def bridge() -> list[dict[str, Any]]:
        return [
            c
            for c in _calls_to(env, ADMIN)
            if c["status"] not in ("queued", "ringing", "in-progress")
        ]

    [call] = wait_for(bridge, what="the admin bridge call to end")
    legs = [(leg["number"][-10:], leg["status"]) for leg in call["legs"]]
    assert legs == [(ADMIN[-10:], "completed"), (VENDOR[-10:], "no-answer")]  # admin first
    calls = _calls_to(env, VENDOR)
    assert [c["flow_id"] for c in calls] == ["ring", "vendor_order", None]
    assert not env.service.published("party.acknowledged")
