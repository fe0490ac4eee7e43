"""Credentials: encrypted at rest, masked on the way out, audited without values, rotated."""

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
from exocomms.config import credentials
from exocomms.config.crypto import SecretUnreadable, key_id, rotate_keys
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import config_audit, stored_secrets
from exocomms.web.app import create_app
from tests.support.db import on_postgres

ADMIN = "admin-key-for-credential-tests-01"
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
TOKEN = "tok_live_5f2d9a7c41b8e6aa"


def runtime_with(db: Database, *keys: str) -> Runtime:
    settings = Settings(
        _env_file=None,
        admin_api_key=SecretStr(ADMIN),
        secret_keys=SecretStr(",".join(keys)),
        embedded_worker=False,
        database_url=db.url,
    )
    return build_runtime(settings, clock=ManualClock(), db=db)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(_env_file=None, secret_keys=SecretStr(OLD))
    return create_app(settings, migrate_on_start=False, configure_logs=False)


@pytest.fixture
async def runtime(db: Database) -> AsyncIterator[Runtime]:
    rt = runtime_with(db, OLD)
    yield rt
    await rt.http.aclose()


def client(app: FastAPI, rt: Runtime, key: str = ADMIN) -> httpx.AsyncClient:
    app.state.runtime, app.state.settings = rt, rt.settings
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://exocomms.test",
        headers={"X-API-Key": key},
    )


async def raw_secrets(db: Database) -> dict[str, Any]:
    async with db.transaction() as session:
        rows = await session.execute(select(stored_secrets))
    return {row.name: row for row in rows}


async def test_stored_encrypted_and_listed_masked(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        put = await c.put("/config/credentials/exotelApiToken", json={"value": TOKEN})
        short = await c.put("/config/credentials/zohoClientId", json={"value": "id-42"})
        listed = await c.get("/config/credentials")
        audit = await c.get("/config/audit", params={"section": "credentials"})
    assert put.status_code == 200
    assert put.json()["hint"] == "••••e6aa"
    assert short.json()["hint"] == "••••"  # too short to show any of it
    stored = await raw_secrets(runtime.db)
    assert TOKEN not in stored["exotelApiToken"].ciphertext
    assert "e6aa" not in stored["exotelApiToken"].ciphertext
    assert stored["exotelApiToken"].key_id == key_id(OLD)
    assert Fernet(OLD.encode()).decrypt(stored["exotelApiToken"].ciphertext.encode()) == (
        TOKEN.encode()
    )
    items = {item["name"]: item for item in listed.json()["items"]}
    assert items["exotelApiToken"]["configured"] is True
    assert items["exotelApiToken"]["hint"] == "••••e6aa"
    assert items["exotelApiToken"]["updatedBy"] == "admin"
    assert items["exotelApiKey"] == {
        **items["exotelApiKey"],
        "configured": False,
        "hint": None,
    }
    for response in (put, short, listed, audit):
        assert TOKEN not in response.text
    entries = audit.json()["items"]
    assert [e["after"] for e in entries] == [
        {"name": "zohoClientId", "configured": True},
        {"name": "exotelApiToken", "configured": True},
    ]
    assert await credentials.get_credential(runtime, "exotelApiToken") == TOKEN


async def test_bad_names_and_values_are_refused(app: FastAPI, runtime: Runtime) -> None:
    async with client(app, runtime) as c:
        unknown = await c.put("/config/credentials/awsRootKey", json={"value": "x" * 20})
        blank = await c.put("/config/credentials/zohoClientSecret", json={"value": "   "})
        control = await c.put("/config/credentials/zohoClientSecret", json={"value": "a\nb"})
        extra = await c.put(
            "/config/credentials/zohoClientSecret", json={"value": "abc", "echo": True}
        )
        missing_delete = await c.delete("/config/credentials/zohoClientSecret")
    assert unknown.status_code == 404
    assert "exotelApiToken" in unknown.json()["error"]["details"]["credentials"]
    assert blank.status_code == control.status_code == extra.status_code == 422
    assert missing_delete.status_code == 404
    assert await raw_secrets(runtime.db) == {}


async def test_delete_forgets_and_audits(app: FastAPI, runtime: Runtime) -> None:
    await credentials.put_credential(runtime, "zohoRefreshToken", "refresh-0123456789", "ops")
    async with client(app, runtime) as c:
        deleted = await c.delete("/config/credentials/zohoRefreshToken")
    assert deleted.status_code == 204
    assert await raw_secrets(runtime.db) == {}
    async with runtime.db.transaction() as session:
        last = (await session.execute(select(config_audit).order_by(config_audit.c.id))).all()[-1]
    assert (last.actor, last.after) == ("admin", {"name": "zohoRefreshToken", "configured": False})


async def test_exotel_credentials_need_both_halves(runtime: Runtime) -> None:
    assert await credentials.exotel_credentials(runtime) is None
    await credentials.put_credential(runtime, "exotelApiKey", "key-abcdefghijkl", "ops")
    assert await credentials.exotel_credentials(runtime) is None
    await credentials.put_credential(runtime, "exotelApiToken", TOKEN, "ops")
    assert await credentials.exotel_credentials(runtime) == ("key-abcdefghijkl", TOKEN)


async def test_rotation_with_two_keys(db: Database) -> None:
    old_only = runtime_with(db, OLD)
    both = runtime_with(db, NEW, OLD)
    new_only = runtime_with(db, NEW)
    try:
        await credentials.put_credential(old_only, "exotelApiKey", "key-abcdefghijkl", "ops")
        await credentials.put_credential(old_only, "exotelApiToken", TOKEN, "ops")
        # Before rotation: the old key still decrypts (the new one is first in the list)…
        assert await credentials.exotel_credentials(both) == ("key-abcdefghijkl", TOKEN)
        listed = {i.name: i for i in await credentials.list_credentials(both)}
        assert listed["exotelApiToken"].needs_rotation is True
        # …and the new key alone cannot.
        with pytest.raises(SecretUnreadable):
            await credentials.exotel_credentials(new_only)
        unreadable = {i.name: i for i in await credentials.list_credentials(new_only)}
        assert unreadable["exotelApiToken"].readable is False
        assert unreadable["exotelApiToken"].hint == "••••"

        assert await rotate_keys(both.settings, db) == 2

        stored = await raw_secrets(db)
        assert {row.key_id for row in stored.values()} == {key_id(NEW)}
        assert await credentials.exotel_credentials(new_only) == ("key-abcdefghijkl", TOKEN)
        with pytest.raises(SecretUnreadable):
            await credentials.exotel_credentials(old_only)
        listed = {i.name: i for i in await credentials.list_credentials(new_only)}
        assert listed["exotelApiToken"].needs_rotation is False
        # Idempotent; and the CLI's way, which opens the configured database itself.
        again = await (
            rotate_keys(new_only.settings, db) if on_postgres() else rotate_keys(new_only.settings)
        )
        assert again == 2
    finally:
        for rt in (old_only, both, new_only):
            await rt.http.aclose()


async def test_rotation_without_the_old_key_changes_nothing(db: Database) -> None:
    old_only = runtime_with(db, OLD)
    wrong = runtime_with(db, NEW)
    try:
        await credentials.put_credential(old_only, "zohoClientSecret", "zoho-secret-value", "ops")
        before = await raw_secrets(db)
        with pytest.raises(SecretUnreadable, match="zohoClientSecret"):
            await rotate_keys(wrong.settings, db)
        after = await raw_secrets(db)
        assert after["zohoClientSecret"].ciphertext == before["zohoClientSecret"].ciphertext
    finally:
        await old_only.http.aclose()
        await wrong.http.aclose()
