"""Vendor order confirmation: greet the store, read the order, accept (with prep time) or
reject (with a reason). Its ``prep`` and ``reason`` menus are reused by the reminder.
"""

from __future__ import annotations

from exocomms.ivr.flows import common
from exocomms.ivr.model import (
    Finish,
    Goto,
    Ivr,
    Menu,
    RejectReason,
    Repeat,
    Slot,
    SlotKind,
    Templates,
    VendorAccepted,
    VendorRejected,
    t,
)

DEFAULT_PREP_MINUTES = 20

SLOTS: dict[str, Slot] = {
    "store_name": Slot(SlotKind.TEXT, max_length=60),
    "order_id": Slot(SlotKind.ORDER_ID),
    "amount": Slot(SlotKind.AMOUNT),
    "items": Slot(SlotKind.ITEMS),
    # Filled from the outcome event when the confirmation is spoken.
    "prep_minutes": Slot(SlotKind.MINUTES, required=False),
    "reason": Slot(
        SlotKind.CHOICE,
        required=False,
        choices={
            RejectReason.OUT_OF_STOCK: t("सामान उपलब्ध नहीं", "items out of stock", "माल उपलब्ध नाही"),
            RejectReason.SHOP_CLOSED: t("दुकान बंद", "shop closed", "दुकान बंद"),
            RejectReason.TOO_BUSY: t("बहुत व्यस्त", "too busy", "खूप व्यस्त"),
            RejectReason.OTHER: t("अन्य कारण", "other reason", "इतर कारण"),
            RejectReason.UNSPECIFIED: t("कारण नहीं बताया", "no reason given", "कारण सांगितले नाही"),
        },
    ),
}

DECISION_PROMPTS: dict[str, Templates] = {
    "options": t(
        "ऑर्डर स्वीकार करने के लिए 1 दबाएँ, अस्वीकार करने के लिए 2, और दोबारा सुनने के लिए 3 दबाएँ।",
        "To accept the order, press 1. To reject it, press 2. To hear the details again, press 3.",
        "ऑर्डर स्वीकारण्यासाठी 1 दाबा, नाकारण्यासाठी 2, आणि पुन्हा ऐकण्यासाठी 3 दाबा.",
    ),
    "ask_prep": t(
        "ऑर्डर तैयार होने में कितना समय लगेगा? 15 मिनट के लिए 1, 20 मिनट के लिए 2, 30 मिनट के लिए 3 दबाएँ।",
        "How long will the order take to prepare? For 15 minutes, press 1. For 20 minutes,"
        " press 2. For 30 minutes, press 3.",
        "ऑर्डर तयार होण्यासाठी किती वेळ लागेल? 15 मिनिटांसाठी 1, 20 मिनिटांसाठी 2, 30 मिनिटांसाठी 3 दाबा.",
    ),
    "ask_reason": t(
        "ऑर्डर अस्वीकार करने का कारण बताइए। सामान उपलब्ध नहीं है तो 1, दुकान बंद है तो 2,"
        " बहुत व्यस्त हैं तो 3, और कोई दूसरा कारण हो तो 9 दबाएँ।",
        "Please tell us why. Items out of stock, press 1. Shop closed, press 2. Too busy,"
        " press 3. Any other reason, press 9.",
        "ऑर्डर नाकारण्याचे कारण सांगा. माल उपलब्ध नसेल तर 1, दुकान बंद असेल तर 2,"
        " खूप व्यस्त असाल तर 3, आणि इतर कारणासाठी 9 दाबा.",
    ),
    "accepted": t(
        "धन्यवाद! ऑर्डर स्वीकार हो गया है। तैयारी का समय {prep_minutes}।",
        "Thank you! The order is accepted, with a preparation time of {prep_minutes}.",
        "धन्यवाद! ऑर्डर स्वीकारली आहे. तयारीची वेळ {prep_minutes}.",
    ),
    "accepted_default": t(
        "आपने समय नहीं चुना, इसलिए तैयारी का समय {prep_minutes} रखा गया है।"
        " ऑर्डर स्वीकार हो गया है, धन्यवाद!",
        "You did not choose a time, so the preparation time is set to {prep_minutes}."
        " The order is accepted. Thank you!",
        "तुम्ही वेळ निवडली नाही, म्हणून तयारीची वेळ {prep_minutes} ठेवली आहे. ऑर्डर स्वीकारली आहे, धन्यवाद!",
    ),
    "rejected_reason": t(
        "ऑर्डर अस्वीकार कर दिया गया है, कारण: {reason}। बताने के लिए धन्यवाद।",
        "The order has been rejected, reason: {reason}. Thank you for letting us know.",
        "ऑर्डर नाकारली आहे, कारण: {reason}. कळवल्याबद्दल धन्यवाद.",
    ),
    "rejected": t(
        "ऑर्डर अस्वीकार कर दिया गया है। धन्यवाद।",
        "The order has been rejected. Thank you.",
        "ऑर्डर नाकारली आहे. धन्यवाद.",
    ),
}


def _accept(minutes: int) -> Finish:
    return Finish(("accepted",), (VendorAccepted(minutes),))


def _reject(reason: RejectReason) -> Finish:
    return Finish(("rejected_reason",), (VendorRejected(reason),))


# Silence after "accept" means "accept with the default time", said aloud; so does hanging up,
# since the vendor already pressed accept.
ACCEPT_DEFAULT = Finish(
    ("accepted_default",), (VendorAccepted(DEFAULT_PREP_MINUTES, defaulted=True),)
)
REJECT_UNSPECIFIED = Finish(("rejected",), (VendorRejected(RejectReason.UNSPECIFIED),))

DECISION_MENUS: dict[str, Menu] = {
    "prep": Menu(
        prompt=("ask_prep",),
        options={"1": _accept(15), "2": _accept(20), "3": _accept(30)},
        on_no_input=ACCEPT_DEFAULT,
        on_exhausted=ACCEPT_DEFAULT,
        on_hangup=Finish((), ACCEPT_DEFAULT.events),
    ),
    "reason": Menu(
        prompt=("ask_reason",),
        options={
            "1": _reject(RejectReason.OUT_OF_STOCK),
            "2": _reject(RejectReason.SHOP_CLOSED),
            "3": _reject(RejectReason.TOO_BUSY),
            "9": _reject(RejectReason.OTHER),
        },
        on_exhausted=REJECT_UNSPECIFIED,
        on_hangup=Finish((), REJECT_UNSPECIFIED.events),
    ),
}


def decision_menu(intro: tuple[str, ...], prompt: tuple[str, ...]) -> Menu:
    """The accept/reject/repeat menu, with the given intro and details."""
    return Menu(
        intro=intro,
        prompt=prompt,
        options={"1": Goto("prep"), "2": Goto("reason"), "3": Repeat()},
        on_exhausted=common.UNANSWERED,
        on_hangup=common.HUNG_UP,
    )


IVR = Ivr(
    name="vendor_order",
    title="Vendor order confirmation",
    start=Goto("main"),
    slots=SLOTS,
    prompts={
        **common.PROMPTS,
        **DECISION_PROMPTS,
        "greeting": t("नमस्ते {store_name}!", "Hello {store_name}!", "नमस्कार {store_name}!"),
        "details": t(
            "नया ऑर्डर आया है, {order_id}। {items}। कुल राशि {amount}।",
            "You have a new order, {order_id}. {items}. Total amount {amount}.",
            "नवीन ऑर्डर आली आहे, {order_id}. {items}. एकूण रक्कम {amount}.",
        ),
    },
    menus={"main": decision_menu(("greeting",), ("details", "options")), **DECISION_MENUS},
)
