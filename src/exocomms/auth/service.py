"""API key use cases: create (the key is shown once), list, revoke, authenticate."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import timedelta

from exocomms.auth import repo
from exocomms.auth.model import Principal, Scope, generate_key, hash_key, lookup_of
from exocomms.config import repo as config_repo
from exocomms.errors import NotFound, ValidationError
from exocomms.logging import get_logger
from exocomms.runtime import Runtime

log = get_logger(__name__)

AUDIT_SECTION = "api_keys"
# last_used_at is a hint for operators, not an access log: at most one write per key and
# minute keeps busy integrations from turning every request into a database write.
TOUCH_EVERY = timedelta(seconds=60)


async def create_key(
    runtime: Runtime, name: str, scopes: Iterable[Scope], actor: str
) -> tuple[repo.KeyRow, str]:
    """Create a key with ``scopes``; returns its row and the key itself (shown only now).

    Raises:
        ValidationError: blank name or no scope.
    """
    name = name.strip()
    wanted = sorted({Scope(s) for s in scopes})
    if not name or not wanted:
        raise ValidationError(
            "a key needs a name and at least one scope",
            details=[{"loc": ["body", "scopes" if name else "name"], "message": "required"}],
        )
    key, prefix = generate_key()
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        row = await repo.insert_key(
            session,
            name=name,
            prefix=prefix,
            key_hash=hash_key(key),
            scopes=[s.value for s in wanted],
            at=now,
            actor=actor,
        )
        await config_repo.add_audit(
            session,
            at=now,
            actor=actor,
            section=AUDIT_SECTION,
            before=None,
            after={"id": row.id, "name": name, "scopes": row.scopes},
        )
    log.info("auth.key_created", key_id=row.id, scopes=row.scopes, actor=actor)
    return row, key


async def list_keys(runtime: Runtime, *, include_revoked: bool = True) -> list[repo.KeyRow]:
    """Every key (no secrets: only prefixes and hashes are stored)."""
    async with runtime.db.transaction() as session:
        return await repo.list_keys(session, include_revoked=include_revoked)


async def revoke_key(runtime: Runtime, key_id: int, actor: str) -> repo.KeyRow:
    """Revoke a key at once (every process checks the database on each request).

    Raises:
        NotFound: no such key.
    """
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        row = await repo.get_key(session, key_id)
        if row is None:
            raise NotFound(f"no API key {key_id}")
        if row.revoked_at is None:
            await repo.revoke(session, key_id, now)
            await config_repo.add_audit(
                session,
                at=now,
                actor=actor,
                section=AUDIT_SECTION,
                before={"id": row.id, "name": row.name, "revoked": False},
                after={"id": row.id, "name": row.name, "revoked": True},
            )
            log.info("auth.key_revoked", key_id=key_id, actor=actor)
        updated = await repo.get_key(session, key_id)
    assert updated is not None  # just read it in the same transaction
    return updated


async def authenticate(runtime: Runtime, key: str) -> Principal | None:
    """The principal of a stored, unrevoked key, or None."""
    lookup = lookup_of(key)
    if lookup is None:
        return None
    digest = hash_key(key)
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        for row in await repo.by_prefix(session, lookup):
            if not hmac.compare_digest(row.hash, digest) or row.revoked_at is not None:
                continue
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                await repo.touch(session, row.id, now)
            scopes = frozenset(Scope(s) for s in row.scopes if s in Scope._value2member_map_)
            return Principal(row.name, scopes, row.id)
    return None
