"""Inbound call from a customer: their latest order's status, and keys to talk (masked) to
their rider or the store, or to support.
"""

from __future__ import annotations

from exocomms.connect.model import ConnectRequested, Target
from exocomms.ivr.flows import common
from exocomms.ivr.flows.inbound_rider import CONNECTING, GOODBYE
from exocomms.ivr.model import Finish, Goto, Ivr, Menu, Repeat, Slot, SlotKind, t

STATUSES = {
    "placed": t("दुकान को भेज दिया गया है", "has been sent to the store", "दुकानाला पाठवली आहे"),
    "accepted": t("तैयार किया जा रहा है", "is being prepared", "तयार होत आहे"),
    "ready": t("तैयार है", "is ready", "तयार आहे"),
    "rider_assigned": t(
        "के लिए डिलीवरी पार्टनर तय हो गया है",
        "has a delivery partner",
        "साठी डिलिव्हरी पार्टनर ठरला आहे",
    ),
    "picked_up": t("डिलीवरी के लिए निकल चुका है", "is out for delivery", "डिलिव्हरीसाठी निघाली आहे"),
    "delivered": t("डिलीवर हो गया है", "has been delivered", "पोहोचवली आहे"),
    "rejected": t("रद्द हो गया है", "has been cancelled", "रद्द झाली आहे"),
}

IVR = Ivr(
    name="inbound_customer",
    title="Inbound call: customer's latest order",
    start=Goto("main"),
    slots={
        "order_id": Slot(SlotKind.ORDER_ID),
        "status": Slot(SlotKind.CHOICE, choices=STATUSES),
    },
    prompts={
        **common.PROMPTS,
        "connecting": CONNECTING,
        "status": t(
            "नमस्ते! आपका {order_id} {status}।",
            "Hello! Your {order_id} {status}.",
            "नमस्कार! तुमची {order_id} {status}.",
        ),
        "options": t(
            "डिलीवरी पार्टनर से बात करने के लिए 1, दुकान के लिए 2, सहायता के लिए 3,"
            " और दोबारा सुनने के लिए 9 दबाएँ।",
            "To talk to your delivery partner, press 1. The store, press 2. Support, press 3."
            " To hear this again, press 9.",
            "डिलिव्हरी पार्टनरशी बोलण्यासाठी 1, दुकानासाठी 2, मदतीसाठी 3, आणि पुन्हा ऐकण्यासाठी 9 दाबा.",
        ),
    },
    menus={
        "main": Menu(
            prompt=("status", "options"),
            options={
                "1": Finish(("connecting",), (ConnectRequested(Target.RIDER.value),)),
                "2": Finish(("connecting",), (ConnectRequested(Target.STORE.value),)),
                "3": Finish(("connecting",), (ConnectRequested(Target.SUPPORT.value),)),
                "9": Repeat(),
            },
            on_no_input=GOODBYE,
            on_exhausted=GOODBYE,
            on_hangup=Finish(()),
        )
    },
)
