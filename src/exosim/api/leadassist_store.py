"""Lead Assist (ExoBridge) allocations in the simulator's store, and call routing through them.

The HTTP endpoints are in :mod:`exosim.api.leadassist`; the call engine routes with
:func:`route` and :func:`route_pin`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from exosim.store import Store

DEFAULT_NUMBERS = [f"+9180470920{i:02d}" for i in range(10)]
DEFAULT_DURATION = 86_400
MIN_DURATION, MAX_DURATION = 300, 14_688_000  # 5 minutes .. 170 days
Kind = Literal["greenvn", "greenpin"]


class LeadAssistError(Exception):
    """Answered as ``{"status": "failure", "message": …}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Allocation:
    """One GreenVN or GreenPin allocation."""

    id: str
    kind: Kind
    tenant_id: str
    account_sid: str
    connection_id: str
    aparty: list[str]
    bparty: list[str]
    virtual_number: str
    created_at: datetime
    expires_at: datetime
    usage: str = "twoway"
    aparty_pins: list[int] = field(default_factory=list)
    bparty_pins: list[int] = field(default_factory=list)
    pin: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The allocation as the API returns it."""
        ident = "greenvn_id" if self.kind == "greenvn" else "greenpin_id"
        body: dict[str, Any] = {
            ident: self.id,
            "connection_id": self.connection_id,
            "virtual_number": self.virtual_number,
            "aparty_numbers": self.aparty,
            "bparty_numbers": self.bparty,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
        }
        if self.kind == "greenvn":
            body["usage"] = self.usage
        else:
            body["pin"] = self.pin
        if self.aparty_pins:
            body["aparty_pins"] = self.aparty_pins
        if self.bparty_pins:
            body["bparty_pins"] = self.bparty_pins
        return body


def allocations(store: Store) -> dict[str, Allocation]:
    """Every allocation by id (expired ones are dropped when seen)."""
    found: dict[str, Allocation] = store.leadassist.setdefault("allocations", {})
    now = store.clock.now()
    for ident in [i for i, a in found.items() if a.expires_at <= now]:
        del found[ident]
    return found


def virtual_numbers(store: Store, account_sid: str) -> list[str]:
    """The numbers Lead Assist allocates from for ``account_sid``."""
    configured = store.leadassist.get("numbers")
    if isinstance(configured, list) and configured:
        return [str(n) for n in configured]
    mine = [e.phone_number for e in store.exophones.values() if e.account_sid == account_sid]
    return mine or list(DEFAULT_NUMBERS)


def tail(number: str) -> str:
    """The last ten digits of a phone number (how numbers are compared)."""
    return "".join(ch for ch in number if ch.isdigit())[-10:]


def route(store: Store, caller: str, virtual_number: str) -> str | None:
    """Whom a call from ``caller`` to ``virtual_number`` reaches through a GreenVN, if anyone.

    An A party reaches the first B party; with ``usage=twoway`` a B party reaches the first A
    party. (GreenPin callers are routed by :func:`route_pin`.)
    """
    who, vn = tail(caller), tail(virtual_number)
    for alloc in allocations(store).values():
        if alloc.kind != "greenvn" or tail(alloc.virtual_number) != vn:
            continue
        if who in {tail(n) for n in alloc.aparty}:
            return alloc.bparty[0]
        if alloc.usage == "twoway" and who in {tail(n) for n in alloc.bparty}:
            return alloc.aparty[0]
    return None


def route_pin(store: Store, caller: str, virtual_number: str, pin: str) -> str | None:
    """Whom a caller reaches after entering ``pin`` on ``virtual_number``."""
    vn = tail(virtual_number)
    for alloc in allocations(store).values():
        if alloc.kind == "greenpin" and tail(alloc.virtual_number) == vn and alloc.pin == pin:
            in_b = tail(caller) in {tail(n) for n in alloc.bparty}
            return alloc.aparty[0] if in_b else alloc.bparty[0]
    return None
