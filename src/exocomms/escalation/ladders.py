"""The default ladders of PRODUCT.md §3, as data (operators edit copies through the API).

Timelines (seconds from the start):

* ``vendor_new_order`` — push 0 → WhatsApp 60 → ring 120 → IVR call 180 → admin alert and
  admin bridge 300 (number: ``new_order``).
* ``vendor_reminder`` (order still not accepted) — WhatsApp 0 → IVR call 60 → admin alert 180
  (number: ``reminder``).
* ``rider_assignment`` — like the vendor ladder: push 0 → WhatsApp 60 → ring 120 → IVR call
  180 → admin alert 300 (the admin reassigns rather than bridges).
* ``address_change`` (critical, the rider must press a key) — WhatsApp 0 → ring 30 → IVR call
  90 → admin bridge 180 (number: ``address_update``).
* ``customer_status`` / ``customer_delay`` — WhatsApp 0 → SMS 60 unless the WhatsApp was
  delivered or read → IVR call 120 only if the customer asked for calls. These are the only
  non-urgent defaults, so they respect allowed hours.

Order operations are transactional (24×7 by default), so the vendor/rider/address ladders
never wait for a window unless operators tighten the transactional rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from exocomms.errors import NotFound
from exocomms.escalation.model import Audience, Channel, Ladder, Step, StepConditions

PARTY, ADMIN, BOTH = (Audience.PARTY,), (Audience.ADMIN,), (Audience.PARTY, Audience.ADMIN)


def _party_ladder(event: str, caller: str, *, bridge: bool) -> Ladder:
    steps = [
        Step(Channel.PUSH, 0, f"{event}.push", PARTY, event, caller=caller),
        Step(Channel.WHATSAPP, 60, f"{event}.whatsapp", PARTY, event, caller=caller),
        Step(Channel.RING, 120, f"{event}.ring", PARTY, event, caller=caller),
        Step(Channel.IVR_CALL, 180, f"{event}.ivr", PARTY, event, caller=caller),
        Step(Channel.ADMIN_ALERT, 300, f"admin.{event}_unanswered", ADMIN, "admin_alert"),
    ]
    if bridge:
        steps.append(Step(Channel.ADMIN_BRIDGE, 300, "admin.bridge", BOTH, event, caller=caller))
    return Ladder(event, tuple(steps))


def _customer_ladder(event: str) -> Ladder:
    def hours(**kw: frozenset[str]) -> StepConditions:
        return StepConditions(respect_hours=True, **kw)

    return Ladder(
        event,
        (
            Step(Channel.WHATSAPP, 0, f"{event}.whatsapp", PARTY, event, hours()),
            Step(
                Channel.SMS,
                60,
                f"{event}.sms",
                PARTY,
                event,
                hours(skip_if=frozenset({"delivered", "read"})),
            ),
            Step(
                Channel.IVR_CALL,
                120,
                f"{event}.ivr",
                PARTY,
                event,
                hours(only_if=frozenset({"call_requested"})),
            ),
        ),
    )


_VENDOR_REMINDER = Ladder(
    "vendor_reminder",
    (
        Step(
            Channel.WHATSAPP,
            0,
            "vendor_reminder.whatsapp",
            PARTY,
            "vendor_order_reminder",
            caller="reminder",
        ),
        Step(
            Channel.IVR_CALL,
            60,
            "vendor_reminder.ivr",
            PARTY,
            "vendor_order_reminder",
            caller="reminder",
        ),
        Step(Channel.ADMIN_ALERT, 180, "admin.vendor_reminder_unanswered", ADMIN, "admin_alert"),
    ),
)

_ADDRESS_CHANGE = Ladder(
    "address_change",
    tuple(
        Step(channel, delay, template, who, "address_change", caller="address_update")
        for channel, delay, template, who in (
            (Channel.WHATSAPP, 0, "address_change.whatsapp", PARTY),
            (Channel.RING, 30, "address_change.ring", PARTY),
            (Channel.IVR_CALL, 90, "address_change.ivr", PARTY),
            (Channel.ADMIN_BRIDGE, 180, "admin.bridge", BOTH),
        )
    ),
)

#: Every default ladder by event type.
DEFAULT_LADDERS: Mapping[str, Ladder] = MappingProxyType(
    {
        ladder.event_type: ladder
        for ladder in (
            _party_ladder("vendor_new_order", "new_order", bridge=True),
            _VENDOR_REMINDER,
            _party_ladder("rider_assignment", "default", bridge=False),
            _ADDRESS_CHANGE,
            _customer_ladder("customer_status"),
            _customer_ladder("customer_delay"),
        )
    }
)


def pick_ladder(ladders: Iterable[Ladder], event_type: str, city: str | None = None) -> Ladder:
    """The ladder for ``event_type``: the city's own if there is one, else the general one.

    Among several candidates the highest version wins. Falls back to :data:`DEFAULT_LADDERS`.

    Raises:
        NotFound: no ladder for this event type.
    """
    mine = [lad for lad in ladders if lad.event_type == event_type]
    for wanted in (city, None) if city is not None else (None,):
        found = [lad for lad in mine if lad.city == wanted]
        if found:
            return max(found, key=lambda lad: lad.version)
    if event_type in DEFAULT_LADDERS:
        return DEFAULT_LADDERS[event_type]
    raise NotFound(f"no ladder for event type {event_type!r}")
