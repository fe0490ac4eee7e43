"""Connect jobs.

* ``connect.missed_callback`` — call a missed caller back into the ``ordering`` IVR from the
  new-order number (once per missed call that scheduled it; reruns are no-ops).
* ``connect.close`` — end an inbound call whose caller hung up before the flow's last
  Passthru (Exotel sends no status callback for inbound calls).
"""

from __future__ import annotations

from typing import Any

from exocomms.calls import repo as calls_repo
from exocomms.connect import repo, service
from exocomms.connect.model import PURPOSE_MISSED_CALLBACK
from exocomms.errors import ExocommsError
from exocomms.ivr.service import start_ivr_call
from exocomms.jobs.registry import Backoff, Job, JobRegistry
from exocomms.logging import get_logger
from exocomms.runtime import Runtime

log = get_logger(__name__)

ORDERING_IVR = "ordering"


async def missed_callback(runtime: Runtime, job: Job) -> None:
    """Queue the callback IVR call of one missed call."""
    missed_id = int(job.payload["missed_id"])
    async with runtime.db.transaction() as session:
        missed = await repo.get_missed(session, missed_id)
        if missed is None or missed["callback_call_id"]:
            return
    customer: Any = None
    if runtime.commerce is not None:
        try:  # the language and id are nice to have: a failed look-up still calls back
            customer = await runtime.commerce.get_customer_by_phone(missed["caller"])
        except ExocommsError as exc:
            log.warning("connect.callback_lookup_failed", error=exc.code)
    async with runtime.db.transaction() as session:
        # With the customer's id, orders whose events named only the id count too.
        customer_id = getattr(customer, "id", None)
        orders = await repo.customer_orders(session, customer_id, missed["caller"])
    order_id = orders[0][1] if orders else None
    async with runtime.db.transaction() as session:
        current = await repo.get_missed(session, missed_id)
        if current is None or current["callback_call_id"]:
            return
        call_id = await start_ivr_call(
            session,
            runtime,
            ivr=ORDERING_IVR,
            phone=missed["caller"],
            context={"order_id": order_id} if order_id else {},
            purpose=PURPOSE_MISSED_CALLBACK,
            language=getattr(customer, "language", None) or "hi",
            order_id=order_id,
            customer_id=getattr(customer, "id", None),
            name=getattr(customer, "name", None) or None,
            caller="new_order",
        )
        meta_party = {"party": "customer", "missed_id": missed_id}
        row = await calls_repo.get_call(session, call_id=call_id)
        assert row is not None
        await service.update_meta(session, runtime, row, **meta_party)
        await repo.set_callback_call(session, missed_id, call_id)
    log.info("connect.callback_queued", missed_id=missed_id, call_id=call_id)


async def close(runtime: Runtime, job: Job) -> None:
    """End an inbound call that is still open long after it must have ended."""
    call_id = str(job.payload["call_id"])
    async with runtime.db.transaction() as session:
        row = await calls_repo.get_call(session, call_id=call_id, lock=True)
        if row is None:
            return
        await service.finish_inbound(session, runtime, row, outcome="caller_hung_up")


def register_connect_handlers(registry: JobRegistry) -> None:
    """Register the connect jobs on ``registry``."""
    registry.register(service.CALLBACK_JOB, missed_callback, max_attempts=5, backoff=Backoff(10))
    registry.register(service.CLOSE_JOB, close, max_attempts=5, backoff=Backoff(30))
