"""Pure parts of the commerce slice: event names, payload rules, dedupe and outcome keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from exocomms.commerce.client import lookup_signing_bytes
from exocomms.commerce.model import EVENT_NAMES, event_spec
from exocomms.commerce.outcomes import outcome_key, outcome_payload
from exocomms.commerce.payloads import PAYLOADS, AddressChanged, OrderNew, RiderAssigned
from exocomms.commerce.webhooks import event_key, parse_payload
from exocomms.errors import ValidationError
from exocomms.events import DomainEvent

ORDER: dict[str, Any] = {
    "order_id": 12345,
    "store_id": 67,
    "customer_id": 890,
    "amount": 325,
    "payment_method": "cash_on_delivery",
    "items": [
        {"name": "Butter Chicken", "quantity": 1, "price": 280},
        {"name": "Naan", "quantity": 2, "price": 45},
    ],
}


def test_the_ten_events_of_the_product_spec() -> None:
    assert EVENT_NAMES == (
        "order/new",
        "order/accepted",
        "order/rejected",
        "order/ready",
        "rider/assigned",
        "rider/accepted",
        "rider/rejected",
        "address/changed",
        "order/picked-up",
        "order/delivered",
    )
    assert set(PAYLOADS) == set(EVENT_NAMES)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("order/new", "order/new"),
        ("order-new", "order/new"),
        ("order.new", "order/new"),
        ("/Order/New/", "order/new"),
        ("order-picked-up", "order/picked-up"),
        ("address-changed", "address/changed"),
    ],
)
def test_event_paths_in_any_spelling(path: str, name: str) -> None:
    spec = event_spec(path)
    assert spec is not None
    assert spec.name == name


@pytest.mark.parametrize("path", ["order", "order/new/extra", "order_new", "", "orders/new"])
def test_unknown_event_paths(path: str) -> None:
    assert event_spec(path) is None


def test_the_example_order_is_valid_and_ids_become_strings() -> None:
    order = OrderNew.model_validate(ORDER)

    assert (order.order_id, order.store_id, order.customer_id) == ("12345", "67", "890")
    assert order.amount == 325
    assert [item.quantity for item in order.items] == [1, 2]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"order_id": 0}, "order_id"),
        ({"order_id": True}, "order_id"),
        ({"order_id": "x" * 65}, "order_id"),
        ({"order_id": "a/b"}, "order_id"),
        ({"amount": -0.01}, "amount"),
        ({"amount": 10**8}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"items": [{"name": "", "quantity": 1, "price": 1}]}, "items"),
        ({"items": [{"name": "Naan", "quantity": 1, "price": -1}]}, "items"),
        ({"store_phone": "+1 555"}, "store_phone"),
        ({"store_language": "fr"}, "store_language"),
        ({"payment_method": "x" * 41}, "payment_method"),
    ],
)
def test_order_rules(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_payload(_spec("order/new"), _json({**ORDER, **changes}))
    assert field in [detail["loc"][0] for detail in caught.value.details]


def test_phones_are_normalised_and_languages_shortened() -> None:
    rider = RiderAssigned.model_validate(
        {
            "order_id": "ORD-1",
            "rider_id": 501,
            "rider_phone": "098200 20501",
            "rider_language": "MR-in",
        }
    )
    assert rider.rider_phone == "+919820020501"
    assert rider.rider_language == "mr"


def test_an_address_may_be_text_or_structured() -> None:
    text = AddressChanged.model_validate({"order_id": 1, "address": "Gate 2, Kothrud"})
    full = AddressChanged.model_validate(
        {
            "order_id": 1,
            "address": {"text": "Gate 2", "pincode": "411038", "lat": 18.5, "lng": 73.8},
        }
    )
    assert text.address.text == "Gate 2, Kothrud"
    assert full.address.pincode == "411038"
    with pytest.raises(ValueError, match="pincode"):
        AddressChanged.model_validate({"order_id": 1, "address": {"text": "x", "pincode": "12"}})


def test_unknown_fields_are_ignored() -> None:
    order = OrderNew.model_validate({**ORDER, "coupon": "DIWALI50"})
    assert "coupon" not in order.model_dump()


def test_event_key_prefers_the_backend_id_and_else_hashes_the_content() -> None:
    spec = _spec("order/new")
    one = OrderNew.model_validate(ORDER)
    same = OrderNew.model_validate({**ORDER, "order_id": "12345", "ignored": 1})
    other = OrderNew.model_validate({**ORDER, "amount": 326})

    assert event_key(spec, one, "evt-9") == "order/new:id:evt-9"
    assert event_key(spec, one, None) == event_key(spec, same, None)
    assert event_key(spec, one, None) != event_key(spec, other, None)
    assert event_key(spec, one, None) != event_key(_spec("order/accepted"), one, None)


def _event(name: str, data: dict[str, Any], at: datetime) -> DomainEvent:
    return DomainEvent(
        name=name, at=at, order_id="12345", party="vendor", actor="+919810010067", data=data
    )


def test_outcome_keys_are_deterministic() -> None:
    early = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)
    late = datetime(2026, 1, 5, 4, 31, tzinfo=UTC)

    by_call = outcome_key(_event("vendor.accepted", {"call_id": "abc"}, early), "vendor.accepted")
    hashed = outcome_key(_event("vendor.rejected", {"reason": "closed"}, early), "vendor.rejected")
    again = outcome_key(_event("vendor.rejected", {"reason": "closed"}, late), "vendor.rejected")

    assert by_call == "vendor.accepted:12345:cabc"
    assert hashed == again  # the same fact republished later sends once
    assert hashed.startswith("vendor.rejected:12345:")


def test_outcome_payload_shape() -> None:
    at = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)
    payload = outcome_payload(
        _event("rider.rejected", {"reason": "far"}, at), "rider.rejected", "reassign_rider"
    )

    assert payload == {
        "event": "rider.rejected",
        "orderId": "12345",
        "party": "vendor",
        "actor": "+919810010067",
        "data": {"reason": "far"},
        "at": at,
        "action": "reassign_rider",
    }


def test_lookups_sign_the_method_and_raw_target() -> None:
    request = httpx.Request(
        "GET", "http://jupiter.test/api/stores", params={"phone": "+919810010067"}
    )
    assert lookup_signing_bytes(request) == b"GET /api/stores?phone=%2B919810010067"


def _spec(name: str) -> Any:
    spec = event_spec(name)
    assert spec is not None
    return spec


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()
