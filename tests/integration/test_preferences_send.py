"""Stored recipient preferences bind every send: DND, category blocks, explicit consent.

The clock stands at 10:00 IST on a Monday: inside the promotional window, so anything that
does not go out here is held back by the recipient's preferences, not by the time of day.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exocomms.calls import repo
from exocomms.clock import ManualClock
from exocomms.ivr.service import start_ivr_call
from exocomms.messaging import repo as messages
from exocomms.messaging.service import queue_sms
from exocomms.runtime import Runtime
from exocomms.scheduling import preferences, service
from exocomms.scheduling.model import ANYONE, Recipient
from exocomms.storage.db import Database
from tests.integration.test_ivr_support import FakeExotel, fake_runtime, run_due_jobs, settings_for
from tests.integration.test_scheduled_support import run_jobs, scheduling_runtime

PHONE = "+919876543210"
OTHER = "+919812345678"
CONTEXT = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}],
}
SMS_PARAMS = {
    "order_id": "12345",
    "amount": "325",
    "store_name": "Krishna Kirana",
    "item_count": "2",
}


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeExotel]]:
    async with fake_runtime(settings_for(tmp_path), db) as (runtime, fake):
        assert isinstance(runtime.clock, ManualClock)  # 10:00 IST, a Monday
        yield runtime, fake


async def _prefer(
    runtime: Runtime,
    phone: str = PHONE,
    *,
    dnd_full: bool = False,
    blocked: Sequence[str] = (),
    consents: Sequence[str] = (),
) -> None:
    async with runtime.db.transaction() as session:
        recipient = Recipient(
            phone=phone,
            dnd_full=dnd_full,
            blocked_categories=frozenset(blocked),
            consents=frozenset(consents),
        )
        await preferences.upsert(
            session, recipient, source="api", actor="test", now=runtime.clock.now()
        )


async def _call(runtime: Runtime, purpose: str, phone: str = PHONE) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        call_id = await start_ivr_call(
            session,
            runtime,
            ivr="vendor_order",
            phone=phone,
            context=CONTEXT,
            purpose=purpose,
            order_id="12345",
        )
    await run_due_jobs(runtime)
    async with runtime.db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
    assert row is not None
    return row


async def _sms(runtime: Runtime, purpose: str, phone: str = PHONE) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        message_id = await queue_sms(
            session,
            runtime,
            to=phone,
            template="vendor_new_order.sms",
            params=SMS_PARAMS,
            purpose=purpose,
        )
    await run_due_jobs(runtime)
    async with runtime.db.transaction() as session:
        row = await messages.get_message(session, message_id=message_id)
    assert row is not None
    return row


async def test_dnd_number_never_gets_promotions_but_still_gets_order_traffic(
    env: tuple[Runtime, FakeExotel],
) -> None:
    runtime, fake = env
    await _prefer(runtime, dnd_full=True)
    promo_call = await _call(runtime, "promotional_offer")
    promo_sms = await _sms(runtime, "diwali")
    assert (promo_call["status"], promo_call["outcome"]) == ("canceled", "dnd_full")
    assert promo_call["call_sid"] is None
    assert promo_sms["status"] == "canceled"
    assert "DND" in promo_sms["error"]
    assert fake.posted("Calls/connect.json") == []
    assert fake.posted("Sms/send.json") == []
    order_call = await _call(runtime, "vendor_new_order")
    order_sms = await _sms(runtime, "order_confirmation")
    assert order_call["call_sid"] is not None
    assert order_sms["status"] == "sent"
    assert [c["From"] for c in fake.posted("Calls/connect.json")] == [PHONE]
    assert [m["To"] for m in fake.posted("Sms/send.json")] == [PHONE]


async def test_a_category_block_stops_only_that_categorys_promotions(
    env: tuple[Runtime, FakeExotel],
) -> None:
    runtime, fake = env
    await _prefer(runtime, PHONE, blocked=["food_beverages"])  # our promotions' category
    await _prefer(runtime, OTHER, blocked=["banking", "real_estate"])
    blocked = await _sms(runtime, "promotional_offer", PHONE)
    other = await _sms(runtime, "promotional_offer", OTHER)
    assert blocked["status"] == "canceled"
    assert "food_beverages" in blocked["error"]
    assert other["status"] == "sent"
    assert [m["To"] for m in fake.posted("Sms/send.json")] == [OTHER]


async def test_explicit_consent_lets_a_service_explicit_purpose_through_dnd(
    env: tuple[Runtime, FakeExotel],
) -> None:
    runtime, fake = env
    await _prefer(runtime, PHONE, dnd_full=True)
    without = await _sms(runtime, "abandoned_cart", PHONE)
    assert (without["status"], fake.posted("Sms/send.json")) == ("canceled", [])
    await _prefer(runtime, PHONE, dnd_full=True, consents=["abandoned_cart"])
    await _prefer(runtime, OTHER, dnd_full=True, consents=["food_beverages"])  # the category
    by_purpose = await _sms(runtime, "abandoned_cart", PHONE)
    by_category = await _call(runtime, "abandoned_cart", OTHER)
    assert by_purpose["status"] == "sent"
    assert by_category["call_sid"] is not None
    # Consent to one purpose is not consent to promotions.
    promo = await _sms(runtime, "promotional_offer", PHONE)
    assert promo["status"] == "canceled"
    assert len(fake.posted("Sms/send.json")) == 1


async def test_recipient_for_reads_the_stored_row_or_the_default(db: Database) -> None:
    now = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)
    async with db.transaction() as session:
        assert await preferences.recipient_for(session, PHONE) is ANYONE
        assert await preferences.recipient_for(session, None) is ANYONE
        await preferences.upsert(
            session,
            Recipient(phone=PHONE, blocked_categories=frozenset({"health"})),
            source="nccpr",
            actor="test",
            now=now,
        )
        await preferences.add_consent(
            session, "098765 43210", "lead_call", source="lead", actor="leads", now=now
        )
        found = await preferences.recipient_for(session, "98765-43210")
        row = await preferences.get(session, PHONE)
    assert found == Recipient(
        phone=PHONE, blocked_categories=frozenset({"health"}), consents=frozenset({"lead_call"})
    )
    assert row is not None
    assert (row["source"], row["updated_by"], row["updated_at"]) == ("lead", "leads", now)


async def test_a_scheduled_promotional_call_to_a_dnd_number_fails_without_dialling(
    tmp_path: Path, db: Database
) -> None:
    clock = ManualClock()  # 10:00 IST: the promotional window is open
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, fake):
        await _prefer(runtime, dnd_full=True)
        async with runtime.db.transaction() as session:
            promo = await service.create(
                session, runtime, service.NewScheduledCall(phone=PHONE, purpose="diwali")
            )
            order = await service.create(
                session, runtime, service.NewScheduledCall(phone=PHONE, purpose="delivery_update")
            )
        await run_jobs(runtime)
        async with runtime.db.transaction() as session:
            promo_row = await service.get(session, promo["id"])
            order_row = await service.get(session, order["id"])
    assert (promo_row["status"], promo_row["last_outcome"]) == ("failed", "never_allowed")
    assert "DND" in promo_row["reason"]
    assert promo_row["call_id"] is None
    assert order_row["status"] == "in_progress"
    assert len(fake.posted("Calls/connect.json")) == 1


async def test_a_scheduled_call_canceled_at_the_dial_is_failed_not_left_in_progress(
    tmp_path: Path, db: Database
) -> None:
    """Preferences change between the due check and the dial: the dial job cancels the call
    and the scheduled call learns it (``call.finished``), instead of waiting forever."""
    clock = ManualClock()
    async with scheduling_runtime(tmp_path, db, clock) as (runtime, fake):
        async with runtime.db.transaction() as session:
            promo = await service.create(
                session, runtime, service.NewScheduledCall(phone=PHONE, purpose="diwali")
            )
        await run_jobs(runtime, frozenset({"scheduled_call.due"}))  # due: allowed, call queued
        async with runtime.db.transaction() as session:
            queued = await service.get(session, promo["id"])
        await _prefer(runtime, dnd_full=True)  # the person registers for DND meanwhile
        await run_jobs(runtime)  # the dial job meets the gate
        async with runtime.db.transaction() as session:
            final = await service.get(session, promo["id"])
            call = await repo.get_call(session, call_id=str(queued["call_id"]))
    assert queued["status"] == "in_progress"
    assert call is not None
    assert (call["status"], call["outcome"]) == ("canceled", "dnd_full")
    assert final["status"] == "failed"
    assert fake.posted("Calls/connect.json") == []
