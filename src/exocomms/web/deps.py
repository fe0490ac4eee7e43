"""FastAPI dependencies shared by every router: runtime, settings, a session, admin auth.

Usage in a feature's ``api.py``::

    @router.get("/things/{id}", dependencies=[Depends(require_admin)])
    async def get_thing(id: int, session: SessionDep) -> ThingOut: ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.runtime import Runtime
from exocomms.settings import Settings


def get_runtime(request: Request) -> Runtime:
    """The process runtime built at start-up (``app.state.runtime``)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_settings(request: Request) -> Settings:
    """The settings the app was created with (``app.state.settings``)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction, committed when the route returns normally."""
    async with runtime.db.transaction() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def presented_api_key(request: Request) -> str | None:
    """The API key sent as ``X-API-Key`` or ``Authorization: Bearer <key>``, if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def require_admin(request: Request) -> None:
    """Require an API key with the admin scope: ``EXOCOMMS_ADMIN_API_KEY`` or a stored key.

    In development with no admin key configured the routes stay open (production refuses to
    start without one).

    Raises:
        Unauthorized: The key is missing or wrong.
        Forbidden: The key lacks the admin scope.
    """
    from exocomms.auth.deps import require_scope  # auth depends on web.deps; import late

    await require_scope("admin")(request)
