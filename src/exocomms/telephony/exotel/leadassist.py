"""Typed async client for Exotel Lead Assist (ExoBridge): GreenVN and GreenPin allocations.

Host ``https://leadassist.exotel.in/v1/tenants/<tenant_id>/…``, HTTP Basic with the account
SID and the ExoBridge token (EXOTEL.md §5). Requests use the DOC-OLD field names
(``aparty_numbers``, ``bparty_numbers``, ``usage``…); responses are read in either shape the
docs show (``{"response": {...}}`` or a flat object) and either id spelling.

Errors map onto ``exocomms.errors`` like :mod:`exocomms.telephony.exotel.client`: 401/403 →
``ProviderAuthError``, 429 → ``RateLimited``, other 4xx → ``InvalidRequest``, 5xx/timeouts/
connection errors → ``ProviderUnavailable``. Only reads are retried; deletes treat 404 as done.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from exocomms.errors import (
    InvalidRequest,
    ProviderError,
    ProviderUnavailable,
)
from exocomms.telephony.exotel.http_errors import status_error

DEFAULT_BASE_URL = "https://leadassist.exotel.in"
GREENPIN_MIN_SECONDS = 5 * 60  # allocations last 5 minutes …
GREENPIN_MAX_SECONDS = 170 * 86_400  # … to 170 days (EXOTEL.md §5)
Usage = Literal["oneway", "twoway"]


@dataclass(frozen=True)
class GreenVN:
    """A GreenVN allocation: ``virtual_number`` joins the A parties to the B parties."""

    id: str
    virtual_number: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class GreenPin:
    """A GreenPin allocation: callers dial ``virtual_number`` and enter ``pin``."""

    id: str
    virtual_number: str
    pin: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


class LeadAssistClient:
    """GreenVN/GreenPin allocation API of one Lead Assist tenant.

    Args:
        tenant_id: The Lead Assist tenant.
        account_sid: Basic-auth user.
        token: The ExoBridge token (Basic-auth password).
        base_url: ``https://leadassist.exotel.in`` or exosim's URL.
        timeout: Seconds for every request.
        transport: An httpx transport (tests); ignored when ``http`` is given.
        http: A shared client to use (not closed by :meth:`aclose`).
        read_retries: Extra attempts for GETs on 429/5xx/timeouts.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        account_sid: str,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
        read_retries: int = 2,
    ) -> None:
        if not tenant_id:
            raise ValueError("a Lead Assist tenant id is required")
        self._prefix = f"{base_url.rstrip('/')}/v1/tenants/{tenant_id}"
        self._auth = httpx.BasicAuth(account_sid, token)
        self._timeout = timeout
        self._owned = http is None
        self._http = http or httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._read_retries = read_retries

    async def aclose(self) -> None:
        """Close the connection pool (when this client created it)."""
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> LeadAssistClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- GreenVN ---------------------------------------------------------------------------
    async def create_greenvn(
        self,
        *,
        connection_id: str,
        aparty_numbers: Sequence[str],
        bparty_numbers: Sequence[str],
        usage: Usage = "twoway",
        aparty_pins: Sequence[int] | None = None,
        bparty_pins: Sequence[int] | None = None,
        strictness: bool | None = None,
        duration: int | None = None,
    ) -> GreenVN:
        """Allocate a virtual number joining the A parties and the B parties (no PIN)."""
        body = _parties(connection_id, aparty_numbers, bparty_numbers, aparty_pins, bparty_pins)
        body["usage"] = usage
        if strictness is not None:
            body["strictness"] = strictness
        if duration is not None:
            body["duration"] = duration
        return _greenvn(await self._call("POST", "/greenvn", json=body))

    async def get_greenvn(self, greenvn_id: str) -> GreenVN:
        """One GreenVN allocation."""
        return _greenvn(await self._call("GET", f"/greenvn/{greenvn_id}"))

    async def delete_greenvn(self, greenvn_id: str) -> bool:
        """Release an allocation; False when it was already gone (404)."""
        return await self._delete(f"/greenvn/{greenvn_id}")

    async def update_call_party(
        self,
        greenvn_id: str,
        *,
        aparty_numbers: Sequence[str] | None = None,
        bparty_numbers: Sequence[str] | None = None,
    ) -> GreenVN:
        """Replace the A and/or B parties of an allocation."""
        body: dict[str, Any] = {}
        if aparty_numbers is not None:
            body["aparty_numbers"] = list(aparty_numbers)
        if bparty_numbers is not None:
            body["bparty_numbers"] = list(bparty_numbers)
        answer = await self._call("PUT", f"/greenvn/{greenvn_id}/call-party", json=body)
        return _greenvn(answer)

    async def change_vn(self, greenvn_id: str, *, virtual_number: str | None = None) -> GreenVN:
        """Move an allocation to another virtual number (any free one when None)."""
        body = {} if virtual_number is None else {"virtual_number": virtual_number}
        return _greenvn(await self._call("PUT", f"/greenvn/{greenvn_id}/vn", json=body))

    # -- GreenPin --------------------------------------------------------------------------
    async def create_greenpin(
        self,
        *,
        connection_id: str,
        aparty_numbers: Sequence[str],
        bparty_numbers: Sequence[str],
        aparty_pins: Sequence[int] | None = None,
        bparty_pins: Sequence[int] | None = None,
        duration: int | None = None,
    ) -> GreenPin:
        """Allocate a PIN mapping; ``duration`` seconds must be 5 minutes to 170 days."""
        body = _parties(connection_id, aparty_numbers, bparty_numbers, aparty_pins, bparty_pins)
        if duration is not None:
            _check_duration(duration)
            body["duration"] = duration
        return _greenpin(await self._call("POST", "/greenpin", json=body))

    async def get_greenpin(self, greenpin_id: str) -> GreenPin:
        """One GreenPin allocation."""
        return _greenpin(await self._call("GET", f"/greenpin/{greenpin_id}"))

    async def update_greenpin(self, greenpin_id: str, **fields: Any) -> GreenPin:
        """Change fields of an allocation (``aparty_numbers``, ``duration``…)."""
        if "duration" in fields:
            _check_duration(int(fields["duration"]))
        return _greenpin(await self._call("PUT", f"/greenpin/{greenpin_id}", json=fields))

    async def delete_greenpin(self, greenpin_id: str) -> bool:
        """Release an allocation; False when it was already gone (404)."""
        return await self._delete(f"/greenpin/{greenpin_id}")

    # -- transport -------------------------------------------------------------------------
    async def _delete(self, path: str) -> bool:
        try:
            await self._call("DELETE", path)
        except InvalidRequest as exc:
            if isinstance(exc.details, dict) and exc.details.get("status") == 404:
                return False
            raise
        return True

    async def _call(self, method: str, path: str, *, json: Any = None) -> Any:
        safe = method == "GET"
        attempts = 1 + (self._read_retries if safe else 0)
        for attempt in range(1, attempts + 1):
            try:
                response = await self._http.request(
                    method, self._prefix + path, json=json, auth=self._auth, timeout=self._timeout
                )
            except httpx.TimeoutException as exc:
                if attempt < attempts:
                    await _pause(attempt)
                    continue
                raise ProviderUnavailable(f"Lead Assist timed out: {exc}") from exc
            except httpx.HTTPError as exc:
                if attempt < attempts:
                    await _pause(attempt)
                    continue
                raise ProviderUnavailable(f"cannot reach Lead Assist: {exc}") from exc
            if attempt < attempts and (response.status_code == 429 or response.status_code >= 500):
                await _pause(attempt)
                continue
            return _answer(response)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _parties(
    connection_id: str,
    aparty: Sequence[str],
    bparty: Sequence[str],
    apins: Sequence[int] | None,
    bpins: Sequence[int] | None,
) -> dict[str, Any]:
    if not aparty or not bparty:
        raise InvalidRequest("aparty_numbers and bparty_numbers must not be empty")
    body: dict[str, Any] = {
        "connection_id": connection_id,
        "aparty_numbers": list(aparty),
        "bparty_numbers": list(bparty),
    }
    if apins is not None:
        body["aparty_pins"] = [int(p) for p in apins]
    if bpins is not None:
        body["bparty_pins"] = [int(p) for p in bpins]
    return body


def _check_duration(seconds: int) -> None:
    if not GREENPIN_MIN_SECONDS <= seconds <= GREENPIN_MAX_SECONDS:
        raise InvalidRequest(
            f"duration must be {GREENPIN_MIN_SECONDS}..{GREENPIN_MAX_SECONDS} seconds"
        )


def _record(answer: Any) -> dict[str, Any]:
    """The allocation object inside ``{"response": {...}}``, ``{"response": {"data": …}}``…"""
    record = answer
    for key in ("response", "data"):
        if isinstance(record, Mapping) and isinstance(record.get(key), Mapping):
            record = record[key]
    if not isinstance(record, Mapping):
        raise ProviderError("unexpected Lead Assist response shape", details=answer)
    return dict(record)


def _first(record: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _greenvn(answer: Any) -> GreenVN:
    record = _record(answer)
    ident = _first(record, "greenvn_id", "id")
    number = _first(record, "virtual_number", "greenvn", "vn")
    if ident is None or number is None:
        raise ProviderError("Lead Assist answer lacks greenvn_id/virtual_number", details=answer)
    return GreenVN(ident, number, record)


def _greenpin(answer: Any) -> GreenPin:
    record = _record(answer)
    ident = _first(record, "greenpin_id", "id")
    number = _first(record, "virtual_number", "vn")
    if ident is None or number is None:
        raise ProviderError("Lead Assist answer lacks greenpin_id/virtual_number", details=answer)
    return GreenPin(ident, number, _first(record, "pin", "greenpin"), record)


def _message(body: Any) -> str | None:
    if not isinstance(body, Mapping):
        return None
    for candidate in (
        body.get("message"),
        body.get("error"),
        (body.get("response") or {}).get("error_data", {}).get("message")
        if isinstance(body.get("response"), Mapping)
        else None,
        (body.get("RestException") or {}).get("Message")
        if isinstance(body.get("RestException"), Mapping)
        else None,
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _answer(response: httpx.Response) -> Any:
    status = response.status_code
    try:
        body: Any = response.json() if response.content else {}
    except ValueError:
        body = None
    if 200 <= status < 300:
        if body is None:
            raise ProviderError(f"Lead Assist answered {status} without JSON")
        return body
    message = _message(body) or response.reason_phrase or f"HTTP {status}"
    details = {"status": status, "body": body if body is not None else response.text[:500]}
    raise status_error("Lead Assist", status, message, details, retry_after=60.0)


async def _pause(attempt: int) -> None:
    await asyncio.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2))
