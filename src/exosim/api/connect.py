"""Validation of ``POST Calls/connect`` parameters into a ``model.Call`` (EXOTEL.md §1.2-1.3)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from exosim.api.forms import Params
from exosim.api.phonenum import require, same_number
from exosim.api.render import ExotelError
from exosim.model import Account, Call, new_sid
from exosim.store import Store

MAX_TIME_LIMIT = 14400  # 4 h (documented)
MAX_TIME_OUT = 3600  # ring time cap; old KB says 60 s (TRAI), we allow more (assumption)
MAX_CUSTOM_FIELD = 128
MAX_STREAM_URL = 600
MAX_STREAM_NAME = 32
EVENTS = ("terminal", "answered", "ringing")
CONTENT_TYPES = ("multipart/form-data", "application/json")

# http(s)://my.exotel.com/<sid>/exoml/start_voice/<id>, .in too; and the old
# http://my.exotel.in/exoml/start/<id>. ``kind`` is start_voice|start_sms|start.
FLOW_URL = re.compile(
    r"^https?://my\.exotel\.(?:com|in)/(?:(?P<sid>[^/]+)/)?exoml/(?P<kind>start_voice|start_sms|start)"
    r"/(?P<flow>[A-Za-z0-9_-]+)/?$"
)


def parse_flow_url(url: str, account_sid: str, kind: str = "voice") -> str:
    """The flow id of an Exotel flow URL of this account.

    Raises:
        ExotelError: 400 for a non-flow URL, another account's flow, or the wrong kind.
    """
    match = FLOW_URL.match(url.strip())
    if match is None:
        raise ExotelError(
            400,
            "Url must be an Exotel flow URL such as "
            f"http://my.exotel.com/{account_sid}/exoml/start_voice/<app_id>",
        )
    if match["sid"] is not None and match["sid"] != account_sid:
        raise ExotelError(400, f"Flow URL belongs to account {match['sid']!r}, not {account_sid!r}")
    wanted = "start_voice" if kind == "voice" else "start_sms"
    if match["kind"] not in (wanted, "start"):
        raise ExotelError(400, f"Flow URL must use /exoml/{wanted}/ here")
    return match["flow"]


def _int(params: Params, name: str, low: int, high: int) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ExotelError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _choice(params: Params, name: str, choices: tuple[str, ...], default: str) -> str:
    raw = params.get(name)
    if raw is None:
        return default
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ExotelError(400, f"{name} must be one of: {', '.join(choices)}")


def _http_url(
    params: Params, name: str, schemes: tuple[str, ...] = ("http", "https")
) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not any(raw.lower().startswith(f"{scheme}://") for scheme in schemes) or " " in raw:
        raise ExotelError(400, f"{name} must be a {' or '.join(schemes)} URL")
    return raw


def _bool(params: Params, name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ExotelError(400, f"{name} must be true or false")


def _caller_id(params: Params, store: Store, account: Account) -> tuple[str, str | None]:
    """E.164 CallerId and, when registered, the ExoPhone's number as the account shows it.

    Any number is accepted while the account has no ExoPhones; once it has some, CallerId
    must be one of them (a documented emulator decision).
    """
    caller_id = require(params.get("CallerId"), "CallerId")
    own = [p for p in store.exophones.values() if p.account_sid == account.sid]
    if not own:
        return caller_id, None
    for exophone in own:
        if same_number(exophone.phone_number, caller_id):
            return caller_id, exophone.phone_number
    raise ExotelError(
        400, f"CallerId {params.get('CallerId')!r} is not an ExoPhone of this account"
    )


def _events(params: Params) -> list[str]:
    events: list[str] = []
    for value in params.get_list("StatusCallbackEvents"):
        event = value.lower()
        if event not in EVENTS:
            raise ExotelError(400, f"StatusCallbackEvents: unknown event {value[:40]!r}")
        if event not in events:
            events.append(event)
    return events


def _extras(params: Params) -> dict[str, Any]:
    """Validate the optional parameters the engine reads from ``call.params``."""
    extras: dict[str, Any] = {}
    call_type = params.get("CallType")
    if call_type is not None:
        if call_type.lower() == "promo":
            raise ExotelError(400, "CallType promo is no longer supported; use trans")
        extras["CallType"] = _choice(params, "CallType", ("trans",), "trans")
    stream_url = _http_url(params, "StreamUrl", ("ws", "wss"))
    if stream_url is not None and len(stream_url) >= MAX_STREAM_URL:
        raise ExotelError(400, f"StreamUrl must be under {MAX_STREAM_URL} characters")
    stream_name = params.get("StreamName")
    if stream_name is not None and len(stream_name) > MAX_STREAM_NAME:
        raise ExotelError(400, f"StreamName must be at most {MAX_STREAM_NAME} characters")
    if params.get("StreamType") is not None:
        extras["StreamType"] = _choice(
            params, "StreamType", ("unidirectional", "bidirectional"), "unidirectional"
        )
    if params.get("StartPlaybackToNew") is not None:
        extras["StartPlaybackToNew"] = _choice(
            params, "StartPlaybackToNew", ("Callee", "Both"), "Callee"
        )
    _http_url(params, "StartPlaybackValueNew")
    extras["RecordingFormat"] = _choice(params, "RecordingFormat", ("mp3", "mp3-hq"), "mp3")
    max_retries = _int(params, "MaxRetries", 0, 10)
    if max_retries is not None:
        extras["MaxRetries"] = max_retries
    return extras


def build_call(params: Params, store: Store, account: Account, now: datetime) -> Call:
    """A new outbound-api Call from validated parameters (not stored yet).

    Raises:
        ExotelError: 400 naming the first invalid or missing parameter.
    """
    from_number = require(params.get("From"), "From")
    caller_id, _ = _caller_id(params, store, account)
    to_raw, url = params.get("To"), params.get("Url")
    if to_raw is None and url is None:
        raise ExotelError(400, "Missing parameter: To (or Url to connect to a flow)")
    if to_raw is not None and url is not None:
        raise ExotelError(400, "Give either To (two numbers) or Url (a flow), not both")
    flow_id: str | None = None
    to_number: str | None = None
    if url is not None:
        flow_id = parse_flow_url(url, account.sid)
        if flow_id not in store.flows:
            raise ExotelError(400, f"Flow {flow_id!r} does not exist in this account")
    else:
        to_number = require(to_raw, "To")
    custom_field = params.get("CustomField")
    if custom_field is not None and len(custom_field) > MAX_CUSTOM_FIELD:
        raise ExotelError(400, f"CustomField must be at most {MAX_CUSTOM_FIELD} characters")
    events = _events(params)
    normalised: dict[str, Any] = {key: params.get(key) for key in sorted(params.names())}
    normalised = {k: v for k, v in normalised.items() if v is not None and "[" not in k}
    if events:
        normalised["StatusCallbackEvents"] = events
    call = Call(
        sid=new_sid(),
        account_sid=account.sid,
        from_number=from_number,
        to_number=to_number,
        caller_id=caller_id,
        direction="outbound-api",
        date_created=now,
        date_updated=now,
        status="in-progress",  # what Exotel's samples show right after creation
        flow_id=flow_id,
        start_time=now,
        custom_field=custom_field,
        time_limit=_int(params, "TimeLimit", 1, MAX_TIME_LIMIT),
        time_out=_int(params, "TimeOut", 1, MAX_TIME_OUT),
        record=_bool(params, "Record"),
        recording_channels=_choice(params, "RecordingChannels", ("single", "dual"), "single"),
        status_callback=_http_url(params, "StatusCallback"),
        status_callback_events=events,
        status_callback_content_type=_choice(
            params, "StatusCallbackContentType", CONTENT_TYPES, "multipart/form-data"
        ),
        wait_url=_http_url(params, "WaitUrl"),
    )
    normalised.update(_extras(params))
    call.params = normalised
    return call
