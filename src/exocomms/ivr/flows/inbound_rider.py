"""Inbound call from a rider: their current delivery, and keys to talk (masked) to the
customer or the store, or to support.
"""

from __future__ import annotations

from exocomms.connect.model import ConnectRequested, Target
from exocomms.ivr.flows import common
from exocomms.ivr.model import Finish, Goto, Ivr, Menu, Repeat, Slot, SlotKind, t

CONNECTING = t(
    "ठीक है, हम आपको जोड़ रहे हैं। कृपया लाइन पर बने रहें।",
    "All right, connecting you now. Please stay on the line.",
    "ठीक आहे, आम्ही तुम्हाला जोडत आहोत. कृपया लाइनवर राहा.",
)
GOODBYE = Finish(("thanks",))

IVR = Ivr(
    name="inbound_rider",
    title="Inbound call: rider's current delivery",
    start=Goto("main"),
    slots={
        "rider_name": Slot(SlotKind.TEXT, max_length=40),
        "order_id": Slot(SlotKind.ORDER_ID),
        "pickup_name": Slot(SlotKind.TEXT, max_length=60),
    },
    prompts={
        **common.PROMPTS,
        "connecting": CONNECTING,
        "greeting": t("नमस्ते {rider_name}!", "Hello {rider_name}!", "नमस्कार {rider_name}!"),
        "details": t(
            "आपकी मौजूदा डिलीवरी {order_id} है, पिकअप {pickup_name} से।",
            "Your current delivery is {order_id}, picked up from {pickup_name}.",
            "तुमची सध्याची डिलिव्हरी {order_id} आहे, पिकअप {pickup_name} येथून.",
        ),
        "options": t(
            "ग्राहक से बात करने के लिए 1, दुकान के लिए 2, सहायता के लिए 3, और दोबारा सुनने के लिए 9 दबाएँ।",
            "To talk to the customer, press 1. The store, press 2. Support, press 3."
            " To hear this again, press 9.",
            "ग्राहकाशी बोलण्यासाठी 1, दुकानासाठी 2, मदतीसाठी 3, आणि पुन्हा ऐकण्यासाठी 9 दाबा.",
        ),
    },
    menus={
        "main": Menu(
            intro=("greeting",),
            prompt=("details", "options"),
            options={
                "1": Finish(("connecting",), (ConnectRequested(Target.CUSTOMER.value),)),
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
