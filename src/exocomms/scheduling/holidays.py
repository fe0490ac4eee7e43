"""Holidays and weekdays: India's fixed national holidays and the parsers for policy dicts."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from exocomms.errors import ValidationError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: India's three national holidays (month, day); other holidays move with the calendar, so
#: operators add them as dates each year.
INDIA_NATIONAL_HOLIDAYS = frozenset({(1, 26), (8, 15), (10, 2)})


def parse_weekday(value: Any) -> int:
    """``"sat"``/``"Saturday"`` → 5 (Python weekday numbers, Monday = 0)."""
    if isinstance(value, str) and value[:3].lower() in WEEKDAYS:
        return WEEKDAYS.index(value[:3].lower())
    raise ValidationError(f"weekend_days: unknown day {value!r} (use mon…sun)")


def parse_date(value: Any) -> date:
    """An ISO date (``2026-11-08``)."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(f"holidays: {value!r} is not a date like 2026-11-08") from None


def parse_month_day(value: Any) -> tuple[int, int]:
    """A yearly holiday ``MM-DD`` → ``(month, day)``."""
    match = re.match(r"^(\d\d)-(\d\d)$", value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(f"annual_holidays: {value!r} is not a month-day like 08-15")
    month, day = int(match[1]), int(match[2])
    check_month_day(month, day)
    return month, day


def check_month_day(month: int, day: int) -> None:
    """Reject a ``(month, day)`` that no year has (02-29 is fine: leap years have it)."""
    try:
        date(2000, month, day)
    except (TypeError, ValueError):
        raise ValidationError(f"no such annual holiday {month:02d}-{day:02d}") from None
