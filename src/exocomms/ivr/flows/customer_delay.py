"""Customer delay call: a one-way apology with the expected delay."""

from __future__ import annotations

from exocomms.ivr.model import Finish, Ivr, MessageDelivered, Slot, SlotKind, t

IVR = Ivr(
    name="customer_delay",
    title="Customer order delay",
    start=Finish(("delay",), (MessageDelivered(),)),
    slots={
        "order_id": Slot(SlotKind.ORDER_ID),
        "delay_minutes": Slot(SlotKind.MINUTES),
    },
    prompts={
        "delay": t(
            "नमस्ते! माफ़ कीजिए, आपका {order_id} लगभग {delay_minutes} देर से पहुँचेगा।"
            " असुविधा के लिए हमें खेद है। धन्यवाद!",
            "Hello! We are sorry, your {order_id} will arrive about {delay_minutes} late."
            " We apologise for the inconvenience. Thank you!",
            "नमस्कार! क्षमस्व, तुमची {order_id} सुमारे {delay_minutes} उशिरा पोहोचेल."
            " गैरसोयीबद्दल आम्ही दिलगीर आहोत. धन्यवाद!",
        ),
    },
)
