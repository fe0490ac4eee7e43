"""Inbound calls with nothing to ask: a short message, then goodbye (no keys)."""

from __future__ import annotations

from exocomms.ivr.model import Finish, Ivr, MessageDelivered, Slot, SlotKind, t

MESSAGES = {
    "vendor_none": t(
        "नमस्ते! अभी आपके लिए कोई लंबित ऑर्डर नहीं है। धन्यवाद।",
        "Hello! You have no pending orders right now. Thank you.",
        "नमस्कार! सध्या तुमच्यासाठी कोणतीही प्रलंबित ऑर्डर नाही. धन्यवाद.",
    ),
    "rider_none": t(
        "नमस्ते! अभी आपको कोई डिलीवरी नहीं सौंपी गई है। धन्यवाद।",
        "Hello! You have no delivery assigned right now. Thank you.",
        "नमस्कार! सध्या तुम्हाला कोणतीही डिलिव्हरी दिलेली नाही. धन्यवाद.",
    ),
    "customer_none": t(
        "नमस्ते! इस नंबर से हाल का कोई ऑर्डर नहीं मिला। कॉल करने के लिए धन्यवाद।",
        "Hello! We could not find a recent order for this number. Thank you for calling.",
        "नमस्कार! या नंबरवरून अलीकडील ऑर्डर सापडली नाही. कॉल केल्याबद्दल धन्यवाद.",
    ),
    "unknown": t(
        "नमस्ते! यह नंबर हमारे पास पंजीकृत नहीं है। ऑर्डर के लिए कृपया ऐप का उपयोग करें। धन्यवाद।",
        "Hello! This number is not registered with us. Please use the app to order. Thank you.",
        "नमस्कार! हा नंबर आमच्याकडे नोंदणीकृत नाही. ऑर्डरसाठी कृपया ॲप वापरा. धन्यवाद.",
    ),
    "unavailable": t(
        "क्षमा करें, अभी हम आपकी जानकारी नहीं देख पा रहे हैं। कृपया कुछ मिनट बाद फिर कॉल करें।",
        "Sorry, we cannot look up your details right now. Please call again in a few minutes.",
        "माफ करा, सध्या आम्ही तुमची माहिती पाहू शकत नाही. कृपया काही मिनिटांनी पुन्हा कॉल करा.",
    ),
}

IVR = Ivr(
    name="inbound_message",
    title="Inbound call: short message",
    start=Finish(("message",), (MessageDelivered(),)),
    slots={"message": Slot(SlotKind.CHOICE, choices=MESSAGES)},
    prompts={"message": t("{message}", "{message}", "{message}")},
)
