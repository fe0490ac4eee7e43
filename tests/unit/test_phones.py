"""Phone numbers: E.164 normalisation of Indian input forms, and masking."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exocomms.errors import ValidationError
from exocomms.phones import is_indian_mobile, mask, mask_text, normalize, try_normalize


@pytest.mark.parametrize(
    "raw",
    [
        "9876543210",
        "09876543210",
        "919876543210",
        "+919876543210",
        "+91 98765 43210",
        "+91-98765-43210",
        "0091 98765 43210",
        "(0) 98765-43210",
        "98765.43210",
        " 98765 43210 ",
    ],
)
def test_indian_forms_normalise_to_e164(raw: str) -> None:
    assert normalize(raw) == "+919876543210"


def test_other_countries_keep_their_code() -> None:
    assert normalize("+1 415 555 2671") == "+14155552671"
    assert normalize("+44 20 7183 8750") == "+442071838750"
    assert normalize("415 555 2671", region="US") == "+14155552671"


@pytest.mark.parametrize("raw", ["", "12345", "abc", "98765", "+91 12345", "0" * 50, "+999123"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        normalize(raw)
    assert try_normalize(raw) is None


def test_invalid_number_error_does_not_echo_the_number() -> None:
    with pytest.raises(ValidationError) as info:
        normalize("98765 4321099")
    assert "4321099" not in str(info.value.details)


def test_try_normalize_none() -> None:
    assert try_normalize(None) is None


def test_indian_mobile() -> None:
    assert is_indian_mobile("+919876543210")
    assert not is_indian_mobile("+14155552671")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+919876543210", "+91******3210"),
        ("9876543210", "+91******3210"),
        ("09876543210", "+91******3210"),
        ("+91 98765 43210", "+91******3210"),
        ("+14155552671", "+1******2671"),
        ("+442071838750", "+44******8750"),
    ],
)
def test_mask(raw: str, masked: str) -> None:
    assert mask(raw) == masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calling +919876543210 now", "calling +91******3210 now"),
        ("to=9876543210&from=08047112345", "to=+91******3210&from=+91******2345"),
        ("919876543210", "+91******3210"),
        ("+91 98765 43210, +91-98765-43211", "+91******3210, +91******3211"),
        ("0091 9876543210", "+91******3210"),
        ("tel:+14155552671", "tel:+1******2671"),
        ('{"phone": "9876543210"}', '{"phone": "+91******3210"}'),
        # Not phone numbers: left alone.
        ("order 12345 store 67", "order 12345 store 67"),
        ("at 2026-01-05T04:30:00+00:00", "at 2026-01-05T04:30:00+00:00"),
        ("sid b6cf9876543210aa", "sid b6cf9876543210aa"),
        ("epoch 1767587400", "epoch 1767587400"),
        ("no digits here", "no digits here"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_text_is_idempotent() -> None:
    once = mask_text("a 9876543210 b +14155552671")
    assert mask_text(once) == once


@given(
    st.sampled_from("6789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.sampled_from(["", "0", "91", "+91", "+91 ", "0091"]),
    st.sampled_from(["call {} now", "{}", "x={};", "[{}]"]),
)
def test_masked_text_never_leaks_the_subscriber_digits(
    first: str, rest: str, prefix: str, template: str
) -> None:
    number = first + rest
    out = mask_text(template.format(prefix + number))
    assert number not in out
    assert number[:6] not in re.sub(r"\D", "", out.replace("+91", ""))
    assert number[-4:] in out
