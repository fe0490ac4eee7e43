"""The carrier port attached to the runtime: the Exotel client, the shared rate limiter, and
the settings that say which number and flow each call uses and where Exotel calls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from exocomms.clock import Clock
from exocomms.errors import ValidationError
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.telephony.exotel.client import ExotelClient
from exocomms.telephony.ratelimit import DatabaseRateLimiter

# A job waits at most this long (clock time) for a rate-limit slot, then retries later
# instead of holding a worker slot.
RATE_LIMIT_MAX_WAIT_SECONDS = 5.0
CALLERS = ("new_order", "reminder", "address_update", "default")


@dataclass
class Telephony:
    """What the telephony slice needs from the outside world, built once per process."""

    settings: Settings
    client: ExotelClient
    limiter: DatabaseRateLimiter

    def caller_id(self, caller: str) -> str:
        """The ExoPhone a call named ``caller`` comes from (falls back to ``caller_id``).

        Raises:
            ValidationError: unknown caller name, or no number configured at all.
        """
        s = self.settings
        dids = {
            "new_order": s.did_new_order,
            "reminder": s.did_reminder,
            "address_update": s.did_address,
            "default": "",
        }
        if caller not in dids:
            raise ValidationError(f"unknown caller {caller!r}", details={"known": list(CALLERS)})
        number = dids[caller] or s.caller_id
        if not number:
            raise ValidationError("no caller id configured (EXOCOMMS_CALLER_ID)")
        return number

    def flow_id(self, ivr: str) -> str:
        """The Exotel app id of ``ivr``'s flow (default: the IVR's name, as in exosim)."""
        return self.settings.exotel_flows.get(ivr, ivr)

    def callback_url(self, path: str) -> str:
        """``{public_base_url}{path}?t=<token>``: a callback URL Exotel can authenticate with."""
        base = self.settings.public_base_url.rstrip("/")
        token = quote(self.settings.resolved_webhook_token, safe="")
        return f"{base}{path}?t={token}"

    @property
    def sms_sender(self) -> str:
        """The SMS sender id (DLT header), default the default caller id."""
        return self.settings.sms_sender_id or self.caller_id("default")

    @property
    def whatsapp_sender(self) -> str:
        """The WhatsApp business number, default the default caller id."""
        return self.settings.whatsapp_number or self.caller_id("default")

    async def aclose(self) -> None:
        """Close the carrier client's connections."""
        await self.client.aclose()


def build_telephony(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Telephony:
    """The port from settings: base URL, SID, key/token, timeout, and the shared limiter."""
    limiter = DatabaseRateLimiter(db, clock, max_wait_seconds=RATE_LIMIT_MAX_WAIT_SECONDS)
    client = ExotelClient(
        base_url=settings.exotel_base_url,
        account_sid=settings.exotel_account_sid,
        api_key=settings.exotel_api_key.get_secret_value(),
        api_token=settings.exotel_api_token.get_secret_value(),
        timeout=settings.exotel_timeout_seconds,
        transport=transport,
        rate_limiter=limiter,
    )
    return Telephony(settings=settings, client=client, limiter=limiter)
