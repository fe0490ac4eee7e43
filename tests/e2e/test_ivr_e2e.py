"""IVR calls end to end: the service places them on exosim, exosim's virtual phones answer and
press keys, the applets (or legacy ExoML) run over real HTTP, and the outcome lands in the
``voice_calls`` row, on the event bus and in what the phone heard.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.ivr.service import start_ivr_call
from exocomms.runtime import Runtime
from tests.e2e.conftest import Telephony
from tests.e2e.support import VENDOR, wait_for

ORDER = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}, {"name": "Dal", "quantity": 2}],
}
MENU = "स्वीकार करने के लिए 1"  # heard in the accept/reject menu only
PREP_QUESTION = "तैयार होने में"  # heard in the prep-time question only
REASON_QUESTION = "कारण बताइए"


def _vendor_call(env: Telephony, **overrides: Any) -> str:
    async def start(session: AsyncSession, runtime: Runtime) -> str:
        return await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone=VENDOR,
            context=ORDER,
            purpose="vendor_order_confirmation",
            order_id="12345",
            vendor_id="67",
            caller="new_order",
            **overrides,
        )

    return env.service.in_transaction(start)


def _ended(env: Telephony, call_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        row = env.service.call_row(call_id)
        finished = (row["meta"] or {}).get("finished")
        return row if finished else None

    return wait_for(probe, what=f"call {call_id} to finish")


def _heard(transcript: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in transcript if e["kind"] == "heard_tts"]


def test_vendor_accepts_with_prep_time(telephony: Telephony) -> None:
    env = telephony
    env.sim.script(
        VENDOR,
        keys=[
            {"when_heard": MENU, "keys": "1", "once": True},
            {"when_heard": PREP_QUESTION, "keys": "2", "once": True},
        ],
    )
    call_id = _vendor_call(env)
    row = _ended(env, call_id)
    assert row["status"] == "completed"
    assert row["outcome"] == "accepted"
    assert row["prep_time_minutes"] == 20
    assert row["digits"] == "12"
    accepted = env.service.published("vendor.accepted")
    assert len(accepted) == 1
    assert accepted[0].order_id == "12345"
    assert accepted[0].data["prep_minutes"] == 20
    transcript = env.sim.transcript(VENDOR)
    heard = _heard(transcript)
    assert any("Krishna Kirana" in text and "325 रुपये" in text for text in heard), heard
    kinds = [e["kind"] for e in transcript]
    confirmation = next(i for i, e in enumerate(transcript) if "स्वीकार हो गया" in (e["text"] or ""))
    assert transcript[confirmation]["kind"] == "heard_tts"
    assert "call_ended" in kinds[confirmation:]
    sim_call = env.sim.call(row["call_sid"])
    print(sim_call)
    for e in transcript:
        print(e)
