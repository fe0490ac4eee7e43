"""The telephony port: what the service needs from a carrier (calls, SMS, WhatsApp).

Adapters (``telephony/exotel/client.py``, fakes in tests) implement :class:`TelephonyProvider`
and declare what they can do in ``capabilities``. Anything they cannot do raises
:class:`~exocomms.errors.NotSupported`; :class:`UnsupportedOperations` gives that behaviour by
default so an adapter only writes the methods it supports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from exocomms.errors import NotSupported


class Capability(StrEnum):
    """Operations a provider may support."""

    CALL_FLOW = "call.flow"  # call a number into a hosted flow (IVR)
    CALL_CONNECT = "call.connect"  # bridge two numbers (click-to-call, masking)
    CALL_DETAILS = "call.details"
    CALL_RECORDING = "call.recording"
    CALL_STREAM = "call.stream"  # bidirectional audio stream (voicebot)
    SMS = "sms"
    SMS_BULK = "sms.bulk"
    WHATSAPP = "whatsapp"


class CallStatus(StrEnum):
    """Provider-neutral call statuses (Exotel's names)."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        """True once the call is over."""
        return self not in (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS)


@dataclass(frozen=True)
class FlowCall:
    """Call ``to`` and, once answered, run the provider-hosted ``flow`` (an IVR)."""

    to: str
    caller_id: str
    flow: str  # provider flow id (Exotel: app id)
    custom_field: str | None = None
    status_callback: str | None = None
    time_limit_seconds: int | None = None
    ring_timeout_seconds: int = 30
    record: bool = False


@dataclass(frozen=True)
class BridgeCall:
    """Call ``first``, then connect them to ``second``; both see ``caller_id``."""

    first: str
    second: str
    caller_id: str
    record: bool = False
    time_limit_seconds: int | None = None
    ring_timeout_seconds: int = 30
    custom_field: str | None = None
    status_callback: str | None = None


@dataclass(frozen=True)
class CallRef:
    """The provider's answer to a call request."""

    sid: str
    status: CallStatus
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SmsMessage:
    """One SMS (India: DLT ids are required for anything but test traffic)."""

    to: str
    body: str
    sender: str
    dlt_entity_id: str | None = None
    dlt_template_id: str | None = None
    status_callback: str | None = None
    custom_field: str | None = None


@dataclass(frozen=True)
class WhatsAppTemplate:
    """A WhatsApp template message (the only kind a business may start a chat with)."""

    to: str
    sender: str
    template: str
    language: str = "hi"
    parameters: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()  # quick-reply payloads
    custom_data: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """The provider's answer to a message request."""

    sid: str
    status: str
    raw: Mapping[str, object] = field(default_factory=dict)


@runtime_checkable
class TelephonyProvider(Protocol):
    """A carrier. Methods raise ``ProviderError`` subclasses on carrier failures."""

    name: str
    capabilities: frozenset[Capability]

    async def call_flow(self, call: FlowCall) -> CallRef:
        """Start an outbound call into a hosted flow."""
        ...

    async def bridge(self, call: BridgeCall) -> CallRef:
        """Connect two numbers."""
        ...

    async def call_details(self, sid: str) -> CallRef:
        """Current state of a call."""
        ...

    async def send_sms(self, message: SmsMessage) -> MessageRef:
        """Send one SMS."""
        ...

    async def send_whatsapp(self, message: WhatsAppTemplate) -> MessageRef:
        """Send one WhatsApp template message."""
        ...


def require(provider: TelephonyProvider, capability: Capability) -> None:
    """Fail fast, before any side effect, when ``provider`` lacks ``capability``.

    Raises:
        NotSupported: the provider does not declare the capability.
    """
    if capability not in provider.capabilities:
        raise NotSupported(
            f"{provider.name} does not support {capability.value}",
            details={"provider": provider.name, "capability": capability.value},
        )


class UnsupportedOperations:
    """Mixin: every operation raises ``NotSupported``; adapters override what they support."""

    name: str = "unnamed"
    capabilities: frozenset[Capability] = frozenset()

    def _unsupported(self, capability: Capability) -> NotSupported:
        return NotSupported(
            f"{self.name} does not support {capability.value}",
            details={"provider": self.name, "capability": capability.value},
        )

    async def call_flow(self, call: FlowCall) -> CallRef:
        """Not supported unless overridden."""
        raise self._unsupported(Capability.CALL_FLOW)

    async def bridge(self, call: BridgeCall) -> CallRef:
        """Not supported unless overridden."""
        raise self._unsupported(Capability.CALL_CONNECT)

    async def call_details(self, sid: str) -> CallRef:
        """Not supported unless overridden."""
        raise self._unsupported(Capability.CALL_DETAILS)

    async def send_sms(self, message: SmsMessage) -> MessageRef:
        """Not supported unless overridden."""
        raise self._unsupported(Capability.SMS)

    async def send_whatsapp(self, message: WhatsAppTemplate) -> MessageRef:
        """Not supported unless overridden."""
        raise self._unsupported(Capability.WHATSAPP)
