"""Domain events an IVR turn produces (what the service records and tells the commerce backend).

Each is a frozen dataclass with a ``kind``; :meth:`Event.to_dict` / :func:`event_from_dict`
round-trip them through JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar

from exocomms.errors import ValidationError


class RejectReason(StrEnum):
    """Why a vendor rejected an order."""

    OUT_OF_STOCK = "out_of_stock"
    SHOP_CLOSED = "shop_closed"
    TOO_BUSY = "too_busy"
    OTHER = "other"
    UNSPECIFIED = "unspecified"  # rejected, then no reason given (silence or hang-up)


@dataclass(frozen=True)
class Event:
    """A domain outcome of an IVR turn. Subclasses set ``kind``."""

    kind: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``{"kind": …, **fields}``."""
        return {"kind": self.kind, **asdict(self)}

    def values(self) -> dict[str, Any]:
        """JSON-safe fields a confirmation prompt may speak (e.g. ``prep_minutes``)."""
        return {k: v for k, v in self.to_dict().items() if k != "kind"}


@dataclass(frozen=True)
class VendorAccepted(Event):
    """The vendor accepted the order; ``defaulted`` when the prep time was not chosen."""

    kind: ClassVar[str] = "vendor_accepted"
    prep_minutes: int
    defaulted: bool = False


@dataclass(frozen=True)
class VendorRejected(Event):
    """The vendor rejected the order."""

    kind: ClassVar[str] = "vendor_rejected"
    reason: RejectReason

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"kind": self.kind, "reason": self.reason.value}


@dataclass(frozen=True)
class RiderAccepted(Event):
    """The rider accepted the delivery."""

    kind: ClassVar[str] = "rider_accepted"


@dataclass(frozen=True)
class RiderRejected(Event):
    """The rider rejected the delivery (reassign)."""

    kind: ClassVar[str] = "rider_rejected"


@dataclass(frozen=True)
class SendPickupSms(Event):
    """Send the pickup details to the rider by SMS/WhatsApp as well."""

    kind: ClassVar[str] = "send_pickup_sms"


@dataclass(frozen=True)
class Acknowledged(Event):
    """The callee confirmed by key (stops the escalation)."""

    kind: ClassVar[str] = "acknowledged"


@dataclass(frozen=True)
class NotAcknowledged(Event):
    """The call ended without a decision; escalation continues. ``reason``: no_response|hangup."""

    kind: ClassVar[str] = "not_acknowledged"
    reason: str = "no_response"


@dataclass(frozen=True)
class DetailsRepeated(Event):
    """The callee asked to hear the details again."""

    kind: ClassVar[str] = "details_repeated"


@dataclass(frozen=True)
class MessageDelivered(Event):
    """A one-way message was played to an answered call."""

    kind: ClassVar[str] = "message_delivered"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        VendorAccepted,
        VendorRejected,
        RiderAccepted,
        RiderRejected,
        SendPickupSms,
        Acknowledged,
        NotAcknowledged,
        DetailsRepeated,
        MessageDelivered,
    )
}


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Inverse of :meth:`Event.to_dict`.

    Raises:
        ValidationError: unknown kind or bad fields.
    """
    cls = EVENT_TYPES.get(str(data.get("kind")))
    if cls is None:
        raise ValidationError(f"unknown event kind {data.get('kind')!r}")
    kwargs = {f.name: data[f.name] for f in fields(cls) if f.name in data}
    try:
        if cls is VendorRejected:
            kwargs["reason"] = RejectReason(str(kwargs.get("reason")))
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"bad {cls.kind} event: {exc}") from None
