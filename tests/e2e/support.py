"""End-to-end harness: exosim and the service, each on a real loopback port, talking HTTP.

Both run on scaled clocks with the same anchor and scale, so a call that lasts a minute of
simulated time takes two seconds. The service runs in its own thread and event loop;
:meth:`Service.run` executes a coroutine there (its database engine and HTTP pools belong to
that loop), and :attr:`Service.events` records every domain event the service publishes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from exocomms.calls import repo
from exocomms.clock import ScaledClock
from exocomms.events import DomainEvent
from exocomms.ivr import flows
from exocomms.ivr.service import start_ivr_call
from exocomms.messaging import templates
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.telephony.exotel import blueprint
from exocomms.web.app import create_app as create_service
from exosim.app import create_app as create_sim
from exosim.clock import SimClock
from exosim.config import SimConfig
from tests.support.db import PG_URL
from tests.support.servers import free_port, serve_in_thread

T = TypeVar("T")

SCALE = 30.0  # simulated seconds per real second, on both sides
TOKEN = "e2e-webhook-token-not-a-secret"
DID_NEW_ORDER = "08047100001"
DID_REMINDER = "08047100002"
DID_ADDRESS = "08047100003"
CALLER_ID = "08047100009"
SMS_SENDER = "SHOPCO"
DLT_ENTITY = "1101000000000000001"
# The IVR flows loaded into exosim (the telephony slice's; others load their own).
IVRS = (
    "vendor_order",
    "vendor_reminder",
    "rider_assignment",
    "rider_delivery_alert",
    "address_change",
    "customer_status",
    "customer_delay",
)
VENDOR = "+919876543210"
RIDER = "+919812345678"


# ---------------------------------------------------------------- waiting


def wait_for(
    probe: Callable[[], T | None], *, what: str, seconds: float = 20.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- exosim


@dataclass
class Sim:
    """A running exosim and a client on its control API."""

    url: str
    http: httpx.Client

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/_exosim/<path>``; fail the test on an error status."""
        response = self.http.request(method, f"/_exosim/{path}", **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def script(self, number: str, **script: Any) -> None:
        """Script the virtual phone ``number`` (README: Virtual phones)."""
        self.control("PUT", f"phones/{number}", json=script)

    def transcript(self, number: str) -> list[dict[str, Any]]:
        """What the phone saw, heard and did, in order."""
        body = self.control("GET", f"phones/{number}/transcript")
        entries = body["transcript"] if isinstance(body, dict) else body
        return list(entries)

    def call(self, sid: str) -> dict[str, Any]:
        """exosim's full record of one call (events and callback attempts)."""
        return dict(self.control("GET", f"calls/{sid}"))

    def calls(self) -> list[dict[str, Any]]:
        """Every call exosim knows."""
        return _items(self.control("GET", "calls"), "calls")

    def sms(self) -> list[dict[str, Any]]:
        """Every SMS exosim knows."""
        return _items(self.control("GET", "sms"), "sms")

    def whatsapp(self) -> list[dict[str, Any]]:
        """Every WhatsApp message exosim knows."""
        return _items(self.control("GET", "whatsapp"), "messages")

    def load_flow(self, flow: Mapping[str, Any]) -> None:
        """Create or replace a flow."""
        self.control("PUT", f"flows/{flow['id']}", json=dict(flow))


def _items(body: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    for name in (key, "items", "records"):
        if isinstance(body, dict) and isinstance(body.get(name), list):
            return list(body[name])
    raise AssertionError(f"unexpected listing shape: {str(body)[:200]}")


@contextmanager
def running_sim(start: datetime) -> Iterator[Sim]:
    """exosim on a free port, its clock at ``start`` running ``SCALE`` times faster.

    Applet requests wait 3 real seconds (not 8 simulated ones) for the service, so a slow
    database does not turn into the blueprint's "sorry" branch.
    """
    config = SimConfig(port=free_port(), passthru_timeout=3 * SCALE)
    app = create_sim(config, clock=SimClock(scale=SCALE, start=start))
    with (
        serve_in_thread(app, port=config.port) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
        yield Sim(url, http)


# ---------------------------------------------------------------- the service


@dataclass
class Service:
    """A running service: its URL, settings, event loop and every event it published."""

    url: str
    app: FastAPI
    settings: Settings
    loop: asyncio.AbstractEventLoop
    http: httpx.Client
    events: list[DomainEvent] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        """The service's runtime (use it only through :meth:`run`)."""
        runtime: Runtime = self.app.state.runtime
        return runtime

    def run(self, work: Callable[[Runtime], Awaitable[T]], timeout: float = 15.0) -> T:
        """Run ``work(runtime)`` on the service's loop and return its result."""

        async def call() -> T:
            return await work(self.runtime)

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    def in_transaction(
        self, work: Callable[[AsyncSession, Runtime], Awaitable[T]], timeout: float = 15.0
    ) -> T:
        """Run ``work(session, runtime)`` in one service transaction (committed on success)."""

        async def call(runtime: Runtime) -> T:
            async with runtime.db.transaction() as session:
                return await work(session, runtime)

        return self.run(call, timeout)

    def call_row(self, call_id: str) -> dict[str, Any]:
        """The ``voice_calls`` row of ``call_id``."""

        async def read(session: AsyncSession, runtime: Runtime) -> dict[str, Any] | None:
            return await repo.get_call(session, call_id=call_id)

        row = self.in_transaction(read)
        assert row is not None, f"no call {call_id}"
        return row

    def published(self, name: str) -> list[DomainEvent]:
        """The events called ``name`` published so far."""
        return [e for e in list(self.events) if e.name == name]


class _LoopCapture:
    """ASGI wrapper that remembers the event loop the server runs the app on."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


@contextmanager
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database for the service: a SQLite file, or a PostgreSQL schema when asked.

    The service migrates it at start-up; a PostgreSQL schema is dropped afterwards.
    """
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    schema = f"e2e_{uuid.uuid4().hex[:16]}"
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def service_settings(tmp_path: Path, *, url: str, sim_url: str, db_url: str) -> Settings:
    """Settings for an e2e service: exosim as Exotel, short call timings, DLT ids."""
    keys = [
        f"{name}.{lang}"
        for name, bodies in sorted(templates.dlt_bodies().items())
        for lang in sorted(bodies)
    ]
    dlt_ids = {key: f"1107{index:015d}" for index, key in enumerate(keys, 1)}
    return Settings(
        _env_file=None,  # no .env from the working directory: the test sets everything
        env="test",
        data_dir=tmp_path / "data",
        database_url=db_url,
        public_base_url=url,
        webhook_token=SecretStr(TOKEN),
        exotel_base_url=sim_url,
        exotel_account_sid="exosim",
        exotel_api_key=SecretStr("exosim-key"),
        exotel_api_token=SecretStr("exosim-token"),
        exotel_timeout_seconds=5.0,
        jupiter_url="http://127.0.0.1:9",  # no commerce backend: outcome deliveries just retry
        log_level="WARNING",
        embedded_worker=True,
        job_poll_seconds=0.1,
        did_new_order=DID_NEW_ORDER,
        did_reminder=DID_REMINDER,
        did_address=DID_ADDRESS,
        caller_id=CALLER_ID,
        sms_sender_id=SMS_SENDER,
        dlt_entity_id=DLT_ENTITY,
        dlt_template_ids=dlt_ids,
        call_time_limit_seconds=120,
        call_ring_timeout_seconds=10,
        reconcile_margin_seconds=5.0,
        ivr_retry={
            "vendor_order_confirmation": {"max_attempts": 2, "initial_delay": 10, "factor": 1},
        },
    )


def register_dlt(sim: Sim, settings: Settings) -> None:
    """Register every SMS template of the catalogue with exosim's DLT registry."""
    bodies = templates.dlt_bodies()
    for key, template_id in settings.dlt_template_ids.items():
        name, _, lang = key.rpartition(".")
        sim.control(
            "POST",
            "dlt/templates",
            json={
                "template_id": template_id,
                "entity_id": settings.dlt_entity_id,
                "body": bodies[name][lang],
                "sender_ids": [SMS_SENDER],
                "sms_type": "transactional",
            },
        )


def load_flows(sim: Sim, service_url: str, token: str) -> None:
    """The IVR blueprints (pointing at the service), the ring flow, and the DIDs."""
    for name in IVRS:
        bp = blueprint.build(flows.get(name), base_url=service_url, token=token, flow_id=name)
        sim.control("POST", "flows", json=blueprint.to_exosim(bp))
    sim.control(
        "POST", "flows", json={"id": "ring", "start": "bye", "applets": {"bye": {"type": "hangup"}}}
    )
    for number in (DID_NEW_ORDER, DID_REMINDER, DID_ADDRESS, CALLER_ID):
        sim.control("POST", "exophones", json={"number": number})


@contextmanager
def running_service(settings: Settings, *, port: int, start: datetime) -> Iterator[Service]:
    """The service on ``port`` with a scaled clock, its worker on, recording its events."""
    app = create_service(settings, clock=ScaledClock(SCALE, start=start), configure_logs=False)
    capture = _LoopCapture(app)
    with serve_in_thread(capture, port=port) as url, httpx.Client(base_url=url, timeout=10) as http:
        assert capture.loop is not None
        service = Service(url, app, settings, capture.loop, http)

        async def record(session: AsyncSession, runtime: Runtime, event: DomainEvent) -> None:
            service.events.append(event)

        async def subscribe(runtime: Runtime) -> None:
            runtime.events.subscribe("*", record)

        service.run(subscribe)
        yield service


def start_time() -> datetime:
    """The shared anchor of both clocks (now, to the second)."""
    return datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------- the vendor's order call

ORDER = {
    "store_name": "Krishna Kirana",
    "order_id": "12345",
    "amount": 325,
    "items": [{"name": "Atta", "quantity": 1}, {"name": "Dal", "quantity": 2}],
}
MENU = "स्वीकार करने के लिए 1"  # heard in the vendor's accept/reject menu only
PREP_QUESTION = "तैयार होने में"  # the prep-time question only
ACCEPTS_20 = [  # a vendor who accepts with 20 minutes of preparation
    {"when_heard": MENU, "keys": "1", "once": True},
    {"when_heard": PREP_QUESTION, "keys": "2", "once": True},
]


def vendor_call(service: Service, **overrides: Any) -> str:
    """Queue the vendor order confirmation call for :data:`ORDER`; returns the call id."""

    async def start(session: AsyncSession, runtime: Runtime) -> str:
        arguments: dict[str, Any] = {
            "ivr": "vendor_order",
            "phone": VENDOR,
            "context": ORDER,
            "purpose": "vendor_order_confirmation",
            "order_id": "12345",
            "vendor_id": "67",
            "caller": "new_order",
            **overrides,
        }
        return await start_ivr_call(session, runtime, **arguments)

    return service.in_transaction(start)


def finished(service: Service, call_id: str) -> dict[str, Any]:
    """The call's row once the service has handled its end (terminal status applied)."""

    def probe() -> dict[str, Any] | None:
        row = service.call_row(call_id)
        return row if (row["meta"] or {}).get("finished") else None

    return wait_for(probe, what=f"call {call_id} to finish")


def heard(sim: Sim, number: str) -> list[str]:
    """What the phone heard spoken, in order."""
    return [e["text"] for e in sim.transcript(number) if e["kind"] == "heard_tts"]
