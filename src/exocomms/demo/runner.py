"""``exocomms demo``: start exosim, the sample commerce backend and the service on free loopback
ports, run the day's orders (:mod:`exocomms.demo.scenario`), then report and check them."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

from exocomms.clock import ScaledClock
from exocomms.demo import report
from exocomms.demo.jupiter import create_jupiter_app
from exocomms.demo.scenario import Demo, ScenarioError, run_stories
from exocomms.demo.servers import bound_socket, serving, url_of
from exocomms.demo.setup import EXOSIM_ACCOUNT, demo_settings, load_exosim
from exosim.app import create_app as create_sim_app
from exosim.clock import SimClock
from exosim.config import SimConfig

SETTLE_SIM_SECONDS = 300.0  # after the stories: calls still ringing, webhooks in flight


async def run_scenario(
    console: Console,
    *,
    scale: float = 30.0,
    serve_after: bool = False,
    database_url: str | None = None,
) -> report.DemoResult:
    """Run the whole demo and return what happened (the CLI prints it and exits with
    ``result.exit_code``).

    Args:
        console: Where progress and the report go.
        scale: Simulated seconds per real second (all three servers share the clock).
        serve_after: Keep everything running afterwards, until interrupted.
        database_url: The service's database; default a SQLite file in a temporary directory
            (tests pass a PostgreSQL schema).
    """
    from exocomms.web.app import create_app  # the service app: heavy, so imported late

    start = datetime.now(UTC).replace(microsecond=0)
    sim_sock, svc_sock, jup_sock = bound_socket(), bound_socket(), bound_socket()
    sim_url, svc_url, jup_url = url_of(sim_sock), url_of(svc_sock), url_of(jup_sock)
    sim_port = sim_sock.getsockname()[1]
    secret, admin_key = secrets.token_urlsafe(24), secrets.token_urlsafe(18)
    # Applets wait 3 real seconds for the service whatever the scale (a busy SQLite is slow).
    sim_config = SimConfig(port=sim_port, time_scale=scale, passthru_timeout=3 * scale)
    sim_app = create_sim_app(sim_config, clock=SimClock(scale=scale, start=start))
    jupiter_app = create_jupiter_app(secret, clock=ScaledClock(scale, start=start))
    with tempfile.TemporaryDirectory(prefix="exocomms-demo-") as tmp:
        settings = demo_settings(
            Path(tmp),
            url=svc_url,
            exotel_url=sim_url,
            jupiter_url=jup_url,
            jupiter_secret=secret,
            database_url=database_url,
            admin_key=admin_key,
        )
        clock = ScaledClock(scale, start=start)
        svc_app = create_app(settings, clock=clock)
        console.rule("[bold]exocomms demo")
        console.print(f"data dir      {tmp} (deleted at the end)")
        console.print(f"time scale    {scale:g} simulated seconds per real second")
        async with (
            serving(sim_app, sim_sock),
            serving(jupiter_app, jup_sock),
            serving(svc_app, svc_sock),
            httpx.AsyncClient(timeout=10) as http,
        ):
            console.print(f"exosim        {sim_url}  (account {' / '.join(EXOSIM_ACCOUNT)})")
            console.print(f"jupiter       {jup_url}  (sample commerce backend)")
            console.print(f"exocomms      {svc_url}  (X-API-Key: {admin_key})")
            await load_exosim(http, sim_url, settings)
            demo = Demo(svc_url, sim_url, jup_url, secret, admin_key, clock, scale, http)
            with console.status("running the day's orders on the accelerated clock…"):
                problems = await run_stories(demo)
                try:
                    await report.settle(demo, sim_seconds=SETTLE_SIM_SECONDS)
                except ScenarioError as exc:
                    problems.append(str(exc))
            result = await report.collect(demo, problems)
            report.render(console, result)
            if serve_after:
                console.print(
                    "[bold]serving[/bold] (Ctrl-C to stop): "
                    f"exosim {sim_url}, jupiter {jup_url}, exocomms {svc_url} "
                    f"(X-API-Key: {admin_key}, webhook secret: {secret})"
                )
                await asyncio.Event().wait()
        return result


async def run_demo(
    console: Console,
    *,
    serve_after: bool = False,
    scale: float = 30.0,
    database_url: str | None = None,
) -> int:
    """Run the demo end to end; returns the process exit code (0: every order as scripted).

    ``database_url`` is for tests (default: a throwaway SQLite file).
    """
    if not console.is_terminal:  # piped or captured: wide enough for the tables
        console = Console(file=console.file, width=max(console.width, 120), no_color=True)
    result = await run_scenario(
        console, scale=scale, serve_after=serve_after, database_url=database_url
    )
    return result.exit_code
