"""Ladders as data: the defaults of PRODUCT.md §3, validation, round trips, selection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from exocomms.errors import NotFound, ValidationError
from exocomms.escalation import (
    DEFAULT_LADDERS,
    Audience,
    Channel,
    Ladder,
    Step,
    StepConditions,
    escalation_id,
    pick_ladder,
)


def timeline(ladder: Ladder) -> list[tuple[str, int]]:
    return [(s.channel.value, s.delay_seconds) for s in ladder.steps]


def test_the_six_default_ladders_exist_and_round_trip_through_json() -> None:
    assert set(DEFAULT_LADDERS) == {
        "vendor_new_order",
        "vendor_reminder",
        "rider_assignment",
        "address_change",
        "customer_status",
        "customer_delay",
    }
    for ladder in DEFAULT_LADDERS.values():
        assert Ladder.from_dict(json.loads(json.dumps(ladder.to_dict()))) == ladder


def test_vendor_new_order_timeline() -> None:
    ladder = DEFAULT_LADDERS["vendor_new_order"]
    assert timeline(ladder) == [
        ("push", 0),
        ("whatsapp", 60),
        ("ring", 120),
        ("ivr_call", 180),
        ("admin_alert", 300),
        ("admin_bridge", 300),
    ]
    assert ladder.steps[4].recipients == (Audience.ADMIN,)
    assert ladder.steps[5].recipients == (Audience.PARTY, Audience.ADMIN)
    assert {s.caller for s in ladder.steps if Audience.PARTY in s.recipients} == {"new_order"}
    # Order operations are urgent: nothing in this ladder waits for allowed hours.
    assert not any(s.conditions.respect_hours for s in ladder.steps)


def test_other_default_timelines() -> None:
    assert timeline(DEFAULT_LADDERS["address_change"]) == [
        ("whatsapp", 0),
        ("ring", 30),
        ("ivr_call", 90),
        ("admin_bridge", 180),
    ]
    assert (
        timeline(DEFAULT_LADDERS["rider_assignment"])[:4]
        == timeline(DEFAULT_LADDERS["vendor_new_order"])[:4]
    )
    customer = DEFAULT_LADDERS["customer_delay"]
    assert [s.channel for s in customer.steps] == [Channel.WHATSAPP, Channel.SMS, Channel.IVR_CALL]
    assert customer.steps[1].conditions.skip_if == {"delivered", "read"}
    assert customer.steps[2].conditions.only_if == {"call_requested"}  # call only if asked
    assert all(s.conditions.respect_hours for s in customer.steps)


def test_templates_can_be_checked_against_a_catalogue() -> None:
    ladder = DEFAULT_LADDERS["vendor_reminder"]
    ladder.check_templates({s.template for s in ladder.steps})
    with pytest.raises(ValidationError, match=r"unknown template\(s\): vendor_reminder.ivr"):
        ladder.check_templates({"vendor_reminder.whatsapp", "admin.vendor_reminder_unanswered"})


def _ladder(**changes: Any) -> dict[str, Any]:
    data = DEFAULT_LADDERS["address_change"].to_dict()
    data.update(changes)
    return data


def _step(**changes: Any) -> dict[str, Any]:
    step = {"channel": "sms", "delay_seconds": 0, "template": "x.sms"}
    step.update(changes)
    return step


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_ladder(steps=[]), "a ladder has 1 to 20 steps, not 0"),
        (_ladder(steps=[_step()] * 21), "a ladder has 1 to 20 steps, not 21"),
        (_ladder(steps=[_step(delay_seconds=60), _step()]), "sorted by delay"),
        (_ladder(steps=[_step(delay_seconds=-1)]), "delay must be 0 to"),
        (_ladder(steps=[_step(delay_seconds="60")]), "steps[0].delay_seconds must be an integer"),
        (_ladder(steps=[_step(channel="fax")]), "steps[0].channel: unknown value 'fax'"),
        (_ladder(steps=[_step(template="")]), "bad template name"),
        (_ladder(steps=[_step(recipients=[])]), "recipients must be a non-empty list"),
        (_ladder(steps=[_step(recipients=["boss"])]), "unknown value 'boss'"),
        (_ladder(steps=[_step(purpose="spam")]), "unknown purpose 'spam'"),
        (_ladder(steps=[_step(purpose="diwali")]), "promotional steps must respect allowed hours"),
        (
            _ladder(steps=[_step(conditions={"skip_if_acknowledged": False})]),
            "an acknowledgement always stops the ladder",
        ),
        (_ladder(steps=[_step(conditions={"skip_if": ["Read!"]})]), "lower_snake_case"),
        (_ladder(steps=[_step(colour="red")]), "unknown field(s) in steps[0]: colour"),
        (_ladder(steps=[{"channel": "sms"}]), "steps[0]: missing delay_seconds, template"),
        (_ladder(version=0), "version must be 1 or more"),
        (_ladder(event_type="New Order"), "bad event type"),
        (_ladder(city=5), "ladder.city must be a string"),
        ("ladder", "ladder must be an object"),
    ],
)
def test_bad_ladders_are_rejected_clearly(data: Any, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        Ladder.from_dict(data)
    assert message in err.value.message


def test_input_conveniences() -> None:
    step = Step.from_dict(
        _step(purpose="diwali", conditions={"respect_hours": True, "skip_if_acknowledged": True})
    )
    assert step.conditions == StepConditions(respect_hours=True)
    assert step.recipients == (Audience.PARTY,)
    assert Channel.RING.medium.value == "call"
    assert Channel.WHATSAPP.medium.value == "sms"
    assert escalation_id("vendor_new_order", 12345) == "vendor_new_order_12345"
    with pytest.raises(ValidationError):
        escalation_id("vendor_new_order", "12:34")


def test_pick_ladder_prefers_the_city_then_the_newest_version() -> None:
    base = DEFAULT_LADDERS["vendor_new_order"]
    general_v2 = Ladder(base.event_type, base.steps[:3], version=2)
    pune = Ladder(base.event_type, base.steps[:2], version=1, city="pune")
    custom = [general_v2, pune, Ladder(base.event_type, base.steps, version=1)]
    assert pick_ladder(custom, "vendor_new_order", "pune") == pune
    assert pick_ladder(custom, "vendor_new_order", "delhi") == general_v2
    assert pick_ladder(custom, "vendor_new_order") == general_v2
    assert pick_ladder([], "address_change", "pune") == DEFAULT_LADDERS["address_change"]
    with pytest.raises(NotFound):
        pick_ladder(custom, "unknown_event")
