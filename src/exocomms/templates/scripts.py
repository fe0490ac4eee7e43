"""Call scripts for the nine call purposes of PRODUCT.md §11, in Hindi and English (data).

Each script has a ``greeting``, the ``script`` itself and a ``closing``; ``{name}`` marks a value
filled in per call (see :func:`render`). ``max_duration`` is the call's time limit in seconds;
``priority`` runs 1 (lowest) to 5 (most urgent), the same direction as job priorities (higher
goes first). Texts are written to be read aloud by an agent or a TTS voice: short sentences,
keys named explicitly, and an opt-out key (9) on every call that is not transactional.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exocomms.errors import ValidationError

LANGUAGES = ("hi", "en")
_FIELD = re.compile(r"{([a-z_]+)}")


@dataclass(frozen=True)
class Script:
    """The words of one call in one language."""

    greeting: str
    script: str
    closing: str

    def variables(self) -> list[str]:
        """The ``{placeholders}`` used, in order of first appearance."""
        found = _FIELD.findall(f"{self.greeting} {self.script} {self.closing}")
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class CallScript:
    """A purpose's call script in every language, its time limit and priority."""

    purpose: str
    max_duration: int  # seconds
    priority: int  # 1 (lowest) … 5 (most urgent)
    texts: Mapping[str, Script]


def _script(purpose: str, max_duration: int, priority: int, **texts: Script) -> CallScript:
    return CallScript(purpose, max_duration, priority, MappingProxyType(texts))


SCRIPTS: Mapping[str, CallScript] = MappingProxyType(
    {
        s.purpose: s
        for s in (
            _script(
                "order_confirmation",
                120,
                4,
                en=Script(
                    "Hello {customer_name}, this is {brand} calling about your order {order_id}.",
                    "We have received your order of {item_count} items worth ₹{amount}. It will "
                    "reach you in about {eta_minutes} minutes. Press 1 to confirm the order, or "
                    "2 to cancel it.",
                    "Thank you for ordering with {brand}. Have a good day!",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से आपके ऑर्डर {order_id} के बारे में कॉल है।",
                    "हमें आपका {item_count} सामान का ₹{amount} का ऑर्डर मिल गया है। यह लगभग "
                    "{eta_minutes} मिनट में आप तक पहुँच जाएगा। ऑर्डर पक्का करने के लिए 1 दबाएँ, "
                    "रद्द करने के लिए 2 दबाएँ।",
                    "{brand} से ऑर्डर करने के लिए धन्यवाद। आपका दिन शुभ हो!",
                ),
            ),
            _script(
                "delivery_update",
                90,
                4,
                en=Script(
                    "Hello {customer_name}, this is {brand} with an update on your order "
                    "{order_id}.",
                    "Your order is on its way with {rider_name} and should reach you in about "
                    "{eta_minutes} minutes. Press 1 to speak to the delivery partner, or 2 to "
                    "hear this again.",
                    "Thank you for your patience. Enjoy your order!",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से आपके ऑर्डर {order_id} की जानकारी "
                    "देने के लिए कॉल है।",
                    "आपका ऑर्डर लेकर {rider_name} निकल चुके हैं और लगभग {eta_minutes} मिनट में "
                    "आप तक पहुँच जाएँगे। डिलीवरी पार्टनर से बात करने के लिए 1 दबाएँ, यह संदेश "
                    "दोबारा सुनने के लिए 2 दबाएँ।",
                    "इंतज़ार के लिए धन्यवाद। अपने ऑर्डर का आनंद लें!",
                ),
            ),
            _script(
                "payment_reminder",
                120,
                3,
                en=Script(
                    "Hello {customer_name}, this is a reminder from {brand}.",
                    "A payment of ₹{amount} for order {order_id} is due on {due_date}. You can "
                    "pay with the link we sent you by SMS. Press 1 to get the link again, or 2 "
                    "to talk to our team.",
                    "Thank you. If you have already paid, please ignore this call.",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से भुगतान की याद दिलाने के लिए कॉल है।",
                    "ऑर्डर {order_id} के ₹{amount} का भुगतान {due_date} तक करना है। आप SMS में "
                    "भेजे गए लिंक से भुगतान कर सकते हैं। लिंक दोबारा पाने के लिए 1 दबाएँ, हमारी "
                    "टीम से बात करने के लिए 2 दबाएँ।",
                    "धन्यवाद। अगर आप भुगतान कर चुके हैं, तो कृपया इस कॉल को नज़रअंदाज़ करें।",
                ),
            ),
            _script(
                "promotional_offer",
                90,
                1,
                en=Script(
                    "Hello {customer_name}, this is {brand}.",
                    "{offer_text} The offer is valid until {valid_until}. Press 1 to get the "
                    "details by SMS. Press 9 if you do not want calls like this.",
                    "Thank you for your time.",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से कॉल है।",
                    "{offer_text} यह ऑफ़र {valid_until} तक है। पूरी जानकारी SMS पर पाने के लिए 1 "
                    "दबाएँ। अगर आप ऐसी कॉल नहीं चाहते, तो 9 दबाएँ।",
                    "अपना समय देने के लिए धन्यवाद।",
                ),
            ),
            _script(
                "feedback_request",
                180,
                2,
                en=Script(
                    "Hello {customer_name}, this is {brand}. We hope you enjoyed your order "
                    "{order_id}.",
                    "Please rate your experience: press 5 for excellent, 4 for good, 3 for "
                    "average, 2 for poor, or 1 for very poor. After the beep, you can also tell "
                    "us in a few words what we could do better.",
                    "Thank you for your feedback. It helps us serve you better.",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से कॉल है। उम्मीद है आपको अपना ऑर्डर "
                    "{order_id} पसंद आया होगा।",
                    "कृपया अपने अनुभव को रेटिंग दें: बहुत अच्छा के लिए 5, अच्छा के लिए 4, "
                    "ठीक-ठाक के लिए 3, खराब के लिए 2 और बहुत खराब के लिए 1 दबाएँ। बीप के बाद आप "
                    "कुछ शब्दों में यह भी बता सकते हैं कि हम क्या बेहतर कर सकते हैं।",
                    "अपनी राय देने के लिए धन्यवाद। इससे हमें आपकी और अच्छी सेवा करने में मदद मिलती है।",
                ),
            ),
            _script(
                "support_callback",
                600,
                3,
                en=Script(
                    "Hello {customer_name}, this is {agent_name} from the {brand} support team, "
                    "calling you back about your request {ticket_id}.",
                    "Is this a good time to talk? I have your request in front of me. Could "
                    "you tell me what happened, so that I can sort it out for you right away?",
                    "Thank you for your patience. Is there anything else I can help you with "
                    "today?",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} सपोर्ट टीम से {agent_name} बात कर रहे हैं। "
                    "आपकी शिकायत {ticket_id} के बारे में हमने आपको वापस कॉल किया है।",
                    "क्या अभी बात करने का सही समय है? आपकी शिकायत हमारे सामने है। कृपया बताइए "
                    "कि क्या हुआ था, ताकि हम इसे तुरंत सुलझा सकें।",
                    "आपके धैर्य के लिए धन्यवाद। क्या आज हम आपकी किसी और तरह से मदद कर सकते हैं?",
                ),
            ),
            _script(
                "otp_verification",
                60,
                5,
                en=Script(
                    "Hello, this is {brand} with your verification code.",
                    "Your one-time password is {otp_digits}. Once again, your code is "
                    "{otp_digits}. It is valid for {valid_minutes} minutes. Do not share it "
                    "with anyone.",
                    "Thank you. Goodbye.",
                ),
                hi=Script(
                    "नमस्ते, {brand} की ओर से आपका वेरिफ़िकेशन कोड।",
                    "आपका वन-टाइम पासवर्ड है {otp_digits}। एक बार फिर, आपका कोड है {otp_digits}। "
                    "यह {valid_minutes} मिनट तक मान्य है। इसे किसी के साथ साझा न करें।",
                    "धन्यवाद। नमस्कार।",
                ),
            ),
            _script(
                "abandoned_cart",
                120,
                2,
                en=Script(
                    "Hello {customer_name}, this is {brand}.",
                    "You left {item_count} items in your cart. They are still saved for you, "
                    "and your order can reach you in about {eta_minutes} minutes. Press 1 to "
                    "get a link by SMS to complete your order, or 9 if you do not want calls "
                    "like this.",
                    "Thank you, and happy shopping!",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से कॉल है।",
                    "आपके कार्ट में {item_count} सामान रखे हैं। ये अभी भी आपके लिए सुरक्षित हैं, "
                    "और ऑर्डर करने पर लगभग {eta_minutes} मिनट में आप तक पहुँच सकते हैं। ऑर्डर "
                    "पूरा करने का लिंक SMS पर पाने के लिए 1 दबाएँ। अगर आप ऐसी कॉल नहीं चाहते, "
                    "तो 9 दबाएँ।",
                    "धन्यवाद, खरीदारी का आनंद लें!",
                ),
            ),
            _script(
                "custom",
                300,
                1,
                en=Script(
                    "Hello {customer_name}, this is {brand}.",
                    "{message}",
                    "Thank you. Goodbye.",
                ),
                hi=Script(
                    "नमस्ते {customer_name}, {brand} की ओर से कॉल है।",
                    "{message}",
                    "धन्यवाद। नमस्कार।",
                ),
            ),
        )
    }
)

PURPOSES = tuple(SCRIPTS)


def get_script(purpose: str, language: str) -> Script:
    """The script of ``purpose`` in ``language`` (``hi`` or ``en``).

    Raises:
        KeyError: unknown purpose or language.
    """
    return SCRIPTS[purpose].texts[language]


def render(script: Script, values: Mapping[str, object]) -> Script:
    """``script`` with its placeholders filled from ``values``.

    Raises:
        ValidationError: a placeholder has no value (``details.missing`` lists them).
    """
    missing = [name for name in script.variables() if name not in values]
    if missing:
        raise ValidationError(
            f"missing values for {', '.join(missing)}", details={"missing": missing}
        )

    # Values are substituted once, not re-parsed: braces inside a value stay as they are.
    def fill(text: str) -> str:
        return _FIELD.sub(lambda m: str(values[m.group(1)]), text)

    return Script(fill(script.greeting), fill(script.script), fill(script.closing))
