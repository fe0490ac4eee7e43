"""Phone numbers and sender IDs as Exotel accepts and shows them.

Records keep E.164 (``+919876543210``); responses show Indian numbers the way Exotel's
samples do, 0-prefixed national (``09876543210``), and foreign numbers as E.164.
"""

from __future__ import annotations

import re

from exosim.api.render import ExotelError

_SEPARATORS = re.compile(r"[\s\-().]")
_SENDER_ID = re.compile(r"^(?:[A-Za-z]{6}|\d{6})$")  # alpha header, or numeric promo (600XXX)


def normalise(raw: str) -> str | None:
    """E.164 for ``raw``, or None when it is not a phone number.

    Accepts ``+<cc><number>``, ``00<cc><number>``, ``91`` + 10 digits, a 0-prefixed
    11-digit national number (mobile or landline with STD code) and a bare 10-digit number.
    """
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        digits = text[1:]
        if digits.isdigit() and 8 <= len(digits) <= 15 and not digits.startswith("0"):
            return "+" + digits
        return None
    if not text.isdigit():
        return None
    if len(text) == 10 and not text.startswith("0"):
        return "+91" + text
    if len(text) == 11 and text.startswith("0") and text[1] != "0":
        return "+91" + text[1:]
    if len(text) == 12 and text.startswith("91"):
        return "+" + text
    return None


def require(raw: str | None, name: str) -> str:
    """E.164 of a mandatory number parameter.

    Raises:
        ExotelError: 400 when it is missing or not a phone number.
    """
    if raw is None:
        raise ExotelError(400, f"Missing parameter: {name}")
    number = normalise(raw)
    if number is None:
        raise ExotelError(400, f"Invalid phone number in {name}: {raw[:40]!r}")
    return number


def display(number: str) -> str:
    """How Exotel shows a number: ``0XXXXXXXXXX`` for India, E.164 otherwise."""
    if number.startswith("+91") and len(number) == 13:
        return "0" + number[3:]
    return number


def is_indian_mobile(number: str) -> bool:
    """True for an E.164 Indian mobile number (10 digits starting 6-9)."""
    return number.startswith("+91") and len(number) == 13 and number[3] in "6789"


def same_number(a: str, b: str) -> bool:
    """Two spellings of one number compare equal on their last 10 digits."""
    digits_a = "".join(ch for ch in a if ch.isdigit())[-10:]
    digits_b = "".join(ch for ch in b if ch.isdigit())[-10:]
    return bool(digits_a) and digits_a == digits_b


def is_sender_id(text: str) -> bool:
    """True for a DLT sender ID (six letters, or six digits for promotional)."""
    return bool(_SENDER_ID.match(text))
