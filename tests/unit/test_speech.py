"""Numbers, amounts, minutes, ids and items spoken naturally in Hindi, English and Marathi."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exocomms.errors import ValidationError
from exocomms.ivr import speech
from exocomms.telephony.callflow import Language

HI, EN, MR = Language.HI, Language.EN, Language.MR


@pytest.mark.parametrize(
    ("value", "lang", "spoken"),
    [
        (325, HI, "325 रुपये"),
        (325, EN, "325 rupees"),
        (325, MR, "325 रुपये"),
        (1, HI, "1 रुपया"),
        (1, EN, "1 rupee"),
        (1, MR, "1 रुपया"),
        (0, EN, "0 rupees"),
        ("325.50", HI, "325 रुपये 50 पैसे"),
        (325.5, EN, "325 rupees and 50 paise"),
        (Decimal("325.01"), MR, "325 रुपये 1 पैसा"),
        (0.5, HI, "50 पैसे"),
        (0.01, EN, "1 paisa"),
        (125000, HI, "1,25,000 रुपये"),
        (1250, EN, "1,250 rupees"),
        (10000000, MR, "1,00,00,000 रुपये"),
        ("1,25,000", EN, "1,25,000 rupees"),
        (99.999, EN, "100 rupees"),  # rounds to the paisa, half up
        (0.1, EN, "10 paise"),  # no binary-float noise
    ],
)
def test_amounts_have_the_right_words_around_the_number(value, lang, spoken) -> None:
    assert speech.amount(value, lang) == spoken


@pytest.mark.parametrize("bad", [-1, "abc", float("nan"), float("inf"), True, None, ""])
def test_amount_rejects_what_is_not_money(bad) -> None:
    with pytest.raises(ValidationError):
        speech.amount(bad, HI)


@pytest.mark.parametrize(
    ("value", "lang", "spoken"),
    [
        (20, HI, "20 मिनट"),
        (20, EN, "20 minutes"),
        (20, MR, "20 मिनिटे"),
        (1, HI, "1 मिनट"),
        (1, EN, "1 minute"),
        (1, MR, "1 मिनिट"),
        (60, HI, "1 घंटा"),
        (120, HI, "2 घंटे"),
        (90, EN, "1 hour 30 minutes"),
        (150, MR, "2 तास 30 मिनिटे"),
        (0, EN, "0 minutes"),
    ],
)
def test_minutes_and_hours(value, lang, spoken) -> None:
    assert speech.minutes(value, lang) == spoken


@pytest.mark.parametrize("bad", [-5, 2.5, True, "20"])
def test_minutes_rejects_non_integers(bad) -> None:
    with pytest.raises(ValidationError):
        speech.minutes(bad, EN)


@pytest.mark.parametrize(
    ("value", "lang", "spoken"),
    [
        (12345, HI, "ऑर्डर नंबर 12345"),
        (12345, EN, "order number 12345"),
        (12345, MR, "ऑर्डर क्रमांक 12345"),
        ("987654", EN, "order number 987654"),
        (982374651, EN, "order number 9 8 2 3 7 4 6 5 1"),  # not "98 crore…"
        ("012345", EN, "order number 0 1 2 3 4 5"),  # a leading zero would be lost
        ("ord-12", HI, "ऑर्डर नंबर O R D 1 2"),
    ],
)
def test_order_numbers_are_read_whole_when_short_else_by_character(value, lang, spoken) -> None:
    assert speech.order_number(value, lang) == spoken


def test_order_number_needs_something_to_read() -> None:
    with pytest.raises(ValidationError):
        speech.order_number("--", EN)


ORDER = [{"name": "Butter Chicken", "quantity": 1}, {"name": "Naan", "quantity": 2}]


@pytest.mark.parametrize(
    ("lines", "lang", "spoken"),
    [
        (ORDER, HI, "2 आइटम: Butter Chicken और 2 Naan"),
        (ORDER, EN, "2 items: Butter Chicken and 2 Naan"),
        (ORDER, MR, "2 वस्तू: Butter Chicken आणि 2 Naan"),
        ([{"name": "Atta 5kg"}], EN, "1 item: Atta 5kg"),
        (
            [{"name": "Dal", "quantity": "1.5"}, {"name": "Rice"}, {"name": "Salt"}],
            EN,
            "3 items: 1.5 Dal, Rice and Salt",
        ),
        ([{"name": n} for n in "ABCD"], HI, "4 आइटम"),  # more than 3 lines: counted
        ([{"name": "Paneer Butter Masala with Extra Gravy and Cheese"}], EN, "1 item"),  # > 40
        ([], EN, "0 items"),
        ([{"name": "  "}], HI, "1 आइटम"),  # nameless: counted
    ],
)
def test_items_are_named_when_short_else_counted(lines, lang, spoken) -> None:
    assert speech.items(lines, lang) == spoken


@pytest.mark.parametrize(
    ("n", "written"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (12500, "12,500"),
        (125000, "1,25,000"),
        (1234567, "12,34,567"),
        (-125000, "-1,25,000"),
    ],
)
def test_indian_grouping(n, written) -> None:
    assert speech.group_indian(n) == written


@given(st.integers(min_value=0, max_value=10**15))
def test_indian_grouping_keeps_digits_and_group_sizes(n: int) -> None:
    groups = speech.group_indian(n).split(",")
    assert "".join(groups) == str(n)
    assert len(groups[-1]) <= 3
    assert all(len(g) == 2 for g in groups[1:-1])
    assert 1 <= len(groups[0]) <= (3 if len(groups) == 1 else 2)


@given(st.decimals(min_value=0, max_value=10**9, places=2), st.sampled_from(list(Language)))
def test_any_amount_is_spoken_with_rupee_or_paise_words(value: Decimal, lang: Language) -> None:
    text = speech.amount(value, lang)
    assert any(w in text for w in ("रुपय", "रुपये", "rupee", "पैस", "paise", "paisa"))
