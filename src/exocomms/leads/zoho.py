"""Zoho CRM adapter of the CRM port (REST API v2, OAuth 2.0 refresh-token flow).

* Token: ``POST {accounts}/oauth/v2/token`` (form: ``grant_type=refresh_token``,
  ``client_id``, ``client_secret``, ``refresh_token``) → ``{"access_token", "expires_in"}``.
  Zoho also answers some failures with ``200 {"error": "invalid_client"}``. The token is kept
  until a minute before it expires; a ``401`` (``INVALID_TOKEN``) refreshes it once and
  repeats the request.
* Upsert: ``POST {api}/crm/v2/Leads/upsert`` ``{"data": [{Last_Name, First_Name, Phone,
  Email, Lead_Source}], "duplicate_check_fields": ["Phone"]}`` → ``data[0].details.id``.
* Note: ``POST {api}/crm/v2/Leads/{id}/Notes`` ``{"data": [{Note_Title, Note_Content}]}``.
* Header ``Authorization: Zoho-oauthtoken <token>``. Domains are per region (India:
  ``accounts.zoho.in`` / ``www.zohoapis.in``; ``.com``, ``.eu``, ``.com.au``…), configurable.

Errors map onto :mod:`exocomms.errors`: refused credentials → ``ProviderAuthError``; ``429`` →
``RateLimited``; ``5xx``, timeouts, connection errors → ``ProviderUnavailable``; other ``4xx``
and per-record errors → ``InvalidRequest``. Secrets never reach logs or error messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from exocomms.clock import Clock
from exocomms.errors import (
    InvalidRequest,
    ProviderAuthError,
    ProviderUnavailable,
    RateLimited,
)
from exocomms.leads.model import NewLead
from exocomms.logging import get_logger

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

log = get_logger(__name__)

TOKEN_MARGIN = timedelta(seconds=60)  # refresh this long before Zoho's expiry
DEFAULT_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class ZohoCredentials:
    """The OAuth client and the long-lived refresh token."""

    client_id: str
    client_secret: str
    refresh_token: str


CredentialsLoader = Callable[[], Awaitable[ZohoCredentials]]


def credentials_loader(runtime: Runtime) -> CredentialsLoader:
    """Credentials stored with ``PUT /config/credentials/zoho…`` (encrypted), each falling
    back to ``EXOCOMMS_ZOHO_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_REFRESH_TOKEN``."""

    async def load() -> ZohoCredentials:
        from exocomms.config.credentials import get_credential  # here: config imports a lot

        settings = runtime.settings
        stored = {
            name: await get_credential(runtime, name)
            for name in ("zohoClientId", "zohoClientSecret", "zohoRefreshToken")
        }
        return ZohoCredentials(
            client_id=stored["zohoClientId"] or settings.zoho_client_id,
            client_secret=stored["zohoClientSecret"]
            or settings.zoho_client_secret.get_secret_value(),
            refresh_token=stored["zohoRefreshToken"]
            or settings.zoho_refresh_token.get_secret_value(),
        )

    return load


def static_credentials(credentials: ZohoCredentials) -> CredentialsLoader:
    """A loader that always returns ``credentials`` (tests, scripts)."""

    async def load() -> ZohoCredentials:
        return credentials

    return load


class ZohoCrm:
    """The Zoho CRM adapter (one per process: it caches the access token)."""

    name = "zoho"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        accounts_url: str,
        api_url: str,
        credentials: CredentialsLoader,
        clock: Clock,
        timeout: float = 10.0,
    ) -> None:
        self._http = http
        self._accounts = accounts_url.rstrip("/")
        self._api = api_url.rstrip("/")
        self._credentials = credentials
        self._clock = clock
        self._timeout = timeout
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def upsert_lead(self, lead: NewLead) -> str:
        """Create or update the lead, matched on ``Phone``; returns its Zoho id."""
        record: dict[str, Any] = {
            "Last_Name": lead.last_name,
            "Phone": lead.phone,
            "Lead_Source": lead.source,
        }
        if lead.first_name:
            record["First_Name"] = lead.first_name
        if lead.email:
            record["Email"] = lead.email
        body = {"data": [record], "duplicate_check_fields": ["Phone"]}
        return _record_id(await self._call("/crm/v2/Leads/upsert", body))

    async def add_note(self, crm_id: str, title: str, body: str) -> None:
        """Attach a note to the lead ``crm_id``."""
        if not crm_id.isalnum():
            raise InvalidRequest("bad Zoho record id")
        note = {"data": [{"Note_Title": title[:120], "Note_Content": body[:30_000]}]}
        _record_id(await self._call(f"/crm/v2/Leads/{crm_id}/Notes", note))

    # ------------------------------------------------------------ transport

    async def _call(self, path: str, body: dict[str, Any]) -> Any:
        token = await self._access_token()
        response = await self._post_api(path, body, token)
        if response.status_code == 401:
            # Revoked or expired early: refresh once; a second 401 means our grant is bad.
            token = await self._access_token(stale=token)
            response = await self._post_api(path, body, token)
            if response.status_code == 401:
                raise ProviderAuthError(f"Zoho refused the access token: {_code(response)}")
        _raise_for(response)
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable("Zoho answered with something that is not JSON") from exc

    async def _post_api(self, path: str, body: dict[str, Any], token: str) -> httpx.Response:
        try:
            return await self._http.post(
                self._api + path,
                json=body,
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Zoho API unreachable: {type(exc).__name__}") from exc

    async def _access_token(self, stale: str | None = None) -> str:
        """A valid access token; ``stale`` is one Zoho just refused (forces a refresh)."""
        async with self._lock:
            now = self._clock.now()
            fresh = self._token is not None and self._token != stale
            if fresh and self._expires_at is not None and now < self._expires_at:
                assert self._token is not None
                return self._token
            self._token, self._expires_at = await self._refresh(now)
            return self._token

    async def _refresh(self, now: datetime) -> tuple[str, datetime]:
        creds = await self._credentials()
        if not (creds.client_id and creds.client_secret and creds.refresh_token):
            raise ProviderAuthError("Zoho credentials are not configured")
        try:
            response = await self._http.post(
                self._accounts + "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                    "refresh_token": creds.refresh_token,
                },
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"Zoho accounts unreachable: {type(exc).__name__}") from exc
        if response.status_code in (400, 401, 403):
            raise ProviderAuthError(f"Zoho refused the refresh token: {_code(response)}")
        _raise_for(response)
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderUnavailable("Zoho accounts answered with something not JSON") from exc
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            error = data.get("error") if isinstance(data, dict) else None
            raise ProviderAuthError(f"Zoho refused the refresh token: {str(error)[:80]}")
        expires_in = data.get("expires_in", 3600)
        seconds = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        log.info("zoho.token_refreshed", expires_in=seconds)
        return token, now + max(timedelta(seconds=seconds) - TOKEN_MARGIN, timedelta(seconds=1))


def _code(response: httpx.Response) -> str:
    """Zoho's error code (``INVALID_TOKEN``…) or the HTTP status, for messages."""
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(data, dict):
        code = data.get("code") or data.get("error")
        if isinstance(code, str):
            return code[:80]
    return f"HTTP {response.status_code}"


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status == 429:
        header = response.headers.get("retry-after", "")
        retry_after = float(header) if header.isdigit() else DEFAULT_RETRY_AFTER
        raise RateLimited("Zoho rate limit", retry_after=retry_after)
    if status >= 500:
        raise ProviderUnavailable(f"Zoho error {status}: {_code(response)}")
    if status in (401, 403):
        raise ProviderAuthError(f"Zoho refused the request: {_code(response)}")
    raise InvalidRequest(f"Zoho rejected the request: {_code(response)}")


def _record_id(payload: Any) -> str:
    """``data[0].details.id`` of a write response (a per-record error → ``InvalidRequest``)."""
    items = payload.get("data") if isinstance(payload, dict) else None
    first = items[0] if isinstance(items, list) and items else None
    if not isinstance(first, dict):
        raise InvalidRequest("Zoho answered without a record")
    if str(first.get("status", "")).lower() == "error":
        raise InvalidRequest(f"Zoho rejected the record: {str(first.get('code'))[:80]}")
    details = first.get("details")
    record_id = details.get("id") if isinstance(details, dict) else None
    if not isinstance(record_id, str | int) or not str(record_id):
        raise InvalidRequest("Zoho answered without a record id")
    return str(record_id)
