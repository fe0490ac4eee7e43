"""The missed-call callback: repeat the last order, talk to the store, or support.

Modest on purpose: key 1 publishes ``order.reorder_requested`` (placing the order by voice
is a later feature); 2 and 3 connect the caller through the flow's Connect applet.
"""

from __future__ import annotations

from exocomms.connect.model import ConnectRequested, ReorderRequested, Target
from exocomms.ivr.flows import common
from exocomms.ivr.flows.inbound_rider import CONNECTING, GOODBYE
from exocomms.ivr.model import Finish, Goto, Ivr, Menu, Repeat, Slot, SlotKind, t

IVR = Ivr(
    name="ordering",
    title="Missed-call callback: ordering menu",
    start=Goto("main"),
    slots={"order_id": Slot(SlotKind.ORDER_ID, required=False)},
    prompts={
        **common.PROMPTS,
        "connecting": CONNECTING,
        "greeting": t(
            "नमस्ते! आपने हमें मिस्ड कॉल दी थी।",
            "Hello! You gave us a missed call.",
            "नमस्कार! तुम्ही आम्हाला मिस्ड कॉल दिला होता.",
        ),
        "options": t(
            "अपना पिछला ऑर्डर दोबारा करने के लिए 1, दुकान से बात करने के लिए 2,"
            " सहायता के लिए 3, और दोबारा सुनने के लिए 9 दबाएँ।",
            "To repeat your last order, press 1. To talk to the store, press 2."
            " For support, press 3. To hear this again, press 9.",
            "तुमची मागची ऑर्डर पुन्हा करण्यासाठी 1, दुकानाशी बोलण्यासाठी 2, मदतीसाठी 3,"
            " आणि पुन्हा ऐकण्यासाठी 9 दाबा.",
        ),
        "reorder": t(
            "धन्यवाद! आपका पिछला ऑर्डर दोबारा करने का अनुरोध मिल गया है। हम जल्द पुष्टि करेंगे।",
            "Thank you! We have your request to repeat your last order and will confirm it"
            " shortly.",
            "धन्यवाद! तुमची मागची ऑर्डर पुन्हा करण्याची विनंती मिळाली आहे. आम्ही लवकरच कळवू.",
        ),
    },
    menus={
        "main": Menu(
            intro=("greeting",),
            prompt=("options",),
            options={
                "1": Finish(("reorder",), (ReorderRequested(),)),
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
