"""Phone numbers: normalisation to E.164 (Indian formats first) and masking for logs and UIs.

Every number the service stores or sends is E.164 (``+919876543210``). Input arrives in
whatever form people and partners type: ``98765 43210``, ``09876543210``, ``919876543210``,
``+91-98765-43210``, ``0091 9876543210``; :func:`normalize` accepts all of them.

Masking keeps the country code and the last four digits (``+91******3210``): enough for an
operator to tell two numbers apart, not enough to call anyone.
"""

from __future__ import annotations

import re

import phonenumbers

from exocomms.errors import ValidationError

DEFAULT_REGION = "IN"
MASK_CHAR = "*"
VISIBLE_DIGITS = 4

# A number as it may appear inside free text (log messages, URLs, JSON dumps). Deliberately
# greedy: masking a ten-digit order id by mistake is harmless, leaking a phone number is not.
# Not preceded by a word character or "+", so digits inside ids and hex strings are left alone.
_PHONE_IN_TEXT = re.compile(
    r"""
    (?<![\w+])
    (?:
        (?:\+|%2[Bb])\d{1,3}[\s-]?\d(?:[\s-]?\d){6,13}  # +<cc> (or URL-encoded) + 7-14 digits
      | (?:00[\s-]?91[\s-]?|91[\s-]?|0)?[6-9]\d{4}[\s-]?\d{5}  # Indian mobile, 91/0/0091 prefix
      | (?:0|91)[1-5]\d{9}                              # Indian landline with trunk/country prefix
    )
    (?![\w])
    """,
    re.VERBOSE,
)
_URL_PLUS = re.compile(r"^%2[Bb]")


def normalize(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` as E.164, reading numbers without a country code as ``region``'s.

    Args:
        raw: The number as typed (spaces, dashes, dots, brackets, ``0``/``91``/``0091``/``+91``
            prefixes are all accepted).
        region: ISO 3166 region for numbers written without a country code.

    Raises:
        ValidationError: ``raw`` is not a valid phone number.
    """
    number = _parse(raw, region)
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError("not a valid phone number", details={"value": mask(str(raw)[:64])})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Like :func:`normalize`, but ``None`` instead of an error for missing or invalid input."""
    if not raw:
        return None
    try:
        return normalize(raw, region)
    except ValidationError:
        return None


def is_indian_mobile(e164: str) -> bool:
    """True for a valid Indian mobile number in E.164 form."""
    number = _parse(e164, DEFAULT_REGION)
    return (
        number is not None
        and number.country_code == 91
        and phonenumbers.number_type(number)
        in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    )


def mask(number: str, region: str = DEFAULT_REGION) -> str:
    """Mask a phone number for display: country code and last four digits (``+91******3210``).

    Works on any form :func:`normalize` accepts; something that is not a number at all is
    masked completely except its last four digits, so nothing useful leaks either way.
    """
    parsed = _parse(number, region)
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        national = phonenumbers.national_significant_number(parsed)
        return f"+{parsed.country_code}{_mask_digits(national)}"
    digits = re.sub(r"\D", "", number)
    return _mask_digits(digits) if digits else MASK_CHAR * len(number)


def mask_text(text: str) -> str:
    """Mask every phone number found in free text (see :func:`mask`)."""
    if not any(ch.isdigit() for ch in text):  # fast path: most log values have no digits
        return text
    return _PHONE_IN_TEXT.sub(lambda m: mask(_URL_PLUS.sub("+", m.group(0))), text)


def _mask_digits(digits: str) -> str:
    visible = digits[-VISIBLE_DIGITS:] if len(digits) > VISIBLE_DIGITS else ""
    return MASK_CHAR * (len(digits) - len(visible)) + visible


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = str(raw).strip()
    if not text or len(text) > 40:
        return None
    # "0091…" is the international dialling form; phonenumbers reads "00" only for some regions.
    compact = re.sub(r"[\s().-]", "", text)
    if compact.startswith("00") and not compact.startswith("000"):
        text = "+" + compact[2:]
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
