"""Call-script templates: nine purposes, Hindi and English, complete and renderable."""

from __future__ import annotations

import re

import pytest

from exocomms.errors import ValidationError
from exocomms.templates.scripts import PURPOSES, SCRIPTS, get_script, render

NINE = [
    "order_confirmation",
    "delivery_update",
    "payment_reminder",
    "promotional_offer",
    "feedback_request",
    "support_callback",
    "otp_verification",
    "abandoned_cart",
    "custom",
]
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def test_the_nine_purposes_of_the_product_spec() -> None:
    assert list(PURPOSES) == NINE


@pytest.mark.parametrize("purpose", NINE)
def test_each_purpose_has_both_languages_a_limit_and_a_priority(purpose: str) -> None:
    found = SCRIPTS[purpose]
    assert set(found.texts) == {"hi", "en"}
    assert 30 <= found.max_duration <= 900
    assert 1 <= found.priority <= 5
    hindi, english = found.texts["hi"], found.texts["en"]
    for text in (hindi.greeting, hindi.script, hindi.closing):
        assert text.strip()
    assert DEVANAGARI.search(hindi.greeting + hindi.closing)
    assert not DEVANAGARI.search(english.greeting + english.script + english.closing)
    # The same values fill both languages.
    assert set(hindi.variables()) == set(english.variables())


def test_urgent_purposes_outrank_marketing() -> None:
    assert SCRIPTS["otp_verification"].priority == 5
    assert SCRIPTS["order_confirmation"].priority > SCRIPTS["promotional_offer"].priority


@pytest.mark.parametrize("purpose", ["promotional_offer", "abandoned_cart"])
def test_non_transactional_calls_offer_an_opt_out(purpose: str) -> None:
    assert "9" in SCRIPTS[purpose].texts["en"].script
    assert "9" in SCRIPTS[purpose].texts["hi"].script


def test_render_fills_every_placeholder_once() -> None:
    script = get_script("order_confirmation", "hi")
    values = {
        "customer_name": "Asha {x}",
        "brand": "Jupiter",
        "order_id": "A-17",
        "item_count": 3,
        "amount": 249,
        "eta_minutes": 25,
    }
    filled = render(script, values)
    assert "{customer_name}" not in filled.greeting
    assert "नमस्ते Asha {x}, Jupiter" in filled.greeting
    assert "₹249" in filled.script
    assert "{" not in filled.script


def test_render_names_missing_values() -> None:
    with pytest.raises(ValidationError) as caught:
        render(get_script("otp_verification", "en"), {"brand": "Jupiter"})
    assert caught.value.details == {"missing": ["otp_digits", "valid_minutes"]}
