"""A real incoming call from a virtual phone to a virtual number, through exosim running the
masked-call blueprint, reaches the counter-party showing the virtual number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exocomms.connect import blueprint
from tests.e2e.support import (
    TOKEN,
    database_url,
    running_service,
    running_sim,
    service_settings,
    start_time,
    wait_for,
)
from tests.support.servers import free_port

VN = "08047109001"
CUSTOMER, RIDER = "+919830030890", "+919820020501"


def test_a_masked_call_reaches_the_rider_who_sees_only_the_virtual_number(
    tmp_path: Path,
) -> None:
    start = start_time()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_sim(start) as sim, database_url(tmp_path) as db_url:
        settings = service_settings(tmp_path, url=url, sim_url=sim.url, db_url=db_url)
        settings = settings.model_copy(update={"masking_numbers": VN})
        flow = blueprint.to_exosim(blueprint.build("masked-call", base_url=url, token=TOKEN))
        sim.load_flow(flow)
        sim.control("POST", "flows/masked-call/assign", json={"exophone": VN})
        sim.script(RIDER, hangup_after=20)
        with running_service(settings, port=port, start=start) as service:
            created = service.http.post(
                "/masking/create", json={"orderId": "12345", "partyA": CUSTOMER, "partyB": RIDER}
            )
            assert created.status_code == 201, created.text
            placed = sim.control("POST", f"phones/{CUSTOMER}/call", json={"to": VN})
            sid = placed["call_sid"]

            def ended() -> dict[str, Any] | None:
                call = sim.call(sid)
                return call if call["status"] in ("completed", "failed", "no-answer") else None

            call = wait_for(ended, what="the masked call to end", seconds=30)
            assert call["status"] == "completed"
            rang = [
                e for e in sim.transcript(RIDER) if e["call_sid"] == sid and e["kind"] == "ringing"
            ]
            assert len(rang) == 1
            assert rang[0]["text"].endswith(VN[-10:])  # the VN on the rider's screen
            assert CUSTOMER[-10:] not in rang[0]["text"]

            def finished() -> dict[str, Any] | None:
                row = service.in_transaction(_row_by_sid(sid))
                return row if row and row["status"] == "completed" else None

            row = wait_for(finished, what="the call row to complete")
            assert (row["purpose"], row["outcome"], row["order_id"]) == (
                "masked_call",
                "connected",
                "12345",
            )
            assert [e.data["call_id"] for e in service.published("call.finished")] == [row["id"]]


def _row_by_sid(sid: str) -> Any:
    from exocomms.calls import repo

    async def read(session: Any, runtime: Any) -> dict[str, Any] | None:
        return await repo.get_call(session, call_sid=sid)

    return read
