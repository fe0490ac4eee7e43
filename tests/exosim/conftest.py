"""Fixtures for exosim tests: a fresh emulator per test, served over real HTTP on loopback.

The emulator runs in its own thread and event loop; tests talk to it with ``httpx`` (sync or
async). ``sim`` exposes the running ``Sim`` for white-box *reading*; change state through the
``/_exosim/`` control API so every change happens on the emulator's own loop.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from exosim.app import create_app
from exosim.config import SimConfig
from exosim.runtime import Sim
from tests.support.servers import free_port, serve_in_thread


@pytest.fixture
def sim_config() -> SimConfig:
    """Default settings (account ``exosim``, key ``exosim-key``, token ``exosim-token``).

    The port is chosen up front so ``config.base_url`` (used for RecordingUrl) is right.
    """
    return SimConfig(port=free_port())


@pytest.fixture
def sim_app(sim_config: SimConfig) -> FastAPI:
    """An emulator app that has not started yet."""
    return create_app(sim_config)


@pytest.fixture
def sim_url(sim_app: FastAPI, sim_config: SimConfig) -> Iterator[str]:
    """Base URL of the running emulator (e.g. ``http://127.0.0.1:54321``)."""
    with serve_in_thread(sim_app, port=sim_config.port) as url:
        yield url


@pytest.fixture
def sim(sim_app: FastAPI, sim_url: str) -> Sim:
    """The running emulator's ``Sim`` (store, clock, engine) for inspection."""
    state: Sim = sim_app.state.sim
    return state


@pytest.fixture
def auth(sim_config: SimConfig) -> httpx.BasicAuth:
    """HTTP Basic credentials of the default account (API key and token)."""
    return httpx.BasicAuth(sim_config.api_key, sim_config.api_token)


@pytest.fixture
def client(sim_url: str, auth: httpx.BasicAuth) -> Iterator[httpx.Client]:
    """A sync client on the emulator, authenticated as the default account."""
    with httpx.Client(base_url=sim_url, auth=auth, timeout=10) as http:
        yield http
