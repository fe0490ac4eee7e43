"""Fixtures for the call-engine tests: customer app, manual-clock driver, API helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from exosim.runtime import Sim
from tests.exosim.engine.support import Customer, Driver, serve_customer

ACCOUNT = "/v1/Accounts/exosim"
EXOPHONE = "08047091234"


@pytest.fixture
def customer() -> Iterator[Customer]:
    """The customer's server that flows and callbacks talk to."""
    with serve_customer() as app:
        yield app


@pytest.fixture
def driver(sim: Sim, client: httpx.Client) -> Driver:
    """The emulator on a manual clock, moved by the test."""
    return Driver(sim, client)


def connect(client: httpx.Client, **params: Any) -> str:
    """POST Calls/connect.json; returns the new CallSid."""
    data = {"CallerId": EXOPHONE, **params}
    response = client.post(f"{ACCOUNT}/Calls/connect.json", data=data)
    assert response.status_code == 200, response.text
    sid: str = response.json()["Call"]["Sid"]
    return sid


def put_flow(client: httpx.Client, flow: dict[str, Any]) -> None:
    """Create a flow through the control API."""
    response = client.post("/_exosim/flows", json=flow)
    assert response.status_code == 201, response.text


def script(client: httpx.Client, number: str, **behaviour: Any) -> None:
    """Script a virtual phone through the control API."""
    response = client.put(f"/_exosim/phones/{number}", json=behaviour)
    assert response.status_code == 200, response.text


def flow_url(flow_id: str) -> str:
    """The Exotel flow URL for ``flow_id`` (Calls/connect ``Url``)."""
    return f"http://my.exotel.com/exosim/exoml/start_voice/{flow_id}"
