"""The ``leadassist`` masking backend: sessions allocated by Exotel's GreenVN/GreenPin.

A pair gets a GreenVN (two-way, no PIN); when Lead Assist refuses (no number free for the
pair) it gets a GreenPin. Network calls happen outside database transactions: look for a live
session, allocate at Exotel, then record it; if another process recorded the same session
meanwhile, the duplicate allocation is released again.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from exocomms.errors import Conflict, InvalidRequest
from exocomms.logging import get_logger
from exocomms.masking import repo
from exocomms.masking.model import MaskingSession, NewSession, SessionMode, SessionStatus
from exocomms.runtime import Runtime
from exocomms.telephony.exotel.leadassist import (
    GREENPIN_MAX_SECONDS,
    GREENPIN_MIN_SECONDS,
    LeadAssistClient,
)

log = get_logger(__name__)

LEADASSIST_EXTRA = "masking.leadassist"  # runtime.extras key of the shared client


def client_for(runtime: Runtime) -> LeadAssistClient:
    """The runtime's Lead Assist client (built from settings on first use)."""
    existing = runtime.extras.get(LEADASSIST_EXTRA)
    if isinstance(existing, LeadAssistClient):
        return existing
    settings = runtime.settings
    client = LeadAssistClient(
        tenant_id=settings.leadassist_tenant_id,
        account_sid=settings.exotel_account_sid,
        token=settings.leadassist_token.get_secret_value(),
        base_url=settings.leadassist_base_url,
        timeout=settings.leadassist_timeout_seconds,
        http=runtime.http,
    )
    runtime.extras[LEADASSIST_EXTRA] = client
    return client


def connection_id(live_key: str) -> str:
    """A stable id for Lead Assist that carries no phone number."""
    return "exocomms-" + hashlib.sha256(live_key.encode()).hexdigest()[:24]


async def create_via_leadassist(runtime: Runtime, request: NewSession) -> MaskingSession:
    """Create (or return the live) session through Lead Assist.

    Raises:
        ProviderError: Lead Assist failed.
        Conflict: the session could not be recorded.
    """
    from exocomms.masking.service import schedule_expiry  # here: service imports this module

    async with runtime.db.transaction() as session:
        existing = await repo.by_live_key(session, request.live_key)
        if existing is not None:
            return existing
    client = client_for(runtime)
    seconds = int(request.hours * 3600)
    ident = connection_id(request.live_key)
    a_side, b_side = [request.party_a], [request.party_b]
    pin: str | None = None
    try:
        vn = await client.create_greenvn(
            connection_id=ident,
            usage="twoway",
            duration=seconds,
            aparty_numbers=a_side,
            bparty_numbers=b_side,
        )
        ref, number = f"greenvn:{vn.id}", vn.virtual_number
    except InvalidRequest as exc:
        log.info("masking.greenvn_refused", error=exc.message)
        duration = min(max(seconds, GREENPIN_MIN_SECONDS), GREENPIN_MAX_SECONDS)
        gp = await client.create_greenpin(
            connection_id=ident, duration=duration, aparty_numbers=a_side, bparty_numbers=b_side
        )
        ref, number, pin = f"greenpin:{gp.id}", gp.virtual_number, gp.pin
    now = runtime.clock.now()
    try:
        async with runtime.db.transaction() as session:
            created = await repo.insert_session(
                session,
                order_id=request.order_id,
                kind=request.kind.value,
                party_a=request.party_a,
                party_b=request.party_b,
                mode=SessionMode.LEADASSIST.value,
                virtual_number=number,
                pin=pin,
                status=SessionStatus.LIVE.value,
                revealed=request.revealed,
                live_key=request.live_key,
                provider_ref=ref,
                context=request.context,
                created_at=now,
                expires_at=now + timedelta(hours=request.hours),
                updated_at=now,
            )
            await schedule_expiry(session, runtime, created.id, created.expires_at)
            return created
    except IntegrityError:
        await release(runtime, ref)  # another process won the race: keep its allocation
        async with runtime.db.transaction() as session:
            winner = await repo.by_live_key(session, request.live_key)
        if winner is None:
            raise Conflict("could not record the Lead Assist session; try again") from None
        return winner


async def release(runtime: Runtime, provider_ref: str) -> bool:
    """Delete an allocation at Lead Assist (False when it was already gone)."""
    kind, _, ident = provider_ref.partition(":")
    client = client_for(runtime)
    if kind == "greenpin":
        return await client.delete_greenpin(ident)
    return await client.delete_greenvn(ident)
