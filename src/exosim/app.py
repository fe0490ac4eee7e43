"""The exosim ASGI app: Exotel's REST paths, the ``/_exosim/`` control API, engine routers."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from exosim.api import install
from exosim.api import leadassist as leadassist_api
from exosim.api.state import ApiState, default_account
from exosim.clock import SimClock
from exosim.config import SimConfig
from exosim.delivery import CallbackSender
from exosim.engine import api as engine_api
from exosim.engine.calls import CallEngine
from exosim.flows import api as flows_api
from exosim.phones import api as phones_api
from exosim.runtime import Sim
from exosim.store import Store


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~0.2 s; one context serves every instance in a process.
    return ssl.create_default_context()


def build_store(config: SimConfig, clock: SimClock) -> Store:
    """A fresh store holding only the default account from ``config``."""
    store = Store(clock=clock)
    store.accounts[config.account_sid] = default_account(config)
    return store


def create_app(
    config: SimConfig | None = None,
    clock: SimClock | None = None,
    setup: Callable[[Store], object] | None = None,
) -> FastAPI:
    """Build one emulator instance; its state lives in ``app.state.sim`` while it runs.

    Args:
        config: settings (defaults, not the environment, when omitted).
        clock: the emulator clock (a scaled real clock by default).
        setup: fills each fresh store at start-up (the CLI's ``--scenario``/``--flows``).
    """
    config = config or SimConfig()
    sim_clock = clock or SimClock(scale=config.time_scale)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = build_store(config, sim_clock)
        if setup is not None:
            setup(store)
        timeout = httpx.Timeout(config.callback_timeout, connect=5.0)
        client = httpx.AsyncClient(follow_redirects=False, timeout=timeout, verify=_tls_context())
        sender = CallbackSender(sim_clock, store.faults, client)
        # The engine needs the Sim and the Sim holds the engine: build the Sim first.
        sim = Sim(config=config, store=store, sender=sender, engine=None, http=client)  # type: ignore[arg-type]
        sim.engine = CallEngine(sim)
        api = ApiState(sim)
        app.state.sim = sim
        app.state.api = api
        try:
            yield
        finally:
            await api.shutdown()
            await sim.engine.shutdown()
            await sender.drain()
            await client.aclose()

    app = FastAPI(title="exosim", summary="A local Exotel emulator", lifespan=lifespan)
    install(app)
    for router in (flows_api.router, phones_api.router, engine_api.router):
        app.include_router(router)
    app.include_router(leadassist_api.router)  # Lead Assist GreenVN/GreenPin
    return app
