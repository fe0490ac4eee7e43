"""Every router the app serves, in one list: a feature adds its ``api.router`` here."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from exocomms.commerce import api as commerce_api
from exocomms.config import api as config_api
from exocomms.connect import api as connect_api
from exocomms.escalation import api as escalation_api
from exocomms.masking import api as masking_api
from exocomms.outbox import api as outbox_api
from exocomms.scheduling import api as timing_api
from exocomms.scheduling import preferences_api
from exocomms.scheduling.routes import routers as scheduling_routers
from exocomms.telephony import routes as telephony_routes
from exocomms.web import health, metrics


def routers() -> list[APIRouter]:
    """The routers of the service, ops first."""
    return [
        health.router,
        metrics.router,
        outbox_api.router,
        # --- telephony (IVR calls slice) ---
        *telephony_routes.routers(),
        # --- commerce (commerce backend slice) ---
        commerce_api.router,
        # --- escalation (orchestrator slice) ---
        escalation_api.router,
        timing_api.router,
        # --- config (run-time configuration slice) ---
        *config_api.routers(),
        # --- masking (connecting people slice) ---
        # --- connect (click-to-call, missed calls, inbound IVR slice) ---
        *connect_api.routers(),
        # --- scheduling (scheduled calls and leads slice) ---
        *scheduling_routers(),
        masking_api.router,
        preferences_api.router,
    ]


def include_routers(app: FastAPI) -> None:
    """Mount :func:`routers` on ``app``."""
    for router in routers():
        app.include_router(router)
