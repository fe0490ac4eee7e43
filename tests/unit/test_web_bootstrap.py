"""bootstrap: the registry every process runs, and a runtime built from settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from exocomms.bootstrap import build_registry, runtime_context, service_version
from exocomms.clock import ManualClock, SystemClock
from exocomms.outbox.service import BACKOFF, DELIVER_JOB, MAX_ATTEMPTS
from exocomms.settings import Settings


def test_registry_has_the_outbox_handler() -> None:
    spec = build_registry().get(DELIVER_JOB)
    assert spec is not None
    assert spec.max_attempts == MAX_ATTEMPTS == 16
    assert spec.backoff == BACKOFF


def test_version() -> None:
    assert service_version() == "0.1.0"


async def test_runtime_from_settings(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]  # _env_file is a pydantic-settings option
        _env_file=None, data_dir=tmp_path, jupiter_webhook_secret=SecretStr("x" * 20)
    )
    async with runtime_context(settings) as runtime:
        assert isinstance(runtime.clock, SystemClock)
        assert runtime.db.url == settings.resolved_database_url
        assert runtime.queue.registry is runtime.registry
        assert DELIVER_JOB in runtime.registry
        assert runtime.http.headers["user-agent"] == "exocomms/0.1.0"
        await runtime.db.ping()
    assert runtime.http.is_closed
    clock = ManualClock()
    async with runtime_context(settings, clock=clock) as runtime:
        assert runtime.clock is clock
