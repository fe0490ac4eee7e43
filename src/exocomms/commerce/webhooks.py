"""Inbound commerce-backend webhooks: authenticate, validate, record once, publish.

Order of work for ``POST /webhooks/jupiter/{event}`` (:func:`receive`):

1. **Authenticate the raw bytes** before parsing anything: ``X-Jupiter-Signature`` must be
   ``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`` → else 401
   ``invalid_signature``; then ``X-Jupiter-Timestamp`` must be within
   ``jupiter_webhook_tolerance_seconds`` of the service clock → else 401 ``stale_timestamp``
   (only a correctly signed request learns that its timestamp is the problem).
2. Unknown event → 404 ``unknown_event`` listing the known ones.
3. Parse and validate the payload (:mod:`.payloads`) → 422 with field details.
4. Optionally fill in contact details the payload lacks (store, rider, customer) through the
   look-up client, bounded in time and best effort: consumers must cope without them.
5. In one transaction: insert into ``commerce_events`` (unique event key: the event name plus
   ``X-Jupiter-Event-Id`` when sent, else a hash of the event and its canonical payload) and
   publish the domain event. A repeat of a recorded event does nothing and says
   ``duplicate``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError as PydanticValidationError

from exocomms.commerce import repo
from exocomms.commerce.model import EVENT_NAMES, SOURCE, EventSpec, event_spec
from exocomms.commerce.payloads import PAYLOADS, AddressChanged, EventPayload, OrderNew
from exocomms.errors import ExocommsError, NotFound, Unauthorized, ValidationError
from exocomms.events import DomainEvent
from exocomms.logging import get_logger
from exocomms.outbox.service import canonical_json
from exocomms.outbox.signing import verify
from exocomms.web.errors import validation_details

if TYPE_CHECKING:
    from exocomms.runtime import Runtime

TIMESTAMP_HEADER = "X-Jupiter-Timestamp"
SIGNATURE_HEADER = "X-Jupiter-Signature"
EVENT_ID_HEADER = "X-Jupiter-Event-Id"
MAX_BODY_BYTES = 256 * 1024
MAX_EVENT_ID_LENGTH = 128
LOOKUP_LIMIT_SECONDS = 3.0  # the backend waits for our answer; never hold it long

T = TypeVar("T")
log = get_logger(__name__)


class PayloadTooLarge(ExocommsError):
    """The body is bigger than :data:`MAX_BODY_BYTES`."""

    code = "payload_too_large"
    status_code = 413


@dataclass(frozen=True)
class Received:
    """What happened to one inbound webhook."""

    status: Literal["accepted", "duplicate"]
    event_id: int
    event: str
    domain_event: str

    def to_dict(self) -> dict[str, Any]:
        """The response body."""
        return {
            "status": self.status,
            "eventId": self.event_id,
            "event": self.event,
            "domainEvent": self.domain_event,
        }


def authenticate(runtime: Runtime, headers: Mapping[str, str], body: bytes) -> int:
    """Check signature, then freshness; returns the signed timestamp (unix seconds).

    Raises:
        Unauthorized: ``invalid_signature`` (also when no secret is configured: fail closed)
            or ``stale_timestamp``.
    """
    secret = runtime.settings.jupiter_webhook_secret.get_secret_value()
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    now = runtime.clock.now()
    if not verify(secret, timestamp, signature, body, now, tolerance=float("inf")):
        raise Unauthorized(f"missing or invalid {SIGNATURE_HEADER}", code="invalid_signature")
    assert timestamp is not None  # verify() refuses a missing header
    signed = int(timestamp.strip())
    tolerance = runtime.settings.jupiter_webhook_tolerance_seconds
    if abs(now.timestamp() - signed) > tolerance:
        raise Unauthorized(
            f"{TIMESTAMP_HEADER} is more than {tolerance:g} s from our clock",
            code="stale_timestamp",
        )
    return signed


def resolve_event(name: str) -> EventSpec:
    """The event for a path name.

    Raises:
        NotFound: ``unknown_event``, with the known names in the details.
    """
    spec = event_spec(name)
    if spec is None:
        raise NotFound(
            f"unknown commerce event {name[:60]!r}",
            code="unknown_event",
            details={"known": list(EVENT_NAMES)},
        )
    return spec


def parse_payload(spec: EventSpec, body: bytes) -> EventPayload:
    """Validate ``body`` as the payload of ``spec``.

    Raises:
        ValidationError: Not JSON, not an object, or invalid fields (details per field).
    """
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError("the body is not valid JSON", code="invalid_json") from exc
    if not isinstance(raw, dict):
        raise ValidationError("the body must be a JSON object")
    try:
        return PAYLOADS[spec.name].model_validate(raw)
    except PydanticValidationError as exc:
        raise ValidationError(
            f"invalid {spec.name} payload",
            details=validation_details([dict(e) for e in exc.errors()]),
        ) from exc


def event_key(spec: EventSpec, payload: EventPayload, event_id: str | None) -> str:
    """The dedupe key: the backend's event id when given, else a hash of the event."""
    if event_id:
        return f"{spec.name}:id:{event_id}"
    canonical = canonical_json(payload.model_dump(mode="json", exclude_none=True))
    digest = hashlib.sha256(f"{spec.name}\n{canonical}".encode()).hexdigest()
    return f"{spec.name}:sha256:{digest}"


async def receive(runtime: Runtime, name: str, body: bytes, headers: Mapping[str, str]) -> Received:
    """Handle one inbound webhook (see the module docstring for the steps and errors).

    Args:
        runtime: The process runtime.
        name: The ``{event}`` path part (``order/new``, ``order-new`` or ``order.new``).
        body: The raw request body, exactly as received.
        headers: The request headers (case-insensitive mapping).
    """
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    signed = authenticate(runtime, headers, body)
    spec = resolve_event(name)
    payload = parse_payload(spec, body)
    event_id = (headers.get(EVENT_ID_HEADER) or "").strip()
    if len(event_id) > MAX_EVENT_ID_LENGTH or not event_id.isprintable():
        raise ValidationError(f"{EVENT_ID_HEADER} must be at most 128 printable characters")
    if runtime.commerce is not None:
        runtime.commerce.invalidate_order(payload.order_id)  # it just changed: no stale rider
    data = await event_data(runtime, spec, payload)
    key = event_key(spec, payload, event_id or None)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        stored_id, created = await repo.insert_event(
            session,
            event_key=key,
            event=spec.name,
            domain_event=spec.domain_event,
            order_id=payload.order_id,
            payload=payload.model_dump(mode="json", exclude_none=True),
            signed_at=datetime.fromtimestamp(signed, UTC),
            received_at=now,
        )
        if created:
            data.update({"source": SOURCE, "event": spec.name, "event_id": stored_id})
            await runtime.events.publish(
                session,
                runtime,
                DomainEvent(
                    name=spec.domain_event,
                    at=now,
                    order_id=payload.order_id,
                    party=spec.party,
                    actor=SOURCE,
                    data=data,
                ),
            )
    log.info(
        "commerce.webhook",
        commerce_event=spec.name,
        order_id=payload.order_id,
        event_id=stored_id,
        duplicate=not created,
    )
    return Received("accepted" if created else "duplicate", stored_id, spec.name, spec.domain_event)


async def event_data(runtime: Runtime, spec: EventSpec, payload: EventPayload) -> dict[str, Any]:
    """The domain event's ``data``: the payload's fields plus looked-up contact details.

    ``order.created`` carries ``order`` (the validated order) and, when known, ``store`` and
    ``customer`` (``{id, name, phone, language[, city]}``); events about a rider carry
    ``rider_id`` and, when known, ``rider`` (and ``rider_phone``/``rider_name``/
    ``rider_language`` flattened); ``address.changed`` carries ``address``
    (``{text, landmark?, pincode?, lat?, lng?}``). App actions carry ``channel: "app"``.
    """
    fields = payload.model_dump(mode="json", exclude_none=True)
    fields.pop("order_id", None)
    if isinstance(payload, OrderNew):
        return await _order_created_data(runtime, payload, fields)
    data = fields
    if spec.name in ("order/accepted", "order/rejected", "rider/accepted", "rider/rejected"):
        data["channel"] = "app"
    if spec.party == "rider" and spec.name not in ("rider/accepted", "rider/rejected"):
        rider = _given_rider(fields)
        if rider is None:
            rider = await _bounded(_lookup_rider(runtime, payload, fields.get("rider_id")), None)
        if rider is not None:
            data["rider"] = rider
            data.setdefault("rider_id", rider["id"])
            for key in ("phone", "name", "language"):
                data.setdefault(f"rider_{key}", rider[key])
    if isinstance(payload, AddressChanged):
        data["address"] = payload.address.model_dump(mode="json", exclude_none=True)
    return data


async def _order_created_data(
    runtime: Runtime, payload: OrderNew, fields: dict[str, Any]
) -> dict[str, Any]:
    order = {"order_id": payload.order_id, **fields}
    store, customer = _given_store(payload), _given_customer(payload)
    if store is None or (customer is None and payload.customer_id):
        store, customer = await _bounded(
            _lookup_order_parties(runtime, payload, store, customer), (store, customer)
        )
    data: dict[str, Any] = {"order": order}
    # Contact details both nested and flat inside ``order`` (and at the top), so consumers
    # can read ``order["store_phone"]`` or ``data["store"]["phone"]`` alike.
    for party, record in (("store", store), ("customer", customer)):
        if record is None:
            continue
        data[party] = record
        order[party] = record
        for key in ("name", "phone", "language"):
            order.setdefault(f"{party}_{key}", record[key])
    return data


def _given_store(payload: OrderNew) -> dict[str, Any] | None:
    if not payload.store_phone:
        return None
    return {
        "id": payload.store_id,
        "name": payload.store_name or "",
        "phone": payload.store_phone,
        "language": payload.store_language or "hi",
        "city": payload.city,
    }


def _given_customer(payload: OrderNew) -> dict[str, Any] | None:
    if not payload.customer_phone or not payload.customer_id:
        return None
    return {
        "id": payload.customer_id,
        "name": payload.customer_name or "",
        "phone": payload.customer_phone,
        "language": payload.customer_language or "hi",
    }


def _given_rider(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    if not fields.get("rider_phone") or not fields.get("rider_id"):
        return None
    return {
        "id": fields["rider_id"],
        "name": fields.get("rider_name", ""),
        "phone": fields["rider_phone"],
        "language": fields.get("rider_language", "hi"),
    }


async def _bounded(coro: Coroutine[Any, Any, T], default: T) -> T:
    """Run a best-effort look-up within :data:`LOOKUP_LIMIT_SECONDS`; ``default`` on failure."""
    try:
        async with asyncio.timeout(LOOKUP_LIMIT_SECONDS):
            return await coro
    except (TimeoutError, ExocommsError) as exc:
        log.warning("commerce.lookup_failed", error=type(exc).__name__)
        return default


def _lookups_enabled(runtime: Runtime) -> bool:
    return runtime.commerce is not None and runtime.settings.jupiter_lookup_on_webhook


async def _lookup_order_parties(
    runtime: Runtime,
    payload: OrderNew,
    store: dict[str, Any] | None,
    customer: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    client = runtime.commerce
    if client is None or not _lookups_enabled(runtime):
        return store, customer
    if store is None:
        found = await client.get_store(payload.store_id)
        store = found.to_dict() if found else None
    if customer is None and payload.customer_id:
        person = await client.get_customer(payload.customer_id)
        customer = person.to_dict() if person else None
    return store, customer


async def _lookup_rider(
    runtime: Runtime, payload: EventPayload, rider_id: str | None
) -> dict[str, Any] | None:
    client = runtime.commerce
    if client is None or not _lookups_enabled(runtime):
        return None
    if rider_id is None:
        order = await client.get_order(payload.order_id)
        rider_id = order.rider_id if order else None
    if rider_id is None:
        return None
    rider = await client.get_rider(rider_id)
    return rider.to_dict() if rider else None
