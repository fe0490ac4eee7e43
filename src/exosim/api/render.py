"""Exotel's response formats: v1 JSON or XML under ``<TwilioResponse>``, and errors.

v1 answers XML unless the path ends in ``.json`` (EXOTEL.md §1.1). Every v1 error is a
``RestException`` with an integer ``Code`` (§1.8). v2 answers the JSON envelope of §7.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import Response

from exosim.model import new_sid

Fmt = Literal["xml", "json"]
IST = timezone(timedelta(hours=5, minutes=30), "IST")
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Integer RestException codes per HTTP status. Exotel's real values are [UNKNOWN]; 1001 for a
# bad parameter is seen in third-party reports, the rest are this emulator's assumption.
ERROR_CODES: dict[int, int] = {
    400: 1001,
    401: 1010,
    402: 1020,
    403: 1011,
    404: 1004,
    405: 1005,
    429: 1029,
    500: 1500,
    502: 1502,
    503: 1503,
    504: 1504,
}

# In XML a JSON list becomes repeated child elements; these are their tag names.
_XML_ITEM_TAGS = {
    "Calls": "Call",
    "SMSMessages": "SMSMessage",
    "IncomingPhoneNumbers": "IncomingPhoneNumber",
}
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class ExotelError(Exception):
    """A 4xx/5xx that is answered as a ``RestException`` (v1) or a v2 error envelope."""

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code if code is not None else ERROR_CODES.get(status, 1000 + status)


def exotel_time(moment: datetime | None) -> str | None:
    """``YYYY-MM-DD HH:mm:ss`` in IST, as Exotel writes every timestamp; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def format_of(path: str) -> Fmt:
    """``json`` when the path's last segment ends in ``.json``, else ``xml``."""
    return "json" if path.rstrip("/").endswith(".json") else "xml"


def strip_json(segment: str) -> str:
    """A path parameter without its ``.json`` suffix (``<sid>.json`` → ``<sid>``)."""
    return segment[:-5] if segment.endswith(".json") else segment


def _xml_text(value: object) -> str:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    text = _XML_ILLEGAL.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _emit(parts: list[str], tag: str, value: object) -> None:
    if value is None:
        parts.append(f"<{tag}/>")
    elif isinstance(value, Mapping):
        parts.append(f"<{tag}>")
        for key, child in value.items():
            _emit(parts, str(key), child)
        parts.append(f"</{tag}>")
    elif isinstance(value, list | tuple):
        parts.append(f"<{tag}>")
        _emit_items(parts, _XML_ITEM_TAGS.get(tag, "Item"), value)
        parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}>{_xml_text(value)}</{tag}>")


def _emit_items(parts: list[str], item_tag: str, items: Sequence[object]) -> None:
    for item in items:
        # A one-key mapping such as {"Leg": {...}} names its own element.
        if isinstance(item, Mapping) and len(item) == 1:
            (key, child), *_ = item.items()
            _emit(parts, str(key), child)
        else:
            _emit(parts, item_tag, item)


def to_xml(payload: Mapping[str, Any] | Sequence[Any]) -> str:
    """The payload as Exotel's XML: ``<TwilioResponse>`` wrapping the same structure."""
    parts = [XML_DECLARATION, "<TwilioResponse>"]
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            _emit(parts, str(key), value)
    else:
        _emit_items(parts, "Item", payload)
    parts.append("</TwilioResponse>\n")
    return "".join(parts)


def to_json(payload: object) -> str:
    """Compact-but-readable JSON with non-ASCII text kept as is."""
    return json.dumps(payload, ensure_ascii=False)


def respond(payload: Mapping[str, Any] | Sequence[Any], fmt: Fmt, status: int = 200) -> Response:
    """A v1 response in the requested format."""
    if fmt == "json":
        return Response(to_json(payload), status_code=status, media_type="application/json")
    return Response(to_xml(payload), status_code=status, media_type="application/xml")


def rest_exception(error: ExotelError, fmt: Fmt) -> Response:
    """The v1 error body: ``{"RestException": {"Status", "Code", "Message"}}``."""
    body = {"RestException": {"Status": error.status, "Code": error.code, "Message": error.message}}
    return respond(body, fmt, error.status)


def v2_envelope(
    response: object, http_code: int, *, success: int, failed: int, method: str = "POST"
) -> dict[str, Any]:
    """The v2 JSON envelope (EXOTEL.md §7) around ``response``."""
    return {
        "request_id": new_sid(),
        "method": method,
        "http_code": http_code,
        "metadata": {"success": success, "failed": failed, "total": success + failed},
        "response": response,
    }


def v2_error(error: ExotelError, method: str = "POST") -> Response:
    """A v2 error: the envelope with ``response`` a one-item list carrying ``error_data``."""
    item = {
        "code": error.status,
        "status": "failure",
        "error_data": {
            "code": error.code,
            "description": error.message,
            "message": error.message,
        },
    }
    body = v2_envelope([item], error.status, success=0, failed=1, method=method)
    return Response(to_json(body), status_code=error.status, media_type="application/json")
