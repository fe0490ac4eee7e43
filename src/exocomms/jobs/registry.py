"""Job handlers by kind, with their retry policy.

A handler is ``async def handler(runtime, job) -> None``. Returning means done; raising means
the attempt failed (retried with :class:`Backoff` up to ``max_attempts``, then dead); raising
:class:`RetryLater` reschedules without counting a failure (rate limits, "not yet"). Jobs are
at-least-once: a handler may run again after a crash, so it must be idempotent.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

DEFAULT_MAX_ATTEMPTS = 5


class RetryLater(Exception):
    """Raised by a handler to run the job again after ``delay_seconds`` (clock time).

    The attempt is not counted as a failure, so rate limits never push a job towards dead.
    """

    def __init__(self, delay_seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay_seconds}s")
        self.delay_seconds = max(0.0, float(delay_seconds))
        self.reason = reason


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: ``min(maximum, base·factor^(n-1)) · (1 ± jitter)``."""

    base: float = 5.0
    factor: float = 2.0
    maximum: float = 3600.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds (clock time) to wait after failed attempt number ``attempt`` (1-based)."""
        exponent = max(0, attempt - 1)
        try:
            raw = self.base * self.factor**exponent
        except OverflowError:  # a huge attempt number: the cap applies anyway
            raw = self.maximum
        capped = min(self.maximum, raw)
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, capped * (1.0 + spread))


@dataclass(frozen=True)
class Job:
    """One claimed run of a job, as a handler sees it. ``attempt`` is 1-based."""

    id: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


Handler = Callable[["Runtime", Job], Awaitable[None]]


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and its retry policy."""

    kind: str
    fn: Handler
    max_attempts: int
    backoff: Backoff


class JobRegistry:
    """Maps job kinds to handlers. Build one per process and hand it to the runtime."""

    def __init__(self) -> None:
        self._specs: dict[str, HandlerSpec] = {}

    def handler(
        self, kind: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff: Backoff = Backoff()
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""

        def decorate(fn: Handler) -> Handler:
            self.register(kind, fn, max_attempts=max_attempts, backoff=backoff)
            return fn

        return decorate

    def register(
        self,
        kind: str,
        fn: Handler,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff = Backoff(),
    ) -> None:
        """Register ``fn`` for jobs of ``kind``.

        Raises:
            ValueError: ``kind`` is already registered, or ``max_attempts`` < 1.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if kind in self._specs:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._specs[kind] = HandlerSpec(kind, fn, max_attempts, backoff)

    def get(self, kind: str) -> HandlerSpec | None:
        """The handler for ``kind``, or None."""
        return self._specs.get(kind)

    def max_attempts(self, kind: str) -> int:
        """Attempts allowed for ``kind`` (the default for unknown kinds)."""
        spec = self._specs.get(kind)
        return spec.max_attempts if spec else DEFAULT_MAX_ATTEMPTS

    def kinds(self) -> list[str]:
        """Registered kinds, sorted."""
        return sorted(self._specs)

    def __contains__(self, kind: object) -> bool:
        return kind in self._specs

    def __len__(self) -> int:
        return len(self._specs)


# Feature slices may register at import time with ``@default_registry.handler(...)``;
# ``run_worker`` uses it when no registry is passed.
default_registry = JobRegistry()
