"""Commerce records (what look-ups return) and the catalogue of inbound events.

Pure data: no I/O. Ids are strings everywhere inside exocomms (the backend may send ``12345``
or ``"ORD-12345"``; both become ``"12345"`` / ``"ORD-12345"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SOURCE = "jupiter"  # DomainEvent.actor and data["source"] of events the backend told us


@dataclass(frozen=True)
class Party:
    """What every party (store, rider, customer) has: id, name, phone, language, push token."""

    id: str
    name: str
    phone: str  # E.164
    language: str = "hi"
    # FCM registration token of the party's app (personal data: not in events, logs, repr).
    # Keyword-only so a subclass can add positional fields after ``language``.
    push_token: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (as carried in domain event data); never the push token."""
        record = asdict(self)
        record.pop("push_token", None)
        return record


@dataclass(frozen=True)
class Store(Party):
    """A vendor's store."""

    city: str | None = None


@dataclass(frozen=True)
class Rider(Party):
    """A delivery rider."""


@dataclass(frozen=True)
class Customer(Party):
    """A customer."""


@dataclass(frozen=True)
class OrderItem:
    """One line of an order."""

    name: str
    quantity: int
    price: float


@dataclass(frozen=True)
class Order:
    """An order as the backend knows it now."""

    id: str
    store_id: str
    customer_id: str | None
    amount: float
    status: str
    payment_method: str | None = None
    rider_id: str | None = None
    address: str | None = None
    items: tuple[OrderItem, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class EventSpec:
    """One inbound webhook event: its path name, the domain event it becomes, whom it is about."""

    name: str  # canonical path form, e.g. "order/picked-up"
    domain_event: str  # exocomms.events name, e.g. "order.picked_up"
    party: str | None  # the party the action concerns (vendor, rider, customer)
    action: str  # what exocomms does about it (PRODUCT.md §4), for docs and health


EVENTS: tuple[EventSpec, ...] = (
    EventSpec("order/new", "order.created", "vendor", "start the vendor ladder"),
    EventSpec("order/accepted", "order.accepted", "vendor", "stop the vendor ladder"),
    EventSpec("order/rejected", "order.rejected", "vendor", "stop the vendor ladder; notify"),
    EventSpec("order/ready", "order.ready", "rider", "notify the rider"),
    EventSpec("rider/assigned", "rider.assigned", "rider", "start the rider ladder"),
    EventSpec("rider/accepted", "rider.accepted", "rider", "stop the rider ladder"),
    EventSpec("rider/rejected", "rider.rejected", "rider", "stop the rider ladder; reassign"),
    EventSpec("address/changed", "address.changed", "rider", "start the fast address ladder"),
    EventSpec("order/picked-up", "order.picked_up", "customer", "notify the customer"),
    EventSpec("order/delivered", "order.delivered", "customer", "stop all ladders; end masking"),
)
EVENT_NAMES: tuple[str, ...] = tuple(spec.name for spec in EVENTS)
_BY_NAME = {spec.name: spec for spec in EVENTS}
# Accepted spellings of the path: "order/new" (canonical), "order-new", "order.new", any case.
_ALIASES = {
    alias: spec
    for spec in EVENTS
    for alias in (spec.name, spec.name.replace("/", "-", 1), spec.name.replace("/", ".", 1))
}


def event_spec(path_name: str) -> EventSpec | None:
    """The event for a webhook path segment (slash, dash or dot form, any case), or None."""
    return _ALIASES.get(path_name.strip("/").lower())


def spec_by_name(name: str) -> EventSpec:
    """The event with canonical ``name`` (KeyError when unknown)."""
    return _BY_NAME[name]
