"""The production :class:`~exocomms.escalation.channels.Channels` adapter.

Each method calls the shared contract function of another slice (commerce push, messaging,
telephony, IVR), imported when used so the slices meet only at these edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from exocomms.escalation.channels import Target
    from exocomms.runtime import Runtime


class ContractChannels:
    """The production channels: the functions of the shared slice contracts.

    Imported when used: the slices meet only at these edges (no import cycles at start-up).
    """

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
        """``commerce.push.queue_push`` (a signed webhook through the outbox), or FCM HTTP v1
        (``push.service.push_for_step``) when ``push_provider=fcm`` and a token can be had."""
        from exocomms.commerce.push import queue_push

        if runtime.settings.push_provider == "fcm":
            from exocomms.push.service import push_for_step

            fcm_ref = await push_for_step(
                session, runtime, party=party, party_id=party_id, order_id=order_id,
                template=template, data=data, escalation_id=escalation_id, key=key,
            )  # fmt: skip
            if fcm_ref is not None:
                return fcm_ref  # else: no token, the webhook below (the timeline says why)
        ref = await queue_push(
            session,
            runtime,
            party=party,
            party_id=party_id,
            order_id=order_id,
            template=template,
            data=data,
            escalation_id=escalation_id,
            idempotency_key=f"push:{key}",
        )
        return str(ref)

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
        """``messaging.service.queue_sms`` / ``queue_whatsapp``."""
        from exocomms.messaging.service import queue_sms, queue_whatsapp

        queue = queue_sms if channel == "sms" else queue_whatsapp
        return await queue(
            session,
            runtime,
            to=to,
            template=template,
            params=params,
            purpose=purpose,
            language=language,
            order_id=order_id,
            escalation_id=escalation_id,
        )

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
        """``telephony.service.queue_ring``."""
        from exocomms.telephony.service import queue_ring

        return await queue_ring(
            session,
            runtime,
            phone=phone,
            purpose=purpose,
            caller=caller,
            ring_seconds=ring_seconds,
            order_id=order_id,
            escalation_id=escalation_id,
        )

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
        """``ivr.service.start_ivr_call`` with the escalation's context."""
        from exocomms.ivr.service import start_ivr_call

        party_id = target.party_id
        return await start_ivr_call(
            session,
            runtime,
            ivr=ivr,
            phone=target.phone,
            context=dict(target.context),
            purpose=purpose,
            language=target.language,
            order_id=target.order_id,
            vendor_id=party_id if target.party == "vendor" else None,
            rider_id=party_id if target.party == "rider" else None,
            customer_id=party_id if target.party == "customer" else None,
            name=target.name,
            escalation_id=target.escalation_id,
            caller=caller,
            max_attempts=1,  # the ladder itself is the retry policy
        )

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
        """``telephony.service.queue_bridge``."""
        from exocomms.telephony.service import queue_bridge

        return await queue_bridge(
            session,
            runtime,
            first=first,
            second=second,
            purpose=purpose,
            caller=caller,
            order_id=order_id,
            escalation_id=escalation_id,
            time_limit_seconds=time_limit_seconds,
        )
