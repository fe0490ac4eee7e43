"""Prompts and actions shared by several IVRs (data only)."""

from __future__ import annotations

from exocomms.ivr.model import Finish, NotAcknowledged, Templates, t

PROMPTS: dict[str, Templates] = {
    "wrong_option": t(
        "माफ़ कीजिए, यह सही विकल्प नहीं है।",
        "Sorry, that is not a valid option.",
        "माफ करा, हा योग्य पर्याय नाही.",
    ),
    "no_input": t(
        "हमें आपका जवाब नहीं मिला।",
        "We did not receive your answer.",
        "आम्हाला तुमचे उत्तर मिळाले नाही.",
    ),
    "goodbye_unanswered": t(
        "हमें जवाब नहीं मिला। हम आपसे जल्द दोबारा संपर्क करेंगे। धन्यवाद।",
        "We did not get a response. We will contact you again shortly. Thank you.",
        "आम्हाला उत्तर मिळाले नाही. आम्ही लवकरच पुन्हा संपर्क करू. धन्यवाद.",
    ),
    "thanks": t("धन्यवाद!", "Thank you!", "धन्यवाद!"),
}

# No decision after the allowed repeats: a polite goodbye, and the escalation carries on.
UNANSWERED = Finish(("goodbye_unanswered",), (NotAcknowledged("no_response"),))
HUNG_UP = Finish((), (NotAcknowledged("hangup"),))
