"""``exocomms demo`` end to end: the same code path as the CLI (``run_demo``), on the test
database (SQLite, or a PostgreSQL schema), checked against the service's database afterwards."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from exocomms.demo.jupiter import CUSTOMERS, RIDERS, STORES
from exocomms.demo.runner import run_demo
from exocomms.demo.setup import ADMIN
from exocomms.storage.db import Database
from exocomms.storage.tables import escalations, messages, missed_calls, voice_calls
from tests.e2e.support import database_url

STORE = {s["id"]: s["phone"] for s in STORES}
RIDER = {r["id"]: r["phone"] for r in RIDERS}
CUSTOMER = {c["id"]: c["phone"] for c in CUSTOMERS}


async def _rows(url: str) -> dict[str, list[dict[str, Any]]]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            out = {}
            for name, table in (
                ("escalations", escalations),
                ("calls", voice_calls),
                ("messages", messages),
                ("missed", missed_calls),
            ):
                result = await session.execute(select(table))
                out[name] = [dict(r) for r in result.mappings().all()]
            return out
    finally:
        await db.dispose()


async def test_the_demo_day_ends_as_scripted(tmp_path: Path) -> None:
    out = io.StringIO()
    with database_url(tmp_path) as url:
        code = await run_demo(Console(file=out, width=140), scale=30.0, database_url=url)
        rows = await _rows(url)
    text = out.getvalue()
    assert code == 0, text
    assert "every order ended as scripted" in text
    assert "GET /comms/timeline/1004" in text

    esc = {r["id"]: r for r in rows["escalations"]}
    ended = {k: (v["status"], v["acknowledged_channel"]) for k, v in esc.items()}
    assert ended == {
        "vendor_order_1001": ("acknowledged", "whatsapp"),
        "rider_assign_1001": ("acknowledged", "ivr"),
        "vendor_order_1002": ("acknowledged", "ivr"),
        "rider_assign_1002": ("acknowledged", "whatsapp"),
        "address_update_1002": ("acknowledged", "ivr"),
        "vendor_order_1003": ("acknowledged", "ivr"),
        "vendor_order_1004": ("exhausted", None),
    }
    # The reassignment: the same ladder id ends with the second rider.
    assert esc["rider_assign_1001"]["party_phone"] == RIDER["502"]

    def calls(order: str, purpose: str | None = None) -> list[dict[str, Any]]:
        return [
            c
            for c in rows["calls"]
            if c["order_id"] == order and (purpose is None or c["purpose"] == purpose)
        ]

    assert not calls("1001", "vendor_new_order")  # answered on WhatsApp: never called
    outcomes = {
        (c["order_id"], c["phone"]): (c["outcome"], c["digits"])
        for c in rows["calls"]
        if c["outcome"]
    }
    assert outcomes[("1002", STORE["68"])] == ("accepted", "12")
    assert outcomes[("1003", STORE["69"])] == ("rejected", "21")
    assert outcomes[("1001", RIDER["501"])] == ("rejected", "2")
    assert outcomes[("1001", RIDER["502"])] == ("accepted", "1")
    assert outcomes[("1002", RIDER["503"])] == ("acknowledged", "1")  # the new address
    [accepted] = [c for c in calls("1002") if c["outcome"] == "accepted"]
    assert accepted["prep_time_minutes"] == 20
    [rejected] = [c for c in calls("1003") if c["outcome"] == "rejected"]
    assert rejected["rejection_reason"] == "out_of_stock"
    # 1004: the admin got the alert by SMS, and a bridge call from the admin to the store (who
    # never answers, so the bridge ends no-answer).
    alerts = [m for m in rows["messages"] if m["to_number"] == ADMIN and m["order_id"] == "1004"]
    assert {(m["channel"], m["status"]) for m in alerts} >= {("sms", "delivered")}
    bridge = [(c["phone"], c["status"]) for c in calls("1004") if c["phone"] == ADMIN]
    assert bridge == [(ADMIN, "no-answer")]
    # 1001: the accepting rider got the pickup details by SMS.
    pickup = [m for m in rows["messages"] if m["template"] == "rider.pickup_details"]
    assert [(m["to_number"], m["status"]) for m in pickup] == [(RIDER["502"], "delivered")]
    # The connect slice: Priya called Suresh through the masked number; Kavya's missed call was
    # returned into the ordering IVR and she pressed 1 (repeat her last order, 1003).
    masked = calls("1001", "masked_call")
    assert [(c["phone"], c["status"], c["outcome"]) for c in masked] == [
        (CUSTOMER["890"], "completed", "connected")
    ]
    [missed] = rows["missed"]
    assert missed["caller"] == CUSTOMER["892"]
    [callback] = calls("1003", "missed_call_callback")
    assert callback["id"] == missed["callback_call_id"]
    assert (callback["phone"], callback["status"], callback["digits"]) == (
        CUSTOMER["892"],
        "completed",
        "1",
    )
