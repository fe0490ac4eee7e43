"""Scheduled calls, pure: statuses, the retry config, what a call does, and input checks.

A scheduled call is a request ("call this phone for this purpose at about this time, retry like
this"); each attempt is an ordinary call record (``voice_calls``). Decisions here are pure, so
the service only loads rows, asks, and writes the answer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from exocomms import phones
from exocomms.calls.retry import RetryPolicy
from exocomms.errors import ValidationError

MAX_DAYS_AHEAD = 90
MAX_CONTEXT_BYTES = 4_000
MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 1, 10, 5
RETRYABLE = ("busy", "no-answer", "failed")


class Status(StrEnum):
    """Where a scheduled call is."""

    SCHEDULED = "scheduled"  # waiting for its (next) attempt time
    WAITING_WINDOW = "waiting_window"  # due, but the timing rules said "not now"
    IN_PROGRESS = "in_progress"  # an attempt was placed; waiting for its outcome
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def open(self) -> bool:
        """Not finished: may still call someone (and may be canceled)."""
        return self in (Status.SCHEDULED, Status.WAITING_WINDOW, Status.IN_PROGRESS)


def _bad(message: str, field: str) -> ValidationError:
    return ValidationError(message, details=[{"loc": ["body", field], "message": message}])


@dataclass(frozen=True)
class RetryConfig:
    """Per-call retries: ``min(max_delay, initial·factor^(n-1))`` ± ``jitter``, capped."""

    max_attempts: int = 3
    initial_delay: float = 300.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.1
    retry_on: frozenset[str] = frozenset(RETRYABLE)

    @classmethod
    def from_policy(cls, policy: RetryPolicy) -> RetryConfig:
        """The run-time configuration's policy for a purpose, as a starting point."""
        return cls(
            max_attempts=policy.max_attempts,
            initial_delay=policy.initial_delay,
            factor=policy.factor,
            max_delay=max(policy.max_delay, policy.initial_delay),
            jitter=min(policy.jitter, 0.5),
            retry_on=frozenset(s.value for s in policy.retry_on) & frozenset(RETRYABLE),
        )

    def merged(self, raw: Mapping[str, Any] | None) -> RetryConfig:
        """This config with the request's ``retryConfig`` fields applied (validated).

        Raises:
            ValidationError: unknown field or a value out of range.
        """
        if raw is None:
            return self
        names = {
            "maxAttempts": "max_attempts",
            "maxRetries": "max_attempts",
            "initialDelaySeconds": "initial_delay",
            "initialDelay": "initial_delay",
            "backoffMultiplier": "factor",
            "factor": "factor",
            "maxDelaySeconds": "max_delay",
            "maxDelay": "max_delay",
            "jitter": "jitter",
            "retryOn": "retry_on",
        }
        unknown = sorted(k for k in raw if k not in names)
        if unknown:
            raise _bad(f"unknown retryConfig field(s): {', '.join(unknown)}", "retryConfig")
        kw: dict[str, Any] = {}
        for key, value in raw.items():
            attr = names[key]
            if attr == "retry_on":
                if not isinstance(value, list) or not set(value) <= set(RETRYABLE):
                    raise _bad(f"retryOn must be a subset of {list(RETRYABLE)}", "retryConfig")
                kw[attr] = frozenset(value)
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise _bad(f"retryConfig.{key} must be a number", "retryConfig")
            else:
                kw[attr] = value
        merged = RetryConfig(**{**self.to_fields(), **kw})
        merged.check()
        return merged

    def check(self) -> None:
        """Raise :class:`ValidationError` unless every field is in range."""
        rules = [
            (self.max_attempts == int(self.max_attempts), "maxAttempts must be an integer"),
            (1 <= self.max_attempts <= 10, "maxAttempts must be 1..10"),
            (0 <= self.initial_delay <= 86_400, "initialDelaySeconds must be 0..86400"),
            (1 <= self.factor <= 10, "backoffMultiplier must be 1..10"),
            (
                self.initial_delay <= self.max_delay <= 86_400,
                "maxDelaySeconds must be ≥ initialDelaySeconds and ≤ 86400",
            ),
            (0 <= self.jitter <= 0.5, "jitter must be 0..0.5"),
        ]
        for ok, message in rules:
            if not ok:
                raise _bad(message, "retryConfig")

    def to_fields(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {
            "max_attempts": int(self.max_attempts),
            "initial_delay": float(self.initial_delay),
            "factor": float(self.factor),
            "max_delay": float(self.max_delay),
            "jitter": float(self.jitter),
            "retry_on": self.retry_on,
        }

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire (and storage) form."""
        return {
            "maxAttempts": int(self.max_attempts),
            "initialDelaySeconds": float(self.initial_delay),
            "backoffMultiplier": float(self.factor),
            "maxDelaySeconds": float(self.max_delay),
            "jitter": float(self.jitter),
            "retryOn": sorted(self.retry_on),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryConfig:
        """Read back :meth:`to_dict` (a stored row)."""
        return RetryConfig().merged(data)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based); never above the cap."""
        base = min(self.max_delay, self.initial_delay * self.factor ** max(0, attempt - 1))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.max_delay, base * (1.0 + spread)))

    def next_attempt(
        self, attempt: int, outcome: str, now: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When attempt ``attempt + 1`` should go, or None when there is none."""
        if outcome not in self.retry_on or attempt >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.delay(attempt, rng))


@dataclass(frozen=True)
class Action:
    """What a scheduled call does when it is placed.

    * ``ivr``: one of our IVRs (``context.ivr``), with ``context.slots`` (or the context) as
      its slot values;
    * ``bridge``: ``context.agentPhone`` is called first, then the person, and both talk;
    * ``flow``: an Exotel flow (``context.flow``, else the one mapped to the purpose in
      ``EXOCOMMS_EXOTEL_FLOWS``, default the purpose's name) takes the call.
    """

    kind: str  # ivr | bridge | flow
    target: str  # IVR name, agent phone (E.164) or flow name/app id
    slots: Mapping[str, Any]
    language: str = "hi"


def parse_action(context: Mapping[str, Any], purpose: str, ivr_names: list[str]) -> Action:
    """What ``context`` asks the call to do (see :class:`Action`).

    Raises:
        ValidationError: unknown IVR, bad agent phone, bad flow name, bad slots.
    """
    language = str(context.get("language") or "hi")
    if language not in ("hi", "en", "mr"):
        raise _bad("context.language must be hi, en or mr", "context")
    ivr, agent, flow = context.get("ivr"), context.get("agentPhone"), context.get("flow")
    if sum(v is not None for v in (ivr, agent, flow)) > 1:
        raise _bad("context may name at most one of ivr, agentPhone and flow", "context")
    if ivr is not None:
        if ivr not in ivr_names:
            raise ValidationError(
                f"unknown IVR {ivr!r}",
                details=[{"loc": ["body", "context", "ivr"], "known": ivr_names}],
            )
        slots = context.get("slots", {k: v for k, v in context.items() if k not in ("ivr",)})
        if not isinstance(slots, Mapping):
            raise _bad("context.slots must be an object", "context")
        return Action("ivr", str(ivr), dict(slots), language)
    if agent is not None:
        if not isinstance(agent, str):
            raise _bad("context.agentPhone must be a phone number", "context")
        return Action("bridge", phones.normalize(agent), {}, language)
    target = flow if flow is not None else purpose
    if not isinstance(target, str) or not 1 <= len(target) <= 64 or not target.isprintable():
        raise _bad("context.flow must be a flow name or app id (1-64 characters)", "context")
    return Action("flow", target, {}, language)


def parse_context(value: Any) -> dict[str, Any]:
    """The request's ``context``: a JSON object of at most 4 kB.

    Raises:
        ValidationError: not an object, or too big.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad("context must be an object", "context")
    if len(json.dumps(value, default=str)) > MAX_CONTEXT_BYTES:
        raise _bad(f"context is larger than {MAX_CONTEXT_BYTES} bytes", "context")
    return dict(value)


def parse_preferred_time(value: str | None, now: datetime) -> datetime:
    """``preferredTime``: ISO-8601 with an offset, at most 90 days ahead; past or none → now.

    Raises:
        ValidationError: unparseable, without an offset, or too far ahead.
    """
    if value is None:
        return now
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(
            "preferredTime must be ISO-8601, e.g. 2026-11-21T10:30:00+05:30", "preferredTime"
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise _bad("preferredTime needs a UTC offset (e.g. +05:30 or Z)", "preferredTime")
    when = when.astimezone(UTC)
    if when > now + timedelta(days=MAX_DAYS_AHEAD):
        raise _bad(f"preferredTime is more than {MAX_DAYS_AHEAD} days ahead", "preferredTime")
    return max(when, now)


def check_priority(value: int) -> int:
    """1 (lowest) … 10 (highest).

    Raises:
        ValidationError: out of range.
    """
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise _bad(f"priority must be {MIN_PRIORITY}..{MAX_PRIORITY}", "priority")
    return value


def success_rate(by_status: Mapping[str, int]) -> float | None:
    """Completed over finished (completed + failed), or None when nothing finished yet."""
    done = by_status.get(Status.COMPLETED, 0)
    finished = done + by_status.get(Status.FAILED, 0)
    return round(done / finished, 4) if finished else None
