"""The telephony slice's routers (IVR applets and ExoML, call and messaging callbacks, call
admin, compat aliases), in the order they are mounted.
"""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the slice."""
    from exocomms.calls import api as calls_api
    from exocomms.compat import calls as compat_calls
    from exocomms.ivr import api as ivr_api
    from exocomms.messaging import api as messaging_api

    return [
        ivr_api.router,
        calls_api.router,
        calls_api.admin,
        messaging_api.router,
        compat_calls.router,
        compat_calls.protected,
    ]
