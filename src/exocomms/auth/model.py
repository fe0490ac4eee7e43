"""API keys and scopes (pure): what a key looks like, how it is hashed, what it may do.

A key is ``exo_`` + 8 lookup characters + 43 secret characters (256 random bits in all).
Only the 8-character prefix (to find the row, and to show in lists) and a SHA-256 of the whole
key are stored. A plain hash is enough here: the keys are random, so there is nothing to
brute-force, and a server-side pepper would tie every key's validity to a second secret whose
rotation would silently revoke them all.

Scopes: ``admin`` may do everything; ``integration`` may call integration endpoints and read
(GET) anything that ``read-only`` may; ``read-only`` may only use safe methods (GET, HEAD,
OPTIONS), whatever the route asks for.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

KEY_PREFIX = "exo_"
LOOKUP_LENGTH = 8
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Scope(StrEnum):
    """What a key may do."""

    ADMIN = "admin"
    INTEGRATION = "integration"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the bootstrap admin, a stored key, or nobody (open development mode)."""

    name: str
    scopes: frozenset[Scope]
    key_id: int | None = None

    @property
    def actor(self) -> str:
        """How the caller appears in audit trails and events (``api:<id>:<name>``…)."""
        if self.key_id is not None:
            return f"api:{self.key_id}:{self.name}"
        return self.name


BOOTSTRAP_ADMIN = Principal("admin", frozenset({Scope.ADMIN}))
OPEN_DEVELOPMENT = Principal("anonymous", frozenset({Scope.ADMIN}))


def allows(scopes: Iterable[Scope], required: Scope, method: str) -> bool:
    """Whether a key with ``scopes`` may call a route needing ``required`` with ``method``."""
    held = set(scopes)
    if Scope.ADMIN in held:
        return True
    safe = method.upper() in SAFE_METHODS
    if required is Scope.ADMIN:
        return False
    if required is Scope.INTEGRATION:
        return Scope.INTEGRATION in held
    # A read-only route: any key may read; writes there need more than read-only.
    return Scope.INTEGRATION in held or (Scope.READ_ONLY in held and safe)


def generate_key() -> tuple[str, str]:
    """A new key and its lookup prefix."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    lookup = "".join(secrets.choice(alphabet) for _ in range(LOOKUP_LENGTH))
    return f"{KEY_PREFIX}{lookup}{secrets.token_urlsafe(32)}", lookup


def lookup_of(key: str) -> str | None:
    """The lookup prefix of a key in our format, or None for anything else."""
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + LOOKUP_LENGTH + 32:
        return None
    return key[len(KEY_PREFIX) : len(KEY_PREFIX) + LOOKUP_LENGTH]


def hash_key(key: str) -> str:
    """Hex SHA-256 of the key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scopes from their names.

    Raises:
        ValueError: an unknown scope.
    """
    return frozenset(Scope(v) for v in values)
