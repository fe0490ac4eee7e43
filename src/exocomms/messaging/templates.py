"""The message catalogue (data only). Every template is validated on import.

Names: ``<ladder event>.sms`` and ``<ladder event>.whatsapp`` for each escalation ladder event
(vendor_new_order, vendor_reminder, rider_assignment, address_change, customer_status,
customer_delay), ``admin.alert`` (to the admin on duty) and ``rider.pickup_details`` (after a
rider accepts). SMS texts are the DLT templates to register, exactly as written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from exocomms.errors import ValidationError
from exocomms.messaging.model import Button, Template
from exocomms.telephony.callflow import Language

SIGNATURE = " -EXOCOMMS"


def t(hi: str, en: str, mr: str) -> dict[Language, str]:
    """Texts in Hindi, English and Marathi."""
    return {Language.HI: hi, Language.EN: en, Language.MR: mr}


def _sms(hi: str, en: str, mr: str) -> dict[Language, str]:
    return t(hi + SIGNATURE, en + SIGNATURE, mr + SIGNATURE)


ACCEPT = Button("accept", t("स्वीकार", "Accept", "स्वीकारा"))
REJECT = Button("reject", t("अस्वीकार", "Reject", "नाकारा"))
CONFIRM = Button("confirm", t("पुष्टि करें", "Confirm", "पुष्टी करा"))
OK = Button("ok", t("ठीक है", "OK", "ठीक आहे"))

_NEW_ORDER = ("store_name", "order_id", "amount", "item_count")
_REMINDER = ("store_name", "order_id", "minutes_waiting")
_RIDER = ("rider_name", "order_id", "pickup_name", "drop_area", "earning")
_ADDRESS = ("order_id", "new_address")
_STATUS = ("order_id", "status")
_DELAY = ("order_id", "delay_minutes")
_ADMIN = ("order_id", "party", "event")
_PICKUP = ("order_id", "pickup_name", "pickup_address")

_TEMPLATES = (
    Template(
        "vendor_new_order.sms",
        _NEW_ORDER,
        sms=_sms(
            "{#var#}, नया ऑर्डर {#var#}: Rs {#var#}, {#var#} आइटम। कृपया ऐप में स्वीकार करें।",
            "{#var#}, new order {#var#}: Rs {#var#}, {#var#} items. Please accept it in the app.",
            "{#var#}, नवीन ऑर्डर {#var#}: Rs {#var#}, {#var#} वस्तू. कृपया ॲपमध्ये स्वीकारा.",
        ),
    ),
    Template(
        "vendor_new_order.whatsapp",
        _NEW_ORDER,
        whatsapp=t(
            "नमस्ते {{1}}! नया ऑर्डर {{2}}: ₹{{3}}, {{4}} आइटम। स्वीकार या अस्वीकार करें।",
            "Hello {{1}}! New order {{2}}: ₹{{3}}, {{4}} items. Please accept or reject.",
            "नमस्कार {{1}}! नवीन ऑर्डर {{2}}: ₹{{3}}, {{4}} वस्तू. स्वीकारा किंवा नाकारा.",
        ),
        buttons=(ACCEPT, REJECT),
        whatsapp_name="vendor_new_order",
    ),
    Template(
        "vendor_reminder.sms",
        _REMINDER,
        sms=_sms(
            "{#var#}, ऑर्डर {#var#} {#var#} मिनट से स्वीकार नहीं हुआ है। ग्राहक इंतज़ार कर रहे हैं।",
            "{#var#}, order {#var#} is waiting for {#var#} minutes. The customer is waiting.",
            "{#var#}, ऑर्डर {#var#} {#var#} मिनिटांपासून स्वीकारलेली नाही. ग्राहक वाट पाहत आहेत.",
        ),
    ),
    Template(
        "vendor_reminder.whatsapp",
        _REMINDER,
        whatsapp=t(
            "याद दिला रहे हैं {{1}}: ऑर्डर {{2}} {{3}} मिनट से स्वीकार नहीं हुआ है।",
            "A reminder, {{1}}: order {{2}} has been waiting for {{3}} minutes.",
            "आठवण {{1}}: ऑर्डर {{2}} {{3}} मिनिटांपासून स्वीकारलेली नाही.",
        ),
        buttons=(ACCEPT, REJECT),
        whatsapp_name="vendor_reminder",
    ),
    Template(
        "rider_assignment.sms",
        _RIDER,
        sms=_sms(
            "{#var#}, नई डिलीवरी {#var#}: पिकअप {#var#}, ड्रॉप {#var#}, कमाई Rs {#var#}।"
            " ऐप में स्वीकार करें।",
            "{#var#}, new delivery {#var#}: pickup {#var#}, drop {#var#}, earning Rs {#var#}."
            " Accept in the app.",
            "{#var#}, नवीन डिलिव्हरी {#var#}: पिकअप {#var#}, ड्रॉप {#var#}, कमाई Rs {#var#}."
            " ॲपमध्ये स्वीकारा.",
        ),
    ),
    Template(
        "rider_assignment.whatsapp",
        _RIDER,
        whatsapp=t(
            "नमस्ते {{1}}! नई डिलीवरी {{2}}: पिकअप {{3}}, ड्रॉप {{4}}, कमाई ₹{{5}}।",
            "Hello {{1}}! New delivery {{2}}: pickup {{3}}, drop {{4}}, earning ₹{{5}}.",
            "नमस्कार {{1}}! नवीन डिलिव्हरी {{2}}: पिकअप {{3}}, ड्रॉप {{4}}, कमाई ₹{{5}}.",
        ),
        buttons=(ACCEPT, REJECT),
        whatsapp_name="rider_assignment",
    ),
    Template(
        "address_change.sms",
        _ADDRESS,
        sms=_sms(
            "ज़रूरी: ऑर्डर {#var#} का पता बदल गया है। नया पता: {#var#}",
            "Important: the address of order {#var#} has changed. New address: {#var#}",
            "महत्त्वाचे: ऑर्डर {#var#} चा पत्ता बदलला आहे. नवीन पत्ता: {#var#}",
        ),
    ),
    Template(
        "address_change.whatsapp",
        _ADDRESS,
        whatsapp=t(
            "ज़रूरी: ऑर्डर {{1}} का पता बदल गया है। नया पता: {{2}}। पुष्टि करें।",
            "Important: the address of order {{1}} has changed. New address: {{2}}."
            " Please confirm.",
            "महत्त्वाचे: ऑर्डर {{1}} चा पत्ता बदलला आहे. नवीन पत्ता: {{2}}. पुष्टी करा.",
        ),
        buttons=(CONFIRM,),
        whatsapp_name="address_change",
    ),
    Template(
        "customer_status.sms",
        _STATUS,
        sms=_sms(
            "आपका ऑर्डर {#var#}: {#var#}। धन्यवाद!",
            "Your order {#var#}: {#var#}. Thank you!",
            "तुमची ऑर्डर {#var#}: {#var#}. धन्यवाद!",
        ),
    ),
    Template(
        "customer_status.whatsapp",
        _STATUS,
        whatsapp=t(
            "आपका ऑर्डर {{1}}: {{2}}। धन्यवाद!",
            "Your order {{1}}: {{2}}. Thank you!",
            "तुमची ऑर्डर {{1}}: {{2}}. धन्यवाद!",
        ),
        whatsapp_name="customer_status",
    ),
    Template(
        "customer_delay.sms",
        _DELAY,
        sms=_sms(
            "माफ़ कीजिए, आपके ऑर्डर {#var#} में {#var#} मिनट की देरी है।",
            "Sorry, your order {#var#} is delayed by {#var#} minutes.",
            "माफ करा, तुमच्या ऑर्डर {#var#} ला {#var#} मिनिटे उशीर होत आहे.",
        ),
    ),
    Template(
        "customer_delay.whatsapp",
        _DELAY,
        whatsapp=t(
            "माफ़ कीजिए, आपके ऑर्डर {{1}} में {{2}} मिनट की देरी है।",
            "Sorry, your order {{1}} is delayed by {{2}} minutes.",
            "माफ करा, तुमच्या ऑर्डर {{1}} ला {{2}} मिनिटे उशीर होत आहे.",
        ),
        whatsapp_name="customer_delay",
    ),
    Template(
        "admin.alert",
        _ADMIN,
        sms=_sms(
            "अलर्ट: ऑर्डर {#var#}, {#var#} ने जवाब नहीं दिया ({#var#})।",
            "Alert: order {#var#}, the {#var#} did not answer ({#var#}).",
            "अलर्ट: ऑर्डर {#var#}, {#var#} ने उत्तर दिले नाही ({#var#}).",
        ),
        whatsapp=t(
            "अलर्ट: ऑर्डर {{1}}, {{2}} ने जवाब नहीं दिया ({{3}})।",
            "Alert: order {{1}}, the {{2}} did not answer ({{3}}).",
            "अलर्ट: ऑर्डर {{1}}, {{2}} ने उत्तर दिले नाही ({{3}}).",
        ),
        buttons=(OK,),
        whatsapp_name="admin_alert",
    ),
    Template(
        "rider.pickup_details",
        _PICKUP,
        sms=_sms(
            "ऑर्डर {#var#} का पिकअप: {#var#}, {#var#}",
            "Pickup for order {#var#}: {#var#}, {#var#}",
            "ऑर्डर {#var#} चे पिकअप: {#var#}, {#var#}",
        ),
        whatsapp=t(
            "ऑर्डर {{1}} का पिकअप: {{2}}, {{3}}",
            "Pickup for order {{1}}: {{2}}, {{3}}",
            "ऑर्डर {{1}} चे पिकअप: {{2}}, {{3}}",
        ),
        whatsapp_name="rider_pickup_details",
    ),
)

TEMPLATES: Mapping[str, Template] = MappingProxyType({tpl.name: tpl for tpl in _TEMPLATES})

for _tpl in TEMPLATES.values():
    _tpl.validate()


def get(name: str) -> Template:
    """The template called ``name``.

    Raises:
        ValidationError: no such template (a caller's mistake: 422).
    """
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValidationError(
            f"unknown message template {name!r}", details={"known": sorted(TEMPLATES)}
        ) from None


def fit(value: object, limit: int = 29) -> str:
    """``value`` as text cut to ``limit`` characters (for DLT variables: under 30)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dlt_bodies() -> dict[str, dict[str, str]]:
    """Every SMS body to register with DLT: template name → language → body."""
    return {
        tpl.name: {lang.value: body for lang, body in tpl.sms.items()}
        for tpl in TEMPLATES.values()
        if tpl.sms
    }
