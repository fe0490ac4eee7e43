"""The call state machine applies each event at most once, in any order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from exocomms.calls.model import CallEvent, CallState, CallStatus, apply
from exocomms.calls.retry import RetryPolicy

T0 = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


def _fold(events: list[CallEvent]) -> CallState:
    state = CallState()
    for event in events:
        state = apply(state, event) or state
    return state


def test_normal_lifecycle() -> None:
    state = _fold(
        [
            CallEvent(CallStatus.RINGING, T0),
            CallEvent(CallStatus.IN_PROGRESS, T0 + timedelta(seconds=5), answered_by="Human"),
            CallEvent(
                CallStatus.COMPLETED,
                T0 + timedelta(seconds=65),
                duration=60,
                recording_url="http://127.0.0.1/r.wav",
            ),
        ]
    )
    assert state.status is CallStatus.COMPLETED
    assert state.answered_at == T0 + timedelta(seconds=5)
    assert state.ended_at == T0 + timedelta(seconds=65)
    assert state.duration == 60
    assert state.reached_a_person


def test_duplicate_is_a_no_op() -> None:
    done = CallEvent(CallStatus.COMPLETED, T0, duration=30)
    state = apply(CallState(), done)
    assert state is not None
    assert apply(state, done) is None


def test_completed_before_answered_keeps_completed_and_learns_the_answer_time() -> None:
    state = _fold(
        [
            CallEvent(CallStatus.COMPLETED, T0 + timedelta(seconds=60), duration=50),
            CallEvent(CallStatus.IN_PROGRESS, T0 + timedelta(seconds=10), answered_by="HUMAN"),
        ]
    )
    assert state.status is CallStatus.COMPLETED
    assert state.answered_at == T0 + timedelta(seconds=10)
    assert state.answered_by == "HUMAN"


def test_first_terminal_wins_but_call_details_correct_it() -> None:
    state = _fold([CallEvent(CallStatus.NO_ANSWER, T0), CallEvent(CallStatus.BUSY, T0)])
    assert state.status is CallStatus.NO_ANSWER
    corrected = apply(state, CallEvent(CallStatus.BUSY, T0, source="details"))
    assert corrected is not None
    assert corrected.status is CallStatus.BUSY


def test_voicemail_is_not_a_person() -> None:
    state = _fold(
        [
            CallEvent(CallStatus.IN_PROGRESS, T0, answered_by="Machine"),
            CallEvent(CallStatus.COMPLETED, T0 + timedelta(seconds=20)),
        ]
    )
    assert not state.reached_a_person
    assert RetryPolicy().outcome(state) is CallStatus.NO_ANSWER


_statuses = st.sampled_from([CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS])


@settings(max_examples=200, deadline=None)
@given(
    progress=st.lists(_statuses, max_size=4),
    terminal=st.sampled_from([s for s in CallStatus if s.terminal]),
    duplicates=st.integers(min_value=0, max_value=3),
    seed=st.integers(),
)
def test_order_and_duplicates_do_not_matter(
    progress: list[CallStatus], terminal: CallStatus, duplicates: int, seed: int
) -> None:
    offsets = {CallStatus.QUEUED: 0, CallStatus.RINGING: 1, CallStatus.IN_PROGRESS: 5}
    events = [
        CallEvent(s, T0 + timedelta(seconds=offsets[s]), answered_by="Human") for s in progress
    ]
    events.append(
        CallEvent(
            terminal,
            T0 + timedelta(seconds=60),
            duration=55,
            recording_url="http://127.0.0.1/r.wav",
        )
    )
    rng = random.Random(seed)
    events += [rng.choice(events) for _ in range(duplicates)]
    expected = _fold(events)
    shuffled = events[:]
    rng.shuffle(shuffled)
    assert _fold(shuffled) == expected
    assert expected.status is terminal


def test_retry_policy_backoff_and_limits() -> None:
    policy = RetryPolicy(jitter=0)
    busy = CallState(status=CallStatus.BUSY)
    assert policy.next_delay(busy, 1) == 300
    assert policy.next_delay(busy, 2) == 600
    assert policy.next_delay(busy, 3) is None  # 3 attempts made
    assert policy.next_delay(CallState(status=CallStatus.COMPLETED, answered_by="Human"), 1) is None
    assert policy.next_delay(CallState(status=CallStatus.IN_PROGRESS), 1) is None
    capped = RetryPolicy(max_attempts=10, jitter=0)
    assert capped.next_delay(busy, 9) == 3600


def test_retry_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(jitter=0.1)
    rng = random.Random(7)
    delays = [policy.next_delay(CallState(status=CallStatus.FAILED), 1, rng) for _ in range(200)]
    assert all(d is not None and 270 <= d <= 330 for d in delays)
    assert len(set(delays)) > 1
