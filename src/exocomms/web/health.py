"""``GET /health``: is this process able to do its job?

200 with ``"status": "ok"`` when everything is fine; 200 with ``"degraded"`` when the process
can serve but something is off (the embedded worker should run and does not); 503 with
``"degraded"`` when the database is unreachable, so load balancers take the instance out.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exocomms.bootstrap import service_version
from exocomms.logging import get_logger
from exocomms.runtime import Runtime
from exocomms.web import status

log = get_logger(__name__)
router = APIRouter(tags=["ops"])


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Service status, version, database reachability and latency, worker, job counts."""
    runtime: Runtime = request.app.state.runtime
    db = await status.check_database(runtime.db)
    worker = status.worker_state(request.app)
    checks: dict[str, str] = {"database": "ok" if db.reachable else "unreachable"}
    if worker["embedded"]:
        checks["worker"] = "ok" if worker["running"] else "stopped"
    else:
        checks["worker"] = "external"  # `exocomms worker` processes do the work
    jobs: dict[str, Any] = {}
    outbox: dict[str, Any] = {}
    if db.reachable:
        try:
            jobs = await status.job_counts(runtime.db)
            outbox = await status.outbox_counts(runtime.db)
        except Exception as exc:  # the ping passed but a query failed: report, do not crash
            log.warning("health.counts_failed", error=str(exc))
            checks["counts"] = "failed"
    ok = all(value in ("ok", "external") for value in checks.values())
    body = {
        "status": "ok" if ok else "degraded",
        "version": service_version(),
        "database": {
            "reachable": db.reachable,
            "latencyMs": db.latency_ms,
            "dialect": db.dialect,
            **({"error": db.error} if db.error else {}),
        },
        "worker": worker,
        "jobs": jobs,
        "outbox": outbox,
        "checks": checks,
    }
    # Commerce backend (additive; informational, so a partner outage does not flip "status"
    # and take this instance out of a load balancer). Probed at most every few seconds.
    if runtime.commerce is not None:
        body["commerce"] = (await runtime.commerce.health()).to_dict()
    return JSONResponse(body, status_code=200 if db.reachable else 503)
