"""Test helpers for the call engine: a scriptable customer app and a manual-clock driver."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from exosim.model import Call
from exosim.runtime import Sim
from tests.support.servers import serve_in_thread


@dataclass
class Hit:
    """One request the customer app received."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    form: list[tuple[str, str]]
    content_type: str

    @property
    def params(self) -> dict[str, str]:
        """Query parameters as a dict (last value wins)."""
        return dict(self.query)

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Reply:
    """What the customer app answers on one path."""

    status: int = 200
    text: str = ""
    content_type: str = "text/plain"
    hang: bool = False  # never answer (until the client gives up)

    @staticmethod
    def of_json(data: Any) -> Reply:
        """A 200 JSON reply."""
        return Reply(text=json.dumps(data), content_type="application/json")


@dataclass
class Customer:
    """A customer's server: fixed replies per path, every request recorded."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    replies: dict[str, Reply] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, path: str, reply: Reply) -> str:
        """Answer ``reply`` on ``path``; returns the full URL."""
        self.replies[path] = reply
        return self.url + path

    def to(self, path: str) -> list[Hit]:
        """Requests received on ``path``, in order."""
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    async def handle(self, request: Request) -> Response:
        """Record the request, then answer as configured (default: 200 ``ok``)."""
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        form: list[tuple[str, str]] = []
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            data = await request.form()
            form = [(k, str(v)) for k, v in data.multi_items()]
            await data.close()
        hit = Hit(
            request.method,
            request.url.path,
            list(request.query_params.multi_items()),
            dict(request.headers),
            body,
            form,
            content_type,
        )
        with self._lock:
            self.hits.append(hit)
        reply = self.replies.get(request.url.path, Reply(text="ok"))
        if reply.hang:
            while not await request.is_disconnected():  # noqa: ASYNC110 - Starlette has no disconnect event
                await asyncio.sleep(0.02)
            return Response(status_code=504)
        headers = {"Location": "/elsewhere"} if reply.status == 302 else None
        return Response(reply.text, reply.status, headers, media_type=reply.content_type)


@contextmanager
def serve_customer() -> Iterator[Customer]:
    """Run a :class:`Customer` app on loopback for the duration of the block."""
    customer = Customer()
    app = Starlette()
    app.add_route("/{path:path}", customer.handle, methods=["GET", "POST", "HEAD", "PUT", "DELETE"])
    with serve_in_thread(app) as url:
        customer.url = url
        yield customer


class Driver:
    """Moves the emulator's manual clock from the test thread, on the emulator's loop.

    Time only moves while no applet request is on the wire, so the customer app's real
    response time never counts as simulated time (a request that hangs for more than
    ``stuck_after`` real seconds lets time move, so applet timeouts can fire).
    """

    def __init__(self, sim: Sim, client: httpx.Client, stuck_after: float = 5.0) -> None:
        self.sim = sim
        self.client = client
        self.stuck_after = stuck_after
        client.post("/_exosim/clock", json={"mode": "manual"}).raise_for_status()

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (through the control API)."""
        self.client.post("/_exosim/clock", json={"advance": seconds}).raise_for_status()

    def run_until(
        self, done: Callable[[], bool], step: float = 0.5, limit: float = 4 * 3600
    ) -> float:
        """Advance in ``step``s until ``done()``; returns the simulated seconds it took."""
        moved = 0.0
        busy_since: float | None = None
        while not done():
            time.sleep(0.003)  # let the emulator's loop run what became due
            if done():
                break
            if self.sim.engine.busy:
                busy_since = busy_since or time.monotonic()
                if time.monotonic() - busy_since < self.stuck_after:
                    continue
            else:
                busy_since = None
            assert moved < limit, f"not done after {limit} simulated seconds"
            self.advance(step)
            moved += step
        return moved

    def finish(self, call_sid: str, step: float = 0.5) -> Call:
        """Run until the call has ended and its terminal callback (if any) has settled."""
        call = self.sim.store.calls[call_sid]
        self.run_until(lambda: call.terminal and call.details_ready, step)
        return call


def wait_real(done: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll ``done`` in real time (for deliveries that need no simulated time)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden" / "exosim_engine"
_SID = re.compile(r"\b[0-9a-f]{32}\b")
_DATE = re.compile(r"(?!1970-01-01 05:30:00)\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_PORT = re.compile(r"http://127\.0\.0\.1:\d+")


def assert_golden(name: str, actual: str) -> None:
    """Compare ``actual`` with ``tests/golden/exosim_engine/<name>`` after masking sids,
    timestamps and loopback ports. ``EXOSIM_UPDATE_GOLDEN=1`` rewrites the file instead.
    """
    text = _PORT.sub("http://127.0.0.1:<PORT>", _DATE.sub("<DATE>", _SID.sub("<SID>", actual)))
    path = GOLDEN_DIR / name
    if os.environ.get("EXOSIM_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run with EXOSIM_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
