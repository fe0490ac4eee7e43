"""Provider events reach the voice_calls row exactly once, in any order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from exocomms.calls import repo
from exocomms.calls.service import NewCall, apply_event, attach_sid, create_call
from exocomms.errors import NotFound
from exocomms.storage.db import Database
from exocomms.telephony.exotel.callbacks import parse_status_callback

NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
SID = "c5797dcbaaeed7678c4062a4a3ed2f8a"

ANSWERED = {
    "CallSid": SID,
    "EventType": "answered",
    "Status": "in-progress",
    "DateUpdated": "2026-03-02 10:30:05",
    "StartTime": "2026-03-02 10:30:05",
    "Legs[0][Status]": "in-progress",
    "Legs[0][AnsweredBy]": "HUMAN",
}
TERMINAL = {
    "CallSid": SID,
    "EventType": "terminal",
    "Status": "completed",
    "DateUpdated": "2026-03-02 10:31:05",
    "ConversationDuration": "58",
    "RecordingUrl": "http://127.0.0.1:4000/_exosim/recordings/x.wav",
    "Legs": '[{"OnCallDuration": 58, "Status": "completed", "AnsweredBy": "Human"}]',
}


async def _new_call(db: Database) -> str:
    async with db.transaction() as session:
        call_id = await create_call(
            session,
            NewCall(purpose="vendor_order_confirmation", phone="+919812345678", order_id="12345"),
            NOW,
        )
        await attach_sid(session, call_id, SID, NOW)
    return call_id


async def _deliver(db: Database, fields: dict[str, str]) -> bool:
    parsed = parse_status_callback(fields, NOW)
    async with db.transaction() as session:
        result = await apply_event(
            session,
            call_sid=parsed.call_sid,
            event=parsed.event,
            dedupe_key=parsed.dedupe_key,
            payload=fields,
            now=NOW,
        )
    return result.changed


@pytest.mark.parametrize("order", [("answered", "terminal"), ("terminal", "answered")])
async def test_callbacks_in_either_order_give_the_same_row(
    db: Database, order: tuple[str, str]
) -> None:
    call_id = await _new_call(db)
    bodies = {"answered": ANSWERED, "terminal": TERMINAL}
    for name in order:
        assert await _deliver(db, bodies[name])
    async with db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
        events = await repo.list_events(session, call_id)
    assert row is not None
    assert row["status"] == "completed"
    assert row["duration"] == 58
    assert row["answered_by"] == "Human"
    assert row["answered_at"] == datetime(2026, 3, 2, 5, 0, 5, tzinfo=UTC)
    assert row["ended_at"] == datetime(2026, 3, 2, 5, 1, 5, tzinfo=UTC)
    assert row["recording_url"].endswith("x.wav")
    assert len(events) == 2


async def test_a_duplicate_callback_applies_once(db: Database) -> None:
    call_id = await _new_call(db)
    assert await _deliver(db, TERMINAL)
    assert not await _deliver(db, TERMINAL)
    async with db.transaction() as session:
        assert len(await repo.list_events(session, call_id)) == 1


async def test_concurrent_duplicates_apply_once(db: Database) -> None:
    call_id = await _new_call(db)
    results = await asyncio.gather(*(_deliver(db, TERMINAL) for _ in range(8)))
    assert results.count(True) == 1
    async with db.transaction() as session:
        assert len(await repo.list_events(session, call_id)) == 1


async def test_unknown_call_sid_is_not_found_and_changes_nothing(db: Database) -> None:
    with pytest.raises(NotFound):
        await _deliver(db, {**TERMINAL, "CallSid": "f" * 32})


async def test_late_time_fields_do_not_overwrite(db: Database) -> None:
    call_id = await _new_call(db)
    await _deliver(db, TERMINAL)
    later = {
        **TERMINAL,
        "EventType": "terminal",
        "Status": "failed",
        "DateUpdated": "2026-03-02 10:40:00",
    }
    assert await _deliver(db, later) is False  # first terminal wins
    async with db.transaction() as session:
        row = await repo.get_call(session, call_id=call_id)
    assert row is not None
    assert row["status"] == "completed"
    assert row["ended_at"] - NOW == timedelta(minutes=1, seconds=5)
