"""Pure pieces of the connect slice: IVR events that ask for a connection, caller roles,
order-status codes, and the missed-call dedupe rule. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from exocomms.ivr.events import Event

PURPOSE_MASKED = "masked_call"
PURPOSE_INBOUND = "inbound_ivr"
PURPOSE_CLICK_TO_CALL = "click_to_call"
PURPOSE_MISSED_CALLBACK = "missed_call_callback"
PURPOSE_ADMIN_BRIDGE = "admin_bridge"


class Role(StrEnum):
    """Who an inbound caller is, by their phone (looked up on the commerce backend)."""

    VENDOR = "vendor"
    RIDER = "rider"
    CUSTOMER = "customer"
    UNKNOWN = "unknown"


class Target(StrEnum):
    """Whom an IVR caller asked to talk to."""

    RIDER = "rider"
    STORE = "store"
    CUSTOMER = "customer"
    SUPPORT = "support"


@dataclass(frozen=True)
class ConnectRequested(Event):
    """The caller pressed "talk to …": the flow connects them after the goodbye."""

    kind: ClassVar[str] = "connect_requested"
    target: str = Target.SUPPORT.value


@dataclass(frozen=True)
class ReorderRequested(Event):
    """The caller asked to repeat their last order (``order.reorder_requested``)."""

    kind: ClassVar[str] = "reorder_requested"
    reorder: bool = True


# Latest commerce event of an order → the status code the customer IVR speaks.
STATUS_BY_EVENT = {
    "order.created": "placed",
    "order.accepted": "accepted",
    "vendor.accepted": "accepted",
    "order.rejected": "rejected",
    "vendor.rejected": "rejected",
    "order.ready": "ready",
    "rider.assigned": "rider_assigned",
    "rider.accepted": "rider_assigned",
    "order.picked_up": "picked_up",
    "order.delivered": "delivered",
}
# The commerce backend's own order statuses (demo/jupiter.py and friends) → the same codes.
STATUS_BY_BACKEND = {
    "placed": "placed",
    "new": "placed",
    "accepted": "accepted",
    "preparing": "accepted",
    "rejected": "rejected",
    "cancelled": "rejected",
    "ready": "ready",
    "rider_accepted": "rider_assigned",
    "awaiting_rider": "accepted",
    "picked_up": "picked_up",
    "out_for_delivery": "picked_up",
    "delivered": "delivered",
}
FINISHED_STATUSES = frozenset({"delivered", "rejected"})


def within_window(previous: datetime | None, now: datetime, window_seconds: float) -> bool:
    """True when a callback scheduled for a missed call at ``previous`` still covers ``now``."""
    return previous is not None and now - previous < timedelta(seconds=window_seconds)
