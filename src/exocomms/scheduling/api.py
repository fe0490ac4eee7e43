"""``GET /timing/check?purpose=``: may a call/SMS/promotional SMS go out now, and when next."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from exocomms import phones
from exocomms.scheduling.engine import check
from exocomms.scheduling.gate import timing_policy
from exocomms.scheduling.model import ANYONE
from exocomms.scheduling.preferences import recipient_for
from exocomms.web.deps import RuntimeDep, require_admin

router = APIRouter(tags=["timing"], dependencies=[Depends(require_admin)])

TIMING_POLICY_EXTRA = "timing_policy"  # runtime.extras key: the policy in force, if edited


@router.get("/timing/check", summary="Whether a call or SMS for a purpose is allowed now")
async def timing_check(
    runtime: RuntimeDep,
    purpose: Annotated[str, Query(min_length=1, max_length=64)],
    phone: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """``scheduling.engine.check`` with the policy in force and the recipient's preferences.

    With ``phone``, the number's stored preferences (``/preferences``) apply; without it, or
    with nothing stored, the default recipient (no blocks, no consents) does.
    """
    recipient = ANYONE
    number = phones.normalize(phone) if phone is not None else None  # a bad number: 422
    async with runtime.db.transaction() as session:
        if number is not None:
            recipient = await recipient_for(session, number)
        policy = await timing_policy(runtime, session)  # run-time config (PUT /config/timing)
    body = check(runtime.clock.now(), purpose, recipient, policy)  # unknown purpose: 422
    body["purpose"] = purpose
    return body
