"""Dialling one leg of a call to a virtual phone, and bridging two parties.

The phone's script decides the outcome: answer after n s (a person or, for ``voicemail``, a
machine), never answer (``no-answer`` once the ring timeout passes), ``busy`` or ``switched_off``
(``failed``). A number that is not a phone number fails at once.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from exosim.api.phonenum import display
from exosim.engine import callbacks
from exosim.engine.session import CallSession
from exosim.model import Leg
from exosim.phones.model import DEFAULT_TALK_SECONDS, VirtualPhone, get_or_create, phone_key

RingOutcome = Literal["answered", "busy", "no-answer", "failed"]

DEFAULT_RING_TIMEOUT = 30.0  # seconds a leg rings when the request gives no TimeOut
REJECT_SECONDS = 1.0  # a busy/switched-off network answer takes this long


def dial_number(raw: str) -> str:
    """A number to dial in E.164 when it parses (kept as given otherwise, to fail later)."""
    return phone_key(raw) or raw.strip()


def phone_for(session: CallSession, number: str) -> VirtualPhone:
    """The virtual phone behind ``number`` (created unscripted when unknown)."""
    return get_or_create(session.sim.store.phones, number)


async def ring(
    session: CallSession, leg: Leg, leg_no: int, ring_for: float, caller_id: str | None = None
) -> RingOutcome:
    """Ring ``leg`` for at most ``ring_for`` s; sets its status unless it is answered.

    The phone's transcript shows the number on its screen: ``caller_id``, by default the
    call's ExoPhone (callers never see each other's numbers). A cancelled ring (the other
    party hung up) leaves the leg ``canceled``.
    """
    clock = session.clock
    sid = session.call.sid
    phone = phone_for(session, leg.number)
    leg.started_at = clock.now()
    if phone_key(leg.number) is None:
        leg.status, leg.ended_at = "failed", clock.now()
        session.event(f"leg{leg_no}.failed", number=leg.number, reason="invalid number")
        return "failed"
    script = session.script_of(phone)
    try:
        if script.behaviour == "switched_off":
            await clock.sleep(REJECT_SECONDS)
            phone.note(clock.now(), sid, "unreachable")
            return _ended(session, leg, leg_no, "failed", "switched off")
        session.event(f"leg{leg_no}.ringing", number=leg.number)
        callbacks.send_status(session.sim, session.call, "ringing")
        phone.note(clock.now(), sid, "ringing", display(caller_id or session.call.caller_id))
        if script.behaviour == "busy":
            await clock.sleep(REJECT_SECONDS)
            phone.note(clock.now(), sid, "rejected")
            return _ended(session, leg, leg_no, "busy", "busy")
        if script.behaviour == "no_answer" or script.answer_after > ring_for:
            await clock.sleep(ring_for)
            phone.note(clock.now(), sid, "missed")
            return _ended(session, leg, leg_no, "no-answer", f"not answered in {ring_for:g}s")
        await clock.sleep(script.answer_after)
    except asyncio.CancelledError:
        if leg.status is None:
            leg.status, leg.ended_at = "canceled", clock.now()
            phone.note(clock.now(), sid, "missed")
            session.event(f"leg{leg_no}.canceled", number=leg.number)
        raise
    leg.answered_at = clock.now()
    machine = script.behaviour == "voicemail"
    leg.answered_by = "Machine" if machine else ("Human" if leg_no > 1 else "NA")
    phone.note(clock.now(), sid, "answered", "machine" if machine else None)
    session.event(f"leg{leg_no}.answered", number=leg.number, answered_by=leg.answered_by)
    return "answered"


def _ended(
    session: CallSession, leg: Leg, leg_no: int, status: RingOutcome, reason: str
) -> RingOutcome:
    assert status != "answered"
    leg.status, leg.ended_at = status, session.clock.now()
    session.event(f"leg{leg_no}.{status}", number=leg.number, reason=reason)
    return status


async def ring_parallel(
    session: CallSession,
    legs: list[Leg],
    first_leg_no: int,
    ring_for: float,
    caller_id: str | None = None,
) -> Leg | None:
    """Ring every leg at once; the first to answer wins and the others are canceled."""
    tasks = {
        asyncio.ensure_future(ring(session, leg, first_leg_no + i, ring_for, caller_id)): leg
        for i, leg in enumerate(legs)
    }
    winner: Leg | None = None
    pending = set(tasks)
    try:
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                ok = not task.cancelled() and task.exception() is None
                if ok and task.result() == "answered" and winner is None:
                    winner = tasks[task]
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    # A second leg that answered in the same instant is hung up at once.
    for leg in tasks.values():
        if leg is not winner and leg.answered_at is not None and leg.ended_at is None:
            leg.status, leg.ended_at = "completed", session.clock.now()
    return winner


async def bridge(session: CallSession, leg: Leg, max_seconds: float | None) -> str:
    """Connect the caller with the answered ``leg`` until the callee hangs up or time runs out.

    The callee's ``hangup_after`` and ``max_seconds`` both count from the callee's answer.

    The caller hanging up is handled by the caller of this function (it cancels us). Returns
    why the bridge ended: ``callee`` or ``max_duration``.
    """
    callee = phone_for(session, leg.number)
    session.callee = callee
    script = session.script_of(callee)
    talk = script.hangup_after
    if talk is None:
        talk = DEFAULT_TALK_SECONDS if leg.answered_by != "Machine" else script.message_seconds
    reason = "callee"
    if max_seconds is not None and max_seconds < talk:
        talk, reason = max_seconds, "max_duration"
    if leg.answered_at is not None:  # both count from the answer (playback comes first)
        talk = max(0.0, talk - (session.clock.now() - leg.answered_at).total_seconds())
    session.event("bridge.start", number=leg.number)
    session.caller.note(session.clock.now(), session.call.sid, "connected", leg.number)
    callee.note(session.clock.now(), session.call.sid, "connected", session.caller.number)
    try:
        await session.clock.sleep(talk)
    finally:
        session.callee = None
        if leg.ended_at is None:
            leg.status, leg.ended_at = "completed", session.clock.now()
    if reason == "callee":
        callee.note(session.clock.now(), session.call.sid, "hung_up")
    session.event("bridge.end", number=leg.number, reason=reason, seconds=leg.on_call_duration)
    return reason
