"""A local fake of the Zoho endpoints the CRM adapter uses (accounts OAuth + CRM v2 Leads).

Serve :attr:`ZohoFake.app` with ``serve_in_thread`` (or an ``httpx.ASGITransport``) and point
both ``zoho_accounts_url`` and ``zoho_api_url`` at it. It checks what Zoho checks (the refresh
token, client credentials, ``Zoho-oauthtoken`` header, token expiry on its own clock), answers
in Zoho's documented shapes, can be told to fail (``fail_next``), and records every request.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

CLIENT_ID = "1000.FAKECLIENTID"
CLIENT_SECRET = "fake-client-secret-not-real"
REFRESH_TOKEN = "1000.fake-refresh-token-not-real"


@dataclass
class ZohoFake:
    """State of the fake: tokens, leads, notes, queued failures, received requests."""

    expires_in: int = 3600
    tokens: dict[str, float] = field(default_factory=dict)  # access token → expiry (monotonic)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → record
    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    failures: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    app: FastAPI = field(init=False)

    def __post_init__(self) -> None:
        self.app = self._build()

    def fail_next(self, path_part: str, status: int, body: dict[str, Any] | None = None) -> None:
        """The next request whose path contains ``path_part`` gets ``status`` and ``body``."""
        self.failures.append((path_part, status, body or {"code": "FORCED", "status": "error"}))

    def revoke_tokens(self) -> None:
        """Every access token issued so far becomes invalid (as if it expired early)."""
        self.tokens.clear()

    def token_requests(self) -> int:
        """How many times a token was asked for."""
        return sum(1 for _, path in self.requests if path == "/oauth/v2/token")

    def _forced(self, path: str) -> JSONResponse | None:
        for index, (part, status, body) in enumerate(self.failures):
            if part in path:
                del self.failures[index]
                return JSONResponse(body, status_code=status)
        return None

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self.tokens.get(token)
        return scheme == "Zoho-oauthtoken" and expiry is not None and time.monotonic() < expiry

    def _build(self) -> FastAPI:
        app = FastAPI()
        invalid_token = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token"}

        @app.post("/oauth/v2/token")
        async def token(request: Request) -> JSONResponse:
            self.requests.append(("POST", request.url.path))
            if forced := self._forced(request.url.path):
                return forced
            form = await request.form()
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != (
                REFRESH_TOKEN
            ):
                return JSONResponse({"error": "invalid_code"})  # Zoho answers 200 here
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return JSONResponse({"error": "invalid_client"})
            access = f"1000.{secrets.token_hex(16)}"
            self.tokens[access] = time.monotonic() + self.expires_in
            return JSONResponse(
                {
                    "access_token": access,
                    "api_domain": str(request.base_url).rstrip("/"),
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                }
            )

        @app.post("/crm/v2/Leads/upsert")
        async def upsert(request: Request) -> JSONResponse:
            self.requests.append(("POST", request.url.path))
            if forced := self._forced(request.url.path):
                return forced
            if not self._authorised(request):
                return JSONResponse(invalid_token, status_code=401)
            body = await request.json()
            record = body["data"][0]
            if not record.get("Last_Name"):
                return JSONResponse(
                    {"data": [{"code": "MANDATORY_NOT_FOUND", "status": "error", "details": {}}]},
                    status_code=400,
                )
            match = body.get("duplicate_check_fields", [])
            for lead_id, existing in self.leads.items():
                if match and all(existing.get(f) == record.get(f) for f in match):
                    existing.update(record)
                    return JSONResponse(_written(lead_id, "update", "record updated"))
            lead_id = str(5_000_000_000_000 + len(self.leads) + 1)
            self.leads[lead_id] = dict(record)
            return JSONResponse(_written(lead_id, "insert", "record added"), status_code=201)

        @app.post("/crm/v2/Leads/{lead_id}/Notes")
        async def add_note(lead_id: str, request: Request) -> JSONResponse:
            self.requests.append(("POST", request.url.path))
            if forced := self._forced(request.url.path):
                return forced
            if not self._authorised(request):
                return JSONResponse(invalid_token, status_code=401)
            if lead_id not in self.leads:
                return JSONResponse(
                    {"data": [{"code": "INVALID_DATA", "status": "error", "details": {}}]},
                    status_code=400,
                )
            note = (await request.json())["data"][0]
            self.notes.append({"lead_id": lead_id, **note})
            return JSONResponse(_written(str(len(self.notes)), None, "record added"), 201)

        return app


def _written(record_id: str, action: str | None, message: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": "SUCCESS",
        "details": {"id": record_id, "Created_Time": "2026-11-21T10:00:00+05:30"},
        "message": message,
        "status": "success",
    }
    if action is not None:
        item["action"] = action
    return {"data": [item]}
