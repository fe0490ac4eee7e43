"""One error tree for the service. Services raise these; ``web/errors.py`` maps them to HTTP.

::

    ExocommsError
    ├── ValidationError          bad input (422)
    ├── NotFound                 unknown id (404)
    ├── Conflict                 state does not allow it (409)
    ├── Unauthorized             missing/wrong credentials (401)
    ├── Forbidden                credentials lack the scope (403)
    ├── NotSupported             a port cannot do this (501)
    └── ProviderError            a carrier or partner failed us
        ├── ProviderAuthError        our credentials were refused
        ├── RateLimited              slow down; ``retry_after`` seconds
        ├── InvalidRequest           the provider rejected what we sent
        └── ProviderUnavailable      5xx, timeouts, connection errors (safe to retry reads)
"""

from __future__ import annotations

from typing import Any


class ExocommsError(Exception):
    """Root of every error the service raises on purpose."""

    code = "internal_error"
    status_code = 500

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class ValidationError(ExocommsError):
    """The input is malformed or out of range."""

    code = "validation_error"
    status_code = 422


class NotFound(ExocommsError):
    """The thing asked for does not exist."""

    code = "not_found"
    status_code = 404


class Conflict(ExocommsError):
    """The request is valid but the current state does not allow it."""

    code = "conflict"
    status_code = 409


class Unauthorized(ExocommsError):
    """No or wrong credentials."""

    code = "unauthorized"
    status_code = 401


class Forbidden(ExocommsError):
    """Valid credentials without the needed scope."""

    code = "forbidden"
    status_code = 403


class NotSupported(ExocommsError):
    """The provider or port does not support this operation."""

    code = "not_supported"
    status_code = 501


class ProviderError(ExocommsError):
    """A carrier or partner system failed."""

    code = "provider_error"
    status_code = 502


class ProviderAuthError(ProviderError):
    """The provider refused our credentials."""

    code = "provider_auth_error"


class RateLimited(ProviderError):
    """The provider asked us to slow down."""

    code = "rate_limited"
    status_code = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class InvalidRequest(ProviderError):
    """The provider rejected the request as invalid (4xx other than auth and rate limit)."""

    code = "provider_invalid_request"


class ProviderUnavailable(ProviderError):
    """5xx, timeout or connection failure."""

    code = "provider_unavailable"
    status_code = 503
