"""The timing gate every outgoing call and message passes right before it goes out.

Issue 7's rule: every place that dials or messages goes through the timing rules. Slices
decide *what* to send; the send jobs (``calls.place``, ``messaging.send``) ask this gate
*whether now*: allowed → go; not yet → wait for the next allowed instant (the job is
re-run then, without spending an attempt); never (e.g. promotional traffic on a disabled
medium) → do not send. Purposes the timing policy does not know (internal ones such as
``click_to_call`` or ``admin_bridge``) are operational traffic and count as transactional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import ValidationError
from exocomms.scheduling.engine import allowed, next_allowed
from exocomms.scheduling.model import TimingPolicy
from exocomms.scheduling.preferences import recipient_for
from exocomms.scheduling.purposes import PurposeClass

if TYPE_CHECKING:
    from exocomms.runtime import Runtime


@dataclass(frozen=True)
class Gate:
    """The gate's answer: go now, wait until ``retry_at``, or never (``retry_at`` None).

    ``code`` is the engine's reason code when it is not now (``dnd_full``,
    ``category_blocked``, ``disabled``, ``promo_window``…); ``reason`` says it for people.
    """

    go: bool
    retry_at: datetime | None = None
    reason: str = ""
    code: str = ""


async def timing_policy(runtime: Runtime, session: AsyncSession) -> TimingPolicy:
    """The policy in force: a test override, else the run-time configuration."""
    override = runtime.extras.get("timing_policy")
    if isinstance(override, TimingPolicy):
        return override
    from exocomms.config.service import current  # config depends on scheduling; import late

    return (await current(runtime, session)).timing


async def check_send(
    session: AsyncSession,
    runtime: Runtime,
    *,
    purpose: str,
    medium: str,
    phone: str | None = None,
) -> Gate:
    """May a ``medium`` (call or sms) for ``purpose`` go out to ``phone`` now?

    ``phone``'s stored preferences (DND, category blocks, consents) apply; without a phone,
    or with nothing stored, the default recipient does.
    """
    policy = await timing_policy(runtime, session)
    recipient = await recipient_for(session, phone)
    now = runtime.clock.now()
    try:
        policy.classify(purpose)
        effective = purpose
    except ValidationError:
        effective = PurposeClass.TRANSACTIONAL.value
    decision = allowed(now, effective, recipient, policy, medium)
    if decision.allowed:
        return Gate(go=True)
    return Gate(
        go=False,
        retry_at=next_allowed(now, effective, recipient, policy, medium),
        reason=decision.reason,
        code=decision.code,
    )
