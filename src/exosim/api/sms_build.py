"""Validation of SMS send requests into ``model.SmsMessage`` records (EXOTEL.md §4.1-4.2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exosim.api.dlt import check_dlt, sms_units
from exosim.api.phonenum import display, is_sender_id, normalise, same_number
from exosim.api.render import ExotelError, Fmt, exotel_time
from exosim.model import Account, SmsMessage, new_sid
from exosim.store import Store

MAX_BODY_CHARS = 2000
MAX_RECIPIENTS = 100
MAX_CUSTOM_FIELD = 128  # not documented for SMS; the voice limit, applied here too (assumption)
SMS_TYPES = ("transactional", "transactional_opt_in", "promotional")
STATUS_DETAIL: dict[str, tuple[int, str]] = {
    "queued": (21010, "QUEUED"),
    "sending": (21015, "SENDING"),
    "submitted": (21020, "SUBMITTED"),
    "sent": (20005, "DELIVERED_TO_HANDSET"),
    "failed": (23010, "FAILED_INVALID_NUMBER"),
    "failed_dnd": (23005, "FAILED_DND"),
}


@dataclass
class SmsDraft:
    """One SMS request before validation; every value as the client sent it."""

    sender: str | None
    recipients: list[str]
    body: str | None
    encoding: str | None = None
    priority: str | None = None
    sms_type: str | None = None
    entity_id: str | None = None
    template_id: str | None = None
    custom_field: str | None = None
    status_callback: str | None = None

    @classmethod
    def from_mapping(cls, item: Mapping[str, Any], defaults: SmsDraft) -> SmsDraft:
        """A bulk item (``Messages[i][…]`` or a JSON ``sms`` entry) over outer defaults."""

        def pick(key: str, default: str | None) -> str | None:
            value = item.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                return default
            if not isinstance(value, str | int):
                raise ExotelError(400, f"{key} must be a string")
            return str(value).strip()

        to = pick("To", None)
        return cls(
            sender=pick("From", defaults.sender),
            recipients=[to] if to else [],
            body=pick("Body", defaults.body),
            encoding=pick("EncodingType", defaults.encoding),
            priority=pick("Priority", defaults.priority),
            sms_type=pick("SmsType", defaults.sms_type),
            entity_id=pick("DltEntityId", defaults.entity_id),
            template_id=pick("DltTemplateId", defaults.template_id),
            custom_field=pick("CustomField", defaults.custom_field),
            status_callback=pick("StatusCallback", defaults.status_callback),
        )


def _choice(value: str | None, name: str, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value.lower() not in choices:
        raise ExotelError(400, f"{name} must be one of: {', '.join(choices)}")
    return value.lower()


def _sender(store: Store, account: Account, raw: str | None) -> str:
    """The From as shown on the message: an ExoPhone or a DLT sender ID."""
    if raw is None:
        raise ExotelError(400, "Missing parameter: From")
    if is_sender_id(raw):
        return raw.upper() if raw.isalpha() else raw
    number = normalise(raw)
    if number is None:
        raise ExotelError(400, f"Invalid sender ID or ExoPhone in From: {raw[:40]!r}")
    own = [p for p in store.exophones.values() if p.account_sid == account.sid]
    if own and not any(same_number(p.phone_number, number) for p in own):
        raise ExotelError(400, f"From {raw[:40]!r} is not an ExoPhone of this account")
    return display(number)


def build_messages(
    store: Store, account: Account, draft: SmsDraft, now: datetime
) -> list[SmsMessage]:
    """One queued message per recipient of ``draft`` (not stored yet).

    Raises:
        ExotelError: 400 for the first missing/invalid parameter or failed DLT check.
    """
    sender = _sender(store, account, draft.sender)
    if not draft.recipients:
        raise ExotelError(400, "Missing parameter: To")
    if len(draft.recipients) > MAX_RECIPIENTS:
        raise ExotelError(400, f"At most {MAX_RECIPIENTS} recipients per request")
    if draft.body is None:
        raise ExotelError(400, "Missing parameter: Body")
    if len(draft.body) > MAX_BODY_CHARS:
        raise ExotelError(400, f"Body must be at most {MAX_BODY_CHARS} characters")
    encoding = _choice(draft.encoding, "EncodingType", ("plain", "unicode")) or "plain"
    priority = _choice(draft.priority, "Priority", ("normal", "high")) or "normal"
    sms_type = _choice(draft.sms_type, "SmsType", SMS_TYPES)
    if draft.custom_field is not None and len(draft.custom_field) > MAX_CUSTOM_FIELD:
        raise ExotelError(400, f"CustomField must be at most {MAX_CUSTOM_FIELD} characters")
    callback = draft.status_callback
    if callback is not None and not callback.lower().startswith(("http://", "https://")):
        raise ExotelError(400, "StatusCallback must be an http or https URL")
    numbers = []
    for raw in draft.recipients:
        number = normalise(raw)
        if number is None:
            raise ExotelError(400, f"Invalid phone number in To: {raw[:40]!r}")
        numbers.append(number)
    dlt = check_dlt(store, draft.body, sender, draft.template_id, draft.entity_id)
    if dlt is not None and sms_type is None:
        sms_type = dlt.template.sms_type
    units = sms_units(draft.body, encoding)
    code, detail = STATUS_DETAIL["queued"]
    return [
        SmsMessage(
            sid=new_sid(),
            account_sid=account.sid,
            from_number=sender,
            to_number=number,
            body=draft.body,
            date_created=now,
            date_updated=now,
            detailed_status=detail,
            detailed_status_code=code,
            sms_units=units,
            encoding_type=encoding,
            priority=priority,
            sms_type=sms_type or "transactional",
            dlt_entity_id=dlt.template.entity_id if dlt else draft.entity_id,
            dlt_template_id=dlt.template.template_id if dlt else draft.template_id,
            custom_field=draft.custom_field,
            status_callback=callback,
        )
        for number in numbers
    ]


def sms_fields(message: SmsMessage, fmt: Fmt) -> dict[str, Any]:
    """The SMSMessage object's fields in Exotel's order."""
    suffix = ".json" if fmt == "json" else ""
    return {
        "Sid": message.sid,
        "AccountSid": message.account_sid,
        "From": message.from_number,
        "To": display(message.to_number),
        "DateCreated": exotel_time(message.date_created),
        "DateUpdated": exotel_time(message.date_updated),
        "DateSent": exotel_time(message.date_sent),
        "Body": message.body,
        "Direction": message.direction,
        "Uri": f"/v1/Accounts/{message.account_sid}/SMS/Messages/{message.sid}{suffix}",
        "ApiVersion": "v1",
        "Price": message.price,
        "Status": message.status,
        "DetailedStatusCode": message.detailed_status_code,
        "DetailedStatus": message.detailed_status,
        "SmsUnits": message.sms_units,
    }
