"""Per-request context: request id, one access log line, metrics, and the last-resort 500.

A plain ASGI middleware (not ``BaseHTTPMiddleware``) so it adds no task hop and streams
responses untouched. For each HTTP request it:

- takes ``X-Request-ID`` when it is sane (1-128 of ``[A-Za-z0-9._:-]``), else generates one,
  binds it to every log line of the request and echoes it in the response header;
- logs ``request`` with method, path, route, status and duration;
- counts it in the app's metrics by route *template* (``/outbox/messages/{message_id}``), so a
  scan of random URLs cannot blow up the label set;
- turns any exception that escaped the routes into 500 ``internal_error`` with the request id,
  logged with its traceback (never sent to the client).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exocomms.logging import get_logger
from exocomms.web.errors import error_response
from exocomms.web.metrics import AppMetrics

REQUEST_ID_HEADER = "x-request-id"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_UNMATCHED_ROUTE = "<unmatched>"
# Probes and scrapes would drown the log at INFO.
_QUIET_PATHS = frozenset({"/health", "/metrics"})

log = get_logger("exocomms.web.access")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's request id if it is sane, else a fresh one."""
    for name, value in headers:
        if name.lower() == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1").strip()
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED_ROUTE


class RequestContextMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, metrics: AppMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = request_id
        method: str = scope.get("method", "GET")
        path: str = scope.get("path", "")
        status_code = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:  # the last resort: log it, answer 500, keep serving
                log.exception("request.unhandled_error", method=method, path=path)
                status_code = 500
                if response_started:
                    raise  # too late for an error body; the server closes the connection
                response = error_response(
                    500,
                    "internal_error",
                    "internal error; quote the request id when reporting it",
                    {"requestId": request_id},
                )
                await response(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = _route_template(scope)
                if self.metrics is not None:
                    self.metrics.observe_request(method, route, status_code, elapsed)
                fields: dict[str, Any] = {
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                }
                if path in _QUIET_PATHS and status_code < 400:
                    log.debug("request", **fields)
                else:
                    log.info("request", **fields)
