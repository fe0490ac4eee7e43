"""Bulk call details: ``GET /v1/Accounts/<sid>/Calls[.json]`` (EXOTEL.md §1.7).

Cursors are opaque to clients; here ``After``/``Before`` carry the sid of the last/first call
of the page they come from (an assumption: Exotel's cursor format is not documented).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request, Response

from exosim.api.callview import call_fields, exophone_number
from exosim.api.phonenum import normalise, same_number
from exosim.api.render import IST, ExotelError, respond
from exosim.model import Call

if TYPE_CHECKING:
    from exosim.api.auth import ExotelRequest

MAX_SIDS = 100
MAX_NUMBERS = 5
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_RANGE = timedelta(days=31)  # "at most a 1-month range per request"
_RANGE_PART = re.compile(r"^(gte|lte|gt|lt|eq):(.+)$")
_SHOWN = {"ringing": "in-progress", "canceled": "failed"}


def _range(raw: str, name: str, parse: Callable[[str], Any]) -> list[tuple[str, Any]]:
    bounds: list[tuple[str, Any]] = []
    for part in raw.split(";"):
        match = _RANGE_PART.match(part.strip())
        if match is None:
            raise ExotelError(400, f"{name} must look like gte:<value>;lte:<value>")
        try:
            bounds.append((match[1], parse(match[2].strip())))
        except ValueError as exc:
            raise ExotelError(400, f"{name}: invalid value {match[2][:40]!r}") from exc
    return bounds


def _parse_date(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)


def _parse_seconds(text: str) -> int:
    return int(text.removesuffix("s"))


def _parse_price(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc


def _within(value: Any, bounds: list[tuple[str, Any]]) -> bool:
    if value is None:
        return False
    for op, bound in bounds:
        ok = {
            "gte": value >= bound,
            "lte": value <= bound,
            "gt": value > bound,
            "lt": value < bound,
            "eq": value == bound,
        }[op]
        if not ok:
            return False
    return True


def _list(request: Request, name: str, limit: int) -> list[str]:
    values = [
        part.strip()
        for raw in request.query_params.getlist(name)
        for part in raw.split(",")
        if part.strip()
    ]
    if len(values) > limit:
        raise ExotelError(400, f"{name} accepts at most {limit} values")
    return values


def _numbers(request: Request, name: str) -> list[str]:
    numbers = []
    for raw in _list(request, name, MAX_NUMBERS):
        number = normalise(raw)
        if number is None:
            raise ExotelError(400, f"Invalid phone number in {name}: {raw[:40]!r}")
        numbers.append(number)
    return numbers


def _number_test(attr: str, wanted: list[str]) -> Callable[[Call], bool]:
    def test(call: Call) -> bool:
        value = getattr(call, attr) or ""
        return any(same_number(value, number) for number in wanted)

    return test


def _filters(request: Request) -> list[Callable[[Call], bool]]:
    query = request.query_params
    tests: list[Callable[[Call], bool]] = []
    sids = _list(request, "Sid", MAX_SIDS)
    if sids:
        tests.append(lambda call: call.sid in sids)
    for name, attr in (("To", "to_number"), ("From", "from_number"), ("PhoneNumber", "caller_id")):
        wanted = _numbers(request, name)
        if wanted:
            tests.append(_number_test(attr, wanted))
    statuses = [s.lower() for s in _list(request, "Status", 10)]
    if statuses:
        tests.append(lambda call: _SHOWN.get(call.status, call.status) in statuses)
    directions = [d.lower() for d in _list(request, "Direction", 3)]
    if directions:
        tests.append(lambda call: call.direction in directions)
    if "DateCreated" in query:
        dates = _range(query["DateCreated"], "DateCreated", _parse_date)
        low = [v for op, v in dates if op in ("gte", "gt")]
        high = [v for op, v in dates if op in ("lte", "lt")]
        if low and high and max(high) - min(low) > MAX_RANGE:
            raise ExotelError(400, "DateCreated range must be at most one month")
        tests.append(lambda call: _within(call.date_created, dates))
    if "Duration" in query:
        durations = _range(query["Duration"], "Duration", _parse_seconds)
        tests.append(lambda call: call.details_ready and _within(call.duration, durations))
    if "Price" in query:
        prices = _range(query["Price"], "Price", _parse_price)
        tests.append(
            lambda call: (
                call.details_ready
                and call.price is not None
                and _within(Decimal(call.price), prices)
            )
        )
    return tests


def _page_size(request: Request) -> int:
    raw = request.query_params.get("PageSize")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ExotelError(400, f"PageSize must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def _page_uri(request: Request, **cursor: str) -> str:
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("Before", "After")]
    pairs += list(cursor.items())
    query = urlencode(pairs)
    return request.url.path + (f"?{query}" if query else "")


def list_calls(ctx: ExotelRequest, request: Request) -> Response:
    """Filter, sort and page the account's calls; answer ``Metadata`` plus ``Calls``."""
    sort = request.query_params.get("SortBy", "DateCreated:desc")
    if sort.lower() not in ("datecreated:asc", "datecreated:desc"):
        raise ExotelError(400, "SortBy must be DateCreated:asc or DateCreated:desc")
    validity = request.query_params.get("RecordingUrlValidity")
    if validity is not None and (not validity.isdigit() or not 5 <= int(validity) <= 60):
        raise ExotelError(400, "RecordingUrlValidity must be from 5 to 60 (minutes)")
    page_size = _page_size(request)
    tests = _filters(request)
    matches = [
        call
        for call in ctx.sim.store.calls.values()
        if call.account_sid == ctx.account.sid and all(test(call) for test in tests)
    ]
    matches.sort(key=lambda c: (c.date_created, c.sid), reverse=sort.lower().endswith("desc"))
    position = {call.sid: index for index, call in enumerate(matches)}
    after, before = request.query_params.get("After"), request.query_params.get("Before")
    if after is not None and before is not None:
        raise ExotelError(400, "Give Before or After, not both")
    cursor = after or before
    if cursor is not None and cursor not in position:
        raise ExotelError(400, f"Unknown page cursor {cursor[:64]!r}")
    if after is not None:
        start = position[after] + 1
    elif before is not None:
        start = max(0, position[before] - page_size)
    else:
        start = 0
    end = min(len(matches), start + page_size) if before is None else position[before]
    page = matches[start:end]
    metadata = {
        "Total": len(matches),
        "PageSize": page_size,
        "FirstPageUri": _page_uri(request),
        "PrevPageUri": _page_uri(request, Before=page[0].sid) if page and start > 0 else None,
        "NextPageUri": (
            _page_uri(request, After=page[-1].sid) if page and end < len(matches) else None
        ),
    }
    calls = [call_fields(call, ctx.fmt, exophone_number(ctx.sim.store, call)) for call in page]
    return respond({"Metadata": metadata, "Calls": calls}, ctx.fmt)
