"""A lead form is the person asking to be called: DND does not stop the call they asked for."""

from __future__ import annotations

from pathlib import Path

from exocomms.leads.service import create_lead
from exocomms.scheduling import preferences
from exocomms.scheduling.gate import check_send
from exocomms.scheduling.model import Recipient
from exocomms.storage.db import Database
from tests.integration.test_ivr_support import fake_runtime, settings_for

PHONE = "+919812345678"


async def test_a_lead_on_dnd_is_called_but_still_gets_no_promotions(
    db: Database, tmp_path: Path
) -> None:
    async with fake_runtime(settings_for(tmp_path), db) as (runtime, _):
        now = runtime.clock.now()  # 10:00 IST on a Monday
        async with runtime.db.transaction() as session:
            await preferences.upsert(
                session, Recipient(phone=PHONE, dnd_full=True), source="api", actor="t", now=now
            )
            before = await check_send(
                session, runtime, purpose="lead_call", medium="call", phone=PHONE
            )
        async with runtime.db.transaction() as session:
            await create_lead(
                session, runtime, source="website", name="Asha", phone=PHONE, email=None
            )
        async with runtime.db.transaction() as session:
            lead_call = await check_send(
                session, runtime, purpose="lead_call", medium="call", phone=PHONE
            )
            promotion = await check_send(
                session, runtime, purpose="promotional_offer", medium="call", phone=PHONE
            )
            stored = await preferences.recipient_for(session, PHONE)
    assert not before.go  # on DND and no consent yet
    assert lead_call.go
    assert not promotion.go
    assert stored.dnd_full
    assert "lead_call" in stored.consents
