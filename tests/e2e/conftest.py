"""Fixtures of the telephony end-to-end tests: exosim + the service over real HTTP.

``telephony`` gives a fresh pair per test: exosim (IVR blueprints, ring flow, DIDs, DLT
templates loaded) and the service (fresh database, embedded worker, scaled clock) pointing at
each other. Nothing is autouse, so other e2e modules are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    Service,
    Sim,
    database_url,
    load_flows,
    register_dlt,
    running_service,
    running_sim,
    service_settings,
    start_time,
)
from tests.support.servers import free_port


@dataclass
class Telephony:
    """exosim and the service, wired to each other."""

    sim: Sim
    service: Service


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test changes (parametrize ``overrides`` to set some)."""
    return {}


@pytest.fixture
def telephony(tmp_path: Path, overrides: dict[str, Any]) -> Iterator[Telephony]:
    """A fresh exosim and service for one test (both stopped afterwards)."""
    start = start_time()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_sim(start) as sim, database_url(tmp_path) as db_url:
        settings = service_settings(tmp_path, url=url, sim_url=sim.url, db_url=db_url)
        settings = settings.model_copy(update=overrides)
        load_flows(sim, url, settings.resolved_webhook_token)
        register_dlt(sim, settings)
        with running_service(settings, port=port, start=start) as service:
            yield Telephony(sim, service)
