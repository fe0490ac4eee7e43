"""Run-time configuration use cases: read (cached), change (validated, audited), feature flags.

**Staleness bound.** Each process keeps the parsed :class:`RuntimeConfig` and the
``(section, version)`` fingerprint it was built from. A read at most every
``settings.config_cache_seconds`` (default 1 s) runs one tiny query for the fingerprint and
reloads only when it changed; a write invalidates the writing process's cache at once. So a
``PUT`` on one process is in effect everywhere within ``config_cache_seconds`` (plus one
query), without a restart.

Other slices call :func:`current`. Inside a transaction of your own, pass its ``session``:
on SQLite a process has one write transaction at a time, so opening a second one from inside
the first would wait for itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.config import repo
from exocomms.config.model import (
    SECTIONS,
    RuntimeConfig,
    apply_patch,
    parse_sections,
    resolve_feature,
)
from exocomms.errors import NotFound, ValidationError
from exocomms.logging import get_logger
from exocomms.runtime import Runtime

log = get_logger(__name__)

CACHE_EXTRA = "config.cache"
SYSTEM_ACTOR = "system"


@dataclass
class ConfigCache:
    """The process-local copy of the configuration (kept in ``runtime.extras``)."""

    config: RuntimeConfig | None = None
    fingerprint: repo.Fingerprint | None = None
    checked_at: float = float("-inf")  # time.monotonic() of the last fingerprint check

    def invalidate(self) -> None:
        """Forget everything: the next read reloads."""
        self.config = None
        self.fingerprint = None
        self.checked_at = float("-inf")


def cache_of(runtime: Runtime) -> ConfigCache:
    """The runtime's configuration cache (created on first use)."""
    cache = runtime.extras.get(CACHE_EXTRA)
    if not isinstance(cache, ConfigCache):
        cache = runtime.extras[CACHE_EXTRA] = ConfigCache()
    return cache


def _build(entries: Mapping[str, repo.Entry]) -> RuntimeConfig:
    """The config from stored rows; a section that no longer validates takes its defaults."""
    sections: dict[str, Any] = {n: e.value for n, e in entries.items() if n in SECTIONS}
    while True:
        try:
            return parse_sections(sections)
        except ValidationError as exc:
            bad = {str(d["loc"][0]) for d in exc.details or [] if d.get("loc")} & set(sections)
            if not bad:
                raise
            # Defaults are the conservative choice (TRAI windows, 3 retries): log loudly and
            # keep serving instead of refusing every call because of one stored section.
            for name in sorted(bad):
                log.error("config.stored_section_invalid", section=name, error=exc.message)
                del sections[name]


async def _refresh(session: AsyncSession, cache: ConfigCache, now: float) -> RuntimeConfig:
    fingerprint = await repo.fingerprint(session)
    if cache.config is not None and fingerprint == cache.fingerprint:
        cache.checked_at = now
        return cache.config
    config = _build(await repo.load_entries(session))
    cache.config, cache.fingerprint, cache.checked_at = config, fingerprint, now
    return config


async def current(runtime: Runtime, session: AsyncSession | None = None) -> RuntimeConfig:
    """The configuration in effect (at most ``config_cache_seconds`` stale).

    Args:
        runtime: The process runtime (holds the cache).
        session: The caller's session when called inside a transaction.
    """
    cache = cache_of(runtime)
    now = time.monotonic()
    if cache.config is not None and now - cache.checked_at < runtime.settings.config_cache_seconds:
        return cache.config
    if session is not None:
        return await _refresh(session, cache, now)
    async with runtime.db.transaction() as own:
        return await _refresh(own, cache, now)


def _not_an_object(loc: list[str]) -> ValidationError:
    return ValidationError(
        "the body must be a JSON object",
        details=[{"loc": loc, "message": "must be an object", "type": "type_error"}],
    )


async def update(runtime: Runtime, patch: Any, actor: str) -> RuntimeConfig:
    """Merge-patch the document (``{"timing": {...}, "features": {...}}``), audit, return it.

    Sections are locked in a fixed order, so concurrent writers neither lose updates nor
    deadlock. Sections whose value does not change are not written or audited.

    Raises:
        ValidationError: nothing is stored; ``details`` lists each bad field's path.
    """
    if not isinstance(patch, Mapping):
        raise _not_an_object([])
    named = [name for name in SECTIONS if name in patch]
    now = runtime.clock.now()
    async with runtime.db.transaction() as session:
        defaults = RuntimeConfig().to_dict()
        for name in named:
            await repo.lock_entry(session, name, defaults[name], now)
        before = _build(await repo.load_entries(session))
        after, changed = apply_patch(before, patch)
        for name in changed:
            value = after.section(name)
            await repo.save_entry(session, name, value, now, actor)
            await repo.add_audit(
                session, at=now, actor=actor, section=name, before=before.section(name), after=value
            )
    cache_of(runtime).invalidate()
    if changed:
        log.info("config.changed", sections=changed, actor=actor)
    return after


async def update_section(runtime: Runtime, section: str, patch: Any, actor: str) -> RuntimeConfig:
    """Merge-patch one section (``PUT /config/timing`` and friends)."""
    if section not in SECTIONS:
        raise NotFound(f"no configuration section {section!r}", details={"sections": SECTIONS})
    if not isinstance(patch, Mapping):
        raise _not_an_object([section])
    return await update(runtime, {section: patch}, actor)


async def set_feature(runtime: Runtime, feature: str, enabled: bool, actor: str) -> RuntimeConfig:
    """Turn one feature flag on or off.

    Raises:
        NotFound: unknown feature (``details.features`` lists them).
    """
    flag = resolve_feature(feature)
    if flag is None:
        features = list(RuntimeConfig().features.to_dict())
        raise NotFound(f"no feature {feature!r}", details={"features": features})
    return await update(runtime, {"features": {flag: enabled}}, actor)


async def feature_enabled(runtime: Runtime, feature: str) -> bool:
    """Whether a feature flag is on now (``numberMaskingEnabled`` or ``numberMasking``).

    Raises:
        KeyError: unknown feature (a programming error).
    """
    flag = resolve_feature(feature)
    if flag is None:
        raise KeyError(feature)
    return (await current(runtime)).feature_enabled(flag)


async def audit_log(
    runtime: Runtime, *, section: str | None, before_id: int | None, limit: int
) -> list[repo.AuditRow]:
    """Changes, newest first."""
    async with runtime.db.transaction() as session:
        return await repo.list_audit(session, section=section, before_id=before_id, limit=limit)
