"""Calls end to end when the carrier misbehaves (lost, replayed callbacks; 5xx and 429 on
dialling), and the two call primitives without an IVR: ring and bridge.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.runtime import Runtime
from exocomms.telephony.service import queue_bridge, queue_ring
from tests.e2e.conftest import Telephony
from tests.e2e.support import ACCEPTS_20, DID_NEW_ORDER, RIDER, VENDOR, finished, vendor_call


@pytest.mark.parametrize("overrides", [{"call_time_limit_seconds": 90}])
def test_lost_terminal_callback_is_reconciled_from_call_details(telephony: Telephony) -> None:
    env = telephony
    env.sim.control(
        "POST", "faults", json={"target": "callback", "kind": "lost", "endpoint": "status"}
    )
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    call_id = vendor_call(env.service)
    row = finished(
        env.service, call_id
    )  # only the reconcile job can finish it: no callback arrives
    assert (row["status"], row["outcome"]) == ("completed", "accepted")
    sim_call = env.sim.call(row["call_sid"])
    assert row["duration"] == sim_call["duration"]
    assert [c["fault"] for c in sim_call["callbacks"]] == ["lost", "lost"]  # answered, terminal

    async def events(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await repo.list_events(session, call_id)

    kinds = [(e["kind"], e["source"]) for e in env.service.in_transaction(events)]
    assert ("details", "details") in kinds
    assert not [k for k in kinds if k[0] == "status"]
    assert [e.data["status"] for e in env.service.published("call.finished")] == ["completed"]


def test_ring_needs_nobody_to_answer(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(VENDOR, behaviour="no_answer")

    async def ring(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_ring(
            session,
            runtime,
            phone=VENDOR,
            purpose="vendor_ring",
            caller="new_order",
            ring_seconds=5,
        )

    row = finished(env.service, env.service.in_transaction(ring))
    assert row["status"] == "no-answer"
    assert not env.service.published("call.failed")
    [sim_call] = [c for c in env.sim.calls() if c["sid"] == row["call_sid"]]
    assert sim_call["flow_id"] == "ring"
    assert sim_call["caller_id"].endswith(DID_NEW_ORDER[1:])
    transcript = env.sim.transcript(VENDOR)
    assert [(e["kind"], e["text"]) for e in transcript][:1] == [("ringing", DID_NEW_ORDER)]
    assert "missed" in [e["kind"] for e in transcript]


def test_replayed_callbacks_and_passthru_requests_apply_once(telephony: Telephony) -> None:
    env = telephony
    for endpoint in ("applet", "status"):
        fault = {"target": "callback", "kind": "duplicated", "endpoint": endpoint}
        env.sim.control("POST", "faults", json=fault)
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    call_id = vendor_call(env.service)
    row = finished(env.service, call_id)
    assert (row["status"], row["outcome"], row["digits"]) == ("completed", "accepted", "12")
    assert len(env.service.published("vendor.accepted")) == 1
    assert len(env.service.published("call.finished")) == 1
    sim_call = env.sim.call(row["call_sid"])
    sent = [e for e in sim_call["events"] if e["kind"] == "passthru.request"]
    assert len(sent) == 3  # start, input "1", input "2": each sent twice
    assert all(e["data"]["fault"] == "duplicated" for e in sent)

    async def events(session: AsyncSession, runtime: Runtime) -> list[dict[str, Any]]:
        return await repo.list_events(session, call_id)

    kinds = [e["kind"] for e in env.service.in_transaction(events)]
    assert kinds.count("ivr.input") == 2
    assert kinds.count("ivr.start") == 1


def test_carrier_error_on_dialling_looks_before_dialling_again(telephony: Telephony) -> None:
    env = telephony

    async def ring(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_ring(
            session,
            runtime,
            phone=VENDOR,
            purpose="vendor_ring",
            caller="new_order",
            ring_seconds=5,
        )

    # A ring just before, as the ladder does: the look-up must not mistake it for the IVR call.
    ring_row = finished(env.service, env.service.in_transaction(ring))
    fault = {"target": "api", "kind": "5xx", "endpoint": "Calls/connect", "status_code": 503}
    env.sim.control("POST", "faults", json={**fault, "remaining": 1})
    env.sim.script(VENDOR, keys=ACCEPTS_20)
    row = finished(env.service, vendor_call(env.service))
    assert (row["attempt"], row["status"], row["outcome"]) == (1, "completed", "accepted")
    assert row["meta"]["ambiguous_at"]
    assert row["call_sid"] != ring_row["call_sid"]
    flows = sorted(c["flow_id"] for c in env.sim.calls())
    assert flows == ["ring", "vendor_order"]  # the IVR call was dialled once, after the look-up


def test_bridge_connects_both_and_keeps_the_recording(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(RIDER, hangup_after=20)

    async def bridge(session: AsyncSession, runtime: Runtime) -> str:
        return await queue_bridge(
            session, runtime, first=VENDOR, second=RIDER, purpose="vendor_rider_bridge"
        )

    row = finished(env.service, env.service.in_transaction(bridge))
    assert row["status"] == "completed"
    assert row["recording_url"]
    assert not env.service.published("call.failed")
    sim_call = env.sim.call(row["call_sid"])
    assert [leg["number"] for leg in sim_call["legs"]] == [VENDOR, RIDER]
    assert sim_call["record"] is True
    for number in (VENDOR, RIDER):
        kinds = [e["kind"] for e in env.sim.transcript(number)]
        assert "connected" in kinds


@pytest.mark.parametrize("overrides", [{"call_ring_timeout_seconds": 5}])
def test_carrier_rate_limit_delays_calls_without_losing_them(telephony: Telephony) -> None:
    env = telephony
    env.sim.control("PATCH", "accounts/exosim", json={"voice_per_minute": 1})

    async def rings(session: AsyncSession, runtime: Runtime) -> list[str]:
        return [
            await queue_ring(session, runtime, phone=phone, purpose="vendor_ring", ring_seconds=5)
            for phone in (VENDOR, RIDER)
        ]

    rows = [finished(env.service, call_id) for call_id in env.service.in_transaction(rings)]
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert len({r["call_sid"] for r in rows}) == 2
    assert len(env.sim.calls()) == 2
    assert env.service.app.state.worker.stats.retried_later >= 1  # exosim did answer 429
