"""HMAC-SHA256 webhook signatures, both ways between exocomms and the commerce backend.

The scheme (PRODUCT.md §4)::

    X-Exocomms-Timestamp: <unix seconds>
    X-Exocomms-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>

The commerce backend signs what it sends us the same way with ``X-Jupiter-*`` headers, so
inbound webhooks reuse :func:`verify`. The timestamp is inside the signed bytes, which is what
makes a captured request useless after ``tolerance`` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

PREFIX = "sha256="
TIMESTAMP_HEADER = "X-Exocomms-Timestamp"
SIGNATURE_HEADER = "X-Exocomms-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int | str, body: str | bytes) -> str:
    """The signature header value ``sha256=<hex>`` for ``body`` sent at ``timestamp``.

    Args:
        secret: The shared secret (``settings.jupiter_webhook_secret.get_secret_value()``).
        timestamp: Unix seconds, exactly as sent in the timestamp header.
        body: The raw request body, byte for byte.
    """
    message = _bytes(str(timestamp)) + b"." + _bytes(body)
    return PREFIX + hmac.new(_bytes(secret), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str | bytes, body: str | bytes, now: datetime) -> dict[str, str]:
    """``X-Exocomms-Timestamp`` and ``X-Exocomms-Signature`` for sending ``body`` at ``now``."""
    timestamp = str(int(now.timestamp()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str | bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    body: str | bytes,
    now: datetime,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when the signature matches ``body`` and the timestamp is within ``tolerance``.

    Fails closed: an empty secret, a missing or malformed header, or a timestamp further than
    ``tolerance`` seconds from ``now`` (either way) all return False. The comparison is
    constant-time.

    Args:
        secret: The shared secret.
        timestamp_header: The timestamp header as received (unix seconds).
        signature_header: The signature header as received (``sha256=<hex>``).
        body: The raw request body as received, before any parsing.
        now: Current time from the service clock.
        tolerance: Accepted clock skew and replay window, in seconds.
    """
    if not secret or not timestamp_header or not signature_header:
        return False
    timestamp = timestamp_header.strip()
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    received = signature_header.strip()
    if received[: len(PREFIX)].lower() == PREFIX:
        received = PREFIX + received[len(PREFIX) :].lower()
    return hmac.compare_digest(expected.encode("ascii"), received.encode("utf-8", "replace"))
