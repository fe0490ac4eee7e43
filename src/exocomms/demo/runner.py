"""The demo scenario: start exosim and exocomms, check them, run the scenario, summarise."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from exocomms.clock import ScaledClock
from exocomms.demo.servers import free_port, serving
from exocomms.settings import Settings
from exosim.app import create_app as create_sim_app
from exosim.clock import SimClock
from exosim.config import SimConfig


def demo_settings(data_dir: Path, port: int, exotel_url: str) -> Settings:
    """Settings of the demo service: throwaway data dir, exosim as the carrier."""
    return Settings(
        env="development",
        data_dir=data_dir,
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        exotel_base_url=exotel_url,
        exotel_account_sid="exosim",
        exotel_api_key=SecretStr("exosim-key"),
        exotel_api_token=SecretStr("exosim-token"),
        log_json=False,
        log_level="WARNING",
    )


async def _health(client: httpx.AsyncClient, url: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(url)
    return response.status_code, response.json()


async def run_demo(console: Console, *, serve_after: bool = False, scale: float = 30.0) -> int:
    """Run the demo end to end; returns the process exit code."""
    from exocomms.web.app import create_app

    start = datetime.now(UTC)
    sim_port, svc_port = free_port(), free_port()
    sim_config = SimConfig(port=sim_port, time_scale=scale)
    sim_app = create_sim_app(sim_config, clock=SimClock(scale=scale, start=start))
    with tempfile.TemporaryDirectory(prefix="exocomms-demo-") as tmp:
        settings = demo_settings(Path(tmp), svc_port, f"http://127.0.0.1:{sim_port}")
        svc_app = create_app(settings, clock=ScaledClock(scale, start=start))
        console.rule("[bold]exocomms demo")
        console.print(f"data dir      {tmp} (deleted at the end)")
        console.print(f"time scale    {scale:g} simulated seconds per real second")
        async with (
            serving(sim_app, sim_port) as sim_url,
            serving(svc_app, svc_port) as svc_url,
            httpx.AsyncClient(timeout=10) as client,
        ):
            console.print(f"exosim        {sim_url}  (account exosim / exosim-key / exosim-token)")
            console.print(f"exocomms      {svc_url}")
            sim_status, sim_health = await _health(client, f"{sim_url}/_exosim/health")
            svc_status, svc_health = await _health(client, f"{svc_url}/health")
            table = Table("component", "HTTP", "status", "details", title="Health")
            table.add_row("exosim", str(sim_status), str(sim_health.get("status", "?")), "")
            database = svc_health.get("database", {})
            table.add_row(
                "exocomms",
                str(svc_status),
                str(svc_health.get("status")),
                f"db {database.get('dialect')} {database.get('latencyMs')} ms, "
                f"worker running={svc_health.get('worker', {}).get('running')}, "
                f"jobs {svc_health.get('jobs')}",
            )
            console.print(table)
            ok = sim_status == 200 and svc_status == 200
            if serve_after:
                console.print("[bold]serving; press Ctrl-C to stop[/bold]")
                await asyncio.Event().wait()
        console.print("[green]demo finished[/green]" if ok else "[red]demo failed[/red]")
        return 0 if ok else 1
