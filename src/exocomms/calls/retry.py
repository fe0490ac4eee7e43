"""Per-purpose retry policy: which outcomes are worth another call, and when."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from exocomms.calls.model import CallState, CallStatus


@dataclass(frozen=True)
class RetryPolicy:
    """Retry ``retry_on`` outcomes with exponential backoff, up to ``max_attempts`` calls.

    Defaults follow PRODUCT.md §6: 3 attempts, 300 s first delay, ×2, at most 3600 s, with
    jitter. A call answered by voicemail counts as ``no-answer``: nobody heard it.
    """

    max_attempts: int = 3
    initial_delay: float = 300.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.1
    retry_on: frozenset[CallStatus] = field(
        default_factory=lambda: frozenset(
            {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED}
        )
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_delay < 0 or self.factor < 1:
            raise ValueError("max_attempts ≥ 1, initial_delay ≥ 0 and factor ≥ 1 required")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def outcome(self, state: CallState) -> CallStatus:
        """The outcome that decides a retry (voicemail → no-answer)."""
        if state.status is CallStatus.COMPLETED and not state.reached_a_person:
            return CallStatus.NO_ANSWER
        return state.status

    def next_delay(
        self, state: CallState, attempt: int, rng: random.Random | None = None
    ) -> float | None:
        """Seconds until attempt ``attempt + 1``, or None when there is no retry."""
        if not state.status.terminal or attempt >= self.max_attempts:
            return None
        if self.outcome(state) not in self.retry_on:
            return None
        base = min(self.max_delay, self.initial_delay * self.factor ** (attempt - 1))
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * (1 + spread))
