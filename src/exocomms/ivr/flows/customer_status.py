"""Customer status call: a one-way message about the order (no keys)."""

from __future__ import annotations

from exocomms.ivr.model import Finish, Ivr, MessageDelivered, Slot, SlotKind, t

IVR = Ivr(
    name="customer_status",
    title="Customer order status",
    start=Finish(("status",), (MessageDelivered(),)),
    slots={
        "order_id": Slot(SlotKind.ORDER_ID),
        "status": Slot(
            SlotKind.CHOICE,
            choices={
                "confirmed": t("कन्फ़र्म हो गया है", "has been confirmed", "निश्चित झाली आहे"),
                "preparing": t("तैयार किया जा रहा है", "is being prepared", "तयार होत आहे"),
                "out_for_delivery": t(
                    "डिलीवरी के लिए निकल चुका है", "is out for delivery", "डिलिव्हरीसाठी निघाली आहे"
                ),
                "delivered": t("डिलीवर हो गया है", "has been delivered", "पोहोचवली आहे"),
            },
        ),
    },
    prompts={
        "status": t(
            "नमस्ते! आपका {order_id} {status}। धन्यवाद!",
            "Hello! Your {order_id} {status}. Thank you!",
            "नमस्कार! तुमची {order_id} {status}. धन्यवाद!",
        ),
    },
)
