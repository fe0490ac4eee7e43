"""In-memory state of one emulator instance.

exosim is a test double: it keeps everything in memory and starts empty (apart from the
default account) on every start. One ``Store`` is shared by the REST API, the call engine,
flows, phones and the control API; all of them run on one asyncio loop, so plain dicts are
safe without locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exosim.clock import SimClock
from exosim.faults import Faults
from exosim.model import (
    Account,
    Call,
    DltTemplate,
    ExoPhone,
    SmsMessage,
    WhatsAppMessage,
)


@dataclass
class Store:
    """Every record the emulator knows, keyed by sid (or number for phones/DND)."""

    clock: SimClock
    faults: Faults = field(default_factory=Faults)
    accounts: dict[str, Account] = field(default_factory=dict)
    exophones: dict[str, ExoPhone] = field(default_factory=dict)  # by ExoPhone sid
    flows: dict[str, Any] = field(default_factory=dict)  # flow id -> exosim.flows model
    dlt_templates: dict[str, DltTemplate] = field(default_factory=dict)  # by template id
    dnd_numbers: set[str] = field(default_factory=set)  # E.164
    phones: dict[str, Any] = field(default_factory=dict)  # E.164 -> exosim.phones model
    calls: dict[str, Call] = field(default_factory=dict)
    sms: dict[str, SmsMessage] = field(default_factory=dict)
    whatsapp: dict[str, WhatsAppMessage] = field(default_factory=dict)
    leadassist: dict[str, Any] = field(default_factory=dict)  # exosim.api.leadassist state

    def account_by_key(self, api_key: str) -> Account | None:
        """The account whose API key (or, in the older form, SID) is ``api_key``."""
        for account in self.accounts.values():
            if api_key in (account.api_key, account.sid):
                return account
        return None

    def exophone_by_number(self, number: str) -> ExoPhone | None:
        """The ExoPhone with this number, compared on its last 10 digits."""
        tail = "".join(ch for ch in number if ch.isdigit())[-10:]
        for exophone in self.exophones.values():
            if "".join(ch for ch in exophone.phone_number if ch.isdigit())[-10:] == tail:
                return exophone
        return None
