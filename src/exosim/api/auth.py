"""Authentication, API faults and rate limits: what happens before any Exotel handler.

Order per request: an API fault may answer first (it simulates Exotel's edge failing), then
HTTP Basic auth against the ``<sid>`` in the path, then the per-account rate limit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from dataclasses import dataclass

from fastapi import Request

from exosim.api.ratelimit import LimitKind
from exosim.api.render import ExotelError, Fmt, format_of
from exosim.api.state import ApiState, api_state, get_sim
from exosim.model import Account
from exosim.runtime import Sim

TIMEOUT_FAULT_MAX_SECONDS = 30.0  # real seconds a "timeout" fault holds a request at most


@dataclass
class ExotelRequest:
    """An authenticated request: who sent it and how to answer."""

    sim: Sim
    api: ApiState
    account: Account
    fmt: Fmt


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def authenticate(sim: Sim, request: Request, account_sid: str) -> Account:
    """The account in the path, if the Basic credentials belong to it.

    Both the API key and (older docs) the account SID are accepted as the username; the
    password is the API token. Clients that put credentials in the URL send this header too.

    Raises:
        ExotelError: 401 for missing/invalid credentials or a path SID they do not own.
    """
    credentials = _credentials(request)
    if credentials is None:
        raise ExotelError(401, "Authentication required: use HTTP Basic with API key and token")
    user, password = credentials
    account = sim.store.accounts.get(account_sid)
    if account is None:
        raise ExotelError(401, f"Authentication failed for account {account_sid[:64]!r}")
    user_ok = hmac.compare_digest(user.encode(), account.api_key.encode()) or hmac.compare_digest(
        user.encode(), account.sid.encode()
    )
    token_ok = hmac.compare_digest(password.encode(), account.api_token.encode())
    if not (user_ok and token_ok):
        raise ExotelError(401, f"Authentication failed for account {account_sid[:64]!r}")
    return account


async def _apply_fault(request: Request, api: ApiState, endpoint: str) -> None:
    fault = api.sim.store.faults.pick("api", endpoint)
    if fault is None:
        return
    if fault.kind == "5xx":
        status = fault.status_code if 500 <= fault.status_code <= 599 else 500
        raise ExotelError(status, "Service temporarily unavailable (injected fault)")
    if fault.kind == "429":
        raise ExotelError(429, "Too Many Requests (injected fault)")
    if fault.kind == "latency":
        await api.sim.store.clock.sleep(fault.delay_seconds)
        return
    # "timeout": hold the request until the client gives up, the app stops, or the bound.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT_FAULT_MAX_SECONDS
    while loop.time() < deadline and not api.stopping.is_set():
        if await request.is_disconnected():
            break
        await asyncio.sleep(0.05)
    raise ExotelError(504, "Gateway timeout (injected fault)")


async def exotel_request(
    request: Request, account_sid: str, endpoint: str, limit: LimitKind | None
) -> ExotelRequest:
    """Run faults, auth and rate limit for one Exotel-path request.

    Args:
        request: The incoming request.
        account_sid: The ``<sid>`` from the path.
        endpoint: Fault key, e.g. ``"Calls/connect"``, ``"Sms/send"``, ``"messages"``.
        limit: Which per-minute limit the request counts against, if any.

    Raises:
        ExotelError: For faults, failed auth (401) or a hit rate limit (429).
    """
    sim = get_sim(request)
    api = api_state(request)
    await _apply_fault(request, api, endpoint)
    account = authenticate(sim, request, account_sid)
    if limit is not None and not api.limiter.allow(account, limit):
        kind = "Voice" if limit == "voice" else "SMS"
        per_minute = account.voice_per_minute if limit == "voice" else account.sms_per_minute
        raise ExotelError(429, f"Too Many Requests: {kind} APIs allow {per_minute} per minute")
    return ExotelRequest(sim=sim, api=api, account=account, fmt=format_of(request.url.path))
