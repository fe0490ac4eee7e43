"""Pure parts of scheduled calls and leads: backoff bounds, input parsing, normalisation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exocomms.calls.retry import RetryPolicy
from exocomms.errors import ValidationError
from exocomms.leads.model import normalize
from exocomms.scheduling.calls import (
    RetryConfig,
    parse_action,
    parse_preferred_time,
    success_rate,
)

NOW = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)


@given(attempt=st.integers(1, 12), seed=st.integers(0, 2**32))
def test_backoff_is_exponential_within_jitter_and_never_above_the_cap(
    attempt: int, seed: int
) -> None:
    config = RetryConfig()
    delay = config.delay(attempt, random.Random(seed))
    base = min(3600.0, 300.0 * 2 ** (attempt - 1))
    assert base * 0.9 <= delay <= min(3600.0, base * 1.1)


def test_next_attempt_only_for_retryable_outcomes_and_within_max_attempts() -> None:
    config = RetryConfig(jitter=0.0)
    assert config.next_attempt(1, "busy", NOW) == NOW + timedelta(seconds=300)
    assert config.next_attempt(2, "no-answer", NOW) == NOW + timedelta(seconds=600)
    assert config.next_attempt(3, "busy", NOW) is None
    assert config.next_attempt(1, "canceled", NOW) is None
    assert RetryConfig(retry_on=frozenset({"busy"})).next_attempt(1, "failed", NOW) is None


def test_defaults_come_from_the_retry_policy_and_round_trip() -> None:
    config = RetryConfig.from_policy(RetryPolicy(max_attempts=4, initial_delay=60))
    assert (config.max_attempts, config.initial_delay, config.max_delay) == (4, 60.0, 3600.0)
    assert RetryConfig.from_dict(config.to_dict()) == config
    merged = config.merged({"maxRetries": 2, "initialDelay": 10, "factor": 3, "maxDelay": 90})
    assert (merged.max_attempts, merged.initial_delay, merged.factor, merged.max_delay) == (
        2,
        10,
        3,
        90,
    )
    for bad in ({"maxAttempts": 2.5}, {"jitter": 0.9}, {"factor": True}, {"retryOn": "busy"}):
        with pytest.raises(ValidationError):
            config.merged(bad)


def test_preferred_time_needs_an_offset_and_is_clamped() -> None:
    assert parse_preferred_time(None, NOW) == NOW
    assert parse_preferred_time("2020-01-01T00:00:00Z", NOW) == NOW
    assert parse_preferred_time("2026-01-05T16:00:00+05:30", NOW) == datetime(
        2026, 1, 5, 10, 30, tzinfo=UTC
    )
    for bad in ("2026-01-05T16:00:00", "soon", "2026-05-01T00:00:00Z"):
        with pytest.raises(ValidationError):
            parse_preferred_time(bad, NOW)


def test_the_context_says_what_the_call_does() -> None:
    ivrs = ["customer_status"]
    ivr = parse_action({"ivr": "customer_status", "order_id": "1"}, "delivery_update", ivrs)
    assert (ivr.kind, ivr.target, dict(ivr.slots)) == ("ivr", "customer_status", {"order_id": "1"})
    bridge = parse_action({"agentPhone": "09812345678"}, "support_callback", ivrs)
    assert (bridge.kind, bridge.target) == ("bridge", "+919812345678")
    assert parse_action({}, "payment_reminder", ivrs).target == "payment_reminder"
    assert parse_action({"flow": "123456"}, "custom", ivrs).target == "123456"
    for bad in ({"ivr": "x"}, {"ivr": "customer_status", "flow": "f"}, {"language": "fr"}):
        with pytest.raises(ValidationError):
            parse_action(bad, "custom", ivrs)


def test_success_rate() -> None:
    assert success_rate({}) is None
    assert success_rate({"completed": 3, "failed": 1, "canceled": 5}) == 0.75


def test_lead_normalisation() -> None:
    lead = normalize(" web  form ", "  Asha\t Verma ", "098765 43210", " A.B@Example.IN ")
    assert (lead.source, lead.name, lead.phone, lead.email) == (
        "web form",
        "Asha Verma",
        "+919876543210",
        "a.b@example.in",
    )
    assert (lead.first_name, lead.last_name) == ("Asha", "Verma")
    assert normalize("api", "Ravi", "+91 98123 45678", "").email is None
    for args in (
        ("api", "Ravi", "123", None),
        ("api", "", "9812345678", None),
        ("api", "Ravi", "9812345678", "ravi@"),
        ("<x>", "Ravi", "9812345678", None),
    ):
        with pytest.raises(ValidationError):
            normalize(*args)
