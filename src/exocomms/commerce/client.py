"""Look-ups on the commerce backend: orders, stores, riders, customers (``runtime.commerce``).

The backend's look-up API (implemented by :mod:`exocomms.demo.jupiter`, documented in
``docs/api.md``)::

    GET /api/health                     → 200 when up
    GET /api/orders/{id}                → an order, 404 when unknown
    GET /api/stores/{id}                GET /api/stores?phone=<E.164>     → {"items": [...]}
    GET /api/riders/{id}                GET /api/riders?phone=<E.164>     → {"items": [...]}
    GET /api/customers/{id}             GET /api/customers?phone=<E.164>  → {"items": [...]}

Every request is signed like our webhooks (``X-Exocomms-Timestamp``/``X-Exocomms-Signature``)
over the bytes ``"GET " + path?query`` (there is no body to sign). Answers are cached for a
short while (``jupiter_cache_seconds``; "not found" for at most 5 s) so a burst of calls about
one order costs one request. Errors: 404 → ``None``; timeouts, connection errors and 5xx →
:class:`~exocomms.errors.ProviderUnavailable`; 401/403 → ``ProviderAuthError``; 429 →
``RateLimited``; a malformed answer → ``ProviderError``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

import httpx
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from exocomms.clock import Clock, SystemClock
from exocomms.commerce.model import Customer, Order, OrderItem, Rider, Store
from exocomms.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from exocomms.outbox.signing import signed_headers
from exocomms.phones import try_normalize

T = TypeVar("T")
_P = TypeVar("_P", Rider, Customer)
NEGATIVE_TTL_SECONDS = 5.0  # "not found" may become found soon (a store just signed up)
HEALTH_TTL_SECONDS = 5.0  # /health is polled often; probe the backend at most this often
HEALTH_TIMEOUT_SECONDS = 2.0
MAX_CACHE_ENTRIES = 4096


def _as_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _as_phone(value: Any) -> Any:
    return try_normalize(value) if isinstance(value, str) else value


Id = Annotated[str, BeforeValidator(_as_id), Field(min_length=1, max_length=64)]
Phone = Annotated[str, BeforeValidator(_as_phone)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _StoreIn(_Record):
    id: Id = Field(validation_alias=AliasChoices("id", "store_id"))
    name: str = ""
    phone: Phone
    language: str = "hi"
    city: str | None = None
    push_token: str | None = Field(
        default=None, validation_alias=AliasChoices("push_token", "fcm_token"), max_length=4096
    )


class _PersonIn(_Record):
    id: Id = Field(validation_alias=AliasChoices("id", "rider_id", "customer_id"))
    name: str = ""
    phone: Phone
    language: str = "hi"
    push_token: str | None = Field(
        default=None, validation_alias=AliasChoices("push_token", "fcm_token"), max_length=4096
    )


_R = TypeVar("_R", _StoreIn, _PersonIn)


class _ItemIn(_Record):
    name: str
    quantity: int = 1
    price: float = 0


class _OrderIn(_Record):
    id: Id = Field(validation_alias=AliasChoices("id", "order_id"))
    store_id: Id
    customer_id: Id | None = None
    rider_id: Id | None = None
    amount: float = 0
    payment_method: str | None = None
    status: str = "unknown"
    address: str | None = None
    items: list[_ItemIn] = Field(default_factory=list)


class _ListIn(_Record):
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class CommerceHealth:
    """One probe of the backend: reachable or not, and how long the round trip took."""

    reachable: bool
    latency_ms: float
    checked_at: datetime
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``/health`` form."""
        body: dict[str, Any] = {
            "reachable": self.reachable,
            "latencyMs": self.latency_ms,
            "checkedAt": self.checked_at.isoformat(),
        }
        if self.error:
            body["error"] = self.error
        return body


class CommerceClient:
    """Typed, cached, signed look-ups on the commerce backend.

    Args:
        base_url: The backend's root URL (``settings.jupiter_url``).
        http: The shared HTTP client (``runtime.http``).
        secret: Shared secret used to sign requests (empty: requests go unsigned).
        timeout: Seconds per request (``settings.jupiter_timeout_seconds``).
        ttl: Seconds a found record is cached (0 disables the cache).
        clock: Timestamps for signatures and health (the service clock).
        timer: Monotonic seconds for cache expiry (injectable for tests).
    """

    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient,
        *,
        secret: str = "",
        timeout: float = 5.0,
        ttl: float = 30.0,
        clock: Clock | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.timeout = timeout
        self.ttl = ttl
        self.negative_ttl = min(ttl, NEGATIVE_TTL_SECONDS)
        self._secret = secret
        self._clock: Clock = clock or SystemClock()
        self._timer = timer
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._health: tuple[float, CommerceHealth] | None = None
        self.requests = 0  # HTTP requests actually sent (cache misses), for tests and metrics

    # -- look-ups -------------------------------------------------------------------------

    async def get_order(self, order_id: str | int) -> Order | None:
        """The order, or None when the backend does not know it."""
        return await self._one("order", f"/api/orders/{_segment(order_id)}", _order)

    async def get_store(self, store_id: str | int) -> Store | None:
        """The store, or None."""
        return await self._one("store", f"/api/stores/{_segment(store_id)}", _store)

    async def get_store_by_phone(self, phone: str) -> Store | None:
        """The store that has ``phone`` (any format), or None."""
        return await self._by_phone("store", "/api/stores", phone, _store)

    async def get_rider(self, rider_id: str | int) -> Rider | None:
        """The rider, or None."""
        return await self._one("rider", f"/api/riders/{_segment(rider_id)}", _rider)

    async def get_rider_by_phone(self, phone: str) -> Rider | None:
        """The rider who has ``phone`` (any format), or None."""
        return await self._by_phone("rider", "/api/riders", phone, _rider)

    async def get_customer(self, customer_id: str | int) -> Customer | None:
        """The customer, or None."""
        return await self._one("customer", f"/api/customers/{_segment(customer_id)}", _customer)

    async def get_customer_by_phone(self, phone: str) -> Customer | None:
        """The customer who has ``phone`` (any format), or None."""
        return await self._by_phone("customer", "/api/customers", phone, _customer)

    def invalidate(self) -> None:
        """Forget every cached answer."""
        self._cache.clear()

    def invalidate_order(self, order_id: str | int) -> None:
        """Forget the cached order (the backend just told us it changed)."""
        self._cache.pop(("order", f"/api/orders/{order_id}"), None)

    # -- health ---------------------------------------------------------------------------

    async def ping(self) -> CommerceHealth:
        """Probe ``GET /api/health`` now; never raises."""
        started = time.perf_counter()
        error: str | None = None
        try:
            response = await self._send(
                "/api/health", {}, min(self.timeout, HEALTH_TIMEOUT_SECONDS)
            )
            if response.status_code >= 400:
                error = f"HTTP {response.status_code}"
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        latency = round((time.perf_counter() - started) * 1000, 3)
        return CommerceHealth(error is None, latency, self._clock.now(), error)

    async def health(self) -> CommerceHealth:
        """The last probe if it is recent (``HEALTH_TTL_SECONDS``), else a fresh one."""
        now = self._timer()
        if self._health is not None and self._health[0] > now:
            return self._health[1]
        result = await self.ping()
        self._health = (self._timer() + HEALTH_TTL_SECONDS, result)
        return result

    # -- internals ------------------------------------------------------------------------

    async def _by_phone(
        self, kind: str, path: str, phone: str, parse: Callable[[dict[str, Any]], T]
    ) -> T | None:
        e164 = try_normalize(phone)
        if e164 is None:
            return None  # nobody has an invalid number; not worth a request

        async def fetch() -> T | None:
            body = await self._get_json(path, {"phone": e164})
            if body is None:
                return None
            try:
                items = _ListIn.model_validate(body).items
            except PydanticValidationError as exc:
                raise ProviderError(f"commerce backend: malformed {kind} list") from exc
            return parse(items[0]) if items else None

        return await self._cached((f"{kind}:phone", e164), fetch)

    async def _one(self, kind: str, path: str, parse: Callable[[dict[str, Any]], T]) -> T | None:
        async def fetch() -> T | None:
            body = await self._get_json(path, {})
            return None if body is None else parse(body)

        return await self._cached((kind, path), fetch)

    async def _cached(
        self, key: tuple[str, str], fetch: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        now = self._timer()
        entry = self._cache.get(key)  # a (expiry, value) pair; value None = "not found"
        if entry is not None:
            expires, value = entry
            if expires > now:
                return cast("T | None", value)  # stored by this method for this key
            del self._cache[key]
        value = await fetch()
        ttl = self.ttl if value is not None else self.negative_ttl
        if ttl > 0:
            if len(self._cache) >= MAX_CACHE_ENTRIES:
                self._evict(now)
            self._cache[key] = (self._timer() + ttl, value)
        return value

    def _evict(self, now: float) -> None:
        expired = [key for key, (expires, _) in self._cache.items() if expires <= now]
        for key in expired:
            del self._cache[key]
        while len(self._cache) >= MAX_CACHE_ENTRIES:
            del self._cache[next(iter(self._cache))]  # oldest insertion first

    async def _send(self, path: str, params: dict[str, str], limit_s: float) -> httpx.Response:
        request = self.http.build_request(
            "GET", self.base_url + path, params=params, timeout=limit_s
        )
        if self._secret:
            request.headers.update(
                signed_headers(self._secret, lookup_signing_bytes(request), self._clock.now())
            )
        self.requests += 1
        return await self.http.send(request)

    async def _get_json(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = await self._send(path, params, self.timeout)
        except httpx.TimeoutException as exc:
            raise ProviderUnavailable(f"commerce backend timed out on {path}") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(
                f"commerce backend unreachable: {type(exc).__name__}"
            ) from exc
        status = response.status_code
        if status == 404:
            return None
        if status in (401, 403):
            raise ProviderAuthError(f"commerce backend refused our signature ({status})")
        if status == 429:
            raise RateLimited("commerce backend rate limit", retry_after=_retry_after(response))
        if status >= 500:
            raise ProviderUnavailable(f"commerce backend error {status} on {path}")
        if status >= 400:
            raise ProviderError(f"commerce backend answered {status} on {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(f"commerce backend sent invalid JSON on {path}") from exc


def lookup_signing_bytes(request: httpx.Request) -> bytes:
    """The bytes a look-up's signature covers: ``b"GET " + raw path and query``."""
    return request.method.encode("ascii") + b" " + request.url.raw_path


def _segment(value: str | int) -> str:
    # Ids go into a path segment: refuse anything that could change the path.
    text = str(value)
    if not text or len(text) > 64 or not all(c.isalnum() or c in "-_." for c in text):
        raise ProviderError("commerce id must be 1-64 letters, digits, '-', '_' or '.'")
    return text


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _parse(model: type[_Record], body: Any, kind: str) -> Any:
    try:
        return model.model_validate(body)
    except PydanticValidationError as exc:
        raise ProviderError(f"commerce backend: malformed {kind}") from exc


def _with_phone(model: type[_R], body: Any, kind: str) -> _R:
    record = cast(_R, _parse(model, body, kind))
    if not record.phone:
        raise ProviderError(f"commerce backend: {kind} without a valid phone")
    return record


def _store(body: Any) -> Store:
    record = _with_phone(_StoreIn, body, "store")
    return Store(
        record.id,
        record.name,
        record.phone,
        record.language.lower(),
        record.city,
        push_token=record.push_token or None,
    )


def _person(cls: type[_P], body: Any, kind: str) -> _P:
    record = _with_phone(_PersonIn, body, kind)
    return cls(
        record.id,
        record.name,
        record.phone,
        record.language.lower(),
        push_token=record.push_token or None,
    )


def _rider(body: Any) -> Rider:
    return _person(Rider, body, "rider")


def _customer(body: Any) -> Customer:
    return _person(Customer, body, "customer")


def _order(body: Any) -> Order:
    record = _parse(_OrderIn, body, "order")
    return Order(
        id=record.id,
        store_id=record.store_id,
        customer_id=record.customer_id,
        amount=record.amount,
        status=record.status,
        payment_method=record.payment_method,
        rider_id=record.rider_id,
        address=record.address,
        items=tuple(OrderItem(i.name, i.quantity, i.price) for i in record.items),
    )
