"""Credentials stored encrypted in the database, and the Exotel credentials check.

Values are encrypted with :mod:`exocomms.config.crypto` before they reach the database and are
never returned by the API: lists show ``configured`` and a masked hint (``••••abcd``, the last
four characters, and only for values of 12 characters or more). The audit trail records that a
credential changed, never any part of it.

Stored Exotel credentials (both ``exotelApiKey`` and ``exotelApiToken``) take precedence over
``EXOCOMMS_EXOTEL_API_KEY``/``_TOKEN``: see :func:`exotel_credentials`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.config import repo
from exocomms.config.crypto import SecretUnreadable, keyring_for
from exocomms.errors import (
    InvalidRequest,
    NotFound,
    ProviderAuthError,
    ProviderError,
    ValidationError,
)
from exocomms.logging import get_logger
from exocomms.runtime import Runtime
from exocomms.telephony.exotel.client import ExotelClient

log = get_logger(__name__)

AUDIT_SECTION = "credentials"
MASK = "••••"
HINT_MIN_LENGTH = 12  # shorter values get no hint: four characters would be a third of them
MAX_LENGTH = 4096

#: Every credential that can be stored, with what it is for.
CREDENTIALS: Mapping[str, str] = MappingProxyType(
    {
        "exotelApiKey": "Exotel API key (overrides EXOCOMMS_EXOTEL_API_KEY)",
        "exotelApiToken": "Exotel API token (overrides EXOCOMMS_EXOTEL_API_TOKEN)",
        "zohoClientId": "Zoho CRM OAuth client id",
        "zohoClientSecret": "Zoho CRM OAuth client secret",
        "zohoRefreshToken": "Zoho CRM OAuth refresh token",
        "jupiterApiKey": "API key for calls to the commerce backend",
        "llmApiKey": "API key of the OpenAI-compatible LLM endpoint",
        "asrApiKey": "API key of the Whisper (speech recognition) server",
        "labelStudioToken": "Label Studio API token",
    }
)


def mask(value: str) -> str:
    """``••••`` plus the last four characters when the value is long enough to spare them."""
    return MASK + value[-4:] if len(value) >= HINT_MIN_LENGTH else MASK


@dataclass(frozen=True)
class CredentialInfo:
    """What the API shows about one credential (never its value)."""

    name: str
    description: str
    configured: bool
    hint: str | None
    key_id: str | None  # fingerprint of the key that encrypted it
    needs_rotation: bool  # encrypted with a key other than the newest
    readable: bool  # decryptable with the configured keys
    updated_at: datetime | None
    updated_by: str | None


def _check_name(name: str) -> None:
    if name not in CREDENTIALS:
        raise NotFound(f"no credential {name!r}", details={"credentials": list(CREDENTIALS)})


async def list_credentials(runtime: Runtime) -> list[CredentialInfo]:
    """Every known credential, configured or not, with a masked hint."""
    keyring = keyring_for(runtime.settings)
    async with runtime.db.transaction() as session:
        stored = await repo.list_secrets(session)
    infos = []
    for name, description in CREDENTIALS.items():
        row = stored.get(name)
        if row is None:
            infos.append(
                CredentialInfo(name, description, False, None, None, False, True, None, None)
            )
            continue
        try:
            hint, readable = mask(keyring.decrypt(row.ciphertext, name)), True
        except SecretUnreadable:
            hint, readable = MASK, False
        infos.append(
            CredentialInfo(
                name=name,
                description=description,
                configured=True,
                hint=hint,
                key_id=row.key_id,
                needs_rotation=row.key_id != keyring.primary_id,
                readable=readable,
                updated_at=row.updated_at,
                updated_by=row.updated_by,
            )
        )
    return infos


async def put_credential(runtime: Runtime, name: str, value: str, actor: str) -> CredentialInfo:
    """Encrypt and store ``value`` as credential ``name`` (replacing any), audited.

    Raises:
        NotFound: unknown credential name.
        ValidationError: empty, too long, or containing control characters.
    """
    _check_name(name)
    value = value.strip()
    if not value or len(value) > MAX_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(
            f"a credential is 1 to {MAX_LENGTH} printable characters",
            details=[{"loc": ["body", "value"], "message": "invalid value", "type": "value_error"}],
        )
    keyring = keyring_for(runtime.settings)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        existed = name in await repo.get_secrets(session, [name])
        await repo.put_secret(
            session,
            name=name,
            ciphertext=keyring.encrypt(value),
            key_id=keyring.primary_id,
            at=now,
            actor=actor,
        )
        await repo.add_audit(
            session,
            at=now,
            actor=actor,
            section=AUDIT_SECTION,
            before={"name": name, "configured": existed},
            after={"name": name, "configured": True},
        )
    log.info("config.credential_set", name=name, actor=actor)
    return CredentialInfo(
        name, CREDENTIALS[name], True, mask(value), keyring.primary_id, False, True, now, actor
    )


async def delete_credential(runtime: Runtime, name: str, actor: str) -> None:
    """Forget a stored credential (settings apply again where they exist), audited.

    Raises:
        NotFound: unknown name, or nothing stored under it.
    """
    _check_name(name)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        if not await repo.delete_secret(session, name):
            raise NotFound(f"credential {name!r} is not configured")
        await repo.add_audit(
            session,
            at=now,
            actor=actor,
            section=AUDIT_SECTION,
            before={"name": name, "configured": True},
            after={"name": name, "configured": False},
        )
    log.info("config.credential_deleted", name=name, actor=actor)


async def get_credential(
    runtime: Runtime, name: str, session: AsyncSession | None = None
) -> str | None:
    """The plaintext of a stored credential, or None when it is not stored.

    Raises:
        SecretUnreadable: stored, but no configured key decrypts it.
    """
    _check_name(name)
    found = await _read(runtime, [name], session)
    return found.get(name)


async def _read(runtime: Runtime, names: list[str], session: AsyncSession | None) -> dict[str, str]:
    if session is None:
        async with runtime.db.transaction() as own:
            rows = await repo.get_secrets(own, names)
    else:
        rows = await repo.get_secrets(session, names)
    keyring = keyring_for(runtime.settings)
    return {name: keyring.decrypt(row.ciphertext, name) for name, row in rows.items()}


async def exotel_credentials(
    runtime: Runtime, session: AsyncSession | None = None
) -> tuple[str, str] | None:
    """Stored ``(api_key, api_token)`` for Exotel, or None to use the settings' pair.

    Both must be stored: a stored key with a token from the environment is almost certainly
    a mismatched pair, so a half-configured pair is ignored (and logged).
    """
    found = await _read(runtime, ["exotelApiKey", "exotelApiToken"], session)
    if len(found) == 2:
        return found["exotelApiKey"], found["exotelApiToken"]
    if found:
        log.warning("config.exotel_credentials_incomplete", stored=sorted(found))
    return None


@dataclass(frozen=True)
class AuthCheck:
    """The result of asking Exotel whether our credentials work."""

    valid: bool | None  # None: Exotel could not be asked (unreachable, rate limited…)
    account_sid: str
    checked_at: datetime
    detail: str
    source: str  # "database", "settings" or "none"


# A well-formed call sid that no account has: looking it up costs Exotel nothing, and the
# answer tells the two cases apart (404 → credentials accepted, 401/403 → refused).
PROBE_SID = "0" * 32


async def check_exotel(runtime: Runtime) -> AuthCheck:
    """Ask Exotel (one authenticated GET of a non-existent call) whether the credentials work."""
    settings = runtime.settings
    account_sid = settings.exotel_account_sid
    stored = await exotel_credentials(runtime)
    if stored is not None:
        (api_key, api_token), source = stored, "database"
    else:
        api_key = settings.exotel_api_key.get_secret_value()
        api_token = settings.exotel_api_token.get_secret_value()
        source = "settings" if api_key and api_token else "none"
    if source == "none" or not account_sid:
        return AuthCheck(
            False, account_sid, runtime.clock.now(), "no Exotel credentials configured", "none"
        )
    client = ExotelClient(
        base_url=settings.exotel_base_url,
        account_sid=account_sid,
        api_key=api_key,
        api_token=api_token,
        timeout=settings.exotel_timeout_seconds,
        read_retries=0,  # a health probe: one answer is enough, and fast
    )
    try:
        await client.get_call(PROBE_SID)
        valid, detail = True, "credentials accepted"
    except ProviderAuthError:
        valid, detail = False, "Exotel refused the credentials"
    except InvalidRequest as exc:
        status = exc.details.get("status") if isinstance(exc.details, dict) else None
        if status == 404:
            valid, detail = True, "credentials accepted"
        else:
            valid, detail = None, f"unexpected answer from Exotel (HTTP {status})"
    except ProviderError as exc:
        valid, detail = None, f"Exotel could not be asked: {exc.code}"
    finally:
        await client.aclose()
    log.info("config.exotel_auth_checked", valid=valid, source=source)
    return AuthCheck(valid, account_sid, runtime.clock.now(), detail, source)
