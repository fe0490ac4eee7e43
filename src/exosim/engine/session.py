"""A live call as flows and ExoML see it: speak, play, collect keys, make applet requests.

One :class:`CallSession` exists per running call. It connects the call record, the caller's
virtual phone (what it hears, when it presses keys or hangs up), the optional callee of a
bridge, the recording, and the HTTP requests applets make to the customer's servers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from exosim.engine.recording import DTMF_SECONDS, Recorder
from exosim.model import Call, Event
from exosim.phones.model import PhoneScript, VirtualPhone

if TYPE_CHECKING:
    from exosim.engine.calls import CallEngine

T = TypeVar("T")

SECONDS_PER_WORD = 0.4  # TTS speaking rate (150 words per minute)
MIN_SPEECH_SECONDS = 1.0
AUDIO_SECONDS = 3.0  # audio URLs are never fetched; every clip "plays" this long
BEEP_SECONDS = 0.5
_BODY_LOG_LIMIT = 2000


def speech_seconds(text: str) -> float:
    """How long the TTS voice takes to say ``text``."""
    return max(MIN_SPEECH_SECONDS, SECONDS_PER_WORD * len(text.split()))


def is_audio_url(text: str) -> bool:
    """A text/plain prompt that is an http(s) URL is played; anything else is spoken."""
    return re.match(r"^https?://\S+$", text.strip(), flags=re.IGNORECASE) is not None


class CallSession:
    """The live state of one call while it runs."""

    def __init__(self, engine: CallEngine, call: Call, caller: VirtualPhone) -> None:
        self.engine = engine
        self.sim = engine.sim
        self.clock = engine.sim.store.clock
        self.call = call
        self.caller = caller
        self.callee: VirtualPhone | None = None  # the other party while bridged
        self.recorder: Recorder | None = None
        self.hung_up = asyncio.Event()  # the caller hung up
        self.digits: str | None = None  # the last input gathered (Passthru ``digits``)
        self.call_type = "call-attempt"  # Passthru CallType
        self.dial_whom: str | None = None
        self.dial_call_status: str | None = None
        self.dial_call_duration = 0
        self.applet_recording_url: str | None = None  # set by Connect/Voicemail that recorded
        self._keys: asyncio.Queue[str] | None = None  # set while collecting input
        self._fired: set[int] = set()  # ids of "once" key rules that already fired
        self._tasks: set[asyncio.Task[None]] = set()
        self._scripts: dict[str, PhoneScript] = {}  # each phone's script for this call

    # -- bookkeeping -------------------------------------------------------------------------
    def event(self, kind: str, **data: Any) -> None:
        """Record an event on the call (and bump its DateUpdated)."""
        now = self.clock.now()
        self.call.events.append(Event(now, kind, data))
        self.call.date_updated = now

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a helper (phone timer, key press) that dies with the call."""
        # A task straight from the coroutine: cancelling it before it starts closes the
        # coroutine cleanly (a wrapper would leave it "never awaited").
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every helper task of this call."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def within(self, awaitable: Awaitable[T], seconds: float) -> T | None:
        """``awaitable``'s result, or None when ``seconds`` of sim time pass first."""
        work = asyncio.ensure_future(awaitable)
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not work.done():
                work.cancel()
            await asyncio.gather(work, timer, return_exceptions=True)
        if work.cancelled():
            return None
        return work.result()

    # -- the caller's phone ------------------------------------------------------------------
    def script_of(self, phone: VirtualPhone) -> PhoneScript:
        """``phone``'s script for this call (its per-call behaviour is chosen once)."""
        script = self._scripts.get(phone.number)
        if script is None:
            script = self._scripts[phone.number] = phone.next_call_script()
        return script

    def start_caller_script(self, hangup_after: float | None = None) -> None:
        """Timers that start when the caller is connected: timed key presses, hang-up.

        Args:
            hangup_after: overrides the script's ``hangup_after`` for this call.
        """
        script = self.script_of(self.caller)
        for rule in script.keys:
            if rule.at is not None:
                self.spawn(self._press_later(rule.at, rule.keys, self.caller))
        hangup_after = script.hangup_after if hangup_after is None else hangup_after
        if hangup_after is not None:
            self.spawn(self._hang_up_later(hangup_after))

    async def _hang_up_later(self, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self.caller.note(self.clock.now(), self.call.sid, "hung_up")
        self.event("leg1.hangup", number=self.caller.number)
        self.hung_up.set()

    async def _press_later(self, seconds: float, keys: str, phone: VirtualPhone) -> None:
        await self.clock.sleep(seconds)
        self.press(keys, phone)

    def press(self, keys: str, phone: VirtualPhone) -> None:
        """``phone`` presses ``keys``; they count only while input is being collected."""
        now = self.clock.now()
        phone.note(now, self.call.sid, "pressed", keys)
        collecting = self._keys is not None and phone is self.caller
        self.event("dtmf", keys=keys, number=phone.number, collected=collecting)
        for key in keys:
            if self.recorder is not None:
                self.recorder.dtmf(now, key)
            if collecting and self._keys is not None:
                self._keys.put_nowait(key)
        if collecting:
            self.call.digits.extend(keys)

    def _heard(self, phone: VirtualPhone, kind: str, text: str) -> None:
        phone.note(self.clock.now(), self.call.sid, kind, text)
        if phone is not self.caller:
            return
        for rule in self.script_of(phone).keys:
            if rule.when_heard is None or not rule.matches(text):
                continue
            if rule.once and id(rule) in self._fired:
                continue
            self._fired.add(id(rule))
            self.spawn(self._press_later(rule.delay, rule.keys, phone))

    def _listeners(self, to: str) -> list[VirtualPhone]:
        if to == "callee":
            return [self.callee] if self.callee else []
        if to == "both" and self.callee is not None:
            return [self.caller, self.callee]
        return [self.caller]

    # -- what the call hears -----------------------------------------------------------------
    async def say(self, text: str, to: str = "caller") -> None:
        """Speak ``text`` with TTS; listeners' key rules react once it has been said."""
        seconds = speech_seconds(text)
        self.event("tts", text=text, to=to, seconds=seconds)
        if self.recorder is not None:
            self.recorder.speech(self.clock.now(), seconds)
        await self.clock.sleep(seconds)
        for phone in self._listeners(to):
            self._heard(phone, "heard_tts", text)

    async def play(self, url: str, to: str = "caller", loop: int = 1) -> None:
        """Play an audio URL (not fetched) ``loop`` times."""
        for _ in range(max(1, loop)):
            self.event("audio", url=url, to=to, seconds=AUDIO_SECONDS)
            if self.recorder is not None:
                self.recorder.audio(self.clock.now(), AUDIO_SECONDS)
            await self.clock.sleep(AUDIO_SECONDS)
            for phone in self._listeners(to):
                self._heard(phone, "heard_audio", url)

    async def prompt(self, text: str, to: str = "caller") -> None:
        """A text/plain prompt: an http(s) URL is played, anything else is spoken."""
        if is_audio_url(text):
            await self.play(text.strip(), to)
        else:
            await self.say(text, to)

    async def send_digits(self, digits: str) -> None:
        """Play DTMF tones into the call (ExoML ``Play digits``); they are heard, not input."""
        for key in digits:
            if key in "0123456789*#" and self.recorder is not None:
                self.recorder.dtmf(self.clock.now(), key)
            if key in "wW":
                await self.clock.sleep(0.5)
            else:
                await self.clock.sleep(DTMF_SECONDS)
        self.event("dtmf.sent", digits=digits)

    async def beep(self) -> None:
        """The beep before a recording."""
        self.event("beep")
        if self.recorder is not None:
            self.recorder.audio(self.clock.now(), BEEP_SECONDS)
        await self.clock.sleep(BEEP_SECONDS)

    async def collect(
        self,
        *,
        max_digits: int,
        finish_on_key: str | None,
        wait_seconds: float,
        prompt: Callable[[], Awaitable[None]] | None = None,
    ) -> str:
        """Collect keys (barge-in allowed during ``prompt``) until the limit, key or timeout."""
        self._keys = asyncio.Queue()
        try:
            if prompt is not None:
                await prompt()
            digits = ""
            while len(digits) < max(1, max_digits):
                key = await self.within(self._keys.get(), wait_seconds)
                if key is None or (finish_on_key and key == finish_on_key):
                    break
                digits += key
        finally:
            self._keys = None
        self.event("gather", digits=digits)
        return digits

    async def leave_message(self, max_length: float, finish_on_key: str | None) -> float:
        """The caller speaks after the beep; returns the message's length in seconds."""
        seconds = min(max_length, self.script_of(self.caller).message_seconds)
        self.caller.note(self.clock.now(), self.call.sid, "left_message", f"{seconds:g}s")
        if self.recorder is not None:
            self.recorder.speech(self.clock.now(), seconds)
        await self.clock.sleep(seconds)
        if finish_on_key and finish_on_key in "0123456789*#":
            self.press(finish_on_key, self.caller)
        return seconds

    # -- applet HTTP ---------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        label: str = "applet",
    ) -> httpx.Response | None:
        """One applet request to the customer; None on timeout, network error or lost fault.

        The timeout is ``config.passthru_timeout`` of *simulated* time. Callback faults with
        endpoint ``applet`` apply: ``lost`` (never arrives: the applet times out), ``delayed``
        and ``reordered`` (sent late), ``duplicated`` (sent twice; the first answer counts).
        """
        timeout = self.sim.config.passthru_timeout
        fault = self.sim.store.faults.pick("callback", "applet")
        kind = fault.kind if fault else None
        self.event(
            f"{label}.request",
            method=method,
            url=url,
            params=dict(params or {}),
            data=dict(data or {}),
            headers=dict(headers or {}),
            fault=kind,
        )
        if kind == "lost":
            await self.clock.sleep(timeout)
            self.event(f"{label}.response", url=url, error="lost by fault (timed out)")
            return None
        if fault is not None and kind in ("delayed", "reordered"):
            await self.clock.sleep(fault.delay_seconds)
        responses: list[httpx.Response | None] = []
        for _ in range(2 if kind == "duplicated" else 1):
            responses.append(await self._send(method, url, params, data, headers, timeout, label))
        return responses[0]

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        limit: float,
        label: str,
    ) -> httpx.Response | None:
        real_timeout = max(limit, self.sim.config.callback_timeout)
        # Exotel appends its parameters to the URL's own query (e.g. a ``?t=`` token);
        # httpx's ``params=`` would replace that query instead.
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params(dict(params))
        send = self.sim.http.request(
            method,
            target,
            data=dict(data) if data else None,
            headers={"User-Agent": "exosim (Exotel emulator)", **(headers or {})},
            timeout=real_timeout,
        )
        self.engine.io_started()
        try:
            response = await self.within(send, limit)
        except (httpx.HTTPError, ValueError) as exc:
            self.event(f"{label}.response", url=url, error=f"{type(exc).__name__}: {exc}")
            return None
        finally:
            self.engine.io_finished()
        if response is None:
            self.event(f"{label}.response", url=url, error=f"timed out after {limit:g}s")
            return None
        self.event(
            f"{label}.response",
            url=url,
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
            body=response.text[:_BODY_LOG_LIMIT],
        )
        return response
