"""The pure escalation engine: timelines, acknowledgements, fences, allowed hours, conditions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from exocomms.errors import ValidationError
from exocomms.escalation import (
    DEFAULT_LADDERS,
    Audience,
    Channel,
    Escalation,
    Execute,
    Ladder,
    Outcome,
    Skip,
    Status,
    Step,
    StepConditions,
    StepJob,
    Stop,
    WaitForWindow,
    acknowledge,
    on_step_due,
    parse_payload,
    start,
    stop,
    timeline,
)
from exocomms.scheduling import (
    ANYONE,
    ChannelRule,
    ClassRule,
    PurposeClass,
    Recipient,
    TimingPolicy,
)

IST = ZoneInfo("Asia/Kolkata")
T0 = datetime(2026, 1, 5, 6, 30, tzinfo=UTC)  # 12:00 IST, a Monday
#: Transactional texts and calls only 09:00-21:00: lets the customer ladders wait.
DAYTIME = TimingPolicy(
    rules={
        **TimingPolicy().rules,
        PurposeClass.TRANSACTIONAL: ClassRule(
            ChannelRule(outside_dnd_window=True), ChannelRule(outside_dnd_window=True)
        ),
    }
)


def stored(esc: Escalation) -> Escalation:
    """What a service reads back after writing ``esc`` as JSON."""
    back = Escalation.from_dict(json.loads(json.dumps(esc.to_dict())))
    assert back == esc
    return back


def run(
    esc: Escalation,
    job: StepJob,
    policy: TimingPolicy | None = None,
    *,
    now: datetime | None = None,
    recipient: Recipient = ANYONE,
) -> Outcome:
    """Run ``job`` at its time (or ``now``) against ``esc`` as read back from storage."""
    when = now or job.run_at
    return on_step_due(stored(esc), job.step, job.fence, when, policy=policy, recipient=recipient)


def drive(
    esc: Escalation, job: StepJob | None, policy: TimingPolicy | None = None
) -> list[Outcome]:
    """Run every job as it falls due until the ladder is done."""
    outcomes: list[Outcome] = []
    while job is not None:
        outcome = run(esc, job, policy)
        assert not isinstance(outcome, Stop)
        outcomes.append(outcome)
        esc, job = outcome.escalation, outcome.next_job
    return outcomes


def test_vendor_ladder_runs_its_timeline_and_exhausts() -> None:
    started = start("vendor_new_order_12345", DEFAULT_LADDERS["vendor_new_order"], T0)
    assert started.job.key == "esc:vendor_new_order_12345:0:0"
    assert started.job.payload() == {
        "escalation_id": "vendor_new_order_12345",
        "step": 0,
        "fence": 0,
    }
    outcomes = drive(started.escalation, started.job)
    assert all(isinstance(o, Execute) for o in outcomes)
    sent = [
        (o.step.channel.value, (o.next_job.run_at - T0).seconds if o.next_job else None)
        for o in outcomes
        if isinstance(o, Execute)
    ]
    assert sent == [
        ("push", 60),
        ("whatsapp", 120),
        ("ring", 180),
        ("ivr_call", 300),
        ("admin_alert", 300),
        ("admin_bridge", None),
    ]
    last = outcomes[-1].escalation
    assert (last.status, last.end_reason, last.pending_key) == (Status.EXHAUSTED, "exhausted", None)
    assert last.executed == (0, 1, 2, 3, 4, 5)
    assert [row["state"] for row in timeline(last)] == ["sent"] * 6


def test_an_ack_before_a_due_step_cancels_it_and_fences_off_the_old_job() -> None:
    started = start("vendor_new_order_1", DEFAULT_LADDERS["vendor_new_order"], T0)
    first = run(started.escalation, started.job)
    assert isinstance(first, Execute)
    assert first.next_job is not None
    pending = first.next_job
    assert first.escalation.pending_key == pending.key == "esc:vendor_new_order_1:1:1"

    ended = acknowledge(first.escalation, "whatsapp:button", T0 + timedelta(seconds=30))
    assert ended.changed
    assert ended.cancel_key == pending.key  # the service cancels this job in the same transaction
    acked = ended.escalation
    assert (acked.status, acked.acknowledged_by) == (Status.ACKNOWLEDGED, "whatsapp:button")
    assert acked.fence == pending.fence + 1
    assert not acked.is_open

    # The job fires anyway (the cancel lost a race with a worker's claim): nothing is sent.
    late = run(acked, pending)
    assert isinstance(late, Stop)
    assert (late.reason, late.changed) == ("acknowledged", False)
    # A second ack (another channel) changes nothing.
    again = acknowledge(acked, "ivr:1", T0 + timedelta(seconds=40))
    assert (again.changed, again.cancel_key, again.escalation) == (False, None, acked)
    assert [row["state"] for row in timeline(acked)][:3] == ["sent", "canceled", "canceled"]


def test_duplicate_and_stale_jobs_are_no_ops() -> None:
    started = start("rider_assignment_9", DEFAULT_LADDERS["rider_assignment"], T0)
    first = run(started.escalation, started.job)
    assert isinstance(first, Execute)
    replay = run(first.escalation, started.job)  # at-least-once: the same job again
    assert isinstance(replay, Stop)
    assert (replay.reason, replay.changed) == ("stale", False)
    assert replay.escalation == first.escalation


def test_stop_cancels_the_pending_step() -> None:
    started = start("address_change_7", DEFAULT_LADDERS["address_change"], T0)
    ended = stop(started.escalation, "order_delivered", T0 + timedelta(seconds=5))
    assert ended.cancel_key == started.job.key
    assert ended.escalation.status is Status.STOPPED
    assert isinstance(run(ended.escalation, started.job), Stop)
    assert not stop(ended.escalation, "again", T0).changed
    assert not acknowledge(ended.escalation, "api", T0).changed


def test_an_ack_after_the_last_step_is_still_recorded() -> None:
    started = start("vendor_reminder_3", DEFAULT_LADDERS["vendor_reminder"], T0)
    done = drive(started.escalation, started.job)[-1].escalation
    ended = acknowledge(done, "commerce:accepted", T0 + timedelta(minutes=10))
    assert (ended.changed, ended.cancel_key) == (True, None)
    assert ended.escalation.status is Status.ACKNOWLEDGED


def test_a_non_urgent_step_waits_for_the_window_and_the_ladder_shifts() -> None:
    night = datetime(2026, 1, 5, 22, 30, tzinfo=IST)
    started = start("customer_delay_5", DEFAULT_LADDERS["customer_delay"], night)
    held = run(started.escalation, started.job, DAYTIME)
    assert isinstance(held, WaitForWindow)
    opens = datetime(2026, 1, 6, 9, 0, tzinfo=IST)
    assert held.until == held.next_job.run_at == opens
    assert "inside the DND window" in held.reason
    assert held.next_job.key == "esc:customer_delay_5:0:1"
    outcomes = drive(held.escalation, held.next_job, DAYTIME)
    first, sms, call = outcomes
    assert isinstance(first, Execute)
    assert first.next_job is not None
    assert first.next_job.run_at == opens + timedelta(seconds=60)  # spacing kept after the hold
    assert isinstance(sms, Execute)
    assert isinstance(call, Skip)
    assert call.reason == "only_if: call_requested not known"
    assert call.escalation.executed == (0, 1)


def test_admin_steps_are_never_held() -> None:
    ladder = Ladder(
        "vendor_reminder",
        (
            Step(
                Channel.ADMIN_ALERT,
                0,
                "admin.x",
                (Audience.ADMIN,),
                conditions=StepConditions(True),
            ),
        ),
    )
    night = datetime(2026, 1, 5, 23, 0, tzinfo=IST)
    started = start("vendor_reminder_8", ladder, night)
    assert isinstance(run(started.escalation, started.job, DAYTIME), Execute)


def test_conditions_skip_on_facts_and_call_only_if_asked() -> None:
    started = start("customer_status_4", DEFAULT_LADDERS["customer_status"], T0)
    first = run(started.escalation, started.job)
    assert isinstance(first, Execute)
    assert first.next_job is not None
    read = first.escalation.with_fact("read").with_fact("call_requested")
    sms = run(read, first.next_job)
    assert isinstance(sms, Skip)
    assert sms.reason == "skip_if: read"
    assert sms.next_job is not None
    call = run(sms.escalation, sms.next_job)
    assert isinstance(call, Execute)
    assert call.step.channel is Channel.IVR_CALL
    assert [row["state"] for row in timeline(call.escalation)] == ["sent", "skipped", "sent"]


def test_a_step_that_can_never_go_is_skipped_not_held_forever() -> None:
    promo = Step(
        Channel.SMS, 0, "promo.sms", purpose="promotional_offer", conditions=StepConditions(True)
    )
    ladder = Ladder(
        "customer_status", (promo, Step(Channel.ADMIN_ALERT, 0, "admin.x", (Audience.ADMIN,)))
    )
    started = start("customer_status_6", ladder, T0)
    skipped = run(started.escalation, started.job, recipient=Recipient(dnd_full=True))
    assert isinstance(skipped, Skip)
    assert skipped.reason.startswith("never allowed: the recipient blocked")


def test_a_job_that_runs_early_is_put_back_without_shifting_the_ladder() -> None:
    started = start("vendor_new_order_2", DEFAULT_LADDERS["vendor_new_order"], T0)
    first = run(started.escalation, started.job)
    assert isinstance(first, Execute)
    assert first.next_job is not None
    early = run(first.escalation, first.next_job, now=T0 + timedelta(seconds=10))
    assert isinstance(early, WaitForWindow)
    assert early.until == T0 + timedelta(seconds=60)
    assert early.escalation.held == timedelta(0)
    assert isinstance(run(early.escalation, early.next_job), Execute)


def test_payloads_and_times_are_validated() -> None:
    assert parse_payload({"escalation_id": "a", "step": 1, "fence": 2}) == ("a", 1, 2)
    bad: object
    for bad in (
        {"escalation_id": "a", "step": True, "fence": 0},
        {"step": 0},
        [],
        {"escalation_id": "a", "step": -1, "fence": 0},
    ):
        with pytest.raises(ValidationError):
            parse_payload(bad)
    with pytest.raises(ValidationError, match="timezone-aware"):
        start("x_1", DEFAULT_LADDERS["vendor_reminder"], datetime(2026, 1, 5, 12))
    with pytest.raises(ValidationError, match="unknown field"):
        Escalation.from_dict({"id": "x", "bogus": 1})
    data = start("x_1", DEFAULT_LADDERS["vendor_reminder"], T0).escalation.to_dict()
    with pytest.raises(ValidationError, match="needs a UTC offset"):
        Escalation.from_dict({**data, "started_at": "2026-01-05T12:00:00"})
