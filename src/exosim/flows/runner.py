"""Runs a flow's applets one after another over a live call, as Exotel does.

Each applet returns the id of the next applet (or None: the flow ends and the call hangs up).
Customer responses never choose the next applet, except Passthru's 200/302 branch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from exosim.api.dlt import sms_units
from exosim.api.sms import schedule_delivery
from exosim.api.sms_build import STATUS_DETAIL
from exosim.engine.legs import bridge, dial_number, phone_for, ring, ring_parallel
from exosim.engine.session import CallSession
from exosim.flows import applets as http
from exosim.flows.model import (
    Connect,
    ExoMl,
    Flow,
    Gather,
    Greeting,
    Hangup,
    IvrMenu,
    Passthru,
    Prompt,
    SmsApplet,
    StartPlayback,
    Voicemail,
)
from exosim.model import Leg, SmsMessage, new_sid

MAX_STEPS = 1000  # applets per call; protects the emulator from a flow that loops in zero time


async def run_flow(session: CallSession, passthru_only: bool = False) -> None:
    """Run the call's flow from its start applet until it ends.

    Args:
        session: the live call (its ``flow_id`` names the flow in ``store.flows``).
        passthru_only: run only the Passthru applets at the start (a missed call).
    """
    call = session.call
    flow = session.sim.store.flows.get(call.flow_id or "")
    if not isinstance(flow, Flow):
        session.event("flow.missing", flow_id=call.flow_id)
        return
    current: str | None = flow.start
    steps = 0
    while current is not None:
        steps += 1
        if steps > MAX_STEPS:
            session.event("flow.loop", reason=f"more than {MAX_STEPS} applets; hanging up")
            return
        applet = flow.applets[current]
        if passthru_only and not isinstance(applet, Passthru):
            return
        session.event("applet", id=current, type=applet.type)
        handler: Callable[[CallSession, Any], Awaitable[str | None]] = _HANDLERS[applet.type]
        current = await handler(session, applet)
    session.event("flow.end", flow_id=flow.id)


async def _passthru(session: CallSession, applet: Passthru) -> str | None:
    params = http.passthru_params(session)
    if applet.is_async:
        # Fire and continue: the flow does not wait (the request still runs with the call).
        session.spawn(_fire_and_forget(session, applet.url, params))
        return applet.next
    response = await session.request("GET", applet.url, params=params, label="passthru")
    if response is not None and response.status_code == 200:
        return applet.next
    if response is not None and response.status_code == 302:
        return applet.on_302
    session.event("passthru.failed", url=applet.url)
    return applet.on_error if applet.on_error else applet.on_302


async def _fire_and_forget(session: CallSession, url: str, params: dict[str, str]) -> None:
    await session.request("GET", url, params=params, label="passthru")


async def _say_prompt(session: CallSession, prompt: Prompt, to: str = "caller") -> None:
    if prompt.text is not None:
        await session.say(prompt.text, to)
    elif prompt.audio_url is not None:
        await session.play(prompt.audio_url, to)


async def _text_prompt(
    session: CallSession, text: str | None, audio_url: str | None, url: str | None
) -> None:
    if text is not None:
        await session.say(text)
    elif audio_url is not None:
        await session.play(audio_url)
    elif url is not None:
        fetched = await http.fetch_text(session, url, http.prompt_params(session))
        if fetched is not None:
            await session.prompt(fetched)


async def _greeting(session: CallSession, applet: Greeting) -> str | None:
    if applet.record:
        session.engine.start_recording(session)
        session.applet_recording_url = session.call.recording_url
    await _text_prompt(session, applet.text, applet.audio_url, applet.url)
    return applet.next


async def _gather(session: CallSession, applet: Gather) -> str | None:
    spec = http.GatherSpec(
        gather_prompt=applet.prompt,
        max_input_digits=applet.max_input_digits,
        finish_on_key=applet.finish_on_key,
        input_timeout=applet.input_timeout,
        repeat_menu=applet.repeat_menu,
        repeat_gather_prompt=applet.repeat_prompt,
    )
    if applet.url is not None:
        fetched = await http.dynamic_spec(session, http.GatherSpec, applet.url, applet.fallback_url)
        if fetched is None:
            return applet.next
        spec = fetched
    digits = ""
    for attempt in range(1 + spec.repeat_menu):
        prompt = (
            spec.gather_prompt if attempt == 0 else spec.repeat_gather_prompt or spec.gather_prompt
        )

        async def play(prompt: Prompt | None = prompt) -> None:
            if prompt is not None:
                await _say_prompt(session, prompt)

        digits = await session.collect(
            max_digits=spec.max_input_digits,
            finish_on_key=spec.finish_on_key or None,
            wait_seconds=spec.input_timeout,
            prompt=play,
        )
        if digits:
            break
    session.digits = digits
    return applet.next


async def _ivr_menu(session: CallSession, applet: IvrMenu) -> str | None:
    for _ in range(1 + applet.retries):

        async def play() -> None:
            await _text_prompt(session, applet.text, applet.audio_url, applet.url)

        key = await session.collect(
            max_digits=1, finish_on_key=None, wait_seconds=applet.input_timeout, prompt=play
        )
        if key in applet.options:
            session.digits = key
            return applet.options[key]
        session.event("ivr_menu.invalid", digits=key)
    return applet.on_no_input


async def _connect(session: CallSession, applet: Connect) -> str | None:
    numbers, parallel, record = applet.numbers, applet.parallel, applet.record
    caller_id: str | None = None
    max_ring, max_talk = applet.max_ringing_duration, applet.max_conversation_duration
    playback: StartPlayback | None = applet.start_call_playback
    if applet.url is not None:
        spec = await http.dynamic_spec(session, http.ConnectSpec, applet.url, applet.fallback_url)
        if spec is None:
            session.call_type = "incomplete"
            return applet.on_no_answer
        numbers, record = spec.destination.numbers, spec.record
        parallel = spec.parallel_ringing.activate
        max_ring, max_talk = spec.max_ringing_duration, spec.max_conversation_duration
        playback = spec.start_call_playback
        caller_id = spec.outgoing_phone_number
        if parallel:
            numbers = numbers[: spec.parallel_ringing.max_parallel_attempts]
    call = session.call
    if not numbers:
        session.event("connect.nobody", reason="no numbers to dial")
        session.call_type = "incomplete"
        return applet.on_no_answer
    legs = [Leg(number=dial_number(number)) for number in numbers]
    session.event("connect.dial", numbers=[leg.number for leg in legs], caller_id=caller_id)
    winner: Leg | None = None
    session.dial_whom = legs[0].number
    if parallel:
        call.legs.extend(legs)
        first = len(call.legs) - len(legs) + 1
        winner = await ring_parallel(session, legs, first, max_ring, caller_id)
    else:
        for leg in legs:
            call.legs.append(leg)
            session.dial_whom = leg.number
            if await ring(session, leg, len(call.legs), max_ring, caller_id) == "answered":
                winner = leg
                break
    if winner is None:
        session.call_type = "incomplete"
        session.dial_call_status = legs[-1].status
        call.to_number = call.to_number or legs[-1].number
        return applet.on_no_answer
    session.dial_whom = call.to_number = winner.number
    if record:
        session.engine.start_recording(session)
        session.applet_recording_url = call.recording_url
    if playback is not None:
        session.callee = phone_for(session, winner.number)
        if playback.type == "audio_url":
            await session.play(playback.value, playback.playback_to)
        else:
            await session.say(playback.value, playback.playback_to)
    await bridge(session, winner, max_talk)
    session.dial_call_duration = winner.on_call_duration
    session.dial_call_status = "completed"
    session.call_type = "completed"
    return applet.next


async def _voicemail(session: CallSession, applet: Voicemail) -> str | None:
    if applet.text:
        await session.say(applet.text)
    await session.beep()
    session.engine.start_recording(session)
    seconds = await session.leave_message(applet.max_length, applet.finish_on_key or None)
    session.applet_recording_url = session.call.recording_url
    session.call_type = "voicemail"
    session.event("voicemail", seconds=seconds, url=session.call.recording_url)
    return applet.next


async def _sms(session: CallSession, applet: SmsApplet) -> str | None:
    text = applet.text
    if applet.url is not None:
        text = await http.fetch_text(session, applet.url, http.prompt_params(session, True))
    if not text:
        return applet.next
    call = session.call
    now = session.clock.now()
    body = text[:2000]
    code, detail = STATUS_DETAIL["queued"]
    message = SmsMessage(
        sid=new_sid(),
        account_sid=call.account_sid,
        from_number=applet.sender or call.caller_id,
        to_number=call.from_number,
        body=body,
        date_created=now,
        date_updated=now,
        detailed_status_code=code,
        detailed_status=detail,
        sms_units=sms_units(body, "plain"),  # non-GSM text is counted as unicode anyway
        sms_type="transactional",
        direction="outbound-call",
    )
    session.sim.store.sms[message.sid] = message
    # Queued now; submitted and sent later on the clock, like an SMS sent through the API.
    schedule_delivery(session.sim, message)
    session.caller.note(now, call.sid, "sms_received", message.body)
    session.event("sms", sid=message.sid, to=call.from_number, body=message.body)
    return applet.next


async def _hangup(session: CallSession, applet: Hangup) -> str | None:
    session.event("hangup", by="flow")
    return None


async def _exoml(session: CallSession, applet: ExoMl) -> str | None:
    from exosim.flows.exoml import run_exoml

    keep_going = await run_exoml(session, applet.url, applet.method)
    return applet.next if keep_going else None


_HANDLERS: dict[str, Callable[[CallSession, Any], Awaitable[str | None]]] = {
    "passthru": _passthru,
    "greeting": _greeting,
    "gather": _gather,
    "ivr_menu": _ivr_menu,
    "connect": _connect,
    "voicemail": _voicemail,
    "sms": _sms,
    "hangup": _hangup,
    "exoml": _exoml,
}
