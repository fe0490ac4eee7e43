"""Masking HTTP API: create/end/status, /number-masking validation, the pool, admin auth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from exocomms.runtime import Runtime
from exocomms.storage.db import Database
from exocomms.web.app import create_app
from tests.integration.test_masking_service import (
    CUSTOMERS,
    POOL,
    RIDERS,
    make_runtime,
    masking_settings,
)

KEY = "masking-admin-key-0123456789"


@pytest.fixture
async def api(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    settings = masking_settings(pool_size=2, admin_api_key=SecretStr(KEY), embedded_worker=False)
    rt: Runtime = make_runtime(db, settings)
    app = create_app(settings, runtime=rt, migrate_on_start=False, configure_logs=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://exocomms.test", headers={"X-API-Key": KEY}
            ) as client:
                yield client
    finally:
        await rt.http.aclose()


async def test_create_status_and_end(api: httpx.AsyncClient) -> None:
    body = {"orderId": "o1", "partyA": "98765 43200", "partyB": RIDERS[0]}
    created = await api.post("/masking/create", json=body)
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["virtualNumber"] == POOL[0]
    assert session["pin"] is None
    assert session["partyA"] == CUSTOMERS[0]
    assert session["mode"] == "direct"
    assert (await api.post("/masking/create", json=body)).json()["sessionId"] == session[
        "sessionId"
    ]
    vendor = {"orderId": "o1", "partyA": CUSTOMERS[0], "partyB": "+919900112233"}
    await api.post("/masking/create", json=vendor | {"kind": "customer_vendor"})
    status = (await api.get("/masking/status/o1")).json()
    assert [s["kind"] for s in status["sessions"]] == ["customer_rider", "customer_vendor"]
    ended = (await api.post("/masking/end", json={"orderId": "o1"})).json()
    assert {s["status"] for s in ended["sessions"]} == {"ended"}
    assert (await api.post("/masking/end", json={"orderId": "o1"})).json()["sessions"] == []
    assert (await api.post("/masking/end", json={"sessionId": 999})).status_code == 404
    both = await api.post("/masking/end", json={"orderId": "o1", "sessionId": 1})
    assert both.status_code == 422


async def test_number_masking_validation_and_pin_fallback(api: httpx.AsyncClient) -> None:
    base = {"partyA": CUSTOMERS[1], "partyB": RIDERS[1], "callType": "customer_rider"}
    for hours in (0, 169):
        bad = await api.post("/number-masking", json=base | {"expiresInHours": hours})
        assert bad.status_code == 422
    same = await api.post(
        "/number-masking", json=base | {"partyB": "0" + CUSTOMERS[1][3:], "expiresInHours": 2}
    )
    assert same.status_code == 422
    assert "different" in same.json()["error"]["message"]
    junk = await api.post("/number-masking", json=base | {"partyA": "12", "expiresInHours": 2})
    assert junk.status_code == 422
    ok = await api.post("/number-masking", json=base | {"expiresInHours": 2, "context": {"x": 1}})
    assert ok.status_code == 201
    mapping = ok.json()
    assert mapping["virtualNumber"] == POOL[0]
    assert mapping["mappingId"]
    again = await api.post("/number-masking", json=base | {"expiresInHours": 2})
    assert again.json()["mappingId"] == mapping["mappingId"]  # same pair, no order: idempotent
    # The rider talks to two more customers on a two-number pool: the third needs a PIN.
    for i in (2, 3):
        last = await api.post(
            "/number-masking",
            json={"partyA": CUSTOMERS[i], "partyB": RIDERS[1], "expiresInHours": 1},
        )
    assert last.json()["pin"] is not None


async def test_pool_api_and_auth(api: httpx.AsyncClient) -> None:
    assert (await api.get("/masking/numbers", headers={"X-API-Key": "wrong"})).status_code == 401
    assert (await api.get("/masking/numbers")).json() == []  # settings sync on first allocation
    added = await api.post("/masking/numbers", json={"numbers": ["080 4709 1099"]})
    assert added.status_code == 201
    assert [n["number"] for n in added.json()] == ["+918047091099"]
    assert (await api.delete("/masking/numbers/+918047091099")).status_code == 204
    assert (await api.delete("/masking/numbers/+918047091099")).status_code == 404
    created = await api.post(
        "/masking/create", json={"orderId": "o5", "partyA": CUSTOMERS[5], "partyB": RIDERS[5]}
    )
    assert created.json()["virtualNumber"] == POOL[0]  # the removed number is not used
    pool = (await api.get("/masking/numbers")).json()
    assert [(n["number"], n["active"], n["source"]) for n in pool] == [
        (POOL[0], True, "settings"),
        (POOL[1], True, "settings"),
        ("+918047091099", False, "api"),
    ]
    empty = await api.post("/masking/numbers", json={"numbers": []})
    assert empty.status_code == 422
