"""A client of Firebase Cloud Messaging's HTTP v1 API, with service-account OAuth 2.0.

* Access token (JWT bearer grant, RFC 7523): an RS256-signed JWT ``{iss: client_email,
  scope: https://www.googleapis.com/auth/firebase.messaging, aud: token_uri, iat, exp}``
  (``exp - iat`` = 1 h, Google's maximum) is POSTed as
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>`` to the service
  account's ``token_uri``; the answer ``{"access_token", "expires_in", "token_type"}`` is kept
  until :data:`TOKEN_MARGIN` before it expires.
* Send: ``POST {base}/v1/projects/{project}/messages:send`` with ``Authorization: Bearer`` and
  ``{"message": {"token", "notification": {"title", "body"}, "data": {str: str},
  "android": {"priority": "high"}}}`` → ``{"name": "projects/{project}/messages/{id}"}``.

Errors (FCM answers ``{"error": {"code", "message", "status", "details": [{"@type":
"…FcmError", "errorCode"}]}}``) map onto :mod:`exocomms.errors`: ``401`` refreshes the token
once and repeats, then ``ProviderAuthError``; ``403`` (``SENDER_ID_MISMATCH``, permission) →
``ProviderAuthError``; ``404 UNREGISTERED`` and ``400 INVALID_ARGUMENT`` → ``InvalidRequest``
with ``details["fcm_error"]`` the FCM error code (``UNREGISTERED``: the token is dead); ``429`` →
``RateLimited``; ``5xx``, timeouts, connection errors → ``ProviderUnavailable``; both carry
``Retry-After`` when FCM sent one. Device tokens and keys never reach logs or messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from exocomms.clock import Clock
from exocomms.errors import (
    InvalidRequest,
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
JWT_LIFETIME_SECONDS = 3600  # Google refuses assertions valid for longer than an hour
TOKEN_MARGIN = timedelta(seconds=120)  # refresh this long before the access token expires
MAX_DATA_BYTES = 4096  # FCM's payload limit (keys and values)
DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "INVALID_REGISTRATION"})


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a Google service-account key that the JWT bearer grant needs."""

    client_email: str
    private_key_pem: str = field(repr=False)
    token_uri: str = DEFAULT_TOKEN_URI
    private_key_id: str = ""
    project_id: str = ""

    @classmethod
    def from_json(cls, text: str) -> ServiceAccount:
        """Parse a service-account key file's JSON.

        Raises:
            ProviderAuthError: not JSON, or ``client_email``/``private_key`` missing (the
                message never quotes the content).
        """
        try:
            raw = json.loads(text)
        except ValueError:
            raise ProviderAuthError("FCM service account: not valid JSON") from None
        if not isinstance(raw, dict):
            raise ProviderAuthError("FCM service account: expected a JSON object")
        email, key = raw.get("client_email"), raw.get("private_key")
        if not isinstance(email, str) or not email or not isinstance(key, str) or not key:
            raise ProviderAuthError("FCM service account: client_email or private_key missing")
        return cls(
            client_email=email,
            private_key_pem=key,
            token_uri=str(raw.get("token_uri") or DEFAULT_TOKEN_URI),
            private_key_id=str(raw.get("private_key_id") or ""),
            project_id=str(raw.get("project_id") or ""),
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """The RSA private key of a PEM (PKCS#8, as Google issues them).

    Raises:
        ProviderAuthError: not an RSA private key.
    """
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise ProviderAuthError("FCM service account: private_key is not a PEM key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ProviderAuthError("FCM service account: private_key is not an RSA key")
    return key


def signed_assertion(account: ServiceAccount, key: rsa.RSAPrivateKey, now: datetime) -> str:
    """The RS256 JWT asserting ``account`` for the FCM scope, valid from ``now`` for 1 h."""
    header: dict[str, str] = {"alg": "RS256", "typ": "JWT"}
    if account.private_key_id:
        header["kid"] = account.private_key_id
    iat = int(now.timestamp())
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": iat,
        "exp": iat + JWT_LIFETIME_SECONDS,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
        for part in (header, claims)
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def message_body(
    device_token: str, title: str, body: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``messages:send`` request body. ``data`` values become strings (FCM's rule).

    Raises:
        InvalidRequest: the data is larger than FCM accepts.
    """
    values = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in values.items())
    if size > MAX_DATA_BYTES:
        raise InvalidRequest(f"FCM data is {size} bytes (limit {MAX_DATA_BYTES})")
    return {
        "message": {
            "token": device_token,
            "notification": {"title": title, "body": body},
            "data": values,
            "android": {"priority": "high"},
        }
    }


class FcmClient:
    """Sends FCM HTTP v1 messages for one project (one per process: it caches the token).

    Args:
        http: The shared HTTP client.
        project_id: The Firebase project.
        account: The service account that signs the token requests.
        clock: The service clock (JWT times and token expiry).
        base_url: FCM's root (``settings.fcm_base_url``).
        timeout: Seconds per request.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        project_id: str,
        account: ServiceAccount,
        clock: Clock,
        base_url: str = "https://fcm.googleapis.com",
        timeout: float = 10.0,
    ) -> None:
        if not project_id or not all(c.isalnum() or c in "-_." for c in project_id):
            raise ProviderAuthError("FCM project id missing or malformed")
        self._http = http
        self._project = project_id
        self._account = account
        self._key = load_private_key(account.private_key_pem)
        self._clock = clock
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.token_requests = 0  # for tests and metrics

    @property
    def send_url(self) -> str:
        """``{base}/v1/projects/{project}/messages:send``."""
        return f"{self._base}/v1/projects/{self._project}/messages:send"

    async def send(
        self, device_token: str, *, title: str, body: str, data: Mapping[str, Any]
    ) -> str:
        """Send one notification; returns FCM's message name.

        Raises:
            InvalidRequest: refused message (:func:`is_dead_token` tells a dead token).
            ProviderAuthError: credentials refused (after one token refresh).
            RateLimited, ProviderUnavailable: try again later (``retry_after`` when known).
        """
        payload = message_body(device_token, title, body, data)
        for attempt in (1, 2):
            token = await self._access_token(force=attempt == 2)
            response = await self._post(
                self.send_url, json=payload, headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code == 401 and attempt == 1:
                continue  # the token expired early or was revoked: refresh once
            return _message_name(response)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    async def _access_token(self, *, force: bool = False) -> str:
        async with self._lock:  # one refresh at a time; the others reuse its token
            now = self._clock.now()
            if (
                not force
                and self._token is not None
                and self._expires_at is not None
                and now < self._expires_at
            ):
                return self._token
            self._token, self._expires_at = await self._fetch_token(now)
            return self._token

    async def _fetch_token(self, now: datetime) -> tuple[str, datetime]:
        assertion = signed_assertion(self._account, self._key, now)
        self.token_requests += 1
        response = await self._post(
            self._account.token_uri, data={"grant_type": GRANT_TYPE, "assertion": assertion}
        )
        status = response.status_code
        if status == 429:
            raise RateLimited("FCM token endpoint rate limit", retry_after=_retry_after(response))
        if status >= 500:
            raise ProviderUnavailable(
                f"FCM token endpoint error {status}", details=_retry_details(response)
            )
        body = _json(response)
        if status >= 400 or not isinstance(body.get("access_token"), str):
            error = str(body.get("error") or f"HTTP {status}")[:80]
            raise ProviderAuthError(f"FCM token refused: {error}")
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        expires_at = now + timedelta(seconds=max(0.0, expires_in)) - TOKEN_MARGIN
        return str(body["access_token"]), expires_at

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.post(url, timeout=self._timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise ProviderUnavailable("FCM timed out") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"FCM unreachable: {type(exc).__name__}") from exc


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def fcm_error_code(body: Mapping[str, Any]) -> str:
    """The ``errorCode`` of an FCM error body's ``FcmError`` detail, else its ``status``."""
    error = body.get("error")
    if not isinstance(error, dict):
        return ""
    for detail in error.get("details") or ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("FcmError"):
            return str(detail.get("errorCode") or "")
    return str(error.get("status") or "")


def is_dead_token(exc: Exception) -> bool:
    """True when ``exc`` says the device token is no longer registered (remove it)."""
    details = getattr(exc, "details", None)
    return (
        isinstance(exc, InvalidRequest)
        and isinstance(details, dict)
        and details.get("fcm_error") in DEAD_TOKEN_CODES
    )


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def _retry_details(response: httpx.Response) -> dict[str, Any] | None:
    after = _retry_after(response)
    return {"retry_after": after} if after is not None else None


def _message_name(response: httpx.Response) -> str:
    status = response.status_code
    body = _json(response)
    if status < 300:
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ProviderError("FCM answered without a message name")
        return name
    code = fcm_error_code(body) or f"HTTP_{status}"
    error = body.get("error")
    text = str(error.get("message", "")) if isinstance(error, dict) else ""
    if code == "INVALID_ARGUMENT" and "registration token" in text.lower():
        code = "INVALID_REGISTRATION"  # FCM's way of saying this token was never valid
    if status in (401, 403):
        raise ProviderAuthError(f"FCM refused our credentials ({status} {code})")
    if status == 429:
        raise RateLimited(f"FCM rate limit ({code})", retry_after=_retry_after(response))
    if status >= 500:
        raise ProviderUnavailable(f"FCM error {status} ({code})", details=_retry_details(response))
    # 400 INVALID_ARGUMENT, 404 UNREGISTERED and other refusals: not worth repeating as is.
    raise InvalidRequest(f"FCM refused the message ({status} {code})", details={"fcm_error": code})
