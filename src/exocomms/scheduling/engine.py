"""Pure timing decisions: may this go out now, and if not, when first?

Every place that dials or messages asks :func:`allowed` (and waits with :func:`next_allowed`);
``GET /timing/check`` is a thin wrapper over :func:`check`.

Times: ``now`` must be timezone-aware (any zone); :func:`next_allowed` always answers in
**UTC** (comparing aware datetimes that share a ``ZoneInfo`` ignores ``fold``, so UTC is the
only safe currency around DST changes). :func:`check` renders times in the policy's zone.

How :func:`next_allowed` is exact: whether an instant is allowed depends only on its local
date (weekend, holiday) and local wall time (windows). Going forward in time, "not allowed"
can only turn into "allowed" where the wall time reaches the start of an allowed span, or where
it jumps (a DST change, which is also how some zones change date). So the answer is ``now``
or the earliest of those candidate instants that :func:`allowed` accepts; days are scanned up
to a horizon that provably covers the policy's weekends and holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exocomms.errors import ValidationError
from exocomms.scheduling.model import (
    ANYONE,
    DAY_SECONDS,
    ChannelRule,
    Recipient,
    TimingPolicy,
    Window,
)
from exocomms.scheduling.purposes import Medium, PurposeClass

Spans = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Decision:
    """The answer of :func:`allowed`.

    Attributes:
        allowed: whether it may go out now.
        code: machine-readable reason: ``ok``, ``disabled``, ``dnd_full``, ``category_blocked``,
            ``holiday``, ``weekend``, ``business_hours``, ``dnd_window``, ``promo_window``.
        reason: the same, for people.
        purpose_class: the class whose rule was applied (``promotional`` for a
            service-explicit purpose without consent).
    """

    allowed: bool
    code: str
    reason: str
    purpose_class: PurposeClass


@dataclass(frozen=True)
class _Effective:
    purpose_class: PurposeClass
    rule: ChannelRule
    block: tuple[str, str] | None  # (code, reason) when never allowed for this recipient


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("timing rules need a timezone-aware time")
    return now.astimezone(UTC)


def _effective(
    purpose: str, recipient: Recipient, policy: TimingPolicy, medium: Medium, category: str | None
) -> _Effective:
    cls = policy.classify(purpose)
    cat = category or policy.promo_category
    if cls is PurposeClass.SERVICE_EXPLICIT and not recipient.consented(purpose, cat):
        cls = PurposeClass.PROMOTIONAL  # no consent: it may only go as promotional traffic
    rule = policy.rules[cls].for_medium(Medium(medium))
    block: tuple[str, str] | None = None
    if cls is PurposeClass.PROMOTIONAL and recipient.dnd_full:
        block = ("dnd_full", "the recipient blocked all promotional traffic (DND)")
    elif cls is PurposeClass.PROMOTIONAL and cat in recipient.blocked_categories:
        block = ("category_blocked", f"the recipient blocked the category {cat}")
    elif not rule.enabled:
        block = ("disabled", f"{_plural(medium)} are disabled for {cls.value} traffic")
    return _Effective(cls, rule, block)


def _intersect(a: Spans, b: Spans) -> Spans:
    out = [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b]
    return tuple(sorted(s for s in out if s[0] < s[1]))


def _complement(a: Spans) -> Spans:
    out, pos = [], 0
    for lo, hi in a:
        if lo > pos:
            out.append((pos, lo))
        pos = max(pos, hi)
    if pos < DAY_SECONDS:
        out.append((pos, DAY_SECONDS))
    return tuple(out)


def _merge(a: Spans) -> Spans:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(a):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _wall_spans(rule: ChannelRule, policy: TimingPolicy) -> Spans:
    """Seconds of the day when ``rule`` allows traffic on an allowed day."""
    spans: Spans = ((0, DAY_SECONDS),)
    if rule.business_hours:
        spans = _intersect(spans, policy.business_hours.spans())
    if rule.promo_window:
        spans = _intersect(spans, policy.promo_window.spans())
    if rule.outside_dnd_window:
        spans = _intersect(spans, _complement(policy.dnd_window.spans()))
    return _merge(spans)


def _day_block(rule: ChannelRule, policy: TimingPolicy, day: date) -> tuple[str, str] | None:
    if not rule.holidays and policy.is_holiday(day):
        return ("holiday", f"{day.isoformat()} is a holiday")
    if not rule.weekends and day.weekday() in policy.weekend_days:
        return ("weekend", f"{day.strftime('%A')} is a weekend day")
    return None


def _time_block(rule: ChannelRule, policy: TimingPolicy, wall: time) -> tuple[str, str] | None:
    checks: list[tuple[bool, Window, bool, str]] = [
        (rule.business_hours, policy.business_hours, True, "business_hours"),
        (rule.promo_window, policy.promo_window, True, "promo_window"),
        (rule.outside_dnd_window, policy.dnd_window, False, "dnd_window"),
    ]
    for applies, window, inside, code in checks:
        if applies and window.contains(wall) is not inside:
            where = "outside" if inside else "inside"
            label = code.replace("_", " ").replace("dnd", "DND").replace("promo", "promotional")
            return (code, f"{wall.strftime('%H:%M')} is {where} the {label} {window}")
    return None


def allowed(
    now: datetime,
    purpose: str,
    recipient: Recipient = ANYONE,
    policy: TimingPolicy | None = None,
    medium: Medium | str = Medium.CALL,
    *,
    category: str | None = None,
) -> Decision:
    """Whether a ``medium`` (call or sms) for ``purpose`` may reach ``recipient`` at ``now``.

    Args:
        now: an aware instant.
        purpose: a concrete purpose (``payment_reminder``) or a class name.
        recipient: the person's preferences (bind promotional traffic only).
        policy: the rules; the defaults when omitted.
        medium: ``call`` or ``sms`` (WhatsApp and push follow ``sms``).
        category: the NCPR category of promotional content (default: the policy's).

    Raises:
        ValidationError: naive ``now``, unknown purpose or medium.
    """
    policy = policy or TimingPolicy()
    medium = _medium(medium)
    eff = _effective(purpose, recipient, policy, medium, category)
    block = eff.block
    if block is None:
        local = _aware(now).astimezone(policy.zone)
        block = _day_block(eff.rule, policy, local.date()) or _time_block(
            eff.rule, policy, local.time()
        )
    if block is None:
        return Decision(
            True, "ok", f"{purpose} {_plural(medium)} are allowed now", eff.purpose_class
        )
    return Decision(False, block[0], block[1], eff.purpose_class)


def _plural(medium: Medium) -> str:
    return "calls" if medium is Medium.CALL else "messages"


def _medium(medium: Medium | str) -> Medium:
    try:
        return Medium(medium)
    except ValueError:
        raise ValidationError(f"unknown medium {medium!r} (call or sms)") from None


def _transitions(zone: ZoneInfo, lo: datetime, hi: datetime) -> list[datetime]:
    """UTC instants in ``[lo, hi]`` where ``zone``'s UTC offset changes (DST and the like)."""
    step = timedelta(hours=1)  # real zones never change offset twice within an hour
    found: list[datetime] = []
    prev, offset = lo, lo.astimezone(zone).utcoffset()
    while prev < hi:
        cur = min(prev + step, hi)
        cur_offset = cur.astimezone(zone).utcoffset()
        if cur_offset != offset:
            a, b = prev, cur  # offset(a) == offset, offset(b) differs; bisect to the second
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                if mid.astimezone(zone).utcoffset() == offset:
                    a = mid
                else:
                    b = mid
            found.append(b.replace(microsecond=0))  # tzdb changes on whole seconds
            offset = cur_offset
        prev = cur
    return found


def _candidates(day: date, spans: Spans, zone: ZoneInfo) -> list[datetime]:
    """UTC instants on local date ``day`` where "allowed" may begin (see the module doc)."""
    out: set[datetime] = set()
    for start, _ in spans:
        if start >= DAY_SECONDS:
            continue
        wall = datetime(day.year, day.month, day.day, start // 3600, start // 60 % 60, start % 60)
        for fold in (0, 1):
            instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) == wall:  # not in a DST gap
                out.add(instant)
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for instant in _transitions(
        zone, midnight - timedelta(hours=16), midnight + timedelta(hours=40)
    ):
        if instant.astimezone(zone).date() == day:
            out.add(instant)
    return sorted(out)


def next_allowed(
    now: datetime,
    purpose: str,
    recipient: Recipient = ANYONE,
    policy: TimingPolicy | None = None,
    medium: Medium | str = Medium.CALL,
    *,
    category: str | None = None,
) -> datetime | None:
    """The first instant ``>= now`` at which :func:`allowed` says yes, in UTC.

    Returns ``now`` (as UTC) when allowed now, and ``None`` when never allowed (a disabled
    medium, a blocked recipient, windows that never overlap, every day a weekend).
    Arguments are those of :func:`allowed`.
    """
    policy = policy or TimingPolicy()
    medium = _medium(medium)
    start = _aware(now)
    if allowed(start, purpose, recipient, policy, medium, category=category).allowed:
        return start
    eff = _effective(purpose, recipient, policy, medium, category)
    spans = _wall_spans(eff.rule, policy)
    weekdays_open = eff.rule.weekends or len(policy.weekend_days) < 7
    if eff.block is not None or not spans or not weekdays_open:
        return None
    zone = policy.zone

    def on(day: date) -> list[datetime]:
        if _day_block(eff.rule, policy, day) is not None:
            return []
        return [
            c
            for c in _candidates(day, spans, zone)
            if c >= start
            and allowed(c, purpose, recipient, policy, medium, category=category).allowed
        ]

    # A holiday occurrence blocks at most one allowed date, so (holidays + 1) full weeks
    # always hold an open date; one more week covers a date whose window fell in a DST gap.
    blocking = 0 if eff.rule.holidays else len(policy.holidays) + 2 * len(policy.annual_holidays)
    horizon = 7 * (blocking + 2) + 2
    # Start a day early: a zone that falls back across midnight revisits the previous date.
    day = start.astimezone(zone).date() - timedelta(days=1)
    for _ in range(horizon):
        found = on(day)
        if found:
            # The same date-revisit means the next date may hold an earlier instant.
            return min(found + on(day + timedelta(days=1)))
        day += timedelta(days=1)
    return None


def check(
    now: datetime,
    purpose: str,
    recipient: Recipient = ANYONE,
    policy: TimingPolicy | None = None,
) -> dict[str, Any]:
    """The body of ``GET /timing/check?purpose=``.

    ``canCall``/``canSms`` answer for ``purpose``; ``canPromoSms`` for a promotional SMS to the
    same recipient. ``nextAvailableTime`` is when a call for ``purpose`` is next allowed (now if
    allowed; ``null`` if never). ``reason`` explains the first "no" (call, then SMS, then
    promotional SMS) or says all is allowed. Times are ISO-8601 in the policy's zone.
    """
    policy = policy or TimingPolicy()
    call = allowed(now, purpose, recipient, policy, Medium.CALL)
    sms = allowed(now, purpose, recipient, policy, Medium.SMS)
    promo = allowed(now, PurposeClass.PROMOTIONAL.value, recipient, policy, Medium.SMS)
    nxt = next_allowed(now, purpose, recipient, policy, Medium.CALL)
    if not call.allowed:
        reason = f"calls not allowed: {call.reason}"
    elif not sms.allowed:
        reason = f"SMS not allowed: {sms.reason}"
    elif not promo.allowed:
        reason = f"calls and SMS allowed; promotional SMS not allowed: {promo.reason}"
    else:
        reason = "calls, SMS and promotional SMS are allowed"
    zone = policy.zone
    return {
        "canCall": call.allowed,
        "canSms": sms.allowed,
        "canPromoSms": promo.allowed,
        "reason": reason,
        "nextAvailableTime": nxt.astimezone(zone).isoformat() if nxt else None,
        "currentTime": _aware(now).astimezone(zone).isoformat(),
        "timezone": policy.timezone,
    }
