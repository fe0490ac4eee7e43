"""The call state machine: idempotent and order-tolerant.

Exotel's callbacks may arrive late, twice, or in the wrong order (a ``completed`` before the
``answered``), applet requests may be replayed, and a reconciliation job may learn the truth
from Call Details later. :func:`apply` folds any such event into the state so that each one
applies at most once and the result does not depend on arrival order:

* statuses only move forward: queued → ringing → in-progress → terminal;
* the first terminal status wins — except an authoritative one (from Call Details), which
  corrects it;
* a late or lower-ranked event still fills fields that are missing (answer time, duration,
  recording URL, answered-by), never overwriting what is known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal


class CallStatus(StrEnum):
    """Lifecycle of one call."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        """True for completed, busy, no-answer, failed and canceled."""
        return _RANK[self] == 3


_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    CallStatus.COMPLETED: 3,
    CallStatus.BUSY: 3,
    CallStatus.NO_ANSWER: 3,
    CallStatus.FAILED: 3,
    CallStatus.CANCELED: 3,
}

EventSource = Literal["api", "callback", "applet", "details", "local"]


@dataclass(frozen=True)
class CallEvent:
    """Something a provider (or we) said about a call."""

    status: CallStatus
    at: datetime
    source: EventSource = "callback"
    answered_by: str | None = None  # Human, Machine, NotSure (case-insensitive in Exotel)
    duration: int | None = None
    recording_url: str | None = None


@dataclass(frozen=True)
class CallState:
    """What is known about a call."""

    status: CallStatus = CallStatus.QUEUED
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    answered_by: str | None = None
    duration: int | None = None
    recording_url: str | None = None

    @property
    def reached_a_person(self) -> bool:
        """Answered by someone who is not voicemail (AMD says Machine → not reached)."""
        answered = self.status in (CallStatus.IN_PROGRESS, CallStatus.COMPLETED)
        return answered and (self.answered_by or "").lower() != "machine"


def _fill(state: CallState, event: CallEvent) -> CallState:
    """Copy fields the state does not know yet."""
    answered_at = state.answered_at
    if answered_at is None and event.status is CallStatus.IN_PROGRESS:
        answered_at = event.at
    return replace(
        state,
        answered_at=answered_at,
        answered_by=state.answered_by or event.answered_by,
        duration=state.duration if state.duration is not None else event.duration,
        recording_url=state.recording_url or event.recording_url,
    )


def apply(state: CallState, event: CallEvent) -> CallState | None:
    """The state after ``event``, or None when the event changes nothing (duplicate/stale)."""
    current, incoming = _RANK[state.status], _RANK[event.status]
    if incoming > current or (
        event.source == "details" and incoming == 3 and event.status is not state.status
    ):
        moved = replace(state, status=event.status)
        if event.status.terminal and moved.ended_at is None:
            moved = replace(moved, ended_at=event.at)
        new = _fill(moved, event)
    else:
        new = _fill(state, event)
    return None if new == state else new
