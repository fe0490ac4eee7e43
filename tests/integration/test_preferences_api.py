"""``/preferences`` over HTTP: set, read, forget, import all-or-nothing, scopes, and
``GET /timing/check?phone=`` answering with the stored preferences."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from exocomms.bootstrap import build_runtime
from exocomms.clock import ManualClock
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.tables import recipient_preferences
from exocomms.web.app import create_app

KEY = "preferences-admin-key-0123456789"
PHONE = "+919876543210"


@pytest.fixture
async def rt(db: Database) -> AsyncIterator[Runtime]:
    settings = Settings(
        _env_file=None,
        env="test",
        embedded_worker=False,
        admin_api_key=SecretStr(KEY),
    )
    runtime = build_runtime(settings, clock=ManualClock(), db=db)  # 10:00 IST, a Monday
    yield runtime
    await runtime.http.aclose()


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(rt.settings, runtime=rt, migrate_on_start=False, configure_logs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://exocomms.test", headers={"X-API-Key": KEY}
        ) as c:
            yield c


async def _key(client: httpx.AsyncClient, scope: str) -> dict[str, str]:
    r = await client.post("/auth/keys", json={"name": f"k-{scope}", "scopes": [scope]})
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


async def _stored(rt: Runtime) -> int:
    async with rt.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(recipient_preferences))
    return int(count or 0)


async def test_set_read_and_forget_a_numbers_preferences(client: httpx.AsyncClient) -> None:
    r = await client.get("/preferences/098765 43210")
    assert r.status_code == 200
    assert r.json() == {
        "phone": PHONE,
        "dndFull": False,
        "blockedCategories": [],
        "consents": [],
        "source": None,
        "updatedAt": None,
        "updatedBy": None,
        "stored": False,
    }
    body = {
        "dndFull": True,
        "blockedCategories": ["real_estate", "banking", "banking"],
        "consents": ["abandoned_cart", "food_beverages"],
    }
    r = await client.put("/preferences/+91-98765-43210", json=body)
    assert r.status_code == 200, r.text
    put = r.json()
    assert (put["phone"], put["dndFull"], put["source"], put["updatedBy"]) == (
        PHONE,
        True,
        "api",
        "admin",
    )
    assert put["blockedCategories"] == ["banking", "real_estate"]
    assert put["consents"] == ["abandoned_cart", "food_beverages"]
    assert put["updatedAt"].startswith("2026-01-05T04:30:00")
    r = await client.get("/preferences/919876543210")
    assert r.json() == {**put, "stored": True}
    r = await client.put("/preferences/9876543210", json={"source": "nccpr"})  # full replace
    assert (r.json()["dndFull"], r.json()["consents"], r.json()["source"]) == (False, [], "nccpr")
    r = await client.delete("/preferences/9876543210")
    assert r.json() == {"phone": PHONE, "deleted": True}
    r = await client.delete("/preferences/9876543210")
    assert r.json() == {"phone": PHONE, "deleted": False}
    assert (await client.get(f"/preferences/{PHONE}")).json()["stored"] is False


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        (f"/preferences/{PHONE}", {"blockedCategories": ["gambling"]}, "unknown category"),
        (f"/preferences/{PHONE}", {"consents": ["spam_blast"]}, "unknown consent"),
        ("/preferences/12345", {"dndFull": True}, "not a valid phone number"),
        (f"/preferences/{PHONE}", {"dndFull": "yes"}, "dndFull"),
        (f"/preferences/{PHONE}", {"dnd": True}, "dnd"),
        (f"/preferences/{PHONE}", {"source": "rumour"}, "source"),
    ],
)
async def test_bad_input_is_422_and_nothing_is_stored(
    client: httpx.AsyncClient, rt: Runtime, path: str, body: dict[str, Any], needle: str
) -> None:
    r = await client.put(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert needle in r.text
    assert await _stored(rt) == 0


async def test_reads_need_a_key_and_writes_need_admin(client: httpx.AsyncClient) -> None:
    reader = await _key(client, "read-only")
    integration = await _key(client, "integration")
    path = f"/preferences/{PHONE}"
    body = {"dndFull": True}
    rows = [{"phone": PHONE, "dndFull": True}]
    cases = {
        # who: (GET, PUT, DELETE, POST import)
        "nobody": (401, 401, 401, 401),
        "reader": (200, 403, 403, 403),
        "integration": (200, 403, 403, 403),
        "admin": (200, 200, 200, 200),
    }
    headers = {"nobody": {"X-API-Key": ""}, "reader": reader, "integration": integration}
    for who, expected in cases.items():
        h = headers.get(who, {})
        got = (
            (await client.get(path, headers=h)).status_code,
            (await client.put(path, json=body, headers=h)).status_code,
            (await client.delete(path, headers=h)).status_code,
            (await client.post("/preferences/import", json=rows, headers=h)).status_code,
        )
        assert got == expected, (who, got)


async def test_import_is_all_or_nothing(client: httpx.AsyncClient, rt: Runtime) -> None:
    await client.put(f"/preferences/{PHONE}", json={"consents": ["lead_call"]})
    rows: list[dict[str, Any]] = [
        {"phone": "98765 43210", "dndFull": True},
        {"phone": "+919812345678", "blockedCategories": ["food_beverages"]},
        {"phone": "09800000001", "consents": ["abandoned_cart"]},
    ]
    bad = [*rows, {"phone": "98123"}, {"phone": "+919800000001"}, {"phone": "+919800000002"}]
    bad[5] = {**bad[5], "blockedCategories": ["gambling"]}
    r = await client.post("/preferences/import", json=bad)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["message"] == "3 of 6 rows are invalid; nothing was imported"
    assert [e["index"] for e in error["details"]["errors"]] == [3, 4, 5]
    assert error["details"]["errors"][1]["message"] == "the same number as row 2"
    assert await _stored(rt) == 1  # only the number set before the import
    r = await client.post("/preferences/import?source=nccpr", json=rows)
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 3, "created": 2, "updated": 1}
    got = (await client.get(f"/preferences/{PHONE}")).json()
    assert (got["dndFull"], got["consents"], got["source"]) == (True, [], "nccpr")
    r = await client.post("/preferences/import", json=[{"phone": "+919800000003"}])
    assert (await client.get("/preferences/+919800000003")).json()["source"] == "import"


async def test_import_is_bounded_to_10000_rows(client: httpx.AsyncClient, rt: Runtime) -> None:
    rows = [{"phone": f"+9198{n:08d}", "dndFull": True} for n in range(10_000)]
    r = await client.post("/preferences/import", json=rows)
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 10_000, "created": 10_000, "updated": 0}
    assert await _stored(rt) == 10_000
    r = await client.post("/preferences/import", json=[*rows, {"phone": "+919700000000"}])
    assert r.status_code == 422
    assert await _stored(rt) == 10_000


async def test_timing_check_answers_with_the_numbers_preferences(
    client: httpx.AsyncClient,
) -> None:
    async def check(purpose: str, phone: str | None = None) -> dict[str, Any]:
        params = {"purpose": purpose, **({"phone": phone} if phone else {})}
        r = await client.get("/timing/check", params=params)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    await client.put(f"/preferences/{PHONE}", json={"dndFull": True, "consents": ["lead_call"]})
    await client.put("/preferences/+919812345678", json={"blockedCategories": ["banking"]})
    anyone = await check("promotional_offer")
    assert (anyone["canCall"], anyone["canSms"], anyone["canPromoSms"]) == (True, True, True)
    dnd = await check("promotional_offer", "98765 43210")
    assert (dnd["canCall"], dnd["canSms"], dnd["canPromoSms"]) == (False, False, False)
    assert "DND" in dnd["reason"]
    assert dnd["nextAvailableTime"] is None
    order = await check("order_confirmation", PHONE)
    assert (order["canCall"], order["canSms"], order["canPromoSms"]) == (True, True, False)
    lead = await check("lead_call", PHONE)  # consented: its own rule, not the DND block
    assert (lead["canCall"], lead["canSms"]) == (True, True)
    cart = await check("abandoned_cart", PHONE)  # no consent: promotional, so blocked
    assert cart["canCall"] is False
    other = await check("promotional_offer", "+919812345678")  # banking is not our category
    assert other["canPromoSms"] is True
    r = await client.get("/timing/check", params={"purpose": "diwali", "phone": "123"})
    assert r.status_code == 422
