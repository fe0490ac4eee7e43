"""The exosim ASGI app: Exotel's REST paths, the ``/_exosim/`` control API, engine routers."""

from __future__ import annotations

import functools
import importlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from exosim.api import install
from exosim.api.state import ApiState, default_account
from exosim.clock import SimClock
from exosim.config import SimConfig
from exosim.delivery import CallbackSender
from exosim.runtime import Sim
from exosim.store import Store

# Routers owned by the engine/flows/phones packages; optional so the app starts without them.
_OPTIONAL_ROUTERS = ("exosim.flows.api", "exosim.phones.api", "exosim.engine.api")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~0.2 s; one context serves every instance in a process.
    return ssl.create_default_context()


def build_store(config: SimConfig, clock: SimClock) -> Store:
    """A fresh store holding only the default account from ``config``."""
    store = Store(clock=clock)
    store.accounts[config.account_sid] = default_account(config)
    return store


class _NoEngine:
    """Stand-in while ``exosim.engine`` is absent: calls are stored but never progress."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim

    def start_call(self, call: Any) -> None:
        """Leave the call as created."""

    async def shutdown(self) -> None:
        """Nothing runs, so nothing to stop."""


def _make_engine(sim: Sim) -> Any:
    try:
        module = importlib.import_module("exosim.engine.calls")
    except ModuleNotFoundError as exc:
        if exc.name is not None and "exosim.engine.calls".startswith(exc.name):
            return _NoEngine(sim)
        raise
    return module.CallEngine(sim)


def _optional_router(module_name: str) -> APIRouter | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only tolerate the module itself missing, not a broken import inside it.
        if exc.name is not None and module_name.startswith(exc.name):
            return None
        raise
    router = getattr(module, "router", None)
    return router if isinstance(router, APIRouter) else None


def create_app(config: SimConfig | None = None, clock: SimClock | None = None) -> FastAPI:
    """Build one emulator instance; its state lives in ``app.state.sim`` while it runs."""
    config = config or SimConfig()
    sim_clock = clock or SimClock(scale=config.time_scale)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = build_store(config, sim_clock)
        timeout = httpx.Timeout(config.callback_timeout, connect=5.0)
        client = httpx.AsyncClient(
            follow_redirects=False, timeout=timeout, verify=_tls_context()
        )
        sender = CallbackSender(sim_clock, store.faults, client)
        sim = Sim(config=config, store=store, sender=sender, engine=None, http=client)  # type: ignore[arg-type]
        sim.engine = _make_engine(sim)
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
    for module_name in _OPTIONAL_ROUTERS:
        router = _optional_router(module_name)
        if router is not None:
            app.include_router(router)
    return app
