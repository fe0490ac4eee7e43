"""Exotel's JSON shapes, parsed defensively into typed records (never index raw JSON blindly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from exocomms.errors import ProviderError

IST = ZoneInfo("Asia/Kolkata")
_EXOTEL_TIME = "%Y-%m-%d %H:%M:%S"


def flow_url(account_sid: str, flow_id: str) -> str:
    """The documented URL that makes Calls/connect run App Bazaar flow ``flow_id``."""
    return f"http://my.exotel.com/{account_sid}/exoml/start_voice/{flow_id}"


def parse_time(value: Any) -> datetime | None:
    """Exotel's ``YYYY-MM-DD HH:mm:ss`` (IST, no zone) as aware UTC; junk and nulls → None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        local = datetime.strptime(value.strip(), _EXOTEL_TIME)
    except ValueError:
        return None
    return local.replace(tzinfo=IST).astimezone(UTC)


def _int(value: Any) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class CallInfo:
    """Exotel's Call object."""

    sid: str
    status: str
    from_number: str | None
    to_number: str | None
    phone_number_sid: str | None
    direction: str | None
    parent_call_sid: str | None = None
    answered_by: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    price: Decimal | None = None
    recording_url: str | None = None
    details: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class CallPage:
    """A page of bulk call details."""

    calls: list[CallInfo]
    total: int | None
    next_page_uri: str | None


@dataclass(frozen=True)
class SmsInfo:
    """Exotel's SMSMessage object."""

    sid: str
    status: str
    to_number: str | None
    from_number: str | None
    detailed_status: str | None = None
    detailed_status_code: int | None = None
    sms_units: int | None = None
    date_sent: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def rest_exception_message(body: Any) -> str | None:
    """``RestException.Message`` (v1) or ``error_data.description`` (v2), if present."""
    if not isinstance(body, dict):
        return None
    exc = body.get("RestException")
    if isinstance(exc, dict) and exc.get("Message"):
        return str(exc["Message"])
    response = body.get("response")
    entries = response if isinstance(response, list) else [response]
    for entry in entries:
        if isinstance(entry, dict):
            error = entry.get("error_data")
            if isinstance(error, dict) and error.get("description"):
                return str(error["description"])
    return None


def call_from_dict(data: dict[str, Any]) -> CallInfo:
    """One Call object (the value under ``"Call"``)."""
    sid = data.get("Sid")
    if not isinstance(sid, str) or not sid:
        raise ProviderError("Exotel Call object without a Sid", details=data)
    details = data.get("Details")
    return CallInfo(
        sid=sid,
        status=str(data.get("Status") or "queued"),
        from_number=_str(data.get("From")),
        to_number=_str(data.get("To")),
        phone_number_sid=_str(data.get("PhoneNumberSid")),
        direction=_str(data.get("Direction")),
        parent_call_sid=_str(data.get("ParentCallSid")),
        answered_by=_str(data.get("AnsweredBy")),
        date_created=parse_time(data.get("DateCreated")),
        date_updated=parse_time(data.get("DateUpdated")),
        start_time=parse_time(data.get("StartTime")),
        end_time=parse_time(data.get("EndTime")),
        duration=_int(data.get("Duration")),
        price=_decimal(data.get("Price")),
        recording_url=_str(data.get("RecordingUrl")),
        details=details if isinstance(details, dict) else None,
        raw=data,
    )


def parse_call(body: Any) -> CallInfo:
    """``{"Call": {...}}`` → :class:`CallInfo`."""
    call = body.get("Call") if isinstance(body, dict) else None
    if not isinstance(call, dict):
        raise ProviderError("unexpected Exotel call response", details=body)
    return call_from_dict(call)


def parse_call_page(body: Any) -> CallPage:
    """``{"Metadata": {...}, "Calls": [...]}`` → :class:`CallPage`."""
    if not isinstance(body, dict) or not isinstance(body.get("Calls"), list):
        raise ProviderError("unexpected Exotel bulk call response", details=body)
    raw_meta = body.get("Metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    calls = [call_from_dict(c) for c in body["Calls"] if isinstance(c, dict)]
    return CallPage(calls, _int(meta.get("Total")), _str(meta.get("NextPageUri")))


def _sms_from_dict(data: dict[str, Any]) -> SmsInfo:
    sid = data.get("Sid")
    if not isinstance(sid, str) or not sid:
        raise ProviderError("Exotel SMSMessage without a Sid", details=data)
    return SmsInfo(
        sid=sid,
        status=str(data.get("Status") or "queued"),
        to_number=_str(data.get("To")),
        from_number=_str(data.get("From")),
        detailed_status=_str(data.get("DetailedStatus")),
        detailed_status_code=_int(data.get("DetailedStatusCode")),
        sms_units=_int(data.get("SmsUnits")),
        date_sent=parse_time(data.get("DateSent")),
        raw=data,
    )


def parse_sms(body: Any) -> list[SmsInfo]:
    """One ``{"SMSMessage": …}``, or a list of them (static bulk), → records."""
    items: list[Any]
    if isinstance(body, list):
        items = body
    elif isinstance(body, dict) and isinstance(body.get("SMSMessages"), list):
        items = body["SMSMessages"]
    else:
        items = [body]
    result: list[SmsInfo] = []
    for item in items:
        message = item.get("SMSMessage", item) if isinstance(item, dict) else None
        if not isinstance(message, dict):
            raise ProviderError("unexpected Exotel SMS response", details=body)
        result.append(_sms_from_dict(message))
    if not result:
        raise ProviderError("empty Exotel SMS response", details=body)
    return result
