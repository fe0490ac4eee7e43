"""Click-to-call, bridges and missed-call callbacks through the API, with a fake Exotel."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from exocomms.clock import ManualClock
from exocomms.storage.db import Database
from exocomms.storage.tables import outbox_messages
from tests.integration.test_connect_support import ADMIN, CUSTOMER, RIDER, STORE, connect_env
from tests.integration.test_ivr_support import TOKEN, pending_jobs, run_due_jobs

AGENT = "+919811122233"


async def test_click_to_call_places_the_call_and_answers_exotels_sid(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        response = await env.client.post(
            "/click-to-call",
            json={
                "agentPhone": "098111 22233",
                "customerPhone": "9830030890",
                "timeLimit": 120,
                "recordCall": True,
                "customField": "ticket-7",
                "statusCallback": "https://crm.example.com/calls",
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "in-progress"
        [form] = env.exotel.posted("Calls/connect.json")
        assert (form["From"], form["To"], form["CallerId"]) == (AGENT, CUSTOMER, "08047112233")
        assert (form["TimeLimit"], form["Record"]) == ("120", "true")
        assert form["CustomField"] == body["callId"]  # ours; the client's is echoed later
        assert body["callSid"].startswith("sid")
        row = await env.row(body["callSid"])
        assert (row["purpose"], row["meta"]["second"]) == ("click_to_call", CUSTOMER)
        done = await env.client.post(
            f"/exotel/callbacks/status?t={TOKEN}",
            data={"CallSid": body["callSid"], "Status": "completed", "CustomField": row["id"]},
        )
        assert done.status_code == 200, done.text
        async with env.runtime.db.transaction() as session:
            [message] = (await session.execute(select(outbox_messages))).mappings().all()
        assert message["url"] == "https://crm.example.com/calls"
        assert '"customField":"ticket-7"' in message["body"]
        assert '"status":"completed"' in message["body"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agentPhone": "12345"}, "agentPhone"),
        ({"timeLimit": 0}, "timeLimit"),
        ({"timeLimit": 14_401}, "timeLimit"),
        ({"customField": "x" * 129}, "customField"),
        ({"statusCallback": "ftp://crm.example.com/x"}, "statusCallback"),
    ],
)
async def test_click_to_call_refuses_bad_input(
    db: Database, tmp_path: Path, change: dict[str, object], field: str
) -> None:
    async with connect_env(db, tmp_path) as env:
        body = {"agentPhone": AGENT, "customerPhone": CUSTOMER} | change
        response = await env.client.post("/click-to-call", json=body)
        assert response.status_code == 422
        assert field in response.text
        assert env.exotel.posted("Calls/connect.json") == []


async def test_click_to_call_by_order_looks_the_parties_up(db: Database, tmp_path: Path) -> None:
    async with connect_env(db, tmp_path) as env:
        env.jupiter.orders["12345"]["rider_id"] = "501"
        vendor = await env.client.post("/click-to-call/vendor", json={"orderId": "12345"})
        assert vendor.status_code == 200, vendor.text
        rider = await env.client.post(
            "/click-to-call/rider", json={"orderId": "12345", "from": "vendor"}
        )
        assert rider.status_code == 200, rider.text
        support = await env.client.post("/click-to-call/support", json={"orderId": "12345"})
        assert support.status_code == 200, support.text
        calls = [(f["From"], f["To"]) for f in env.exotel.posted("Calls/connect.json")]
        assert calls == [(CUSTOMER, STORE), (STORE, RIDER), (CUSTOMER, ADMIN)]
        missing = await env.client.post("/click-to-call/vendor", json={"orderId": "999"})
        assert missing.status_code == 404
        env.runtime.commerce = None
        down = await env.client.post("/click-to-call/vendor", json={"orderId": "12345"})
        assert down.status_code == 503


async def test_bridges_are_queued_with_the_masked_number(db: Database, tmp_path: Path) -> None:
    async with connect_env(db, tmp_path) as env:
        created = await env.client.post(
            "/masking/create", json={"orderId": "12345", "partyA": CUSTOMER, "partyB": RIDER}
        )
        vn = created.json()["virtualNumber"]
        masked = await env.client.post(
            "/exotel/ivr/bridge/masked",
            json={
                "party_a_phone": CUSTOMER,
                "party_b_phone": RIDER,
                "order_id": "12345",
                "time_limit": 300,
            },
        )
        assert masked.status_code == 202, masked.text
        assert masked.json()["maskedNumber"] == vn
        admin = await env.client.post("/exotel/ivr/bridge/admin", json={"party_phone": STORE})
        assert admin.status_code == 202, admin.text
        await run_due_jobs(env.runtime)
        forms = env.exotel.posted("Calls/connect.json")
        assert [(f["From"], f["To"], f["CallerId"]) for f in forms] == [
            (CUSTOMER, RIDER, vn),
            (ADMIN, STORE, "08047112233"),
        ]


async def test_three_missed_calls_in_the_window_give_one_callback(
    db: Database, tmp_path: Path
) -> None:
    async with connect_env(db, tmp_path) as env:
        clock = env.runtime.clock
        assert isinstance(clock, ManualClock)
        answers = []
        for _ in range(3):
            answers.append(
                (await env.client.post("/exotel/ivr/missed-call", json={"phone": CUSTOMER})).json()
            )
            clock.advance(60)
        assert [a["deduplicated"] for a in answers] == [False, True, True]
        passthru = await env.get(
            "/exotel/applets/missed/call",
            CallSid="mc4",
            CallFrom="09830030890",
            CallTo="08047112233",
        )
        assert passthru.status_code == 302
        kinds = [j["kind"] for j in await pending_jobs(env.runtime)]
        assert kinds.count("connect.missed_callback") == 1
        assert await run_due_jobs(env.runtime, lambda k: k.startswith("connect.")) == [
            "connect.missed_callback"  # due 30 s after the first: already due
        ]
        await run_due_jobs(env.runtime)
        [form] = env.exotel.posted("Calls/connect.json")
        assert form["From"] == CUSTOMER
        assert form["CallerId"] == "08047112244"  # the new-order number
        assert form["Url"].endswith("/ordering")
        clock.advance(601)  # a new window: a new callback
        again = await env.client.post("/exotel/ivr/missed-call", json={"phone": CUSTOMER})
        assert again.json()["deduplicated"] is False
        unauth = await env.client.post(
            "/exotel/ivr/missed-call", json={"phone": CUSTOMER}, headers={"X-API-Key": "bad"}
        )
        assert unauth.status_code == 401
