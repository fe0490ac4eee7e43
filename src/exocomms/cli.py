"""The ``exocomms`` command line: serve, worker, migrate, emulator, demo, jobs."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from exocomms.settings import Settings

app = typer.Typer(
    name="exocomms",
    help="Voice and messaging backbone on Exotel, with exosim, a local Exotel emulator.",
    no_args_is_help=True,
    add_completion=False,
)
jobs_app = typer.Typer(help="Inspect and re-run durable jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
flows_app = typer.Typer(help="Exotel App Bazaar flows for our IVRs.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")
keys_app = typer.Typer(help="Encryption keys for credentials stored at rest.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    worker: Annotated[bool, typer.Option(help="Run the embedded job worker.")] = True,
) -> None:
    """Run the API, webhooks and (by default) an embedded job worker."""
    import uvicorn

    from exocomms.web.app import create_app

    settings = Settings(embedded_worker=worker, host=host, port=port)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@app.command("worker")
def worker_command() -> None:
    """Run job workers only (scale-out: as many as you like against one PostgreSQL)."""
    from exocomms.bootstrap import build_registry
    from exocomms.jobs.cli import run_worker
    from exocomms.logging import configure_logging

    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    run_worker(settings, build_registry())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from exocomms.storage.db import Database
    from exocomms.storage.migrate import upgrade

    settings = Settings()

    async def _run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(_run())
    console.print(f"[green]schema up to date[/green] ({settings.resolved_database_url})")


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 4000,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1.0,
) -> None:
    """Run exosim, the local Exotel emulator, alone (any Exotel client can point at it)."""
    from exosim.cli import run
    from exosim.config import SimConfig

    run(SimConfig.from_env(host=host, port=port, time_scale=time_scale))


@app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve", help="Keep everything running afterwards.")
    ] = False,
    time_scale: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 30.0,
) -> None:
    """Zero-config demo: exosim + the service on free loopback ports with a throwaway database."""
    from exocomms.demo.runner import run_demo

    raise typer.Exit(asyncio.run(run_demo(console, serve_after=serve_after, scale=time_scale)))


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help="pending, running, done, dead…")] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List jobs, newest first."""
    from exocomms.jobs.cli import list_jobs
    from exocomms.storage.db import Database

    async def _run() -> list[dict[str, object]]:
        db = Database(Settings().resolved_database_url)
        try:
            return await list_jobs(db, status=status, kind=kind, limit=limit)
        finally:
            await db.dispose()

    rows = asyncio.run(_run())
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table("id", "kind", "status", "attempts", "run_at", "key", "last_error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["kind"]),
            str(row["status"]),
            f"{row['attempts']}/{row['max_attempts']}",
            str(row["run_at"]),
            str(row["key"] or ""),
            str(row["last_error"] or "")[:60],
        )
    console.print(table)


@jobs_app.command("retry")
def jobs_retry(job_id: Annotated[int, typer.Argument(help="The job to run again.")]) -> None:
    """Run a dead (or failed) job again, now."""
    from exocomms.clock import SystemClock
    from exocomms.jobs.cli import retry_job
    from exocomms.storage.db import Database

    async def _run() -> bool:
        db = Database(Settings().resolved_database_url)
        try:
            return await retry_job(db, SystemClock(), job_id)
        finally:
            await db.dispose()

    if not asyncio.run(_run()):
        console.print(f"[red]job {job_id} not found or not re-runnable[/red]")
        raise typer.Exit(1)
    console.print(f"job {job_id} queued to run again")


@flows_app.command("list")
def flows_list() -> None:
    """The IVRs exocomms can run."""
    from exocomms.connect import blueprint as connect_blueprint
    from exocomms.ivr import flows

    for name in flows.names():
        console.print(f"{name}  (IVR; blueprint for outbound calls into it)")
    for name in connect_blueprint.FLOWS:
        console.print(f"{name}  (flow for incoming calls; runs the inbound IVRs)")


@flows_app.command("blueprint")
def flows_blueprint(
    ivr: Annotated[str, typer.Argument(help="Flow name (see `exocomms flows list`).")],
    language: Annotated[str, typer.Option(help="Language of the prompts shown: hi, en, mr.")] = (
        "hi"
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable flow (exosim loads it as is).")
    ] = False,
    flow_id: Annotated[str | None, typer.Option(help="The flow's id in Exotel.")] = None,
) -> None:
    """Print the App Bazaar flow an operator creates once in Exotel's dashboard."""
    from exocomms.connect import blueprint as connect_blueprint
    from exocomms.errors import ExocommsError
    from exocomms.ivr import flows
    from exocomms.telephony.callflow import Language
    from exocomms.telephony.exotel.blueprint import render

    settings = Settings()
    try:
        if ivr in connect_blueprint.FLOWS:
            text = connect_blueprint.render(
                ivr,
                base_url=settings.public_base_url,
                token=settings.resolved_webhook_token,
                as_json=as_json,
            )
        else:
            text = render(
                flows.get(ivr),
                base_url=settings.public_base_url,
                token=settings.resolved_webhook_token,
                language=Language.parse(language),
                as_json=as_json,
                flow_id=flow_id,
            )
    except ExocommsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    typer.echo(text)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new key for EXOCOMMS_SECRET_KEYS (put it first; keep the old ones after it)."""
    from exocomms.config.crypto import generate_key

    typer.echo(generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the newest key of EXOCOMMS_SECRET_KEYS.

    Order: put the new key first, restart every process, run this, then drop the old key.
    All or nothing: if any secret cannot be read, nothing changes.
    """
    from exocomms.config.crypto import rotate_keys
    from exocomms.errors import ExocommsError

    try:
        count = asyncio.run(rotate_keys(Settings()))
    except ExocommsError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"re-encrypted {count} secret(s) with the newest key")


def main() -> None:
    """Console-script entry point."""
    app()
