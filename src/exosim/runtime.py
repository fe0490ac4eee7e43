"""The running emulator's parts, shared by every route as ``request.app.state.sim``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from exosim.config import SimConfig
from exosim.delivery import CallbackSender
from exosim.store import Store

if TYPE_CHECKING:
    from exosim.engine.calls import CallEngine


@dataclass
class Sim:
    """One emulator: its settings, state, callback sender, call engine and HTTP client."""

    config: SimConfig
    store: Store
    sender: CallbackSender
    engine: CallEngine
    http: httpx.AsyncClient  # for applet requests and callbacks (follow_redirects=False)
