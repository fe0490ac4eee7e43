"""Purposes and their DLT classes, media, and NCPR preference categories (data only)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class PurposeClass(StrEnum):
    """DLT traffic types; each has its own timing rule."""

    TRANSACTIONAL = "transactional"
    SERVICE = "service"
    SERVICE_EXPLICIT = "service_explicit"
    PROMOTIONAL = "promotional"


class Medium(StrEnum):
    """What the rule is about: a phone call, or a text (SMS, WhatsApp and push follow SMS)."""

    CALL = "call"
    SMS = "sms"


_T, _S, _X, _P = (
    PurposeClass.TRANSACTIONAL,
    PurposeClass.SERVICE,
    PurposeClass.SERVICE_EXPLICIT,
    PurposeClass.PROMOTIONAL,
)

#: Concrete purposes used across the service, and their class.
DEFAULT_PURPOSES: Mapping[str, PurposeClass] = MappingProxyType(
    {
        # Order operations: the platform cannot work without them.
        "order_confirmation": _T,
        "delivery_update": _T,
        "otp_verification": _T,
        "vendor_new_order": _T,
        "vendor_order_reminder": _T,
        "vendor_prep_reminder": _T,
        "rider_assignment": _T,
        "rider_delivery_alert": _T,
        "address_change": _T,
        "customer_status": _T,
        "customer_delay": _T,
        "missed_call_callback": _T,
        "masked_call": _T,
        "admin_alert": _T,
        # Service-implicit: about something the person already bought or asked for.
        "payment_reminder": _S,
        "feedback_request": _S,
        "support_callback": _S,
        # Service-explicit: allowed only with recorded consent.
        "abandoned_cart": _X,
        "lead_call": _X,
        # Promotional, including the campaign templates; "custom" is unknown content, so it
        # gets the strictest class.
        "promotional_offer": _P,
        "area_launch": _P,
        "free_delivery": _P,
        "diwali": _P,
        "rakhi": _P,
        "inactive_user": _P,
        "vendor_invite": _P,
        "custom": _P,
    }
)

#: NCPR preference categories (TRAI); a recipient may block any of them.
CATEGORIES = frozenset(
    {
        "banking",
        "real_estate",
        "education",
        "health",
        "consumer_goods_automobiles",
        "communication_it_entertainment",
        "tourism",
        "food_beverages",
    }
)
