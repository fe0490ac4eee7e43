"""Inbound webhook payloads, one pydantic model per event (PRODUCT.md §4).

Defensive by design: ids are positive integers or short plain strings (both become strings),
amounts are non-negative and bounded, item lists are bounded, phone numbers are normalised to
E.164, unknown fields are ignored (the backend may add fields without breaking us).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from exocomms.phones import try_normalize

MAX_ITEMS = 200
MAX_AMOUNT = 10_000_000
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _id(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("an id is a positive integer or a short string")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("an id must be positive")
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _ID_CHARS:
        return value
    raise ValueError("an id is a positive integer or 1-64 letters, digits, '-', '_' or '.'")


def _phone(value: Any) -> str:
    e164 = try_normalize(value) if isinstance(value, str) and len(value) <= 32 else None
    if e164 is None:
        raise ValueError("not a valid phone number")
    return e164


def _language(value: Any) -> Any:
    # "hi-IN", "HI", "hi_IN" → "hi"
    return value.strip().lower()[:2] if isinstance(value, str) else value


def _address(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


Id = Annotated[str, BeforeValidator(_id)]
Phone = Annotated[str, BeforeValidator(_phone)]
Language = Annotated[Literal["hi", "en", "mr"], BeforeValidator(_language)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)


class Item(_Model):
    """One line of an order."""

    name: Name
    quantity: int = Field(ge=1, le=10_000)
    price: float = Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)


class Address(_Model):
    """A delivery address: free text, optionally with landmark, pincode and coordinates."""

    text: str = Field(min_length=1, max_length=500)
    landmark: str | None = Field(default=None, max_length=200)
    pincode: str | None = Field(default=None, pattern=r"^[1-9][0-9]{5}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)


AddressField = Annotated[Address, BeforeValidator(_address)]


class EventPayload(_Model):
    """Fields every event has."""

    order_id: Id


class OrderNew(EventPayload):
    """``order/new``: a new order for a store (store/customer contact details optional)."""

    store_id: Id
    customer_id: Id | None = None
    amount: float = Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    payment_method: str | None = Field(default=None, min_length=1, max_length=40)
    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    address: AddressField | None = None
    city: str | None = Field(default=None, max_length=100)
    store_name: Name | None = None
    store_phone: Phone | None = None
    store_language: Language | None = None
    customer_name: Name | None = None
    customer_phone: Phone | None = None
    customer_language: Language | None = None

    @field_validator("payment_method")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class OrderAccepted(EventPayload):
    """``order/accepted``: the vendor accepted (in the app), perhaps with a preparation time."""

    prep_minutes: int | None = Field(default=None, ge=0, le=240)


class OrderRejected(EventPayload):
    """``order/rejected``: the vendor (or the backend) rejected the order."""

    reason: str | None = Field(default=None, max_length=200)


class OrderReady(EventPayload):
    """``order/ready``: food is ready for pick-up."""

    rider_id: Id | None = None


class RiderAssigned(EventPayload):
    """``rider/assigned``: a rider was assigned (contact details optional)."""

    rider_id: Id
    rider_name: Name | None = None
    rider_phone: Phone | None = None
    rider_language: Language | None = None
    # What the rider is told (WhatsApp template, IVR slots); without them the rider ladder's
    # WhatsApp and IVR steps cannot be rendered.
    pickup_name: Name | None = None
    pickup_address: str | None = Field(default=None, min_length=1, max_length=500)
    drop_area: str | None = Field(default=None, min_length=1, max_length=200)
    amount: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    earning: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)


class RiderAccepted(EventPayload):
    """``rider/accepted``: the rider accepted in the app."""

    rider_id: Id


class RiderRejected(EventPayload):
    """``rider/rejected``: the rider declined; the backend should reassign."""

    rider_id: Id
    reason: str | None = Field(default=None, max_length=200)


class AddressChanged(EventPayload):
    """``address/changed``: the customer changed the delivery address."""

    address: AddressField
    rider_id: Id | None = None


class OrderPickedUp(EventPayload):
    """``order/picked-up``: the rider has the order."""

    rider_id: Id | None = None


class OrderDelivered(EventPayload):
    """``order/delivered``: done; every ladder for the order stops."""


PAYLOADS: dict[str, type[EventPayload]] = {
    "order/new": OrderNew,
    "order/accepted": OrderAccepted,
    "order/rejected": OrderRejected,
    "order/ready": OrderReady,
    "rider/assigned": RiderAssigned,
    "rider/accepted": RiderAccepted,
    "rider/rejected": RiderRejected,
    "address/changed": AddressChanged,
    "order/picked-up": OrderPickedUp,
    "order/delivered": OrderDelivered,
}
