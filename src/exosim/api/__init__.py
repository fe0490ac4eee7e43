"""Exotel's public REST API as exosim serves it, plus how errors are answered.

``install(app)`` adds every Exotel router, the ``/_exosim/`` control router and the error
handlers that turn any failure on an Exotel path into Exotel's error body.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from exosim.api.render import ExotelError, format_of, rest_exception, v2_error


def error_response(request: Request, error: ExotelError) -> Response:
    """``error`` in the form the path's API uses (v1 XML/JSON, v2 envelope, control JSON)."""
    path = request.url.path
    if path.startswith("/v2/"):
        return v2_error(error, request.method)
    if path.startswith("/v2_beta/"):
        return rest_exception(error, "json")
    if path.startswith("/v1/"):
        return rest_exception(error, format_of(path))
    return JSONResponse({"detail": error.message}, status_code=error.status)


def _is_exotel_path(path: str) -> bool:
    return path.startswith(("/v1/", "/v2/", "/v2_beta/"))


async def _on_exotel_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExotelError)
    return error_response(request, exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _is_exotel_path(request.url.path):
        message = "Resource not found" if exc.status_code == 404 else str(exc.detail)
        return error_response(request, ExotelError(exc.status_code, message))
    return await http_exception_handler(request, exc)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_exotel_path(request.url.path):
        return error_response(request, ExotelError(400, "Invalid request"))
    return await request_validation_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Add the Exotel routers, the control API and the error handlers to ``app``."""
    from exosim.api import calls, numbers, sms, whatsapp
    from exosim.control import router as control_router

    app.add_exception_handler(ExotelError, _on_exotel_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    for module in (calls, sms, whatsapp, numbers):
        app.include_router(module.router)
    app.include_router(control_router)
