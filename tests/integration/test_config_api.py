"""``/config`` on a real database: validation, round trips, audit, and change without restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select, update

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.config import service
from exocomms.config.features import FeatureDisabled, ensure_enabled
from exocomms.config.model import RuntimeConfig
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import config_audit, config_entries
from exocomms.web.app import create_app

ADMIN = "admin-key-for-config-tests-0123"
SECRET_KEY = Fernet.generate_key().decode()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "admin_api_key": SecretStr(ADMIN),
        "secret_keys": SecretStr(SECRET_KEY),
        "embedded_worker": False,
    }
    values.update(overrides)
    return Settings(**values)


def new_runtime(db: Database, **overrides: Any) -> Runtime:
    return build_runtime(make_settings(**overrides), clock=ManualClock(), db=db)


@pytest.fixture
async def runtime(db: Database) -> AsyncIterator[Runtime]:
    rt = new_runtime(db)
    yield rt
    await rt.http.aclose()  # the db fixture disposes the database


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # One app per module: FastAPI compiles its routes on the first request (~0.3 s).
    return create_app(make_settings(), migrate_on_start=False, configure_logs=False)


@asynccontextmanager
async def client_for(
    app: FastAPI, rt: Runtime, key: str | None = ADMIN
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for ``app`` serving ``rt`` (no lifespan: no worker, schema already there)."""
    app.state.runtime, app.state.settings = rt, rt.settings
    headers = {"X-API-Key": key} if key else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://exocomms.test", headers=headers
    ) as client:
        yield client


async def stored_counts(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        entries = await session.scalar(select(func.count()).select_from(config_entries))
        audits = await session.scalar(select(func.count()).select_from(config_audit))
    return int(entries or 0), int(audits or 0)


async def test_get_config_returns_defaults_before_any_change(
    app: FastAPI, runtime: Runtime
) -> None:
    async with client_for(app, runtime) as client:
        response = await client.get("/config")
    assert response.status_code == 200
    body = response.json()
    assert body["features"]["numberMaskingEnabled"] is True
    assert body["timing"]["dnd_window"] == {"start": "21:00", "end": "09:00"}
    assert body["retry"]["default"]["maxAttempts"] == 3
    assert body["general"]["recordingRetentionDays"] == 90


INVALID = [
    ("/config/timing", {"timezone": "Asia/Nowhere"}, ["timing", "timezone"]),
    (
        "/config/timing",
        {"promo_window": {"start": "10:00", "end": "9pm"}},
        ["timing", "promo_window"],
    ),
    ("/config/retry", {"default": {"maxAttempts": 50}}, ["retry", "default", "maxAttempts"]),
    ("/config/general", {"recordingRetentionDays": -1}, ["general", "recordingRetentionDays"]),
    ("/config", {"features": {"cqaEnabled": "on"}}, ["features", "cqaEnabled"]),
    ("/config", {"timing": {"colour": "blue"}}, ["timing", "colour"]),
    ("/config/timing", ["09:00"], ["body"]),
]


async def test_invalid_changes_are_422_with_the_path_and_store_nothing(
    app: FastAPI, runtime: Runtime
) -> None:
    # One database for every case: each must leave it untouched.
    async with client_for(app, runtime) as client:
        for path, body, loc in INVALID:
            response = await client.put(path, json=body)
            assert response.status_code == 422, (path, body)
            error = response.json()["error"]
            assert error["code"] == "validation_error"
            assert loc in [d["loc"] for d in error["details"]], (loc, error)
        after = await client.get("/config")
    assert await stored_counts(runtime.db) == (0, 0)
    assert after.json() == RuntimeConfig().to_dict()


async def test_put_then_get_round_trip_and_audit(app: FastAPI, runtime: Runtime) -> None:
    async with client_for(app, runtime) as client:
        put = await client.put(
            "/config/timing",
            json={"dnd_window": {"start": "22:00"}, "weekend_days": ["sun"]},
        )
        got = await client.get("/config/timing")
        audit = await client.get("/config/audit", params={"section": "timing"})
    assert put.status_code == 200
    assert put.json() == got.json()
    assert got.json()["dnd_window"] == {"start": "22:00", "end": "09:00"}
    assert got.json()["weekend_days"] == ["sun"]
    items = audit.json()["items"]
    assert len(items) == 1
    assert items[0]["actor"] == "admin"
    assert items[0]["section"] == "timing"
    assert items[0]["before"]["dnd_window"] == {"start": "21:00", "end": "09:00"}
    assert items[0]["after"]["dnd_window"] == {"start": "22:00", "end": "09:00"}
    assert items[0]["at"].startswith("2026-01-05T04:30:00")


async def test_whole_document_put_accepts_what_get_returned(app: FastAPI, runtime: Runtime) -> None:
    async with client_for(app, runtime) as client:
        doc = (await client.get("/config")).json()
        doc["general"]["adminOnDutyPhone"] = "+91 98765 43210"
        doc["retry"]["purposes"] = {"payment_reminder": {"maxAttempts": 1}}
        put = await client.put("/config", json=doc)
        again = await client.put("/config", json=put.json())
        audit = (await client.get("/config/audit")).json()["items"]
    assert put.status_code == again.status_code == 200
    assert put.json()["general"]["adminOnDutyPhone"] == "+919876543210"
    # Only the two sections that changed were written, and re-sending changed nothing.
    assert sorted(item["section"] for item in audit) == ["general", "retry"]
    config = await service.current(runtime)
    assert config.retry_policy_for("payment_reminder").max_attempts == 1


async def test_retry_section_round_trip(app: FastAPI, runtime: Runtime) -> None:
    async with client_for(app, runtime) as client:
        put = await client.put(
            "/config/retry",
            json={"purposes": {"support_callback": {"retryOn": ["busy"], "maxAttempts": 5}}},
        )
        reset = await client.put("/config/retry", json={"purposes": {"support_callback": None}})
    assert put.json()["purposes"] == {"support_callback": {"retryOn": ["busy"], "maxAttempts": 5}}
    assert reset.json()["purposes"] == {}


async def test_features_toggle_and_unknown_feature_is_404(app: FastAPI, runtime: Runtime) -> None:
    async with client_for(app, runtime) as client:
        before = await client.get("/config/features")
        on = await client.put("/config/features/autoDialerEnabled", json={"enabled": True})
        short = await client.put("/config/features/cqa", json={"enabled": False})
        unknown = await client.put("/config/features/teleport", json={"enabled": True})
        not_bool = await client.put("/config/features/cqa", json={"enabled": "yes"})
    assert before.json()["autoDialerEnabled"] is False
    assert on.status_code == 200
    assert on.json()["autoDialerEnabled"] is True
    assert short.json() == {**on.json(), "cqaEnabled": False}
    assert unknown.status_code == 404
    assert "cqaEnabled" in unknown.json()["error"]["details"]["features"]
    assert not_bool.status_code == 422
    assert await service.feature_enabled(runtime, "autoDialer") is True
    await ensure_enabled(runtime, "autoDialerEnabled")
    with pytest.raises(FeatureDisabled):
        await ensure_enabled(runtime, "cqaEnabled")


async def test_a_second_process_sees_the_change_without_restart(db: Database) -> None:
    writer = new_runtime(db)
    checking = new_runtime(db, config_cache_seconds=0)  # checks the version on every read
    caching = new_runtime(db, config_cache_seconds=60)  # holds its copy for a minute
    try:
        assert (await service.current(checking)).features.verified_calls is False
        assert (await service.current(caching)).features.verified_calls is False
        await service.set_feature(writer, "verifiedCalls", True, "test")
        assert (await service.current(writer)).features.verified_calls is True  # own write
        assert (await service.current(checking)).features.verified_calls is True
        assert (await service.current(caching)).features.verified_calls is False  # within TTL
        fresh = new_runtime(db)
        assert (await service.current(fresh)).features.verified_calls is True
        await fresh.http.aclose()
    finally:
        for rt in (writer, checking, caching):
            await rt.http.aclose()


async def test_current_inside_a_callers_transaction(app: FastAPI, runtime: Runtime) -> None:
    await service.update(runtime, {"general": {"defaultLanguage": "mr"}}, "test")
    service.cache_of(runtime).invalidate()
    async with runtime.db.transaction() as session:
        config = await service.current(runtime, session)
    assert config.general.default_language == "mr"


async def test_audit_pages_newest_first(app: FastAPI, runtime: Runtime) -> None:
    for days in (10, 20, 30):
        await service.update(runtime, {"general": {"recordingRetentionDays": days}}, "ops")
    async with client_for(app, runtime) as client:
        first = (await client.get("/config/audit", params={"limit": 2})).json()
        rest = (
            await client.get("/config/audit", params={"limit": 2, "before": first["nextBefore"]})
        ).json()
    assert [i["after"]["recordingRetentionDays"] for i in first["items"]] == [30, 20]
    assert [i["after"]["recordingRetentionDays"] for i in rest["items"]] == [10]
    assert rest["nextBefore"] is None
    assert {i["actor"] for i in first["items"]} == {"ops"}


async def test_stored_version_increases_per_write(app: FastAPI, runtime: Runtime) -> None:
    await service.update(runtime, {"features": {"cqaEnabled": False}}, "a")
    await service.update(runtime, {"features": {"cqaEnabled": True}}, "b")
    async with runtime.db.transaction() as session:
        row = (
            await session.execute(
                select(config_entries).where(config_entries.c.section == "features")
            )
        ).one()
    assert (row.version, row.updated_by) == (2, "b")
    assert row.value["cqaEnabled"] is True


async def test_a_stored_section_that_no_longer_validates_falls_back_to_defaults(
    runtime: Runtime,
) -> None:
    await service.update(
        runtime,
        {
            "timing": {"purposes": {"kirana_survey": "service"}},
            "retry": {"purposes": {"kirana_survey": {"maxAttempts": 1}}},
            "general": {"recordingRetentionDays": 30},
        },
        "ops",
    )
    async with runtime.db.transaction() as session:
        await session.execute(
            update(config_entries)
            .where(config_entries.c.section == "general")
            .values(value={"recordingRetentionDays": "forever"}, version=99)
        )
    other = new_runtime(runtime.db)
    config = await service.current(other)
    await other.http.aclose()
    assert config.general.recording_retention_days == 90  # the bad section: defaults
    assert config.retry_policy_for("kirana_survey").max_attempts == 1  # the rest: kept


async def test_concurrent_writers_lose_no_update(runtime: Runtime) -> None:
    purposes = ["payment_reminder", "feedback_request", "support_callback", "abandoned_cart"]

    async def set_one(index: int, purpose: str) -> None:
        patch = {"retry": {"purposes": {purpose: {"maxAttempts": index + 1}}}}
        if index % 2:  # half of them also touch another section, in the other order
            patch = {"features": {"cqaEnabled": bool(index % 4 == 1)}, **patch}
        await service.update(runtime, patch, f"writer-{index}")

    await asyncio.gather(*(set_one(i, p) for i, p in enumerate(purposes)))
    config = await service.current(runtime)
    assert {p: config.retry_policy_for(p).max_attempts for p in purposes} == {
        p: i + 1 for i, p in enumerate(purposes)
    }
