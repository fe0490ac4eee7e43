"""Timing rules by example: the defaults of PRODUCT.md §6, preferences, DST, validation, check."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from exocomms.errors import ValidationError
from exocomms.scheduling import (
    ChannelRule,
    ClassRule,
    PurposeClass,
    Recipient,
    TimingPolicy,
    Window,
    allowed,
    check,
    next_allowed,
)

IST = ZoneInfo("Asia/Kolkata")
NY = ZoneInfo("America/New_York")


def ist(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    """A time in January 2026, IST (5 Jan is a Monday, 10 Jan a Saturday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=IST)


@pytest.mark.parametrize(
    ("purpose", "medium", "when", "expected"),
    [
        ("order_confirmation", "call", ist(5, 3), True),  # transactional is 24x7
        ("otp_verification", "sms", ist(26, 23, 30), True),  # ... holidays included
        ("payment_reminder", "sms", ist(5, 23), True),  # service texts go 24x7
        ("payment_reminder", "call", ist(5, 23), False),  # service calls keep out of 21-09
        ("payment_reminder", "call", ist(5, 9), True),
        ("promotional_offer", "sms", ist(5, 9, 59), False),  # promo window opens at 10:00
        ("promotional_offer", "sms", ist(5, 10), True),
        ("promotional_offer", "call", ist(5, 20, 59), True),
        ("promotional_offer", "call", ist(5, 21), False),  # ... and closes at 21:00
        ("diwali", "sms", ist(10, 12), True),  # weekends allowed by default
        ("diwali", "sms", ist(26, 12), False),  # Republic Day
    ],
)
def test_default_policy(purpose: str, medium: str, when: datetime, expected: bool) -> None:
    assert allowed(when, purpose, medium=medium).allowed is expected


def test_reasons_name_the_rule_that_said_no() -> None:
    late = allowed(ist(5, 22, 30), "promotional_offer", medium="sms")
    assert (late.code, late.purpose_class) == ("promo_window", PurposeClass.PROMOTIONAL)
    assert "22:30 is outside the promotional window 10:00–21:00" in late.reason
    night = allowed(ist(5, 22, 30), "support_callback")
    assert night.code == "dnd_window"
    assert "inside the DND window 21:00–09:00" in night.reason
    assert allowed(ist(26, 12), "promotional").code == "holiday"
    assert allowed(ist(5, 12), "custom").purpose_class is PurposeClass.PROMOTIONAL


def test_preferences_bind_promotional_traffic_only() -> None:
    noon = ist(5, 12)
    blocked = Recipient(phone="+919800000001", dnd_full=True)
    assert allowed(noon, "promotional_offer", blocked).code == "dnd_full"
    assert next_allowed(noon, "promotional_offer", blocked) is None
    assert allowed(noon, "order_confirmation", blocked).allowed
    assert allowed(noon, "payment_reminder", blocked).allowed
    food = Recipient(blocked_categories=frozenset({"food_beverages"}))
    assert allowed(noon, "area_launch", food).code == "category_blocked"
    assert allowed(noon, "area_launch", food, category="tourism").allowed


def test_service_explicit_needs_consent() -> None:
    night, blocked = ist(5, 22), Recipient(dnd_full=True)
    # Without consent it is promotional: window and blocks apply.
    assert allowed(ist(5, 12), "abandoned_cart", blocked).code == "dnd_full"
    assert allowed(night, "abandoned_cart", medium="sms").code == "promo_window"
    consented = Recipient(dnd_full=True, consents=frozenset({"abandoned_cart"}))
    decision = allowed(night, "abandoned_cart", consented, medium="sms")
    assert decision.allowed
    assert decision.purpose_class is PurposeClass.SERVICE_EXPLICIT
    by_category = Recipient(consents=frozenset({"food_beverages"}))
    assert allowed(night, "lead_call", by_category, medium="sms").allowed


def test_next_allowed_waits_for_the_window_across_midnight_and_holidays() -> None:
    assert next_allowed(ist(5, 22, 30), "promotional") == ist(6, 10).astimezone(UTC)
    assert next_allowed(ist(5, 1), "support_callback") == ist(5, 9).astimezone(UTC)
    # 25 Jan 22:00 → 26 Jan is Republic Day → 27 Jan 10:00.
    assert next_allowed(ist(25, 22), "promotional") == ist(27, 10).astimezone(UTC)
    now = ist(5, 12)
    assert next_allowed(now, "promotional") == now.astimezone(UTC)


def test_weekends_and_holidays_can_be_closed() -> None:
    closed = ChannelRule(weekends=False, holidays=False, business_hours=True)
    policy = TimingPolicy(
        holidays=frozenset({date(2026, 1, 12)}),
        rules={**TimingPolicy().rules, PurposeClass.SERVICE: ClassRule(closed, closed)},
    )
    # Friday 9 Jan 18:30 → weekend → Monday 12 Jan is a holiday → Tuesday 09:00.
    got = next_allowed(ist(9, 18, 30), "payment_reminder", policy=policy, medium="sms")
    assert got == ist(13, 9).astimezone(UTC)
    assert allowed(ist(10, 12), "payment_reminder", policy=policy).code == "weekend"


def test_never_allowed_is_none() -> None:
    rules = dict(TimingPolicy().rules)
    rules[PurposeClass.PROMOTIONAL] = ClassRule(call=ChannelRule(enabled=False))
    assert allowed(ist(5, 12), "promotional", policy=TimingPolicy(rules=rules)).code == "disabled"
    assert next_allowed(ist(5, 12), "promotional", policy=TimingPolicy(rules=rules)) is None
    # A promotional window that sits entirely inside the DND window never opens.
    never = TimingPolicy(promo_window=Window(time(22), time(23)))
    assert next_allowed(ist(5, 12), "promotional", policy=never) is None
    every_day_weekend = TimingPolicy(
        weekend_days=frozenset(range(7)),
        rules={**rules, PurposeClass.PROMOTIONAL: ClassRule(call=ChannelRule(weekends=False))},
    )
    assert next_allowed(ist(5, 12), "promotional", policy=every_day_weekend) is None


def test_windows_cross_midnight_and_full_day() -> None:
    night = Window(time(21), time(9))
    assert night.spans() == ((0, 9 * 3600), (21 * 3600, 86400))
    assert night.contains(time(23, 59, 59))
    assert night.contains(time(0))
    assert not night.contains(time(9))
    assert night.contains(time(21))
    assert Window(time(0), time(0)).full_day
    assert Window.from_dict({"start": "10:00", "end": "24:00"}).spans() == ((36000, 86400),)
    assert str(night) == "21:00–09:00"


def _ny_policy(start: str, end: str) -> TimingPolicy:
    rule = ChannelRule(business_hours=True)
    return TimingPolicy(
        timezone="America/New_York",
        business_hours=Window.from_dict({"start": start, "end": end}),
        rules={c: ClassRule(rule, rule) for c in PurposeClass},
    )


def test_spring_forward_gap() -> None:
    # 8 Mar 2026, New York: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    before = datetime(2026, 3, 8, 1, 30, tzinfo=NY)
    gap_only = _ny_policy("02:15", "02:45")  # these wall times do not exist that day
    assert next_allowed(before, "transactional", policy=gap_only) == datetime(
        2026, 3, 9, 6, 15, tzinfo=UTC
    )
    straddling = _ny_policy("02:30", "04:00")  # opens at the jump itself
    assert next_allowed(before, "transactional", policy=straddling) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )


def test_fall_back_repeats_the_hour() -> None:
    # 1 Nov 2026, New York: 01:00-02:00 happens twice (EDT 05:00-06:00 UTC, EST 06:00-07:00).
    policy = _ny_policy("01:30", "02:00")
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_allowed(datetime(2026, 11, 1, 5, 0, tzinfo=UTC), "service", policy=policy) == first
    between = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST, second time round
    assert next_allowed(between, "service", policy=policy) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_check_is_the_api_body() -> None:
    body = check(ist(5, 22, 30), "payment_reminder")
    assert body == {
        "canCall": False,
        "canSms": True,
        "canPromoSms": False,
        "reason": "calls not allowed: 22:30 is inside the DND window 21:00–09:00",
        "nextAvailableTime": "2026-01-06T09:00:00+05:30",
        "currentTime": "2026-01-05T22:30:00+05:30",
        "timezone": "Asia/Kolkata",
    }
    noon = check(datetime(2026, 1, 5, 6, 30, tzinfo=UTC), "order_confirmation")
    assert noon["reason"] == "calls, SMS and promotional SMS are allowed"
    assert noon["nextAvailableTime"] == noon["currentTime"] == "2026-01-05T12:00:00+05:30"
    blocked = check(ist(5, 12), "promotional_offer", Recipient(dnd_full=True))
    assert blocked["nextAvailableTime"] is None


def test_policy_dicts_round_trip_and_merge_with_defaults() -> None:
    policy = TimingPolicy.from_dict(
        {
            "timezone": "Europe/London",
            "weekend_days": ["sun"],
            "holidays": ["2026-12-25"],
            "annual_holidays": ["02-29"],
            "rules": {"promotional": {"sms": {"weekends": False}}},
            "purposes": {"festival_greeting": "promotional"},
        }
    )
    assert policy.weekend_days == frozenset({6})
    assert policy.rules[PurposeClass.PROMOTIONAL].sms.weekends is False
    assert policy.rules[PurposeClass.PROMOTIONAL].sms.promo_window is True  # default kept
    assert policy.classify("festival_greeting") is PurposeClass.PROMOTIONAL
    assert TimingPolicy.from_dict(policy.to_dict()) == policy
    assert TimingPolicy.from_dict({}) == TimingPolicy()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "../etc/passwd"}, "unknown time zone"),
        ({"dnd_window": {"start": "25:00", "end": "09:00"}}, "dnd_window.start must be a time"),
        ({"dnd_window": {"start": "21:00"}}, "dnd_window needs both start and end"),
        ({"promo_window": {"start": "24:30", "end": "09:00"}}, "24:00 is the only time after"),
        ({"weekend_days": ["funday"]}, "unknown day 'funday'"),
        ({"holidays": ["2026-02-30"]}, "is not a date"),
        ({"annual_holidays": ["02-30"]}, "no such annual holiday 02-30"),
        ({"rules": {"promotional": {"sms": {"weekends": "no"}}}}, "promotional.sms.weekends"),
        ({"rules": {"spam": {}}}, "unknown field(s) in rules: spam"),
        ({"purposes": {"x": "loud"}}, "unknown class 'loud'"),
        ({"quiet": True}, "unknown field(s) in timing policy: quiet"),
        ({"promo_category": "weapons"}, "unknown category 'weapons'"),
        ({"promo_category": []}, "promo_category must be a category name"),
        ([], "timing policy must be an object"),
    ],
)
def test_bad_policies_are_rejected_clearly(data: Any, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        TimingPolicy.from_dict(data)
    assert message in err.value.message


def test_bad_inputs_to_decisions() -> None:
    with pytest.raises(ValidationError, match="unknown purpose 'spam'"):
        allowed(ist(5, 12), "spam")
    with pytest.raises(ValidationError, match="timezone-aware"):
        allowed(datetime(2026, 1, 5, 12), "custom")
    with pytest.raises(ValidationError, match="unknown medium"):
        next_allowed(ist(5, 12), "custom", medium="fax")
    with pytest.raises(ValidationError, match="unknown category"):
        Recipient.from_dict({"blocked_categories": ["gambling"]})
    with pytest.raises(ValidationError, match="unknown field"):
        Recipient.from_dict({"dnd": True})
    assert Recipient.from_dict({"dnd_full": True}).dnd_full
    assert next_allowed(ist(5, 12) + timedelta(microseconds=7), "custom") is not None
