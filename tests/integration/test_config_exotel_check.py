"""``GET /exotel/auth/check`` against exosim over real HTTP: right, wrong, stored, unreachable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.config import credentials
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from exosim.app import create_app as create_sim
from exosim.config import SimConfig
from tests.support.servers import free_port, serve_in_thread

ADMIN = "admin-key-for-exotel-check-tests"
SIM = SimConfig()  # account "exosim", key "exosim-key", token "exosim-token"
WRONG = "wrong-token-0123456789"


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with serve_in_thread(create_sim(SimConfig())) as url:
        yield url


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(_env_file=None, secret_keys=SecretStr(Fernet.generate_key().decode()))
    return create_app(settings, migrate_on_start=False, configure_logs=False)


def runtime(db: Database, base_url: str, **overrides: Any) -> Runtime:
    values: dict[str, Any] = {
        "_env_file": None,
        "admin_api_key": SecretStr(ADMIN),
        "secret_keys": SecretStr(Fernet.generate_key().decode()),
        "embedded_worker": False,
        "exotel_base_url": base_url,
        "exotel_account_sid": SIM.account_sid,
        "exotel_api_key": SecretStr(SIM.api_key),
        "exotel_api_token": SecretStr(SIM.api_token),
        "exotel_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return build_runtime(Settings(**values), clock=ManualClock(), db=db)


async def check(app: FastAPI, rt: Runtime) -> httpx.Response:
    app.state.runtime, app.state.settings = rt, rt.settings
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://t",
            headers={"X-API-Key": ADMIN},
        ) as c:
            return await c.get("/exotel/auth/check")
    finally:
        await rt.http.aclose()


async def test_right_credentials_are_valid(app: FastAPI, db: Database, sim_url: str) -> None:
    response = await check(app, runtime(db, sim_url))
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True
    assert body["accountSid"] == "exosim"
    assert body["source"] == "settings"
    assert body["checkedAt"].startswith("2026-01-05T04:30:00")
    assert SIM.api_token not in response.text


async def test_wrong_token_is_invalid_and_not_echoed(
    app: FastAPI, db: Database, sim_url: str
) -> None:
    response = await check(app, runtime(db, sim_url, exotel_api_token=SecretStr(WRONG)))
    body = response.json()
    assert body["valid"] is False
    assert body["detail"] == "Exotel refused the credentials"
    assert WRONG not in response.text


async def test_stored_credentials_override_settings(
    app: FastAPI, db: Database, sim_url: str
) -> None:
    rt = runtime(db, sim_url, exotel_api_token=SecretStr(WRONG))
    await credentials.put_credential(rt, "exotelApiKey", SIM.api_key, "ops")
    await credentials.put_credential(rt, "exotelApiToken", SIM.api_token, "ops")
    body = (await check(app, rt)).json()
    assert (body["valid"], body["source"]) == (True, "database")


async def test_nothing_configured_is_invalid_without_calling(app: FastAPI, db: Database) -> None:
    rt = runtime(db, "http://127.0.0.1:9", exotel_api_key=SecretStr(""))
    body = (await check(app, rt)).json()
    assert (body["valid"], body["source"]) == (False, "none")


async def test_unreachable_exotel_is_unknown(app: FastAPI, db: Database) -> None:
    rt = runtime(db, f"http://127.0.0.1:{free_port()}")
    body = (await check(app, rt)).json()
    assert body["valid"] is None
    assert body["detail"].startswith("Exotel could not be asked")
