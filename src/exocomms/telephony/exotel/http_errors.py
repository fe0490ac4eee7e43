"""The HTTP status → ``exocomms.errors`` mapping shared by the Exotel and Lead Assist clients."""

from __future__ import annotations

from typing import Any

from exocomms.errors import (
    InvalidRequest,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)


def status_error(
    provider: str, status: int, message: str, details: dict[str, Any], *, retry_after: float
) -> ProviderError | InvalidRequest:
    """The error a non-2xx answer of ``provider`` maps to (the caller raises it).

    401/403 → ``ProviderAuthError``, 429 → ``RateLimited`` (with ``retry_after`` seconds),
    5xx → ``ProviderUnavailable``, any other status → ``InvalidRequest``.
    """
    if status in (401, 403):
        return ProviderAuthError(f"{provider} refused our credentials: {message}", details=details)
    if status == 429:
        return RateLimited(
            f"{provider} rate limit: {message}", retry_after=retry_after, details=details
        )
    if status >= 500:
        return ProviderUnavailable(f"{provider} error {status}: {message}", details=details)
    return InvalidRequest(f"{provider} rejected the request: {message}", details=details)
