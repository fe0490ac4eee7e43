"""Leads, pure: statuses and the normalisation of what a web form sends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from exocomms import phones
from exocomms.errors import ValidationError

LEAD_PURPOSE = "lead_call"  # service-explicit: the lead asked to be called (consent)
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
)
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,63}$")


class LeadStatus(StrEnum):
    """The lead's call."""

    NEW = "new"  # stored; the first call waits for the delay
    WAITING = "waiting"  # waiting for a retry or for the timing window
    CALLING = "calling"  # an attempt was placed
    CALLED = "called"  # someone answered
    FAILED = "failed"  # no answer after every attempt, or never allowed / not routable

    @property
    def pending(self) -> bool:
        """The lead may still be called."""
        return self in (LeadStatus.NEW, LeadStatus.WAITING, LeadStatus.CALLING)


class CrmStatus(StrEnum):
    """The lead in the CRM."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"
    OFF = "off"  # no CRM configured


def _bad(message: str, field: str) -> ValidationError:
    return ValidationError(message, details=[{"loc": ["body", field], "message": message}])


@dataclass(frozen=True)
class NewLead:
    """A lead after normalisation."""

    source: str
    name: str
    phone: str  # E.164
    email: str | None

    @property
    def first_name(self) -> str:
        """Everything but the last word (empty for a one-word name)."""
        return self.name.rpartition(" ")[0]

    @property
    def last_name(self) -> str:
        """The last word (Zoho requires a last name)."""
        return self.name.rpartition(" ")[2]


def normalize(source: str, name: str, phone: str, email: str | None) -> NewLead:
    """Trim and check the fields: phone to E.164, email lower-cased, spaces collapsed.

    Raises:
        ValidationError: a field is empty, too long, or not what it claims to be.
    """
    clean_source = " ".join(source.split())
    if not _SOURCE.match(clean_source):
        raise _bad("source must be 1-64 letters, digits, spaces or _.:/-", "source")
    clean_name = " ".join(name.split())
    if not 1 <= len(clean_name) <= 200 or not clean_name.isprintable():
        raise _bad("name must be 1-200 printable characters", "name")
    number = phones.normalize(phone)
    clean_email: str | None = None
    if email is not None and email.strip():
        clean_email = email.strip().lower()
        if len(clean_email) > 254 or not _EMAIL.match(clean_email):
            raise _bad("not a valid email address", "email")
    return NewLead(clean_source, clean_name, number, clean_email)
