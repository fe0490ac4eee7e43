"""``/templates``: every purpose in Hindi and English over HTTP; default language from config."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.config import service
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.templates.scripts import PURPOSES, SCRIPTS
from exocomms.web.app import create_app

ADMIN = "admin-key-for-template-tests-012"


def settings() -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "admin_api_key": SecretStr(ADMIN),
        "secret_keys": SecretStr(Fernet.generate_key().decode()),
        "embedded_worker": False,
    }
    return Settings(**values)


@pytest.fixture
async def client(db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    rt = build_runtime(settings(), clock=ManualClock(), db=db)
    app: FastAPI = create_app(rt.settings, runtime=rt, migrate_on_start=False, configure_logs=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers={"X-API-Key": ADMIN}
    ) as c:
        yield c, rt
    await rt.http.aclose()


async def test_all_nine_purposes_in_both_languages(
    client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    c, _ = client
    listed = await c.get("/templates")
    assert [item["purpose"] for item in listed.json()["items"]] == list(PURPOSES)
    for purpose in PURPOSES:
        for language in ("hi", "en"):
            response = await c.get(f"/templates/{purpose}", params={"language": language})
            assert response.status_code == 200
            body = response.json()
            text = SCRIPTS[purpose].texts[language]
            assert body == {
                "purpose": purpose,
                "language": language,
                "greeting": text.greeting,
                "script": text.script,
                "closing": text.closing,
                "maxDuration": SCRIPTS[purpose].max_duration,
                "priority": SCRIPTS[purpose].priority,
                "variables": text.variables(),
            }


async def test_unknown_purpose_and_language(client: tuple[httpx.AsyncClient, Runtime]) -> None:
    c, _ = client
    unknown = await c.get("/templates/lottery_win")
    bad_language = await c.get("/templates/custom", params={"language": "fr"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["details"]["purposes"] == list(PURPOSES)
    assert bad_language.status_code == 422


async def test_default_language_follows_the_configuration(
    client: tuple[httpx.AsyncClient, Runtime],
) -> None:
    c, rt = client
    assert (await c.get("/templates/custom")).json()["language"] == "hi"
    await service.update(rt, {"general": {"defaultLanguage": "en"}}, "ops")
    assert (await c.get("/templates/custom")).json()["language"] == "en"
    await service.update(rt, {"general": {"defaultLanguage": "mr"}}, "ops")
    assert (await c.get("/templates/custom")).json()["language"] == "hi"  # no Marathi script


async def test_templates_need_a_key(client: tuple[httpx.AsyncClient, Runtime]) -> None:
    c, _ = client
    response = await c.get("/templates", headers={"X-API-Key": ""})
    assert response.status_code == 401
