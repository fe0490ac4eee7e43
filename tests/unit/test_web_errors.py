"""One error body for every failure, request ids, and the last-resort 500 (no database)."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from exocomms import errors
from exocomms.logging import configure_logging
from exocomms.settings import Settings
from exocomms.web.app import create_app


class Order(BaseModel):
    order_id: int
    phone: str = Field(min_length=10)
    api_token: str


def _test_router() -> APIRouter:
    router = APIRouter(prefix="/_t")

    @router.post("/orders")
    async def create_order(order: Order) -> dict[str, int]:
        return {"orderId": order.order_id}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2 to 9876543210")

    @router.get("/missing")
    async def missing() -> None:
        raise errors.NotFound("order 7 not found", details={"orderId": 7})

    @router.get("/conflict")
    async def conflict() -> None:
        raise errors.Conflict("already accepted")

    @router.get("/limited")
    async def limited() -> None:
        raise errors.RateLimited("slow down", retry_after=2.4)

    @router.get("/provider")
    async def provider() -> None:
        raise errors.ProviderUnavailable("exotel timed out")

    return router


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = Settings(_env_file=None, data_dir=tmp_path, embedded_worker=False)  # type: ignore[call-arg]  # _env_file is pydantic-settings'  init-only option
    application = create_app(settings)
    application.include_router(_test_router())
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://exocomms.test") as c:
        yield c


def assert_error_body(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return dict(body["error"])


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    error = assert_error_body(await client.get("/no/such/thing"), 404, "not_found")
    assert error["message"] == "no route for GET /no/such/thing"


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/_t/orders")
    assert_error_body(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


async def test_validation_error_lists_fields_without_values(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_t/orders", json={"order_id": "x", "phone": "98765", "api_token": "tok-very-secret"}
    )
    error = assert_error_body(response, 422, "validation_error")
    assert "tok-very-secret" not in response.text
    assert "98765" not in response.text
    details = error["details"]
    assert isinstance(details, list)
    assert {tuple(d["loc"]) for d in details} == {("body", "order_id"), ("body", "phone")}
    assert all(set(d) == {"loc", "message", "type"} for d in details)


async def test_missing_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/_t/orders", json={"order_id": 1, "phone": "9876543210"})
    error = assert_error_body(response, 422, "validation_error")
    assert error["details"] == [
        {"loc": ["body", "api_token"], "message": "Field required", "type": "missing"}
    ]


async def test_invalid_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_t/orders", content=b'{"order_id": 1,', headers={"content-type": "application/json"}
    )
    assert_error_body(response, 400, "invalid_json")


async def test_valid_request_passes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_t/orders", json={"order_id": 5, "phone": "9876543210", "api_token": "t"}
    )
    assert response.status_code == 200
    assert response.json() == {"orderId": 5}


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/_t/missing", 404, "not_found"),
        ("/_t/conflict", 409, "conflict"),
        ("/_t/limited", 429, "rate_limited"),
        ("/_t/provider", 503, "provider_unavailable"),
    ],
)
async def test_domain_errors_map_to_status_and_code(
    client: httpx.AsyncClient, path: str, status: int, code: str
) -> None:
    response = await client.get(path)
    assert_error_body(response, status, code)
    if path == "/_t/missing":
        assert response.json()["error"]["details"] == {"orderId": 7}
    if path == "/_t/limited":
        assert response.headers["retry-after"] == "2"


async def test_unhandled_exception_is_500_with_request_id_and_logged(
    client: httpx.AsyncClient,
) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    try:
        response = await client.get("/_t/boom", headers={"X-Request-ID": "req-boom-1"})
    finally:
        configure_logging(level="INFO", json=True)
    error = assert_error_body(response, 500, "internal_error")
    assert error["details"] == {"requestId": "req-boom-1"}
    assert response.headers["x-request-id"] == "req-boom-1"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    failure = next(r for r in records if r["event"] == "request.unhandled_error")
    assert failure["request_id"] == "req-boom-1"
    assert "RuntimeError" in failure["exception"]
    assert "9876543210" not in stream.getvalue()  # masked even inside the traceback
    access = next(r for r in records if r["event"] == "request")
    assert access["status"] == 500
    assert access["route"] == "/_t/boom"


async def test_request_id_round_trip(client: httpx.AsyncClient) -> None:
    given = await client.get("/_t/missing", headers={"X-Request-ID": "abc-123.x:y_z"})
    assert given.headers["x-request-id"] == "abc-123.x:y_z"
    generated = await client.get("/_t/missing")
    other = await client.get("/_t/missing")
    assert len(generated.headers["x-request-id"]) == 32
    assert generated.headers["x-request-id"] != other.headers["x-request-id"]


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", 'quote"s'])
async def test_insane_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/_t/missing", headers={"X-Request-ID": bad})
    assert response.headers["x-request-id"] != bad
    assert len(response.headers["x-request-id"]) == 32


async def test_access_log_line(client: httpx.AsyncClient) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    try:
        await client.get("/_t/missing?to=9876543210", headers={"X-Request-ID": "r-1"})
    finally:
        configure_logging(level="INFO", json=True)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = next(r for r in records if r["event"] == "request")
    assert access["request_id"] == "r-1"
    assert access["method"] == "GET"
    assert access["path"] == "/_t/missing"
    assert access["route"] == "/_t/missing"
    assert access["status"] == 404
    assert isinstance(access["duration_ms"], float)
