"""Credentials at rest: Fernet encryption with a key ring (``EXOCOMMS_SECRET_KEYS``).

The ring is a :class:`~cryptography.fernet.MultiFernet`: the first key encrypts, every key
decrypts. To rotate, put a new key first (keep the old ones), restart, then run
``exocomms keys rotate`` (:func:`rotate_keys`): every stored secret is re-encrypted with the new
key, after which the old keys can be removed. Each row records the fingerprint (``key_id``) of
the key that encrypted it, so ``GET /config/credentials`` can tell what still needs rotating.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.errors import ExocommsError
from exocomms.storage.db import Database
from exocomms.storage.tables import stored_secrets

if TYPE_CHECKING:
    from exocomms.settings import Settings


class SecretUnreadable(ExocommsError):
    """A stored secret cannot be decrypted with any configured key (a key was removed)."""

    code = "secret_unreadable"
    status_code = 500


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 text)."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(raw: str) -> list[str]:
    """Split a comma-separated key list (newest first) and check every key.

    Raises:
        ValueError: empty list, or a key that is not a Fernet key (named by position only).
    """
    keys = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    if not keys:
        raise ValueError("EXOCOMMS_SECRET_KEYS is empty")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(
                f"EXOCOMMS_SECRET_KEYS: key #{position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None
    return keys


def key_id(key: str) -> str:
    """A short public fingerprint of a key (never enough to recover it)."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:12]


class Keyring:
    """Encrypt with the newest key, decrypt with any."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._multi = MultiFernet([Fernet(k) for k in keys])
        self.primary_id = key_id(keys[0])
        self.key_ids = tuple(key_id(k) for k in keys)

    def encrypt(self, plaintext: str) -> str:
        """Ciphertext (a Fernet token) of ``plaintext``."""
        return self._multi.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, name: str = "secret") -> str:
        """Plaintext of ``token``.

        Raises:
            SecretUnreadable: no configured key decrypts it.
        """
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable(
                f"{name} cannot be decrypted with any key in EXOCOMMS_SECRET_KEYS"
            ) from None

    def rotate(self, token: str, name: str = "secret") -> str:
        """``token`` re-encrypted with the newest key.

        Raises:
            SecretUnreadable: no configured key decrypts it.
        """
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretUnreadable(
                f"{name} cannot be decrypted with any key in EXOCOMMS_SECRET_KEYS"
            ) from None


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...]) -> Keyring:
    return Keyring(keys)


def keyring_for(settings: Settings) -> Keyring:
    """The key ring of ``settings`` (built once per distinct key list)."""
    return _ring(tuple(settings.resolved_secret_keys))


async def rotate_all(session: AsyncSession, keyring: Keyring) -> int:
    """Re-encrypt every stored secret with the newest key, in ``session``'s transaction.

    Returns:
        How many secrets were re-encrypted (all of them).

    Raises:
        SecretUnreadable: a secret no key can read; nothing is changed then (the caller's
            transaction rolls back).
    """
    rows = (
        await session.execute(
            select(stored_secrets.c.name, stored_secrets.c.ciphertext)
            .order_by(stored_secrets.c.name)
            .with_for_update()
        )
    ).all()
    for name, ciphertext in rows:
        await session.execute(
            update(stored_secrets)
            .where(stored_secrets.c.name == name)
            .values(ciphertext=keyring.rotate(ciphertext, name), key_id=keyring.primary_id)
        )
    return len(rows)


async def rotate_keys(settings: Settings, db: Database | None = None) -> int:
    """``exocomms keys rotate``: re-encrypt every stored secret with the newest key.

    Rotates in one transaction (all or nothing). Other running processes need no restart: they
    read secrets from the database on use and already hold the new key list (deploy it to every
    process *before* rotating; remove old keys only after).

    Args:
        settings: Supplies the key list and, unless ``db`` is given, the database URL.
        db: An open database to use (tests); default one opened and closed here.

    Returns:
        The number of secrets re-encrypted.

    Raises:
        SecretUnreadable: a secret none of the keys decrypts; nothing was changed.
    """
    owned = db is None
    database = db if db is not None else Database(settings.resolved_database_url)
    try:
        async with database.transaction() as session:
            return await rotate_all(session, keyring_for(settings))
    finally:
        if owned:
            await database.dispose()
