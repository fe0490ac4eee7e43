"""Address change alert (critical): the rider must confirm the new address with a key."""

from __future__ import annotations

from exocomms.ivr.flows import common
from exocomms.ivr.model import Acknowledged, Finish, Goto, Ivr, Menu, Repeat, Slot, SlotKind, t

IVR = Ivr(
    name="address_change",
    title="Address change alert",
    start=Goto("main"),
    slots={
        "rider_name": Slot(SlotKind.TEXT, max_length=40),
        "order_id": Slot(SlotKind.ORDER_ID),
        "new_address": Slot(SlotKind.TEXT, max_length=160),
    },
    prompts={
        **common.PROMPTS,
        "greeting": t("नमस्ते {rider_name}!", "Hello {rider_name}!", "नमस्कार {rider_name}!"),
        "alert": t(
            "ज़रूरी सूचना! {order_id} का डिलीवरी पता बदल गया है। नया पता है: {new_address}।",
            "Important! The delivery address for {order_id} has changed."
            " The new address is: {new_address}.",
            "महत्त्वाची सूचना! {order_id} चा डिलिव्हरी पत्ता बदलला आहे. नवीन पत्ता: {new_address}.",
        ),
        "confirm_options": t(
            "नया पता समझ गए हों तो 1 दबाएँ, दोबारा सुनने के लिए 3 दबाएँ।",
            "Press 1 to confirm the new address, or 3 to hear it again.",
            "नवीन पत्ता समजला असल्यास 1 दाबा, पुन्हा ऐकण्यासाठी 3 दाबा.",
        ),
        "confirmed": t(
            "धन्यवाद! नया पता पक्का हो गया है।",
            "Thank you! The new address is confirmed.",
            "धन्यवाद! नवीन पत्ता निश्चित झाला आहे.",
        ),
    },
    menus={
        "main": Menu(
            intro=("greeting",),
            prompt=("alert", "confirm_options"),
            options={"1": Finish(("confirmed",), (Acknowledged(),)), "3": Repeat()},
            on_exhausted=common.UNANSWERED,
            on_hangup=common.HUNG_UP,
        )
    },
)
