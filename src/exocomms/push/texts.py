"""What an FCM notification says: a short title per ladder event, and the WhatsApp text as body.

A ladder's push step names a template ``<event>.push`` (``vendor_new_order.push``). The title
comes from :data:`TITLES`; the body is the event's WhatsApp template text
(``<event>.whatsapp``) rendered with the escalation's context, so the app push and the
WhatsApp message say the same thing. Anything unknown falls back to a generic text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exocomms.errors import ValidationError
from exocomms.telephony.callflow import Language

TITLE_CHARS = 100
BODY_CHARS = 500

#: Event → language → title (``{order_id}`` is filled in).
TITLES: Mapping[str, Mapping[str, str]] = {
    "vendor_new_order": {
        "en": "New order {order_id}",
        "hi": "नया ऑर्डर {order_id}",
        "mr": "नवीन ऑर्डर {order_id}",
    },
    "vendor_reminder": {
        "en": "Order {order_id} is waiting",
        "hi": "ऑर्डर {order_id} इंतज़ार में है",
        "mr": "ऑर्डर {order_id} प्रतीक्षेत आहे",
    },
    "rider_assignment": {
        "en": "New delivery {order_id}",
        "hi": "नई डिलीवरी {order_id}",
        "mr": "नवीन डिलिव्हरी {order_id}",
    },
    "address_change": {
        "en": "Address changed: order {order_id}",
        "hi": "पता बदला: ऑर्डर {order_id}",
        "mr": "पत्ता बदलला: ऑर्डर {order_id}",
    },
    "customer_status": {
        "en": "Order {order_id} update",
        "hi": "ऑर्डर {order_id} अपडेट",
        "mr": "ऑर्डर {order_id} अपडेट",
    },
    "customer_delay": {
        "en": "Order {order_id} is delayed",
        "hi": "ऑर्डर {order_id} में देरी",
        "mr": "ऑर्डर {order_id} ला उशीर",
    },
}
GENERIC_TITLE = {"en": "Order {order_id}", "hi": "ऑर्डर {order_id}", "mr": "ऑर्डर {order_id}"}
GENERIC_BODY = {
    "en": "Please open the app: order {order_id} needs you.",
    "hi": "कृपया ऐप खोलें: ऑर्डर {order_id} आपका इंतज़ार कर रहा है।",
    "mr": "कृपया ॲप उघडा: ऑर्डर {order_id} तुमची वाट पाहत आहे.",
}


def event_of(template: str, data: Mapping[str, Any]) -> str:
    """The ladder event a push template is about (``vendor_new_order.push`` → its event)."""
    event = data.get("event_type")
    return str(event) if isinstance(event, str) and event else template.removesuffix(".push")


def render(template: str, data: Mapping[str, Any], language: str) -> tuple[str, str]:
    """The notification's ``(title, body)`` in ``language`` (Hindi when unsupported)."""
    lang = Language.parse(language, default=Language.HI) if language else Language.HI
    event = event_of(template, data)
    order_id = str(data.get("order_id") or "")
    title = TITLES.get(event, GENERIC_TITLE)[lang.value].format(order_id=order_id)
    body = GENERIC_BODY[lang.value].format(order_id=order_id)
    try:
        from exocomms.messaging import templates  # here: the catalogue is only needed now

        params = {
            k: v
            for k, v in data.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)
        }
        items = data.get("items")
        if isinstance(items, list):
            params.setdefault("item_count", len(items))
        body, _ = templates.get(f"{event}.whatsapp").render_whatsapp(params, lang)
    except ValidationError:
        pass  # no such template or a value missing: the generic body says enough
    return " ".join(title.split())[:TITLE_CHARS], body.strip()[:BODY_CHARS]
