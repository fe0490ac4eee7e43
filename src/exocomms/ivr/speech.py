"""Numbers, amounts, durations, order ids and item lists as people say them, per language.

TTS engines read digits in running text naturally ("325" → "three hundred twenty-five" or
"तीन सौ पच्चीस"), so the work here is the words around the numbers (रुपये/rupees, singular and
plural), Indian digit grouping (1,25,000) and reading long ids character by character.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from exocomms.errors import ValidationError
from exocomms.telephony.callflow import Language

# (singular, plural) per language; Hindi/Marathi nouns here change with number too.
_RUPEE = {
    Language.HI: ("रुपया", "रुपये"),
    Language.EN: ("rupee", "rupees"),
    Language.MR: ("रुपया", "रुपये"),
}
_PAISA = {Language.HI: ("पैसा", "पैसे"), Language.EN: ("paisa", "paise"), Language.MR: ("पैसा", "पैसे")}
_MINUTE = {
    Language.HI: ("मिनट", "मिनट"),
    Language.EN: ("minute", "minutes"),
    Language.MR: ("मिनिट", "मिनिटे"),
}
_HOUR = {Language.HI: ("घंटा", "घंटे"), Language.EN: ("hour", "hours"), Language.MR: ("तास", "तास")}
_ITEM = {Language.HI: ("आइटम", "आइटम"), Language.EN: ("item", "items"), Language.MR: ("वस्तू", "वस्तू")}
_AND = {Language.HI: "और", Language.EN: "and", Language.MR: "आणि"}
_ORDER_NUMBER = {Language.HI: "ऑर्डर नंबर", Language.EN: "order number", Language.MR: "ऑर्डर क्रमांक"}

SHORT_ID_DIGITS = 6  # ids up to this many digits are read as one number
SHORT_ITEMS = 3  # name the items when there are at most this many lines…
SHORT_ITEM_CHARS = 40  # …and their names fit in this many characters


def _noun(forms: Mapping[Language, tuple[str, str]], n: int, lang: Language) -> str:
    singular, plural = forms[lang]
    return f"{group_indian(n)} {singular if n == 1 else plural}"


def group_indian(n: int) -> str:
    """Write ``n`` with Indian grouping: 1,000; 12,500; 1,25,000; 1,00,00,000."""
    sign, digits = ("-", str(-n)) if n < 0 else ("", str(n))
    if len(digits) <= 3:
        return sign + digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join([*groups, tail])


def to_decimal(value: Any) -> Decimal:
    """A non-negative money value from int, float, ``Decimal`` or numeric string.

    Raises:
        ValidationError: not a finite, non-negative number.
    """
    if isinstance(value, bool):
        raise ValidationError("amount must be a number")
    try:
        # str() first: Decimal(0.1) would keep the binary float's noise.
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"not an amount: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise ValidationError(f"not an amount: {value!r}")
    return number


def amount(value: Any, lang: Language) -> str:
    """Rupees as spoken: ``325 रुपये``, ``325 rupees and 50 paise``, ``1,25,000 रुपये``."""
    paise_total = int((to_decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    rupees, paise = divmod(paise_total, 100)
    if rupees == 0 and paise:
        return _noun(_PAISA, paise, lang)
    text = _noun(_RUPEE, rupees, lang)
    if paise:
        joiner = " and " if lang is Language.EN else " "
        text += joiner + _noun(_PAISA, paise, lang)
    return text


def minutes(value: int, lang: Language) -> str:
    """A duration: ``20 मिनट``, ``1 minute``, ``1 तास 30 मिनिटे``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"minutes must be a non-negative integer, not {value!r}")
    hours, mins = divmod(value, 60)
    if not hours:
        return _noun(_MINUTE, mins, lang)
    text = _noun(_HOUR, hours, lang)
    return f"{text} {_noun(_MINUTE, mins, lang)}" if mins else text


def spoken_id(value: Any) -> str:
    """An id as read aloud: short numbers whole (``12345``), anything else one character at
    a time (``9 8 2 3 7 4 6 5 1``, ``A B 1 2``) so TTS does not say "ninety-eight crore…".
    """
    text = re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()
    if not text:
        raise ValidationError(f"not an id: {value!r}")
    if text.isdigit() and len(text) <= SHORT_ID_DIGITS and not text.startswith("0"):
        return text
    return " ".join(text)


def order_number(value: Any, lang: Language) -> str:
    """``ऑर्डर नंबर 12345`` / ``order number 12345`` / ``ऑर्डर क्रमांक 12345``."""
    return f"{_ORDER_NUMBER[lang]} {spoken_id(value)}"


def join_words(parts: Sequence[str], lang: Language) -> str:
    """``A``, ``A और B``, ``A, B and C``."""
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {_AND[lang]} {parts[-1]}"


def count(n: int, lang: Language) -> str:
    """An item count: ``3 आइटम``, ``1 item``, ``2 वस्तू``."""
    return _noun(_ITEM, n, lang)


def _quantity(value: Any) -> str:
    number = to_decimal(value)
    return str(int(number)) if number == number.to_integral_value() else str(number.normalize())


def items(lines: Sequence[Mapping[str, Any]], lang: Language) -> str:
    """Order items: named when short (``2 आइटम: Butter Chicken और 2 Naan``), else counted.

    Each line is ``{"name": str, "quantity": number}`` (quantity defaults to 1).
    """
    names: list[str] = []
    for line in lines:
        name = " ".join(str(line.get("name", "")).split())
        qty = _quantity(line.get("quantity", 1))
        names.append(name if qty == "1" else f"{qty} {name}")
    total = count(len(lines), lang)
    short = sum(len(" ".join(str(li.get("name", "")).split())) for li in lines)
    if not lines or len(lines) > SHORT_ITEMS or short > SHORT_ITEM_CHARS or not all(names):
        return total
    return f"{total}: {join_words(names, lang)}"
