"""Rider delivery alert: the order is ready for pickup (one-way, a key acknowledges)."""

from __future__ import annotations

from exocomms.ivr.flows import common
from exocomms.ivr.model import Acknowledged, Finish, Goto, Ivr, Menu, Repeat, Slot, SlotKind, t

IVR = Ivr(
    name="rider_delivery_alert",
    title="Rider delivery alert (order ready for pickup)",
    start=Goto("main"),
    slots={
        "rider_name": Slot(SlotKind.TEXT, max_length=40),
        "order_id": Slot(SlotKind.ORDER_ID),
        "pickup_name": Slot(SlotKind.TEXT, max_length=60),
    },
    prompts={
        **common.PROMPTS,
        "alert": t(
            "नमस्ते {rider_name}! {order_id} {pickup_name} पर पिकअप के लिए तैयार है।",
            "Hello {rider_name}! {order_id} is ready for pickup at {pickup_name}.",
            "नमस्कार {rider_name}! {order_id} {pickup_name} येथे पिकअपसाठी तयार आहे.",
        ),
        "ack_options": t(
            "सूचना मिलने की पुष्टि के लिए 1 दबाएँ, दोबारा सुनने के लिए 3 दबाएँ।",
            "Press 1 to confirm you got this message, or 3 to hear it again.",
            "सूचना मिळाल्याची खात्री करण्यासाठी 1 दाबा, पुन्हा ऐकण्यासाठी 3 दाबा.",
        ),
    },
    menus={
        "main": Menu(
            prompt=("alert", "ack_options"),
            options={"1": Finish(("thanks",), (Acknowledged(),)), "3": Repeat()},
            on_exhausted=common.UNANSWERED,
            on_hangup=common.HUNG_UP,
            max_misses=1,  # an alert, not a decision: one reminder is enough
        )
    },
)
