"""Pure escalation decisions: start, a step falls due, acknowledge, stop.

Nothing here touches a database or the network; each function takes the current
:class:`Escalation` and returns the new one plus what to do. How a service uses it, in **one
transaction per event** (so a crash never half-applies anything):

* **start** — ``started = start(id, ladder, now)``; insert ``started.escalation`` (its id is
  unique: a second ``order/new`` for the same order finds it and does nothing) and
  ``queue.enqueue(session, STEP_JOB_KIND, job.payload(), run_at=job.run_at, key=job.key)``.
* **a step job runs** — lock the escalation row, ``outcome = on_step_due(esc, **payload,
  now=clock.now(), policy=..., recipient=...)``. If ``outcome.changed`` write
  ``outcome.escalation`` back; enqueue ``outcome.next_job`` if any; on :class:`Execute`
  enqueue the actual send (call/message) in the same transaction. :class:`Stop` with
  ``changed == False`` (stale fence, already acknowledged) means: do nothing at all.
* **acknowledge / stop** — lock the row, ``ended = acknowledge(esc, by, at)``; write
  ``ended.escalation`` and ``queue.cancel(session, ended.cancel_key)`` in the same transaction.

Why no call goes out after an ack, even when the ack races a due step: both transactions lock
the escalation row (``FOR UPDATE``; SQLite serialises with ``BEGIN IMMEDIATE``). If the ack
commits first, the fence has moved on, so the step job's decision is a no-op ``Stop``. If the
step commits first, the ack cancels the job it scheduled. The send job must itself check
``escalation.is_open`` right before dialing (a send decided just before the ack may still be
queued) — the only "after" sends are those already on the wire when the ack committed.

Job keys are ``esc:<id>:<step>:<fence>`` and every scheduled job bumps the fence, so keys are
unique forever (as the job queue requires) and a duplicate or stale delivery is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeGuard

from exocomms.errors import ValidationError
from exocomms.escalation.model import Audience, Escalation, Ladder, Status, Step, step_key
from exocomms.scheduling.engine import allowed, next_allowed
from exocomms.scheduling.model import ANYONE, Recipient, TimingPolicy

#: Job kind of a ladder step.
STEP_JOB_KIND = "escalation.step"


@dataclass(frozen=True)
class StepJob:
    """A durable job to enqueue: run step ``step`` of ``escalation_id`` at ``run_at``."""

    escalation_id: str
    step: int
    fence: int
    run_at: datetime

    @property
    def key(self) -> str:
        """Deduplication key ``esc:<id>:<step>:<fence>``."""
        return step_key(self.escalation_id, self.step, self.fence)

    def payload(self) -> dict[str, Any]:
        """The job payload (what :func:`parse_payload` reads back)."""
        return {"escalation_id": self.escalation_id, "step": self.step, "fence": self.fence}


def parse_payload(payload: Any) -> tuple[str, int, int]:
    """``(escalation_id, step, fence)`` from a job payload; ``ValidationError`` if malformed."""
    if not isinstance(payload, dict):
        raise ValidationError("escalation step payload must be an object")
    esc, step, fence = payload.get("escalation_id"), payload.get("step"), payload.get("fence")
    if not isinstance(esc, str) or not _count(step) or not _count(fence):
        raise ValidationError("escalation step payload needs escalation_id, step and fence")
    return esc, step, fence


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Started:
    """A new escalation and its first job."""

    escalation: Escalation
    job: StepJob


@dataclass(frozen=True)
class Execute:
    """Send ``step`` now; then enqueue ``next_job`` (``None`` when the ladder is done)."""

    escalation: Escalation
    step_index: int
    step: Step
    next_job: StepJob | None
    changed: bool = True


@dataclass(frozen=True)
class WaitForWindow:
    """Do not send yet: retry this step at ``until`` (``next_job``); the ladder shifts."""

    escalation: Escalation
    step_index: int
    until: datetime
    reason: str
    next_job: StepJob
    changed: bool = True


@dataclass(frozen=True)
class Skip:
    """Do not send this step (a condition said so); go on with ``next_job``."""

    escalation: Escalation
    step_index: int
    reason: str
    next_job: StepJob | None
    changed: bool = True


@dataclass(frozen=True)
class Stop:
    """Send nothing. ``changed`` is False for no-ops (stale job, already ended)."""

    escalation: Escalation
    reason: str
    changed: bool = False


Outcome = Execute | WaitForWindow | Skip | Stop


@dataclass(frozen=True)
class Ended:
    """An escalation after an ack or a stop, and the pending job key to cancel (if any)."""

    escalation: Escalation
    cancel_key: str | None
    changed: bool


def _aware(now: datetime, what: str = "now") -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError(f"{what} must be timezone-aware")
    return now


def start(
    escalation_id: str, ladder: Ladder, now: datetime, *, facts: frozenset[str] = frozenset()
) -> Started:
    """Freeze ``ladder`` into a new escalation started at ``now`` and plan its first step."""
    esc = Escalation(id=escalation_id, ladder=ladder, started_at=_aware(now), facts=facts)
    return Started(esc, StepJob(esc.id, 0, 0, esc.due_at(0)))


def _advance(esc: Escalation, index: int, now: datetime, executed: bool) -> Escalation:
    """Move past step ``index``: bump the fence; finish the escalation after the last step."""
    nxt = index + 1
    done = nxt >= len(esc.ladder.steps)
    return replace(
        esc,
        next_step=nxt,
        fence=esc.fence + 1,
        executed=(*esc.executed, index) if executed else esc.executed,
        status=Status.EXHAUSTED if done else esc.status,
        ended_at=now if done else esc.ended_at,
        end_reason="exhausted" if done else esc.end_reason,
    )


def _next_job(esc: Escalation, now: datetime) -> StepJob | None:
    if esc.status is not Status.ACTIVE:
        return None
    return StepJob(esc.id, esc.next_step, esc.fence, max(now, esc.due_at(esc.next_step)))


def on_step_due(
    esc: Escalation,
    step: int,
    fence: int,
    now: datetime,
    *,
    policy: TimingPolicy | None = None,
    recipient: Recipient = ANYONE,
) -> Outcome:
    """Decide what the job for step ``step`` (scheduled with ``fence``) does at ``now``.

    Args:
        esc: the escalation as stored (read under a row lock).
        step: the job's step index.
        fence: the job's fence.
        now: the current time (aware).
        policy: timing rules for steps that respect allowed hours (defaults when None).
        recipient: the party's preferences, for those rules.

    Returns:
        :class:`Execute`, :class:`WaitForWindow`, :class:`Skip` or :class:`Stop`.
    """
    _aware(now)
    if esc.status is not Status.ACTIVE:
        return Stop(esc, esc.status.value)
    if fence != esc.fence or step != esc.next_step:
        return Stop(esc, "stale")
    current = esc.ladder.steps[step]
    if now < esc.due_at(step):
        # Run early (clocks of two processes disagree): come back when it is due.
        moved = replace(esc, fence=esc.fence + 1)
        return WaitForWindow(moved, step, esc.due_at(step), "not due yet", _job(moved, step))
    conds = current.conditions
    if seen := sorted(conds.skip_if & esc.facts):
        moved = _advance(esc, step, now, executed=False)
        return Skip(moved, step, f"skip_if: {seen[0]}", _next_job(moved, now))
    if missing := sorted(conds.only_if - esc.facts):
        moved = _advance(esc, step, now, executed=False)
        return Skip(moved, step, f"only_if: {missing[0]} not known", _next_job(moved, now))
    # Hours bind what reaches the party; the admin on duty is always reachable.
    if conds.respect_hours and Audience.PARTY in current.recipients:
        policy = policy or TimingPolicy()
        medium = current.channel.medium
        decision = allowed(now, current.purpose, recipient, policy, medium)
        if not decision.allowed:
            until = next_allowed(now, current.purpose, recipient, policy, medium)
            if until is None:
                moved = _advance(esc, step, now, executed=False)
                reason = f"never allowed: {decision.reason}"
                return Skip(moved, step, reason, _next_job(moved, now))
            held = esc.held + (until - esc.due_at(step))
            moved = replace(esc, fence=esc.fence + 1, held=held)
            return WaitForWindow(moved, step, until, decision.reason, _job(moved, step))
    moved = _advance(esc, step, now, executed=True)
    return Execute(moved, step, current, _next_job(moved, now))


def _job(esc: Escalation, step: int) -> StepJob:
    return StepJob(esc.id, step, esc.fence, esc.due_at(step))


def _end(esc: Escalation, status: Status, at: datetime, reason: str, **kw: Any) -> Ended:
    ended = replace(esc, status=status, fence=esc.fence + 1, ended_at=at, end_reason=reason, **kw)
    return Ended(ended, esc.pending_key, changed=True)


def acknowledge(esc: Escalation, by: str, at: datetime) -> Ended:
    """Record an acknowledgement (IVR key, WhatsApp reply, app action, API) and end the ladder.

    Works on active and exhausted escalations (a vendor may accept after the last step);
    idempotent on acknowledged ones and a no-op on stopped ones.
    """
    _aware(at, "at")
    if not by or len(by) > 200:
        raise ValidationError("acknowledged_by must be 1 to 200 characters")
    if esc.status not in (Status.ACTIVE, Status.EXHAUSTED):
        return Ended(esc, None, changed=False)
    return _end(
        esc, Status.ACKNOWLEDGED, at, "acknowledged", acknowledged_by=by, acknowledged_at=at
    )


def stop(esc: Escalation, reason: str, at: datetime) -> Ended:
    """Stop an active escalation without an acknowledgement (order delivered, canceled…)."""
    _aware(at, "at")
    if esc.status is not Status.ACTIVE:
        return Ended(esc, None, changed=False)
    return _end(esc, Status.STOPPED, at, reason or "stopped")


def timeline(esc: Escalation) -> list[dict[str, Any]]:
    """The planned steps with their due times (as things stand) and what became of them."""
    rows = []
    for i, step in enumerate(esc.ladder.steps):
        if i in esc.executed:
            state = "sent"
        elif i < esc.next_step:
            state = "skipped"
        elif esc.status is Status.ACTIVE:
            state = "pending"
        else:
            state = "canceled"
        rows.append(
            {
                "step": i,
                "channel": step.channel.value,
                "template": step.template,
                "due_at": esc.due_at(i).isoformat(),
                "state": state,
            }
        )
    return rows
