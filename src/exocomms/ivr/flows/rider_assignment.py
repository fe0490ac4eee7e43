"""Rider assignment: pickup, drop area, amount and earning; accept (pickup details also go by
SMS), reject (reassign) or repeat.
"""

from __future__ import annotations

from exocomms.ivr.flows import common
from exocomms.ivr.model import (
    Finish,
    Goto,
    Ivr,
    Menu,
    Repeat,
    RiderAccepted,
    RiderRejected,
    SendPickupSms,
    Slot,
    SlotKind,
    t,
)

IVR = Ivr(
    name="rider_assignment",
    title="Rider assignment",
    start=Goto("main"),
    slots={
        "rider_name": Slot(SlotKind.TEXT, max_length=40),
        "order_id": Slot(SlotKind.ORDER_ID),
        "pickup_name": Slot(SlotKind.TEXT, max_length=60),
        "pickup_address": Slot(SlotKind.TEXT, max_length=120),
        "drop_area": Slot(SlotKind.TEXT, max_length=60),
        "amount": Slot(SlotKind.AMOUNT),
        "earning": Slot(SlotKind.AMOUNT),
    },
    prompts={
        **common.PROMPTS,
        "greeting": t(
            "नमस्ते {rider_name}! आपके लिए नई डिलीवरी है, {order_id}।",
            "Hello {rider_name}! You have a new delivery, {order_id}.",
            "नमस्कार {rider_name}! तुमच्यासाठी नवीन डिलिव्हरी आहे, {order_id}.",
        ),
        "details": t(
            "पिकअप: {pickup_name}, {pickup_address}। ड्रॉप: {drop_area}।"
            " ऑर्डर राशि {amount}, आपकी कमाई {earning}।",
            "Pickup from {pickup_name}, {pickup_address}. Drop at {drop_area}."
            " Order amount {amount}, your earning {earning}.",
            "पिकअप: {pickup_name}, {pickup_address}. ड्रॉप: {drop_area}."
            " ऑर्डरची रक्कम {amount}, तुमची कमाई {earning}.",
        ),
        "options": t(
            "डिलीवरी स्वीकार करने के लिए 1 दबाएँ, अस्वीकार करने के लिए 2, और दोबारा सुनने के लिए 3 दबाएँ।",
            "To accept this delivery, press 1. To reject it, press 2. To hear the details again,"
            " press 3.",
            "डिलिव्हरी स्वीकारण्यासाठी 1 दाबा, नाकारण्यासाठी 2, आणि पुन्हा ऐकण्यासाठी 3 दाबा.",
        ),
        "accepted": t(
            "धन्यवाद! डिलीवरी आपको सौंप दी गई है। पिकअप की जानकारी SMS से भी भेज दी गई है।",
            "Thank you! The delivery is yours. We have also sent the pickup details by SMS.",
            "धन्यवाद! डिलिव्हरी तुम्हाला दिली आहे. पिकअपची माहिती SMS नेही पाठवली आहे.",
        ),
        "rejected": t(
            "ठीक है, यह डिलीवरी किसी और को दी जाएगी। धन्यवाद।",
            "All right, this delivery will go to someone else. Thank you.",
            "ठीक आहे, ही डिलिव्हरी दुसऱ्या कोणाला दिली जाईल. धन्यवाद.",
        ),
    },
    menus={
        "main": Menu(
            intro=("greeting",),
            prompt=("details", "options"),
            options={
                "1": Finish(("accepted",), (RiderAccepted(), SendPickupSms())),
                "2": Finish(("rejected",), (RiderRejected(),)),
                "3": Repeat(),
            },
            on_exhausted=common.UNANSWERED,
            on_hangup=common.HUNG_UP,
        )
    },
)
