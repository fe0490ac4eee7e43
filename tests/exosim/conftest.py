"""Fixtures for exosim tests: a fresh emulator per test, served over real HTTP on loopback.

The emulator runs in its own thread and event loop; tests talk to it with ``httpx`` (sync or
async). ``sim`` exposes the running ``Sim`` for white-box *reading*; change state through the
``/_exosim/`` control API so every change happens on the emulator's own loop.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from exosim.app import create_app
from exosim.config import SimConfig
from exosim.runtime import Sim
from tests.support.servers import free_port, serve_in_thread

# Building an SSL context costs ~0.2 s and every httpx client builds one; share one.
TLS = ssl.create_default_context()


def http_client(base_url: str, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` on ``base_url`` that reuses the module's TLS context."""
    return httpx.Client(base_url=base_url, verify=TLS, timeout=10, **kwargs)


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
    with http_client(sim_url, auth=auth) as http:
        yield http


# -- a customer app that records what exosim sends it -----------------------------------
@dataclass
class Received:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: list[tuple[str, str]]

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """A running customer app: its base URL and every request it has received."""

    url: str
    requests: list[Received] = field(default_factory=list)

    def wait_for(self, count: int, seconds: float = 10.0) -> list[Received]:
        """Block until ``count`` requests have arrived (fails the test after ``seconds``)."""
        deadline = time.monotonic() + seconds
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"expected {count} callbacks, got {len(self.requests)}")
            time.sleep(0.01)
        return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A customer app on loopback answering 200 to everything and recording it."""
    app = Starlette()
    box = Receiver(url="")

    async def record(request: Request) -> Response:
        body = await request.body()
        form: list[tuple[str, str]] = []
        kind = request.headers.get("content-type", "")
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            data = await request.form()
            form = [(k, str(v)) for k, v in data.multi_items()]
            await data.close()
        box.requests.append(
            Received(request.method, request.url.path, dict(request.headers), body, form)
        )
        return PlainTextResponse("ok")

    app.add_route("/{path:path}", record, methods=["GET", "POST", "HEAD"])
    with serve_in_thread(app) as url:
        box.url = url
        yield box


# -- golden files -----------------------------------------------------------------------
GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "exosim"
_SID = re.compile(r"\b[0-9a-f]{32}\b")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_FORM_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\+\d{2}%3A\d{2}%3A\d{2}")  # form-encoded
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")


def normalise(text: str) -> str:
    """Replace what changes per run (sids, timestamps) with stable markers."""
    text = _SID.sub("<SID>", text)
    text = _ISO.sub("<TIMESTAMP>", text)
    text = _FORM_DATE.sub("<DATE>", text)
    return _DATE.sub("<DATE>", text)


def assert_golden(name: str, actual: str) -> None:
    """Compare ``actual`` (normalised) with ``tests/golden/exosim/<name>``.

    Set ``EXOSIM_UPDATE_GOLDEN=1`` to (re)write the file instead.
    """
    path = GOLDEN_DIR / name
    text = normalise(actual)
    if os.environ.get("EXOSIM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run with EXOSIM_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


# -- control API helpers ----------------------------------------------------------------
def control(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """Call ``/_exosim/<path>`` and return its JSON, failing the test on an error status."""
    response = client.request(method, f"/_exosim/{path}", **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def manual_clock(client: httpx.Client) -> None:
    """Freeze the emulator clock; move it with :func:`advance`."""
    control(client, "POST", "clock", json={"mode": "manual"})


def advance(client: httpx.Client, seconds: float) -> None:
    """Move the emulator clock forward."""
    control(client, "POST", "clock", json={"advance": seconds})


@pytest.fixture(scope="module")
def shared_client() -> Iterator[httpx.Client]:
    """One emulator for a whole module, for tests that create nothing (bad input, auth)."""
    config = SimConfig(port=free_port())
    with (
        serve_in_thread(create_app(config), port=config.port) as url,
        http_client(url, auth=httpx.BasicAuth(config.api_key, config.api_token)) as http,
    ):
        yield http
