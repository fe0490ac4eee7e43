"""A lead call end to end through exosim: ``POST /leads`` over HTTP, the call into an Exotel
flow after the delay, busy on the first try, answered on the retry, the outcome on the lead."""

from __future__ import annotations

from typing import Any

import pytest

from exocomms.runtime import Runtime
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.purposes import PurposeClass
from exocomms.scheduling.service import TIMING_POLICY_EXTRA
from tests.e2e.conftest import Telephony
from tests.e2e.support import wait_for

LEAD_PHONE = "+919811122233"
FLOW = {
    "id": "lead_sales",
    "start": "hello",
    "applets": {
        "hello": {"type": "greeting", "text": "Thank you for your interest", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}


@pytest.mark.parametrize("overrides", [{"lead_flow": "lead_sales", "lead_call_delay": 30.0}])
def test_a_lead_is_called_into_the_flow_and_retried_when_busy(telephony: Telephony) -> None:
    env = telephony
    env.sim.load_flow(FLOW)
    env.sim.script(LEAD_PHONE, answer_after=1, calls=[{"behaviour": "busy"}])

    async def any_time(runtime: Runtime) -> None:
        # The wall clock may be in the DND window: let lead calls go at any hour here.
        policy = TimingPolicy(purposes={"lead_call": PurposeClass.TRANSACTIONAL})
        runtime.extras[TIMING_POLICY_EXTRA] = policy

    env.service.run(any_time)
    retry = {"purposes": {"lead_call": {"initialDelaySeconds": 30, "maxDelaySeconds": 60}}}
    assert env.service.http.put("/config/retry", json=retry).status_code == 200

    r = env.service.http.post(
        "/leads", json={"source": "website", "name": "Meera Iyer", "phone": "098111 22233"}
    )
    assert r.status_code == 201, r.text
    lead_id = r.json()["id"]

    def called() -> dict[str, Any] | None:
        r = env.service.http.get(f"/leads/{lead_id}")
        assert r.status_code == 200, r.text
        lead: dict[str, Any] = r.json()
        return lead if lead["status"] in ("called", "failed") else None

    lead = wait_for(called, what="the lead to be called", seconds=40)
    assert (lead["status"], lead["attempts"], lead["crmStatus"]) == ("called", 2, "off")
    calls = env.sim.calls()
    statuses = sorted(str(c.get("status", c.get("Status"))).lower() for c in calls)
    assert statuses == ["busy", "completed"], calls
    heard = [str(e.get("text") or "") for e in env.sim.transcript(LEAD_PHONE)]
    assert any("Thank you for your interest" in text for text in heard), heard
    stats = env.service.http.get("/exotel/stats").json()
    assert stats["total"] == 1
    assert stats["pending"] == 0
    assert stats["byStatus"]["called"] == 1
