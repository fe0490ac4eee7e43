"""A recipient's preferences as far as timing rules care (NCPR blocks, explicit consents)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exocomms.scheduling.purposes import CATEGORIES
from exocomms.scheduling.validation import bool_field, invalid, only_keys


def _names(data: Mapping[str, Any], key: str, allowed: frozenset[str] | None) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"recipient.{key} must be a list of names")
    if allowed is not None and (bad := sorted(set(value) - allowed)):
        raise invalid(f"recipient.{key}: unknown category {bad[0]!r}", allowed=sorted(allowed))
    return frozenset(value)


@dataclass(frozen=True)
class Recipient:
    """A person's preferences, as far as timing rules care.

    Attributes:
        phone: for logs and look-ups only; rules never read it.
        dnd_full: registered as fully blocked (NCPR).
        blocked_categories: NCPR categories the person blocked (see :data:`CATEGORIES`).
        consents: purposes or categories the person explicitly consented to.
    """

    phone: str | None = None
    dnd_full: bool = False
    blocked_categories: frozenset[str] = frozenset()
    consents: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if bad := sorted(self.blocked_categories - CATEGORIES):
            raise invalid(f"unknown category {bad[0]!r}", allowed=sorted(CATEGORIES))

    def consented(self, purpose: str, category: str) -> bool:
        """Whether there is explicit consent for this purpose or its category."""
        return purpose in self.consents or category in self.consents

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "phone": self.phone,
            "dnd_full": self.dnd_full,
            "blocked_categories": sorted(self.blocked_categories),
            "consents": sorted(self.consents),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Recipient:
        """Parse a (possibly partial) recipient dict."""
        data = only_keys(data, set(cls().to_dict()), "recipient")
        phone = data.get("phone")
        if phone is not None and not isinstance(phone, str):
            raise invalid("recipient.phone must be a string")
        return cls(
            phone=phone,
            dnd_full=bool_field(data, "dnd_full", False, "recipient"),
            blocked_categories=_names(data, "blocked_categories", CATEGORIES),
            consents=_names(data, "consents", None),
        )


#: Nobody in particular: no blocks, no consents.
ANYONE = Recipient()
