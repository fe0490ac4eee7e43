"""API keys with scopes: the 401/403 matrix, creation shown once, revocation, open dev mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import api_keys, config_audit
from exocomms.web.app import create_app

ADMIN = "admin-key-for-auth-tests-0123456"
SECRET_KEYS = SecretStr(Fernet.generate_key().decode())


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "admin_api_key": SecretStr(ADMIN),
        "secret_keys": SECRET_KEYS,
        "embedded_worker": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(settings(), migrate_on_start=False, configure_logs=False)


@pytest.fixture
async def runtime(db: Database) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings(), clock=ManualClock(), db=db)
    yield rt
    await rt.http.aclose()


def client(app: FastAPI, rt: Runtime) -> httpx.AsyncClient:
    app.state.runtime, app.state.settings = rt, rt.settings
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def key_header(key: str | None) -> dict[str, str]:
    return {"X-API-Key": key} if key else {}


async def create(c: httpx.AsyncClient, name: str, *scopes: str) -> dict[str, Any]:
    response = await c.post(
        "/auth/keys", json={"name": name, "scopes": list(scopes)}, headers=key_header(ADMIN)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_created_key_is_shown_once_and_stored_hashed(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        created = await create(c, "jupiter", "integration")
        listed = await c.get("/auth/keys", headers=key_header(ADMIN))
        me = await c.get("/auth/me", headers={"Authorization": f"Bearer {created['key']}"})
    key = created["key"]
    assert key.startswith("exo_")
    assert len(key) >= 50
    assert created["scopes"] == ["integration"]
    assert created["createdBy"] == "admin"
    assert key.startswith(created["prefix"])
    assert key not in listed.text
    assert listed.json()["items"] == [{k: v for k, v in created.items() if k != "key"}]
    async with runtime.db.transaction() as session:
        row = (await session.execute(select(api_keys))).one()
        audit = (await session.execute(select(config_audit))).one()
    assert key not in (row.hash, row.prefix)
    assert len(row.hash) == 64
    assert audit.section == "api_keys"
    assert audit.after == {"id": row.id, "name": "jupiter", "scopes": ["integration"]}
    assert me.json() == {"name": "jupiter", "keyId": row.id, "scopes": ["integration"]}


async def test_scope_matrix(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        reader = (await create(c, "dashboard", "read-only"))["key"]
        integration = (await create(c, "jupiter", "integration"))["key"]
        admin_key = (await create(c, "ops", "admin"))["key"]
        forged = reader[:-4] + ("aaaa" if not reader.endswith("aaaa") else "bbbb")
        cases = {
            # key: (GET /config, PUT /config/features/cqa, POST /auth/keys)
            None: (401, 401, 401),
            "not-a-key": (401, 401, 401),
            forged: (401, 401, 401),
            reader: (200, 403, 403),
            integration: (200, 403, 403),
            admin_key: (200, 200, 201),
            ADMIN: (200, 200, 201),
        }
        for key, expected in cases.items():
            got = (
                (await c.get("/config", headers=key_header(key))).status_code,
                (
                    await c.put(
                        "/config/features/cqa", json={"enabled": True}, headers=key_header(key)
                    )
                ).status_code,
                (
                    await c.post(
                        "/auth/keys",
                        json={"name": "x", "scopes": ["read-only"]},
                        headers=key_header(key),
                    )
                ).status_code,
            )
            assert got == expected, (key, got)
        denied = await c.put(
            "/config/features/cqa", json={"enabled": True}, headers=key_header(reader)
        )
        missing = await c.get("/config")
    assert denied.json()["error"]["code"] == "forbidden"
    assert denied.json()["error"]["details"] == {"required": "admin", "scopes": ["read-only"]}
    assert missing.json()["error"]["code"] == "unauthorized"


async def test_revoked_key_stops_working_at_once(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        created = await create(c, "temp", "read-only")
        before = await c.get("/config", headers=key_header(created["key"]))
        revoked = await c.delete(f"/auth/keys/{created['id']}", headers=key_header(ADMIN))
        after = await c.get("/config", headers=key_header(created["key"]))
        again = await c.delete(f"/auth/keys/{created['id']}", headers=key_header(ADMIN))
        unknown = await c.delete("/auth/keys/999", headers=key_header(ADMIN))
        active = await c.get(
            "/auth/keys", params={"includeRevoked": "false"}, headers=key_header(ADMIN)
        )
    assert before.status_code == 200
    assert revoked.status_code == again.status_code == 204
    assert after.status_code == 401
    assert unknown.status_code == 404
    assert active.json()["items"] == []


async def test_audit_actor_is_the_keys_name(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        created = await create(c, "ops-laptop", "admin")
        await c.put(
            "/config/general",
            json={"defaultLanguage": "en"},
            headers={"Authorization": f"Bearer {created['key']}"},
        )
        audit = await c.get(
            "/config/audit", params={"section": "general"}, headers=key_header(ADMIN)
        )
    assert audit.json()["items"][0]["actor"] == f"api:{created['id']}:ops-laptop"


async def test_last_used_is_recorded(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        created = await create(c, "dashboard", "read-only")
        await c.get("/templates", headers=key_header(created["key"]))
    async with runtime.db.transaction() as session:
        used = await session.scalar(select(api_keys.c.last_used_at))
    assert used == runtime.clock.now()


async def test_bad_key_requests_are_422(app: FastAPI, runtime: Runtime) -> None:
    bodies: list[Any] = [
        {"name": "", "scopes": ["admin"]},
        {"name": "   ", "scopes": ["admin"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["superuser"]},
        {"name": "x", "scopes": ["admin"], "key": "exo_chosen"},
        ["admin"],
    ]
    async with client(app, runtime) as c:
        for body in bodies:
            response = await c.post("/auth/keys", json=body, headers=key_header(ADMIN))
            assert response.status_code == 422, body
    async with runtime.db.transaction() as session:
        assert (await session.execute(select(api_keys))).all() == []


async def test_development_without_admin_key_is_open_but_checks_sent_keys(db: Database) -> None:
    rt = build_runtime(settings(admin_api_key=None), clock=ManualClock(), db=db)
    dev_app = create_app(rt.settings, runtime=rt, migrate_on_start=False, configure_logs=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=dev_app), base_url="http://t"
        ) as c:
            open_read = await c.get("/config/features")
            open_write = await c.put("/config/features/cqa", json={"enabled": False})
            wrong = await c.get("/config", headers=key_header("exo_wrong"))
            audit = await c.get("/config/audit")
    finally:
        await rt.http.aclose()
    assert open_read.status_code == open_write.status_code == 200
    assert wrong.status_code == 401
    assert audit.json()["items"][0]["actor"] == "anonymous"
