"""One error body for every 4xx/5xx: ``{"error": {"code", "message", "details"}}``.

- :class:`~exocomms.errors.ExocommsError` subclasses → their ``status_code`` and ``code``.
- Request validation (FastAPI) → 422 ``validation_error`` with field locations and messages,
  never the rejected values (they may be secrets or phone numbers). A body that is not JSON at
  all → 400 ``invalid_json``.
- Starlette ``HTTPException`` (unknown route, wrong method…) → the same body, its headers kept.
- Anything else is caught by :class:`~exocomms.web.middleware.RequestContextMiddleware`, logged
  with a traceback, and answered with 500 ``internal_error`` carrying only the request id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from exocomms.errors import ExocommsError, RateLimited
from exocomms.logging import get_logger

log = get_logger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    501: "not_supported",
    503: "unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error schema every failing response uses."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON response with :func:`error_body`."""
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=dict(headers or {})
    )


def code_for_status(status_code: int) -> str:
    """A stable machine-readable code for an HTTP status."""
    return _CODES_BY_STATUS.get(status_code, f"http_{status_code}")


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return f"HTTP {status_code}"


def _loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors reduced to ``loc``, ``message`` and ``type`` (no input values)."""
    details = []
    for error in errors:
        if not isinstance(error, Mapping):
            continue
        details.append(
            {
                "loc": _loc(error.get("loc", ())),
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return details


async def _exocomms_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExocommsError)
    headers = {}
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(0, round(exc.retry_after)))
    if exc.status_code >= 500:
        log.warning("request.failed", code=exc.code, error=exc.message)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(isinstance(e, Mapping) and e.get("type") == "json_invalid" for e in errors):
        return error_response(
            400, "invalid_json", "the request body is not valid JSON", validation_details(errors)
        )
    return error_response(
        422, "validation_error", "the request is invalid", validation_details(errors)
    )


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    details = None if isinstance(exc.detail, str) else exc.detail
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(
        exc.status_code, code_for_status(exc.status_code), message, details, exc.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(ExocommsError, _exocomms_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
