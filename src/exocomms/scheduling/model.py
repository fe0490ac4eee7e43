"""Timing rules as data: which purpose class may call or message whom, and when.

Decisions taken here (from PRODUCT.md §6 and DOMAIN.md, TRAI TCCCPR 2018 + 2025 amendment):

* Four purpose classes, the DLT message types: ``transactional`` (order operations, OTP),
  ``service`` (service-implicit: payment reminders, feedback, support callbacks),
  ``service_explicit`` (needs recorded consent: abandoned cart, lead calls) and ``promotional``.
  Every concrete purpose (``order_confirmation``, ``vendor_new_order``…) maps to one class;
  the class names themselves are valid purposes too, and a policy may re-map purposes.
* Defaults: transactional goes 24×7, on weekends and holidays, calls and messages alike.
  Service messages go 24×7; service *calls* stay out of the DND window (21:00–09:00) because a
  non-urgent call at night is what people complain about, while TRAI lets the text through.
  Promotional traffic (calls and SMS) only inside the promotional window (10:00–21:00, the
  stricter of the two published windows), outside the DND window, never on holidays; weekends
  are allowed (configurable per class and medium).
* Recipient preferences (NCPR "fully blocked" and category blocks) bind promotional traffic
  only. ``service_explicit`` with the recipient's consent (to the purpose or the category)
  follows its own rule and ignores blocks; without consent it is treated as promotional.
* A :class:`Window` is half-open ``[start, end)`` in local wall time. ``start > end`` crosses
  midnight (21:00–09:00). ``start == end`` means the **whole day** (``00:00–00:00``); there
  is no empty window: to forbid a medium for a class, set ``enabled: false`` on its rule.
  ``24:00`` is accepted as an end and means midnight.
* Wall time is read in the policy's IANA time zone (``Asia/Kolkata`` by default) with full
  DST handling (zoneinfo), so the same rules work for any city.

Everything here is pure and round-trips through JSON-ready dicts (``to_dict``/``from_dict``);
``from_dict`` accepts partial input (missing keys take the defaults) and rejects unknown keys
with :class:`~exocomms.errors.ValidationError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exocomms.scheduling.holidays import (
    INDIA_NATIONAL_HOLIDAYS,
    WEEKDAYS,
    check_month_day,
    parse_date,
    parse_month_day,
    parse_weekday,
)
from exocomms.scheduling.purposes import (
    CATEGORIES,
    DEFAULT_PURPOSES,
    Medium,
    PurposeClass,
)
from exocomms.scheduling.recipient import ANYONE as ANYONE  # re-exported, as Recipient
from exocomms.scheduling.recipient import Recipient as Recipient
from exocomms.scheduling.validation import bool_field, invalid, only_keys

DAY_SECONDS = 86_400


_TIME_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def parse_time(text: Any, what: str) -> time:
    """Parse ``HH:MM`` or ``HH:MM:SS`` (``24:00`` means midnight)."""
    match = _TIME_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise invalid(f"{what} must be a time like 09:00 or 21:30:00, got {text!r}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour == 24:
        if minute or second:
            raise invalid(f"{what}: 24:00 is the only time after 23:59:59")
        hour = 0
    return time(hour, minute, second)


def format_time(value: time) -> str:
    """``HH:MM``, or ``HH:MM:SS`` when there are seconds."""
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass(frozen=True)
class Window:
    """A daily window ``[start, end)`` in local wall time; may cross midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value.tzinfo is not None or value.microsecond:
                raise invalid("window times are naive wall times in whole seconds")

    @property
    def full_day(self) -> bool:
        """``start == end`` means the window is open all day."""
        return self.start == self.end

    def spans(self) -> tuple[tuple[int, int], ...]:
        """The window as sorted half-open spans of seconds of the day within ``[0, 86400]``."""
        start, end = _seconds(self.start), _seconds(self.end)
        if start == end:
            return ((0, DAY_SECONDS),)
        if start < end:
            return ((start, end),)
        return tuple(s for s in ((0, end), (start, DAY_SECONDS)) if s[0] < s[1])

    def contains(self, value: time) -> bool:
        """Whether the wall time ``value`` is inside the window."""
        sec = _seconds(value) + value.microsecond / 1e6
        return any(lo <= sec < hi for lo, hi in self.spans())

    def __str__(self) -> str:
        return f"{format_time(self.start)}–{format_time(self.end)}"

    def to_dict(self) -> dict[str, str]:
        """``{"start": "21:00", "end": "09:00"}``."""
        return {"start": format_time(self.start), "end": format_time(self.end)}

    @classmethod
    def from_dict(cls, data: Any, what: str = "window") -> Window:
        """Parse ``{"start": "HH:MM", "end": "HH:MM"}``."""
        data = only_keys(data, {"start", "end"}, what)
        if "start" not in data or "end" not in data:
            raise invalid(f"{what} needs both start and end")
        return cls(
            parse_time(data["start"], f"{what}.start"), parse_time(data["end"], f"{what}.end")
        )


@dataclass(frozen=True)
class ChannelRule:
    """When one medium of one class may be used (all conditions must hold).

    Attributes:
        enabled: false forbids the medium for the class entirely.
        business_hours: must be inside the policy's business hours.
        outside_dnd_window: must be outside the policy's DND (quiet) window.
        promo_window: must be inside the policy's promotional window.
        weekends: allowed on the policy's weekend days.
        holidays: allowed on the policy's holidays.
    """

    enabled: bool = True
    business_hours: bool = False
    outside_dnd_window: bool = False
    promo_window: bool = False
    weekends: bool = True
    holidays: bool = True

    def to_dict(self) -> dict[str, bool]:
        """Every flag, by name."""
        return {
            "enabled": self.enabled,
            "business_hours": self.business_hours,
            "outside_dnd_window": self.outside_dnd_window,
            "promo_window": self.promo_window,
            "weekends": self.weekends,
            "holidays": self.holidays,
        }

    @classmethod
    def from_dict(cls, data: Any, what: str, base: ChannelRule) -> ChannelRule:
        """Parse flags; missing ones keep ``base``'s values."""
        data = only_keys(data, set(base.to_dict()), what)
        merged = {k: bool_field(data, k, v, what) for k, v in base.to_dict().items()}
        return cls(**merged)


@dataclass(frozen=True)
class ClassRule:
    """The rules of one purpose class, per medium."""

    call: ChannelRule = ChannelRule()
    sms: ChannelRule = ChannelRule()

    def for_medium(self, medium: Medium) -> ChannelRule:
        """The rule for ``medium``."""
        return self.call if medium is Medium.CALL else self.sms

    def to_dict(self) -> dict[str, dict[str, bool]]:
        """``{"call": {...}, "sms": {...}}``."""
        return {"call": self.call.to_dict(), "sms": self.sms.to_dict()}

    @classmethod
    def from_dict(cls, data: Any, what: str, base: ClassRule) -> ClassRule:
        """Parse; missing media keep ``base``'s rules."""
        data = only_keys(data, {"call", "sms"}, what)
        call = ChannelRule.from_dict(data.get("call", {}), f"{what}.call", base.call)
        sms = ChannelRule.from_dict(data.get("sms", {}), f"{what}.sms", base.sms)
        return cls(call=call, sms=sms)


_PROMO = ChannelRule(outside_dnd_window=True, promo_window=True, holidays=False)
DEFAULT_RULES: Mapping[PurposeClass, ClassRule] = MappingProxyType(
    {
        PurposeClass.TRANSACTIONAL: ClassRule(),
        PurposeClass.SERVICE: ClassRule(call=ChannelRule(outside_dnd_window=True)),
        PurposeClass.SERVICE_EXPLICIT: ClassRule(call=ChannelRule(outside_dnd_window=True)),
        PurposeClass.PROMOTIONAL: ClassRule(call=_PROMO, sms=_PROMO),
    }
)


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise invalid(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class TimingPolicy:
    """Every timing rule, editable at run time (``/config/timing``) and frozen per decision.

    ``weekend_days`` are Python weekdays (0 = Monday … 6 = Sunday). ``holidays`` are dates;
    ``annual_holidays`` are ``(month, day)`` pairs that recur every year.
    """

    timezone: str = "Asia/Kolkata"
    business_hours: Window = Window(time(9), time(18))
    dnd_window: Window = Window(time(21), time(9))
    promo_window: Window = Window(time(10), time(21))
    weekend_days: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[date] = frozenset()
    annual_holidays: frozenset[tuple[int, int]] = INDIA_NATIONAL_HOLIDAYS
    rules: Mapping[PurposeClass, ClassRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    purposes: Mapping[str, PurposeClass] = field(default_factory=dict)
    promo_category: str = "food_beverages"

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in self.weekend_days):
            raise invalid("weekend days must be weekdays 0 (Monday) to 6 (Sunday)")
        for month, day in self.annual_holidays:
            check_month_day(month, day)
        missing = [c.value for c in PurposeClass if c not in self.rules]
        if missing:
            raise invalid(f"timing rules missing for {', '.join(missing)}")
        for name in self.purposes:
            if not _NAME_RE.match(name):
                raise invalid(f"bad purpose name {name!r}")
        if self.promo_category not in CATEGORIES:
            raise invalid(f"unknown category {self.promo_category!r}", allowed=sorted(CATEGORIES))

    @property
    def zone(self) -> ZoneInfo:
        """The policy's time zone."""
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` (a local date) is a holiday."""
        return day in self.holidays or (day.month, day.day) in self.annual_holidays

    def classify(self, purpose: str) -> PurposeClass:
        """The class of ``purpose`` (a concrete purpose or a class name).

        Raises:
            ValidationError: the purpose is unknown.
        """
        found = self.purposes.get(purpose) or DEFAULT_PURPOSES.get(purpose)
        if found is not None:
            return found
        try:
            return PurposeClass(purpose)
        except ValueError:
            known = sorted({*DEFAULT_PURPOSES, *self.purposes, *PurposeClass})
            raise invalid(f"unknown purpose {purpose!r}", allowed=known) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict that :meth:`from_dict` reads back to an equal policy."""
        return {
            "timezone": self.timezone,
            "business_hours": self.business_hours.to_dict(),
            "dnd_window": self.dnd_window.to_dict(),
            "promo_window": self.promo_window.to_dict(),
            "weekend_days": [WEEKDAYS[d] for d in sorted(self.weekend_days)],
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "annual_holidays": [f"{m:02d}-{d:02d}" for m, d in sorted(self.annual_holidays)],
            "rules": {c.value: self.rules[c].to_dict() for c in PurposeClass},
            "purposes": {k: v.value for k, v in sorted(self.purposes.items())},
            "promo_category": self.promo_category,
        }

    @classmethod
    def from_dict(cls, data: Any) -> TimingPolicy:
        """Parse a (possibly partial) policy dict; missing keys take the defaults.

        Raises:
            ValidationError: with a message naming the bad field.
        """
        default = cls()
        data = only_keys(data, set(default.to_dict()), "timing policy")
        kw: dict[str, Any] = {}
        if "timezone" in data:
            _zone(data["timezone"])
            kw["timezone"] = data["timezone"]
        for key in ("business_hours", "dnd_window", "promo_window"):
            if key in data:
                kw[key] = Window.from_dict(data[key], key)
        if "weekend_days" in data:
            kw["weekend_days"] = frozenset(parse_weekday(v) for v in _list(data, "weekend_days"))
        if "holidays" in data:
            kw["holidays"] = frozenset(parse_date(v) for v in _list(data, "holidays"))
        if "annual_holidays" in data:
            kw["annual_holidays"] = frozenset(
                parse_month_day(v) for v in _list(data, "annual_holidays")
            )
        if "rules" in data:
            rules = only_keys(data["rules"], {c.value for c in PurposeClass}, "rules")
            kw["rules"] = {
                c: ClassRule.from_dict(rules.get(c.value, {}), f"rules.{c.value}", default.rules[c])
                for c in PurposeClass
            }
        if "purposes" in data:
            raw = data["purposes"]
            if not isinstance(raw, Mapping):
                raise invalid("purposes must be an object of purpose -> class")
            kw["purposes"] = {str(k): _purpose_class(v, f"purposes.{k}") for k, v in raw.items()}
        if "promo_category" in data:
            if not isinstance(data["promo_category"], str):
                raise invalid("promo_category must be a category name", allowed=sorted(CATEGORIES))
            kw["promo_category"] = data["promo_category"]
        return cls(**kw)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise invalid(f"{key} must be a list")
    return value


def _purpose_class(value: Any, what: str) -> PurposeClass:
    try:
        return PurposeClass(value)
    except ValueError:
        raise invalid(f"{what}: unknown class {value!r}", allowed=list(PurposeClass)) from None
