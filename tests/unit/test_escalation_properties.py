"""Property tests: random ladders driven through a simulated job queue with races and replays.

The simulation plays the service: it runs due jobs in time order, writes back changed state
(through JSON, as a database would), re-delivers some jobs (at-least-once), and acknowledges at
a random time, sometimes losing the race to cancel the pending job.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exocomms.escalation import (
    Audience,
    Channel,
    Escalation,
    Execute,
    Ladder,
    Skip,
    Status,
    Step,
    StepConditions,
    StepJob,
    Stop,
    WaitForWindow,
    acknowledge,
    on_step_due,
    start,
)
from exocomms.scheduling import (
    ChannelRule,
    ClassRule,
    PurposeClass,
    Recipient,
    TimingPolicy,
    allowed,
)

PURPOSES = ["vendor_new_order", "payment_reminder", "promotional_offer", "abandoned_cart"]
STRICT = {"promotional_offer", "abandoned_cart"}
DAYTIME = TimingPolicy(
    rules={
        **TimingPolicy().rules,
        PurposeClass.TRANSACTIONAL: ClassRule(
            ChannelRule(outside_dnd_window=True), ChannelRule(business_hours=True)
        ),
    }
)
AUDIENCES = [(Audience.PARTY,), (Audience.ADMIN,), (Audience.PARTY, Audience.ADMIN)]


@st.composite
def ladders(draw: st.DrawFn) -> Ladder:
    size = draw(st.integers(1, 7))
    delays = sorted(draw(st.lists(st.integers(0, 6 * 3600), min_size=size, max_size=size)))
    steps = []
    for delay in delays:
        purpose = draw(st.sampled_from(PURPOSES))
        conditions = StepConditions(
            respect_hours=purpose in STRICT or draw(st.booleans()),
            skip_if=draw(st.frozensets(st.sampled_from(["read", "delivered"]), max_size=1)),
            only_if=draw(st.frozensets(st.just("call_requested"), max_size=1)),
        )
        channel = draw(st.sampled_from(Channel))
        steps.append(
            Step(channel, delay, "t.x", draw(st.sampled_from(AUDIENCES)), purpose, conditions)
        )
    return Ladder("customer_status", tuple(steps))


def stored(esc: Escalation) -> Escalation:
    return Escalation.from_dict(json.loads(json.dumps(esc.to_dict())))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ladder=ladders(),
    started_at=st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
    ack_after=st.none() | st.integers(0, 3 * 86_400),
    policy=st.sampled_from([TimingPolicy(), DAYTIME]),
    recipient=st.sampled_from([Recipient(), Recipient(dnd_full=True)]),
    data=st.data(),
)
def test_nothing_is_sent_after_an_ack_and_no_step_is_sent_twice(
    ladder: Ladder,
    started_at: datetime,
    ack_after: int | None,
    policy: TimingPolicy,
    recipient: Recipient,
    data: st.DataObject,
) -> None:
    started = start("customer_status_1", ladder, started_at)
    esc, queue = started.escalation, [started.job]
    ack_at = None if ack_after is None else started_at + timedelta(seconds=ack_after)
    acked_at: datetime | None = None
    sent: list[int] = []
    clock = started_at
    for _ in range(300):
        job = min(queue, key=lambda j: j.run_at, default=None)
        ack_due = ack_at is not None and acked_at is None
        if (
            ack_due
            and ack_at is not None
            and (
                job is None
                or ack_at < job.run_at
                or (ack_at == job.run_at and data.draw(st.booleans(), "ack wins the tie"))
            )
        ):
            clock = max(clock, ack_at)
            ended = acknowledge(esc, "ivr:1", clock)
            esc, acked_at = stored(ended.escalation), clock
            assert ended.cancel_key is None or ended.cancel_key == esc_pending(
                queue, ended.cancel_key
            )
            if ended.cancel_key and data.draw(st.booleans(), "cancel wins the race"):
                queue = [j for j in queue if j.key != ended.cancel_key]
            continue
        if job is None:
            break
        queue.remove(job)
        clock = max(clock, job.run_at)
        if data.draw(st.booleans(), "a fact arrives"):
            esc = esc.with_fact(data.draw(st.sampled_from(["read", "delivered", "call_requested"])))
        outcome = on_step_due(esc, job.step, job.fence, clock, policy=policy, recipient=recipient)
        if acked_at is not None:
            assert not isinstance(outcome, Execute), "a step went out after the acknowledgement"
        if isinstance(outcome, Execute):
            assert outcome.step_index not in sent
            assert not sent or outcome.step_index > sent[-1]
            step = outcome.step
            if step.conditions.respect_hours and Audience.PARTY in step.recipients:
                medium = step.channel.medium
                assert allowed(clock, step.purpose, recipient, policy, medium).allowed
            assert clock >= esc.due_at(outcome.step_index)
            sent.append(outcome.step_index)
        if isinstance(outcome, Stop):
            assert not outcome.changed
            assert outcome.escalation == esc
        if outcome.changed:
            esc = stored(outcome.escalation)
        if not isinstance(outcome, Stop) and outcome.next_job is not None:
            assert outcome.next_job.run_at >= clock
            queue.append(outcome.next_job)
        if data.draw(st.booleans(), "the job is delivered again later"):
            later = timedelta(seconds=data.draw(st.integers(0, 3600)))
            queue.append(replace(job, run_at=clock + later))
    else:
        raise AssertionError("the simulation did not settle")

    assert tuple(sent) == esc.executed
    if acked_at is None:
        assert esc.status is Status.EXHAUSTED
        assert esc.next_step == len(ladder.steps)
    else:
        assert esc.status is Status.ACKNOWLEDGED
        assert esc.acknowledged_at == acked_at


def esc_pending(queue: list[StepJob], key: str) -> str:
    """The key must name a job the service actually has pending."""
    assert key in {j.key for j in queue}
    return key


@settings(max_examples=30, deadline=None)
@given(ladder=ladders(), started_at=st.datetimes(timezones=st.just(UTC)), fence=st.integers(0, 5))
def test_a_job_with_another_fence_never_executes(
    ladder: Ladder, started_at: datetime, fence: int
) -> None:
    started = start("customer_status_2", ladder, started_at)
    wrong = started.job.fence + 1 + fence
    far = started_at + timedelta(days=30) if started_at.year < 9000 else started_at
    outcome = on_step_due(started.escalation, 0, wrong, far)
    assert isinstance(outcome, Stop)
    assert (outcome.reason, outcome.changed) == ("stale", False)
    assert not isinstance(outcome, Skip | WaitForWindow)
