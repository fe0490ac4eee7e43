"""``require_scope(...)``: the FastAPI dependency that authenticates and authorises a request.

Keys travel as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. Accepted keys:

* ``EXOCOMMS_ADMIN_API_KEY`` (the bootstrap key, scope ``admin``), compared in constant time;
* keys made with ``POST /auth/keys`` (looked up by prefix, SHA-256 compared in constant time,
  revocation effective on the next request).

No key → 401 ``unauthorized``; an unknown or revoked key → 401; a valid key without the scope
→ 403 ``forbidden``. **Development without an admin key**: when ``EXOCOMMS_ADMIN_API_KEY`` is
unset and ``env`` is not production, a request *without* any key is let in as ``anonymous``
with every scope (as ``web.deps.require_admin`` does), so a fresh checkout works; a key that
*is* sent is still checked. Production refuses to start without an admin key.

Use it in ``dependencies=[...]`` or as the *first* parameter, before ``SessionDep``: on SQLite
one process runs one transaction at a time, and the key look-up is a short transaction of its
own that must finish before the route's begins. The principal is also left on
``request.state.principal`` for :func:`current_principal`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from exocomms.auth import service
from exocomms.auth.model import BOOTSTRAP_ADMIN, OPEN_DEVELOPMENT, Principal, Scope, allows
from exocomms.errors import Forbidden, Unauthorized
from exocomms.runtime import Runtime
from exocomms.web.deps import presented_api_key

PRINCIPAL_STATE = "principal"


async def authenticate(request: Request, runtime: Runtime) -> Principal:
    """Who sent ``request``.

    Raises:
        Unauthorized: no key where one is required, or a key we do not accept.
    """
    settings = runtime.settings
    admin_key = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
    presented = presented_api_key(request)
    if presented is None:
        if not admin_key and settings.env != "production":
            return OPEN_DEVELOPMENT
        raise Unauthorized("an API key is required (X-API-Key or Authorization: Bearer)")
    if admin_key and hmac.compare_digest(presented.encode("utf-8"), admin_key.encode("utf-8")):
        return BOOTSTRAP_ADMIN
    principal = await service.authenticate(runtime, presented)
    if principal is None:
        raise Unauthorized("invalid API key")
    return principal


def require_scope(scope: Scope | str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that returns the caller's :class:`Principal` if it holds ``scope``.

    ``admin`` satisfies every scope; ``read-only`` keys may only use GET/HEAD/OPTIONS.
    """
    required = Scope(scope)

    async def dependency(request: Request) -> Principal:
        existing = getattr(request.state, PRINCIPAL_STATE, None)
        principal = existing or await authenticate(request, request.app.state.runtime)
        setattr(request.state, PRINCIPAL_STATE, principal)
        if not allows(principal.scopes, required, request.method):
            raise Forbidden(
                f"this API key lacks the {required.value!r} scope for {request.method}",
                details={"required": required.value, "scopes": sorted(principal.scopes)},
            )
        return principal

    dependency.__name__ = f"require_scope_{required.name.lower()}"
    return dependency


def current_principal(request: Request) -> Principal:
    """The principal a ``require_scope`` dependency of this route already established.

    Raises:
        Unauthorized: the route has no ``require_scope`` dependency (a wiring bug).
    """
    principal = getattr(request.state, PRINCIPAL_STATE, None)
    if not isinstance(principal, Principal):
        raise Unauthorized("not authenticated")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
