"""Feature flags for the other slices: check one, or guard a route with it.

Flags live in the ``features`` section of the run-time configuration (``PUT
/config/features/{feature}``) and take effect within ``config_cache_seconds`` everywhere::

    if await feature_enabled(runtime, "numberMaskingEnabled"): ...
    await ensure_enabled(runtime, "autoDialerEnabled")          # raises FeatureDisabled

    @router.post("/campaigns/{id}/start", dependencies=[Depends(require_feature("autoDialer"))])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from exocomms.config.model import FEATURE_FLAGS, resolve_feature
from exocomms.config.service import current, feature_enabled
from exocomms.errors import Conflict
from exocomms.runtime import Runtime

__all__ = [
    "FEATURE_FLAGS",
    "FeatureDisabled",
    "ensure_enabled",
    "feature_enabled",
    "require_feature",
]


class FeatureDisabled(Conflict):
    """The operation needs a feature that is switched off (409 ``feature_disabled``)."""

    code = "feature_disabled"


async def ensure_enabled(runtime: Runtime, feature: str) -> None:
    """Raise :class:`FeatureDisabled` unless ``feature`` is on.

    Raises:
        KeyError: unknown feature name (a programming error).
    """
    flag = resolve_feature(feature)
    if flag is None:
        raise KeyError(feature)
    if not (await current(runtime)).feature_enabled(flag):
        raise FeatureDisabled(
            f"{flag} is off; an admin can turn it on with PUT /config/features/{flag}",
            details={"feature": flag},
        )


def require_feature(feature: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that answers 409 ``feature_disabled`` while ``feature`` is off."""
    if resolve_feature(feature) is None:
        raise KeyError(feature)  # fail at import time, not on the first request

    async def dependency(request: Request) -> None:
        await ensure_enabled(request.app.state.runtime, feature)

    return dependency
