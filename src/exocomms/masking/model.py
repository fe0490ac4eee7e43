"""Masking sessions and routing decisions: pure dataclasses, no I/O.

A *session* lets two parties of one order (customer↔rider, customer↔vendor, rider↔vendor)
call each other through a virtual number without learning each other's phone. A session is
``live`` until the order is delivered (or it is ended by API), then ``ended``: still routed for
a grace period (lost items, "you left your bag"), then ``expired``: the number is free again.

Modes:

* ``direct`` — both parties *hold* the virtual number: whoever of them calls it is connected
  to the other, no PIN (Twilio Proxy's rule: a participant never holds one number twice).
* ``pin`` — the pool cannot give the pair a number free for both (a vendor with more live
  orders than numbers): the caller dials the shared number and enters the session PIN.
* ``leadassist`` — allocated by Exotel Lead Assist (GreenVN, or GreenPin when ``pin`` is set).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SessionKind(StrEnum):
    """Which two parties a session joins. ``party_a`` is the first role named."""

    CUSTOMER_RIDER = "customer_rider"
    CUSTOMER_VENDOR = "customer_vendor"
    RIDER_VENDOR = "rider_vendor"


class SessionStatus(StrEnum):
    """``live`` → ``ended`` (grace period, still routed) → ``expired`` (number released)."""

    LIVE = "live"
    ENDED = "ended"
    EXPIRED = "expired"


class SessionMode(StrEnum):
    """How callers reach each other (see the module docstring)."""

    DIRECT = "direct"
    PIN = "pin"
    LEADASSIST = "leadassist"


ROUTABLE = (SessionStatus.LIVE, SessionStatus.ENDED)


@dataclass(frozen=True)
class NewSession:
    """What to create: parties are normalised to E.164 by :func:`new_session`."""

    order_id: str
    kind: SessionKind
    party_a: str
    party_b: str
    hours: float
    context: str | None = None
    revealed: bool = True

    @property
    def live_key(self) -> str:
        """Idempotency key while the session is live."""
        return f"{self.order_id}:{self.kind.value}:{self.party_a}:{self.party_b}"


@dataclass(frozen=True)
class MaskingSession:
    """One masking session as stored."""

    id: int
    order_id: str
    kind: SessionKind
    party_a: str  # E.164
    party_b: str  # E.164
    mode: SessionMode
    virtual_number: str | None
    pin: str | None
    status: SessionStatus
    revealed: bool  # a party was told the number: it must never change any more
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    provider_ref: str | None = None  # Lead Assist greenvn_id / greenpin_id
    context: str | None = None

    def routable(self, now: datetime) -> bool:
        """True while calls through this session are connected."""
        return self.status in ROUTABLE and now < self.expires_at

    def counterparty(self, caller: str) -> str | None:
        """The other party for ``caller``; None when ``caller`` is not a party."""
        if caller == self.party_a:
            return self.party_b
        if caller == self.party_b:
            return self.party_a
        return None


@dataclass(frozen=True)
class Connect:
    """Dial ``to`` and bridge; show ``virtual_number`` as the caller id."""

    to: str
    virtual_number: str
    session_id: int
    order_id: str
    kind: SessionKind


@dataclass(frozen=True)
class PinRequired:
    """Ask the caller for a session PIN, then call :func:`~exocomms.masking.service.route_by_pin`.

    ``fallback`` is where to connect a caller who enters nothing (their PIN-less session on
    this number), if they have one.
    """

    virtual_number: str
    fallback: Connect | None = None


@dataclass(frozen=True)
class Unknown:
    """Nobody to connect: the caller has no session on this number and no PIN applies."""

    virtual_number: str
    reason: str = "no session"


Route = Connect | PinRequired | Unknown


def party_roles(kind: SessionKind) -> tuple[str, str]:
    """The roles of ``party_a`` and ``party_b`` for ``kind`` (e.g. customer, rider)."""
    first, second = kind.value.split("_")
    return first, second
