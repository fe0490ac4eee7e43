"""A local fake of Google's OAuth token endpoint and FCM HTTP v1 ``messages:send``.

Serve :attr:`FcmFake.app` (``httpx.ASGITransport`` or ``serve_in_thread``). The token endpoint
checks what Google checks: the JWT bearer grant, an RS256 signature by the service account's
key (verified with the public key of a test key made by :func:`make_service_account`), the
claims (iss, scope, aud = the token URI, a lifetime of at most an hour). ``messages:send``
wants a bearer token it issued, validates the message shape, records it, and can be told to
answer 401 / 404 ``UNREGISTERED`` / 429 / 503 in FCM's documented error shape.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

PROJECT = "exocomms-test"
CLIENT_EMAIL = "exocomms-push@exocomms-test.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_STATUS_NAME = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}
_FCM_CODE = {401: "THIRD_PARTY_AUTH_ERROR", 429: "QUOTA_EXCEEDED", 503: "UNAVAILABLE"}


def make_service_account(token_uri: str) -> tuple[dict[str, Any], rsa.RSAPublicKey]:
    """A service-account key JSON (fresh test RSA key) and its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    account = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "token_uri": token_uri,
    }
    return account, key.public_key()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(jwt: str, public_key: rsa.RSAPublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` of an RS256 JWT whose signature ``public_key`` verifies.

    Raises:
        ValueError: malformed, or the signature does not verify.
    """
    parts = jwt.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    try:
        public_key.verify(
            _unb64(parts[2]),
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise ValueError("bad signature") from None
    return json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))


def fcm_error(status: int, code: str | None = None, message: str = "") -> dict[str, Any]:
    """An FCM v1 error body (``{"error": {code, message, status, details}}``)."""
    error: dict[str, Any] = {
        "code": status,
        "message": message or f"forced {status}",
        "status": _STATUS_NAME.get(status, "UNKNOWN"),
    }
    fcm_code = code or _FCM_CODE.get(status)
    if fcm_code:
        error["details"] = [{"@type": FCM_ERROR, "errorCode": fcm_code}]
    return {"error": error}


@dataclass
class FcmFake:
    """State of the fake: issued tokens, received messages, queued failures."""

    public_key: rsa.RSAPublicKey
    token_uri: str  # the aud a JWT must name
    expires_in: int = 3600
    tokens: set[str] = field(default_factory=set)
    assertions: list[dict[str, Any]] = field(default_factory=list)  # verified JWT claims
    messages: list[dict[str, Any]] = field(default_factory=list)  # bodies of accepted sends
    unregistered: set[str] = field(default_factory=set)  # device tokens FCM no longer knows
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    send_requests: int = 0
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = self._build()

    def fail_next(self, status: int, retry_after: str | None = None) -> None:
        """The next ``messages:send`` gets ``status`` (401, 429, 503…) in FCM's error shape."""
        self.failures.append((status, {"Retry-After": retry_after} if retry_after else {}))

    def revoke_tokens(self) -> None:
        """Every access token issued so far stops working (401 on the next send)."""
        self.tokens.clear()

    def _token_error(self, description: str) -> JSONResponse:
        body = {"error": "invalid_grant", "error_description": description}
        return JSONResponse(body, status_code=400)

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            if form.get("grant_type") != GRANT:
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            try:
                header, claims = decode_jwt(str(form.get("assertion", "")), self.public_key)
            except ValueError as exc:
                return self._token_error(f"Invalid JWT Signature: {exc}")
            lifetime = int(claims.get("exp", 0)) - int(claims.get("iat", 0))
            if (
                header.get("alg") != "RS256"
                or claims.get("iss") != CLIENT_EMAIL
                or claims.get("scope") != SCOPE
                or claims.get("aud") != self.token_uri
                or not 0 < lifetime <= 3600
            ):
                return self._token_error("Invalid JWT claims")
            self.assertions.append(claims)
            access = f"ya29.fake-{secrets.token_hex(12)}"
            self.tokens.add(access)
            body = {"access_token": access, "expires_in": self.expires_in, "token_type": "Bearer"}
            return JSONResponse(body)

        @app.post("/v1/projects/{project}/messages:send")
        async def send(project: str, request: Request) -> JSONResponse:
            self.send_requests += 1
            scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
            if self.failures:
                status, headers = self.failures.pop(0)
                return JSONResponse(fcm_error(status), status_code=status, headers=headers)
            if scheme != "Bearer" or bearer not in self.tokens:
                return JSONResponse(
                    fcm_error(401, message="Request had invalid authentication credentials."),
                    status_code=401,
                )
            if project != PROJECT:
                return JSONResponse(fcm_error(404, message="project not found"), 404)
            body = await request.json()
            message = body.get("message") if isinstance(body, dict) else None
            data = message.get("data", {}) if isinstance(message, dict) else None
            if not isinstance(message, dict) or not isinstance(message.get("token"), str):
                return JSONResponse(fcm_error(400, "INVALID_ARGUMENT"), status_code=400)
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                return JSONResponse(
                    fcm_error(400, message="Invalid value at 'message.data[0].value'"), 400
                )
            if message["token"] in self.unregistered:
                return JSONResponse(
                    fcm_error(404, "UNREGISTERED", "Requested entity was not found."), 404
                )
            self.messages.append(body)
            name = f"projects/{project}/messages/0:{len(self.messages)}%fake"
            return JSONResponse({"name": name})

        return app
