"""Calls to Lead Assist virtual numbers (GreenVN / GreenPin) that are not flow ExoPhones.

A GreenVN call is bridged at once to the party the allocation routes the caller to; a GreenPin
call first asks for the PIN (the caller's key script answers), then bridges. The callee sees
the virtual number, never the caller's number (EXOTEL.md §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exosim.model import Call, new_sid

if TYPE_CHECKING:
    from exosim.engine.calls import CallEngine
    from exosim.engine.session import CallSession

PIN_PROMPT = "Please enter your PIN, followed by the hash key."
PIN_INVALID = "Sorry, that PIN is not valid. Goodbye."
PIN_WAIT_SECONDS = 10.0


def virtual_call(
    engine: CallEngine,
    from_number: str,
    virtual_number: str,
    account_sid: str,
    *,
    target: str | None,
    hangup_after: float | None = None,
) -> Call:
    """Start an inbound call to ``virtual_number``: bridged to ``target``, or PIN-first."""
    now = engine.sim.store.clock.now()
    call = Call(
        sid=new_sid(),
        account_sid=account_sid,
        from_number=from_number,
        to_number=target,
        caller_id=virtual_number,
        direction="inbound",
        date_created=now,
        date_updated=now,
        status="ringing",
        params={"hangup_after": hangup_after, "missed": False, "greenpin": target is None},
    )
    engine.sim.store.calls[call.sid] = call
    engine.start_call(call)
    return call


async def greenpin(engine: CallEngine, session: CallSession) -> None:
    """Collect the PIN, find the party it routes to, then bridge as a two-number call."""
    from exosim.api.leadassist import route_pin  # here: the engine does not need the API

    call = session.call

    async def ask() -> None:
        await session.say(PIN_PROMPT)

    digits = await session.collect(
        max_digits=8, finish_on_key="#", wait_seconds=PIN_WAIT_SECONDS, prompt=ask
    )
    target = route_pin(engine.sim.store, call.from_number, call.caller_id or "", digits)
    session.event("greenpin.routed", found=target is not None)
    if target is None:
        await session.say(PIN_INVALID)
        return
    call.to_number = target
    await engine.two_number(session)
