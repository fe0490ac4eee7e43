"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body``, verified in constant time."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from exocomms.outbox.signing import sign, signed_headers, verify

SECRET = "s3cret-for-tests-only"
NOW = datetime(2026, 1, 5, 4, 30, tzinfo=UTC)
TS = str(int(NOW.timestamp()))
BODY = b'{"order_id":12345,"status":"accepted"}'


def test_sign_matches_the_documented_scheme() -> None:
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"sha256={expected}"
    assert sign(SECRET, int(TS), BODY.decode()) == f"sha256={expected}"


def test_signed_headers() -> None:
    headers = signed_headers(SECRET, BODY, NOW)
    assert headers == {
        "X-Exocomms-Timestamp": TS,
        "X-Exocomms-Signature": sign(SECRET, TS, BODY),
    }


def test_verify_accepts_a_good_signature_within_tolerance() -> None:
    sig = sign(SECRET, TS, BODY)
    assert verify(SECRET, TS, sig, BODY, NOW)
    assert verify(SECRET, TS, sig.upper().replace("SHA256=", "sha256="), BODY, NOW)
    assert verify(SECRET, TS, sig, BODY, NOW + timedelta(seconds=300))
    assert verify(SECRET, TS, sig, BODY, NOW - timedelta(seconds=300))


@pytest.mark.parametrize(
    ("secret", "ts", "sig", "body", "now"),
    [
        ("other-secret", TS, None, BODY, NOW),  # wrong secret
        (SECRET, TS, None, BODY + b" ", NOW),  # body changed by one byte
        (SECRET, str(int(TS) + 1), None, BODY, NOW),  # timestamp not the signed one
        (SECRET, TS, None, BODY, NOW + timedelta(seconds=301)),  # too old: replay
        (SECRET, TS, None, BODY, NOW - timedelta(seconds=301)),  # from the future
        (SECRET, TS, "", BODY, NOW),
        (SECRET, "", None, BODY, NOW),
        (SECRET, "12ab", None, BODY, NOW),
        (SECRET, "-1", None, BODY, NOW),
        (SECRET, TS, "md5=abc", BODY, NOW),
        (SECRET, TS, "sha256=zz", BODY, NOW),
        ("", TS, None, BODY, NOW),  # no secret configured: fail closed
    ],
)
def test_verify_rejects(secret: str, ts: str, sig: str | None, body: bytes, now: datetime) -> None:
    good = sign(SECRET, TS, BODY)
    assert not verify(secret, ts, good if sig is None else sig, body, now)


def test_verify_missing_headers() -> None:
    assert not verify(SECRET, None, sign(SECRET, TS, BODY), BODY, NOW)
    assert not verify(SECRET, TS, None, BODY, NOW)


def test_custom_tolerance() -> None:
    sig = sign(SECRET, TS, BODY)
    assert not verify(SECRET, TS, sig, BODY, NOW + timedelta(seconds=61), tolerance=60)
