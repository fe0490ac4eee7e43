"""How a ladder step reaches people: push, WhatsApp, SMS, ring, IVR call, admin alert/bridge.

Every channel here only writes rows and enqueues jobs (the other slices' ``queue_*``
functions), inside the step's transaction: the network is touched by their send jobs after
commit. So a step and an acknowledgement can never both commit "a call went out after the
ack": the ack either commits first (the step is then a no-op) or cancels what comes next.

:class:`Channels` is the port; :class:`~exocomms.escalation.contract_channels.ContractChannels`
(re-exported here) is the production adapter onto the telephony, messaging and commerce slices.
Tests inject their own.

Mappings (documented in ``docs/api.md``):

* ``E.ivr`` step templates → IVR names (:data:`IVR_FOR_TEMPLATE`); a template that is itself an
  IVR name followed by ``.ivr`` works too.
* ``admin_alert`` steps send the ``admin.alert`` template (SMS and WhatsApp) to the admin on
  duty (``EXOCOMMS_ADMIN_ON_DUTY_PHONE``) whatever the step's template is called, with the
  params ``order_id``, ``party`` and ``event`` (the ladder's event type).
* ``admin_bridge`` bridges the admin on duty (first leg) with the party.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms import phones
from exocomms.errors import NotFound
from exocomms.escalation.contract_channels import ContractChannels as ContractChannels
from exocomms.escalation.model import Audience, Channel, Step

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

#: Step template → IVR flow name (the shared contract of the slices).
IVR_FOR_TEMPLATE: Mapping[str, str] = {
    "vendor_new_order.ivr": "vendor_order",
    "vendor_reminder.ivr": "vendor_reminder",
    "rider_assignment.ivr": "rider_assignment",
    "address_change.ivr": "address_change",
    "customer_status.ivr": "customer_status",
    "customer_delay.ivr": "customer_delay",
}
ADMIN_ALERT_TEMPLATE = "admin.alert"
MAX_PARAM_CHARS = {"sms": 29, "whatsapp": 200}  # DLT: an SMS variable holds under 30


def ivr_name(template: str) -> str:
    """The IVR a step template names (``vendor_new_order.ivr`` → ``vendor_order``).

    Raises:
        NotFound: neither a mapped template nor ``<ivr name>.ivr`` of a known IVR.
    """
    if template in IVR_FOR_TEMPLATE:
        return IVR_FOR_TEMPLATE[template]
    from exocomms.ivr import flows

    name = template.removesuffix(".ivr")
    flows.get(name)  # raises NotFound
    return name


@dataclass(frozen=True)
class Target:
    """Who a step is about: the escalation's party and the order context."""

    escalation_id: str
    event_type: str
    order_id: str | None
    party: str  # vendor | rider | customer
    party_id: str | None
    phone: str  # E.164
    name: str | None
    language: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    """One thing a step queued: which channel, to whom, and the id the slice returned."""

    channel: str  # push, whatsapp, sms, ring, ivr_call, bridge
    to: str  # party | admin
    ref: str | None


class Channels(Protocol):
    """What a ladder needs from the other slices (all in the caller's transaction)."""

    async def push(
        self,
        session: AsyncSession,
        runtime: Runtime,
        *,
        party: str,
        party_id: str | None,
        order_id: str | None,
        template: str,
        data: Mapping[str, Any],
        escalation_id: str,
        key: str,
    ) -> str:
        """Queue an app push through the commerce backend (``key``: unique per step run)."""
        ...

    async def message(
        self,
        session: AsyncSession,
        runtime: Runtime,
        *,
        channel: str,
        to: str,
        template: str,
        params: Mapping[str, Any],
        purpose: str,
        language: str,
        order_id: str | None,
        escalation_id: str,
    ) -> str:
        """Queue an SMS or WhatsApp template message (``channel``); returns its id."""
        ...

    async def ring(
        self,
        session: AsyncSession,
        runtime: Runtime,
        *,
        phone: str,
        purpose: str,
        caller: str,
        ring_seconds: int,
        order_id: str | None,
        escalation_id: str,
    ) -> str:
        """Queue a short ring; returns the call id."""
        ...

    async def ivr_call(
        self,
        session: AsyncSession,
        runtime: Runtime,
        *,
        ivr: str,
        target: Target,
        purpose: str,
        caller: str,
    ) -> str:
        """Queue an IVR call to the target's party; returns the call id."""
        ...

    async def bridge(
        self,
        session: AsyncSession,
        runtime: Runtime,
        *,
        first: str,
        second: str,
        purpose: str,
        caller: str,
        order_id: str | None,
        escalation_id: str | None,
        time_limit_seconds: int = 600,
    ) -> str:
        """Queue a call that connects ``first`` then ``second``; returns the call id."""
        ...


def admin_phone(runtime: Runtime) -> str | None:
    """The admin on duty (E.164), or None when not configured or not a number."""
    return phones.try_normalize(runtime.settings.admin_on_duty_phone)


def template_params(target: Target, channel: str = "sms", **extra: Any) -> dict[str, str]:
    """Template variables: the order context's scalars, clipped to the channel's limit."""
    values: dict[str, Any] = {
        k: v
        for k, v in target.context.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
    values.setdefault("order_id", target.order_id or "")
    values.setdefault("name", target.name or "")
    items = target.context.get("items")
    if isinstance(items, list):
        values.setdefault("item_count", len(items))
    values.update(extra)
    limit = MAX_PARAM_CHARS.get(channel, 29)
    return {k: " ".join(str(v).split())[:limit] for k, v in values.items() if v is not None}


async def send_step(
    session: AsyncSession,
    runtime: Runtime,
    channels: Channels,
    target: Target,
    step: Step,
    *,
    key: str,
    ring_seconds: int = 15,
) -> list[Sent]:
    """Queue what ``step`` sends; returns what was queued. ``key`` is unique per step run.

    Raises:
        NotFound: an admin step with no admin on duty, or an unknown IVR.
        ExocommsError: whatever the slice refuses (bad number, unknown template…).
    """
    ch, esc_id = step.channel, target.escalation_id
    if ch is Channel.PUSH:
        data = {**target.context, "event_type": target.event_type}
        ref = await channels.push(
            session,
            runtime,
            party=target.party,
            party_id=target.party_id,
            order_id=target.order_id,
            template=step.template,
            data=data,
            escalation_id=esc_id,
            key=key,
        )
        return [Sent("push", "party", ref)]
    if ch in (Channel.WHATSAPP, Channel.SMS):
        ref = await channels.message(
            session,
            runtime,
            channel=ch.value,
            to=target.phone,
            template=step.template,
            params=template_params(target, ch.value),
            purpose=step.purpose,
            language=target.language,
            order_id=target.order_id,
            escalation_id=esc_id,
        )
        return [Sent(ch.value, "party", ref)]
    if ch is Channel.RING:
        ref = await channels.ring(
            session,
            runtime,
            phone=target.phone,
            purpose=step.purpose,
            caller=step.caller,
            ring_seconds=ring_seconds,
            order_id=target.order_id,
            escalation_id=esc_id,
        )
        return [Sent("ring", "party", ref)]
    if ch is Channel.IVR_CALL:
        ivr = ivr_name(step.template)
        ref = await channels.ivr_call(
            session, runtime, ivr=ivr, target=target, purpose=step.purpose, caller=step.caller
        )
        return [Sent("ivr_call", "party", ref)]
    admin = admin_phone(runtime)
    if admin is None:
        raise NotFound("no admin on duty (EXOCOMMS_ADMIN_ON_DUTY_PHONE is not set)")
    if ch is Channel.ADMIN_ALERT:
        return await _admin_alert(session, runtime, channels, target, step, admin)
    # ADMIN_BRIDGE: the admin first (they expect the call), then the party.
    second = target.phone if Audience.PARTY in step.recipients else admin
    ref = await channels.bridge(
        session,
        runtime,
        first=admin,
        second=second,
        purpose=step.purpose,
        caller=step.caller,
        order_id=target.order_id,
        escalation_id=esc_id,
    )
    return [Sent("bridge", "admin", ref)]


async def _admin_alert(
    session: AsyncSession,
    runtime: Runtime,
    channels: Channels,
    target: Target,
    step: Step,
    admin: str,
) -> list[Sent]:
    sent: list[Sent] = []
    channel_names: Sequence[str] = ("sms", "whatsapp")
    for name in channel_names:
        ref = await channels.message(
            session,
            runtime,
            channel=name,
            to=admin,
            template=ADMIN_ALERT_TEMPLATE,
            params=template_params(target, name, party=target.party, event=target.event_type),
            purpose=step.purpose,
            language="en",
            order_id=target.order_id,
            escalation_id=target.escalation_id,
        )
        sent.append(Sent(name, "admin", ref))
    return sent
