"""Run several ASGI apps on loopback ports inside one asyncio loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (it may be taken before you bind it;
    prefer :func:`bound_socket`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bound_socket() -> socket.socket:
    """A listening-ready socket bound to a free port of 127.0.0.1 (no race with other
    servers picking "free" ports at the same time)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://127.0.0.1:<port>`` of a bound socket."""
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@asynccontextmanager
async def serving(app: Any, port: int | socket.socket) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a port, or an already bound socket) for the duration of
    the block; yields its URL."""
    if isinstance(port, socket.socket):
        sock: socket.socket | None = port
        number = int(port.getsockname()[1])
    else:
        sock, number = None, port
    config = uvicorn.Config(
        app, host="127.0.0.1", port=number, log_level="warning", lifespan="on", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raises the start-up error
                raise RuntimeError(f"server on port {number} stopped during start-up")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{number}"
    finally:
        server.should_exit = True
        await task
        if sock is not None:
            sock.close()
