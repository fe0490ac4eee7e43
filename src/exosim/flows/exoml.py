"""Legacy ExoML (``<Response>`` with TwiML-like verbs, EXOTEL.md §3.1) run over a live call.

Verbs and attributes follow Exotel's ``goexoml``: ``Say`` (loop), ``Play`` (loop, digits),
``Gather`` (action, method, timeout, finishOnKey, numDigits; nests Say/Play), ``Dial``
(action, method, timeout, timeLimit, callerId, record; a number or ``<Number>`` children),
``Record`` (action, method, timeout, finishOnKey, maxLength, playBeep), ``Redirect``,
``Hangup``.

What Exotel sends to ``action`` URLs is undocumented, so this emulator assumes Twilio's
convention: method POST unless ``method="GET"``, form fields ``CallSid, From, To,
CallStatus, Direction`` plus ``Digits`` (Gather, Record), ``RecordingUrl`` and
``RecordingDuration`` (Record), ``DialCallStatus``, ``DialCallDuration`` and
``DialWhomNumber`` (Dial). The answer to an action is the next ExoML document. A Gather that
collects nothing falls through to the next verb; the end of a document returns to the flow.
Malformed XML (or a failed fetch) hangs up gracefully with an ``exoml.error`` event.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin

from exosim.api.phonenum import display
from exosim.engine.legs import bridge, dial_number, ring
from exosim.engine.session import CallSession
from exosim.model import Leg

MAX_DOCUMENTS = 50  # documents per applet run (Redirect/action loops)
MAX_DOCUMENT_BYTES = 100_000
VERBS = frozenset({"Say", "Play", "Gather", "Dial", "Record", "Redirect", "Hangup", "Pause"})


class ExoMlError(Exception):
    """The document cannot be run."""


@dataclass
class _Next:
    """A verb's outcome: fetch a new document (``url``) or hang up; None means keep going."""

    url: str | None = None
    method: str = "POST"
    fields: dict[str, str] = field(default_factory=dict)
    hangup: bool = False


def _parse(text: str) -> ET.Element:
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ExoMlError("document too large")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise ExoMlError("DTDs and entities are not allowed")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD/entities can reach the parser
    except ET.ParseError as exc:
        raise ExoMlError(f"malformed XML: {exc}") from exc
    if root.tag != "Response":
        raise ExoMlError(f"root element is <{root.tag}>, expected <Response>")
    for child in root:
        if child.tag not in VERBS:
            raise ExoMlError(f"unknown verb <{child.tag}>")
    return root


def _int(element: ET.Element, name: str, default: int, low: int = 0, high: int = 14_400) -> int:
    raw = element.get(name)
    try:
        value = int(raw) if raw is not None else default
    except ValueError as exc:
        raise ExoMlError(f"{element.tag}@{name}={raw!r} is not an integer") from exc
    return max(low, min(high, value))


def _base_fields(session: CallSession) -> dict[str, str]:
    call = session.call
    return {
        "CallSid": call.sid,
        "From": display(call.from_number),
        "To": display(call.caller_id),
        "CallStatus": call.status,
        "Direction": call.direction,
    }


async def run_exoml(session: CallSession, url: str, method: str = "GET") -> bool:
    """Fetch and run ExoML from ``url``; False when the call must hang up."""
    fields = _base_fields(session)
    for _ in range(MAX_DOCUMENTS):
        response = await session.request(
            method,
            url,
            params=fields if method == "GET" else None,
            data=fields if method != "GET" else None,
            label="exoml",
        )
        if response is None or response.status_code != 200:
            session.event("exoml.error", url=url, reason="could not fetch ExoML")
            return False
        try:
            root = _parse(response.text)
            outcome = await _run_document(session, root)
        except ExoMlError as exc:
            session.event("exoml.error", url=url, reason=str(exc))
            return False
        if outcome is None:
            return True
        if outcome.hangup:
            return False
        assert outcome.url is not None
        url, method = urljoin(url, outcome.url), outcome.method  # relative URLs allowed
        fields = {**_base_fields(session), **outcome.fields}
    session.event("exoml.error", url=url, reason=f"more than {MAX_DOCUMENTS} documents")
    return False


async def _run_document(session: CallSession, root: ET.Element) -> _Next | None:
    for verb in root:
        outcome = await _run_verb(session, verb)
        if outcome is not None:
            return outcome
    return None


async def _speak(session: CallSession, verb: ET.Element) -> None:
    loop = _int(verb, "loop", 1, 1, 20)
    if verb.tag == "Say":
        text = (verb.text or "").strip()
        for _ in range(loop):
            if text:
                await session.say(text)
    elif verb.tag == "Play":
        digits = verb.get("digits")
        if digits:
            await session.send_digits(digits)
        audio = (verb.text or "").strip()
        if audio:
            await session.play(audio, loop=loop)
    elif verb.tag == "Pause":
        await session.clock.sleep(_int(verb, "length", 1, 0, 600))


def _method(verb: ET.Element) -> str:
    return "GET" if (verb.get("method") or "POST").upper() == "GET" else "POST"


async def _run_verb(session: CallSession, verb: ET.Element) -> _Next | None:
    session.event("exoml.verb", verb=verb.tag, attributes=dict(verb.attrib))
    if verb.tag in ("Say", "Play", "Pause"):
        await _speak(session, verb)
        return None
    if verb.tag == "Hangup":
        return _Next(hangup=True)
    if verb.tag == "Redirect":
        target = (verb.text or "").strip()
        if not target:
            raise ExoMlError("<Redirect> without a URL")
        return _Next(target, _method(verb))
    if verb.tag == "Gather":
        return await _gather(session, verb)
    if verb.tag == "Record":
        return await _record(session, verb)
    return await _dial(session, verb)


async def _gather(session: CallSession, verb: ET.Element) -> _Next | None:
    for child in verb:
        if child.tag not in ("Say", "Play", "Pause"):
            raise ExoMlError(f"<{child.tag}> cannot be nested in <Gather>")

    async def prompt() -> None:
        for child in verb:
            await _speak(session, child)

    digits = await session.collect(
        max_digits=_int(verb, "numDigits", 255, 1, 255),
        finish_on_key=verb.get("finishOnKey", "#") or None,
        wait_seconds=float(_int(verb, "timeout", 5, 1, 600)),
        prompt=prompt,
    )
    if not digits:
        return None
    session.digits = digits
    action = verb.get("action")
    if not action:
        return None
    return _Next(action, _method(verb), {"Digits": digits})


async def _record(session: CallSession, verb: ET.Element) -> _Next | None:
    if (verb.get("playBeep") or "true").lower() != "false":
        await session.beep()
    session.engine.start_recording(session)
    seconds = await session.leave_message(
        float(_int(verb, "maxLength", 3600, 1, 14_400)), verb.get("finishOnKey", "#") or None
    )
    url = session.call.recording_url or ""
    session.applet_recording_url = url
    action = verb.get("action")
    if not action:
        return None
    finish = verb.get("finishOnKey", "#") or ""
    fields = {"RecordingUrl": url, "RecordingDuration": str(int(seconds)), "Digits": finish}
    return _Next(action, _method(verb), fields)


async def _dial(session: CallSession, verb: ET.Element) -> _Next | None:
    for child in verb:
        if child.tag != "Number":
            raise ExoMlError(f"<{child.tag}> cannot be nested in <Dial>")
    # (number, digits sent to the callee once it answers: <Number sendDigits>)
    targets = [((n.text or "").strip(), n.get("sendDigits") or "") for n in verb]
    if not targets and (verb.text or "").strip():
        targets = [((verb.text or "").strip(), "")]
    targets = [(number, digits) for number, digits in targets if number]
    if not targets:
        raise ExoMlError("<Dial> without a number")
    call = session.call
    timeout = float(_int(verb, "timeout", 30, 1, 600))
    limit = verb.get("timeLimit")
    status, winner, send = "no-answer", None, ""
    for number, digits in targets:
        leg = Leg(number=dial_number(number))
        call.legs.append(leg)
        session.dial_whom = leg.number
        outcome = await ring(session, leg, len(call.legs), timeout, verb.get("callerId"))
        status = outcome
        if outcome == "answered":
            winner, send = leg, digits
            break
    if winner is not None:
        call.to_number = winner.number
        if (verb.get("record") or "false").lower() == "true":
            session.engine.start_recording(session)
        if send:
            await session.send_digits(send)
        await bridge(session, winner, float(_int(verb, "timeLimit", 14_400, 1)) if limit else None)
        status = "completed"
        session.dial_call_duration = winner.on_call_duration
    session.dial_call_status = status
    action = verb.get("action")
    if not action:
        return None
    fields = {
        "DialCallStatus": status,
        "DialCallDuration": str(session.dial_call_duration if winner else 0),
        "DialWhomNumber": display(session.dial_whom or ""),
    }
    if session.call.recording_url:
        fields["RecordingUrl"] = session.call.recording_url
    return _Next(action, _method(verb), fields)
