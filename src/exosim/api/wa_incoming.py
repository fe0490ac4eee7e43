"""WhatsApp messages from virtual phones to the business: replies and button replies.

Where they go: the ExoPhone's incoming WhatsApp URL, else the account's, else the
``status_callback`` of the last outbound message to that phone (an emulator fallback so a
test needs no set-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from exosim.api.phonenum import same_number
from exosim.api.render import ExotelError
from exosim.api.state import ApiState
from exosim.api.whatsapp import wa_number, wa_time
from exosim.model import Event, WhatsAppMessage, new_sid

DEFAULT_PROFILE_NAME = "exosim user"


@dataclass
class Incoming:
    """What a phone sends: text, or a button reply (payload and its label)."""

    from_number: str  # E.164 of the virtual phone
    to_number: str  # E.164 of the business number
    text: str | None = None
    button_payload: str | None = None
    button_text: str | None = None


def incoming_url(api: ApiState, account_sid: str, incoming: Incoming) -> str | None:
    """Where an incoming message for ``incoming.to_number`` is delivered, if anywhere."""
    store = api.sim.store
    for exophone in store.exophones.values():
        if same_number(exophone.phone_number, incoming.to_number) and exophone.whatsapp_url:
            return exophone.whatsapp_url
    account = store.accounts.get(account_sid)
    if account is not None and account.whatsapp_url:
        return account.whatsapp_url
    for message in reversed(list(store.whatsapp.values())):
        if (
            message.direction == "outbound"
            and message.account_sid == account_sid
            and same_number(message.to_number, incoming.from_number)
            and message.status_callback
        ):
            return message.status_callback
    return None


def _content(incoming: Incoming) -> dict[str, Any]:
    if incoming.button_payload is not None or incoming.button_text is not None:
        button = {"payload": incoming.button_payload, "text": incoming.button_text}
        return {"type": "button", "button": button}
    return {"type": "text", "text": {"body": incoming.text or ""}}


def _profile_name(api: ApiState, number: str) -> str:
    phone = api.sim.store.phones.get(number)
    # The phones package keeps the display name on the phone's script.
    name = getattr(phone, "profile_name", None) or getattr(
        getattr(phone, "script", None), "name", None
    )
    return name if isinstance(name, str) and name else DEFAULT_PROFILE_NAME


def _account_for(api: ApiState, incoming: Incoming) -> str:
    store = api.sim.store
    for exophone in store.exophones.values():
        if same_number(exophone.phone_number, incoming.to_number):
            return exophone.account_sid
    for message in reversed(list(store.whatsapp.values())):
        if message.direction == "outbound" and same_number(message.from_number, incoming.to_number):
            return message.account_sid
    return api.sim.config.account_sid


def receive(api: ApiState, incoming: Incoming) -> WhatsAppMessage:
    """Record an inbound message and POST it to the business as ``incoming_message``.

    Raises:
        ExotelError: 409 when no URL is configured or known for the business number.
    """
    account_sid = _account_for(api, incoming)
    url = incoming_url(api, account_sid, incoming)
    if url is None:
        raise ExotelError(
            409,
            "No incoming WhatsApp URL: set whatsapp_url on the ExoPhone or account, "
            "or send a message with a status_callback to this phone first",
        )
    content = _content(incoming)
    now = api.sim.store.clock.now()
    message = WhatsAppMessage(
        sid=new_sid(),
        account_sid=account_sid,
        from_number=incoming.from_number,
        to_number=incoming.to_number,
        content=content,
        date_created=now,
        direction="inbound",
        status="received",
        status_callback=url,
    )
    message.events.append(Event(now, "whatsapp.incoming", {"url": url}))
    api.sim.store.whatsapp[message.sid] = message
    item = {
        "callback_type": "incoming_message",
        "sid": message.sid,
        "from": wa_number(message.from_number),
        "to": wa_number(message.to_number),
        "profile_name": _profile_name(api, message.from_number),
        "timestamp": wa_time(api),
        "content": content,
    }
    api.sim.sender.send(
        endpoint="whatsapp",
        url=url,
        body="json",
        fields={"whatsapp": {"messages": [item]}},
        log=message.callbacks,
    )
    return message


def schedule_auto_reply(api: ApiState, outbound: WhatsAppMessage) -> None:
    """If the recipient's virtual phone has a ``whatsapp_reply`` script, reply on schedule."""
    phone = api.sim.store.phones.get(outbound.to_number)
    reply = getattr(phone, "whatsapp_reply", None)
    if reply is None:
        return
    incoming = Incoming(
        from_number=outbound.to_number,
        to_number=outbound.from_number,
        text=getattr(reply, "text", None),
        button_payload=getattr(reply, "button_payload", None),
        button_text=getattr(reply, "button_text", None) or getattr(reply, "text", None),
    )
    if incoming.button_payload is None:
        incoming.button_text = None
    delay = float(getattr(reply, "after", 0.0) or 0.0)
    due = outbound.date_created + timedelta(seconds=delay)  # "after" counts from the send

    async def reply_later() -> None:
        await api.sim.store.clock.sleep_until(due)
        try:
            receive(api, incoming)
        except ExotelError as exc:
            outbound.events.append(
                Event(api.sim.store.clock.now(), "whatsapp.reply_dropped", {"why": exc.message})
            )

    api.spawn(reply_later())
