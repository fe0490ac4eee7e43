"""Inbound call from a store: how many orders wait, the oldest one read out, accept (with a
preparation time) or reject by key, exactly as in the outbound confirmation call.
"""

from __future__ import annotations

from exocomms.ivr.flows import common
from exocomms.ivr.flows.vendor_order import DECISION_MENUS, DECISION_PROMPTS, SLOTS, decision_menu
from exocomms.ivr.model import Goto, Ivr, Slot, SlotKind, t

IVR = Ivr(
    name="inbound_vendor",
    title="Inbound call: store with pending orders",
    start=Goto("main"),
    slots={**SLOTS, "pending_count": Slot(SlotKind.NUMBER)},
    prompts={
        **common.PROMPTS,
        **DECISION_PROMPTS,
        "greeting": t(
            "नमस्ते {store_name}! आपके {pending_count} ऑर्डर लंबित हैं।",
            "Hello {store_name}! You have {pending_count} pending orders.",
            "नमस्कार {store_name}! तुमच्या {pending_count} ऑर्डर प्रलंबित आहेत.",
        ),
        "details": t(
            "सबसे पुराना ऑर्डर, {order_id}। {items}। कुल राशि {amount}।",
            "The oldest is {order_id}. {items}. Total amount {amount}.",
            "सर्वात जुनी ऑर्डर, {order_id}. {items}. एकूण रक्कम {amount}.",
        ),
    },
    menus={"main": decision_menu(("greeting",), ("details", "options")), **DECISION_MENUS},
)
