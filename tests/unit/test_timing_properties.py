"""Property tests of the timing rules across time zones, DST changes and midnight-crossing windows.

The oracle is an independent, naive re-implementation of "allowed" that scans a 15-minute UTC
grid: every modern UTC offset, DST change and (generated) window boundary falls on that grid,
so "allowed" is constant inside each grid cell and the scan finds the exact next allowed time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exocomms.scheduling import (
    ChannelRule,
    ClassRule,
    Medium,
    PurposeClass,
    Recipient,
    TimingPolicy,
    Window,
    allowed,
    next_allowed,
)

ZONES = [
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",  # DST changes at midnight: dates skip or repeat
    "America/Havana",
    "Pacific/Chatham",
    "America/St_Johns",
    "Africa/Casablanca",
    "Pacific/Kiritimati",
    "UTC",
]
CELL = timedelta(minutes=15)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Hours 0-3 are over-weighted: that is where DST changes happen.
hours = st.integers(0, 23) | st.integers(0, 3)
quarter_times = st.builds(time, hours, st.sampled_from([0, 15, 30, 45]))
second_times = st.builds(time, hours, st.integers(0, 59), st.integers(0, 59))
rules = st.builds(
    ChannelRule,
    enabled=st.sampled_from([True, True, True, False]),
    business_hours=st.booleans(),
    outside_dnd_window=st.booleans(),
    promo_window=st.booleans(),
    weekends=st.booleans(),
    holidays=st.booleans(),
)
instants = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@cache
def offset_changes(zone: str, year: int) -> tuple[datetime, ...]:
    """Instants of ``year`` where ``zone`` changes its UTC offset (to the minute)."""
    tz, found = ZoneInfo(zone), []
    t = datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        nxt = t + timedelta(hours=6)
        if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            m = t
            while m.astimezone(tz).utcoffset() == t.astimezone(tz).utcoffset():
                m += timedelta(minutes=1)
            found.append(m)
        t = nxt
    return tuple(found)


@st.composite
def near_dst(draw: st.DrawFn, zone: str) -> datetime:
    """An instant up to 30 hours before one of the zone's offset changes (or any instant)."""
    year = draw(st.integers(1996, 2039))
    changes = offset_changes(zone, year)
    if not changes:
        return draw(instants)
    before = draw(st.integers(0, 30 * 3600).map(lambda s: timedelta(seconds=s)))
    return draw(st.sampled_from(changes)) - before


@st.composite
def scenarios(
    draw: st.DrawFn, times: st.SearchStrategy[time] = quarter_times
) -> tuple[datetime, TimingPolicy, PurposeClass, Medium, Recipient]:
    zone = draw(st.sampled_from(ZONES))
    now = draw(instants | near_dst(zone))
    window = st.builds(Window, times, times)
    near = st.integers(-2, 20).map(lambda n: now.date() + timedelta(days=n))
    rule = draw(rules)
    policy = TimingPolicy(
        timezone=zone,
        business_hours=draw(window),
        dnd_window=draw(window),
        promo_window=draw(window),
        weekend_days=draw(st.frozensets(st.integers(0, 6), max_size=7)),
        holidays=draw(st.frozensets(near, max_size=4)),
        annual_holidays=draw(
            st.frozensets(st.tuples(st.integers(1, 12), st.integers(1, 28)), max_size=2)
        ),
        rules={c: ClassRule(call=rule, sms=rule) for c in PurposeClass},
    )
    recipient = Recipient(
        dnd_full=draw(st.booleans()),
        blocked_categories=draw(st.frozensets(st.just("food_beverages"))),
    )
    return (
        now,
        policy,
        draw(st.sampled_from(list(PurposeClass))),
        draw(st.sampled_from(Medium)),
        recipient,
    )


def oracle(
    policy: TimingPolicy, cls: PurposeClass, recipient: Recipient
) -> Callable[[datetime], bool]:
    """A naive predicate, written independently of the engine."""
    zone = ZoneInfo(policy.timezone)
    rule = policy.rules[cls].call
    promo_like = cls in (PurposeClass.PROMOTIONAL, PurposeClass.SERVICE_EXPLICIT)  # no consents
    if not rule.enabled or (
        promo_like and (recipient.dnd_full or "food_beverages" in recipient.blocked_categories)
    ):
        return lambda _t: False

    def inside(w: Window, t: time) -> bool:
        s, e, m = (x.hour * 3600 + x.minute * 60 + x.second for x in (w.start, w.end, t))
        return True if s == e else (s <= m < e if s < e else m >= s or m < e)

    def pred(t: datetime) -> bool:
        local = t.astimezone(zone)
        day, wall = local.date(), local.time()
        holiday = day in policy.holidays or (day.month, day.day) in policy.annual_holidays
        return not (
            (holiday and not rule.holidays)
            or (day.weekday() in policy.weekend_days and not rule.weekends)
            or (rule.business_hours and not inside(policy.business_hours, wall))
            or (rule.promo_window and not inside(policy.promo_window, wall))
            or (rule.outside_dnd_window and inside(policy.dnd_window, wall))
        )

    return pred


def grid_after(t: datetime) -> datetime:
    """The first 15-minute grid instant strictly after ``t``."""
    floor = t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)
    return floor + CELL


@FAST
@given(scenarios())
def test_next_allowed_is_exactly_the_first_allowed_instant(
    case: tuple[datetime, TimingPolicy, PurposeClass, Medium, Recipient],
) -> None:
    now, policy, cls, medium, recipient = case
    pred = oracle(policy, cls, recipient)
    assert allowed(now, cls.value, recipient, policy, medium).allowed is pred(now)
    got = next_allowed(now, cls.value, recipient, policy, medium)
    if pred(now):
        assert got == now
        return
    expected, g = None, grid_after(now)
    limit = got if got is not None else now + timedelta(days=60)
    while g <= limit:
        if pred(g):
            expected = g
            break
        g += CELL
    assert got == expected
    if got is not None:
        assert got.tzinfo is UTC
        assert got > now
        assert allowed(got, cls.value, recipient, policy, medium).allowed


@FAST
@given(scenarios(second_times), st.lists(st.floats(0, 1), min_size=20, max_size=20))
def test_nothing_allowed_before_next_allowed_with_second_precision_windows(
    case: tuple[datetime, TimingPolicy, PurposeClass, Medium, Recipient], fractions: list[float]
) -> None:
    now, policy, cls, medium, recipient = case
    got = next_allowed(now, cls.value, recipient, policy, medium)
    check = oracle(policy, cls, recipient)
    if got is None:
        assert not any(check(now + timedelta(days=30 * f)) for f in fractions)
        return
    assert got >= now
    assert check(got)
    assert allowed(got, cls.value, recipient, policy, medium).allowed
    probes = [now + (got - now) * f for f in fractions] + [got - timedelta(seconds=1)]
    assert not any(check(p) for p in probes if now <= p < got)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.sampled_from(ZONES))
def test_the_zone_of_now_does_not_matter(
    case: tuple[datetime, TimingPolicy, PurposeClass, Medium, Recipient], zone: str
) -> None:
    now, policy, cls, medium, recipient = case
    local_now = now.astimezone(ZoneInfo(zone))
    assert allowed(local_now, cls.value, recipient, policy, medium) == allowed(
        now, cls.value, recipient, policy, medium
    )
    assert next_allowed(local_now, cls.value, recipient, policy, medium) == next_allowed(
        now, cls.value, recipient, policy, medium
    )


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_policies_round_trip_through_dicts(
    case: tuple[datetime, TimingPolicy, PurposeClass, Medium, Recipient],
) -> None:
    _, policy, _, _, recipient = case
    assert TimingPolicy.from_dict(policy.to_dict()) == policy
    assert Recipient.from_dict(recipient.to_dict()) == recipient


def test_oracle_grid_covers_a_known_date() -> None:
    # Guard the oracle itself: Republic Day blocks promotional traffic in the default policy.
    pred = oracle(TimingPolicy(), PurposeClass.PROMOTIONAL, Recipient())
    assert not pred(datetime(2026, 1, 26, 6, 0, tzinfo=UTC))
    assert pred(datetime(2026, 1, 27, 6, 0, tzinfo=UTC))
    assert date(2026, 1, 26).weekday() == 0
