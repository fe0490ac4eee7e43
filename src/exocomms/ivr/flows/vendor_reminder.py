"""Vendor order reminder: the order is still not accepted; same decisions as the first call."""

from __future__ import annotations

from exocomms.ivr.flows import common, vendor_order
from exocomms.ivr.model import Goto, Ivr, t

IVR = Ivr(
    name="vendor_reminder",
    title="Vendor order reminder (not yet accepted)",
    start=Goto("main"),
    slots=vendor_order.SLOTS,
    prompts={
        **common.PROMPTS,
        **vendor_order.DECISION_PROMPTS,
        "greeting": t("नमस्ते {store_name}!", "Hello {store_name}!", "नमस्कार {store_name}!"),
        "details": t(
            "याद दिला रहे हैं: {order_id} अभी तक स्वीकार नहीं हुआ है। ग्राहक इंतज़ार कर रहे हैं।"
            " {items}। कुल राशि {amount}।",
            "A reminder: {order_id} has not been accepted yet, and the customer is waiting."
            " {items}. Total amount {amount}.",
            "आठवण: {order_id} अजून स्वीकारलेली नाही. ग्राहक वाट पाहत आहेत. {items}. एकूण रक्कम {amount}.",
        ),
    },
    menus={
        "main": vendor_order.decision_menu(("greeting",), ("details", "options")),
        **vendor_order.DECISION_MENUS,
    },
)
