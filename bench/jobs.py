"""Durable jobs benchmark: burst throughput and timer lag, SQLite and PostgreSQL, 1..n processes.

    .venv/bin/python bench/jobs.py [--jobs 10000] [--spread 10] [--db sqlite|postgres|both]
                                   [--workers 1,2] [--concurrency 64] [--pg-url URL]

For each (database, worker processes): a fresh database; W worker processes (real
``exocomms.jobs.worker.Worker``, real clock); then
  1. burst: ``--jobs`` jobs all due at the same instant → jobs/s from that instant to the last
     ``finished_at``;
  2. timers: ``--jobs`` jobs with ``run_at`` spread evenly over ``--spread`` seconds → lag from
     ``run_at`` to the handler starting (wall clock, same machine), p50/p99/max;
and counts jobs that ran more than once (a second run is legitimate only after a lease expired:
those have distinct attempt numbers; the same attempt twice would be a double claim, a bug).
Handlers only record when they started, so this measures the queue, not the work. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import func, select, text

from exocomms.clock import SystemClock
from exocomms.jobs import Job, JobRegistry, job_counts
from exocomms.jobs.queue import JobQueue
from exocomms.jobs.worker import Worker
from exocomms.runtime import Runtime
from exocomms.settings import Settings
from exocomms.storage.db import Database
from exocomms.storage.migrate import upgrade
from exocomms.storage.tables import jobs

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAR = timedelta(days=365)


def _quiet_logs() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def _open(url: str, schema: str | None) -> Database:
    if schema:
        return Database(url, connect_args={"options": f"-csearch_path={schema}"})
    return Database(url)


# --- child: one worker process ------------------------------------------------------------


async def child(url: str, schema: str | None, out: Path, concurrency: int) -> None:
    """Run a worker until SIGTERM; write its run records and stats to ``out``."""
    _quiet_logs()
    db = _open(url, schema)
    records: list[tuple[int, int, float, float, bool]] = []

    async def record(runtime: Runtime, job: Job) -> None:
        timer = job.kind == "bench.timer"
        records.append((job.id, job.attempt, float(job.payload["at"]), time.time(), timer))

    registry = JobRegistry()
    registry.register("bench.burst", record)
    registry.register("bench.timer", record)
    clock = SystemClock()
    settings = Settings(env="test", database_url=url)
    runtime = Runtime(
        settings, db, clock, JobQueue(db, clock, registry), registry, httpx.AsyncClient()
    )
    worker = Worker(runtime, concurrency=concurrency, batch_size=100)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(worker.run(stop))
    await worker.started.wait()
    print("ready", flush=True)
    await task
    data = json.dumps({"records": records, "stats": vars(worker.stats)})
    await asyncio.to_thread(out.write_text, data)
    await runtime.http.aclose()
    await db.dispose()


# --- parent ----------------------------------------------------------------------------------


async def _fresh(kind: str, pg_url: str, tmp: Path) -> tuple[Database, str, str | None]:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        db = Database(url)
        await upgrade(db)
        return db, url, None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = Database(pg_url)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    db = _open(pg_url, schema)
    await upgrade(db)
    return db, pg_url, schema


async def _drop(kind: str, pg_url: str, schema: str | None) -> None:
    if kind == "postgresql" and schema:
        admin = Database(pg_url)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def _wait_done(db: Database, n: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while (await job_counts(db))["done"] < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs not done after {limit_s}s: {await job_counts(db)}")
        await asyncio.sleep(0.25)  # rarely: on SQLite every read takes the write lock


async def _enqueue(queue: JobQueue, db: Database, kind: str, ats: list[datetime]) -> None:
    async with db.transaction() as session:
        await queue.enqueue_many(session, kind, [({"at": at.timestamp()}, at) for at in ats])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run_case(
    kind: str, workers: int, n: int, spread: float, concurrency: int, pg_url: str, tmp: Path
) -> dict[str, Any]:
    """One (database, worker processes) measurement."""
    db, url, schema = await _fresh(kind, pg_url, tmp)
    clock = SystemClock()
    queue = JobQueue(db, clock)
    outs = [tmp / f"out-{uuid.uuid4().hex[:8]}.json" for _ in range(workers)]
    procs = []
    try:
        for out in outs:
            args = [__file__, "--child", "--url", url, "--out", str(out)]
            args += ["--concurrency", str(concurrency)] + (["--schema", schema] if schema else [])
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, *args, stdout=asyncio.subprocess.PIPE
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"ready"

        # 1. Burst: insert far in the future, then make them all due at t0 in one UPDATE.
        await _enqueue(queue, db, "bench.burst", [clock.now() + FAR] * n)
        t0 = clock.now() + timedelta(seconds=1.0)
        async with db.transaction() as session:
            await session.execute(
                jobs.update().where(jobs.c.kind == "bench.burst").values(run_at=t0)
            )
            if db.dialect == "postgresql":
                await session.execute(text("SELECT pg_notify('exocomms_jobs', '')"))
        await _wait_done(db, n, limit_s=120 + n / 50)
        async with db.engine.connect() as conn:
            last = (
                await conn.execute(
                    select(func.max(jobs.c.finished_at)).where(jobs.c.kind == "bench.burst")
                )
            ).scalar_one()
        throughput = n / max(1e-9, (last - t0).total_seconds())

        # 2. Timers spread over `spread` seconds, starting after the insert is surely done.
        start = clock.now() + timedelta(seconds=1.5 + n / 20_000)
        ats = [start + timedelta(seconds=spread * i / n) for i in range(n)]
        await _enqueue(queue, db, "bench.timer", ats)
        await _wait_done(db, 2 * n, limit_s=spread + 120 + n / 50)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 60)
        await db.dispose()
        await _drop(kind, pg_url, schema)

    records: list[list[float]] = []
    reclaimed = 0
    for out in outs:
        data = json.loads(out.read_text())
        records += data["records"]
        reclaimed += data["stats"]["reclaimed"]
    lags = [(r[3] - r[2]) * 1000 for r in records if r[4]]
    runs: dict[int, list[int]] = {}
    for r in records:
        runs.setdefault(int(r[0]), []).append(int(r[1]))
    dupes = {j: a for j, a in runs.items() if len(a) > 1}
    same_attempt = sum(1 for a in dupes.values() if len(set(a)) < len(a))
    return {
        "db": kind,
        "workers": workers,
        "throughput": throughput,
        "p50": statistics.median(lags),
        "p99": _pct(lags, 99),
        "max": max(lags),
        "dupes": len(dupes),
        "after_lease": len(dupes) - same_attempt,
        "double_claims": same_attempt,
        "reclaimed": reclaimed,
        "missing": 2 * n - len(runs),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:  # Linux only; the figure is informative
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


async def _machine(pg_url: str, want_pg: bool) -> list[str]:
    model = _cpu_model()
    lines = [
        f"CPUs: {os.cpu_count()}  ({model})",
        f"Python {platform.python_version()}  SQLite {sqlite3.sqlite_version}",
    ]
    if want_pg:
        db = Database(pg_url)
        async with db.engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
        await db.dispose()
        lines[-1] += f"  PostgreSQL {version}"
    return lines


async def main(args: argparse.Namespace) -> None:
    """Run every case and print the table."""
    _quiet_logs()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    kinds = ["postgresql" if k == "postgres" else k for k in kinds]
    counts = [int(w) for w in args.workers.split(",")]
    print("\n".join(await _machine(args.pg_url, "postgresql" in kinds)))
    print(f"{args.jobs} jobs; timers spread over {args.spread}s; concurrency {args.concurrency}")
    header = (
        f"{'db':<11}{'procs':>6}{'burst jobs/s':>14}{'lag p50 ms':>12}{'p99 ms':>9}"
        f"{'max ms':>9}{'dupes':>7}{'(lease)':>9}{'missing':>9}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="exocomms-bench-") as tmp:
        for kind in kinds:
            for w in counts:
                r = await run_case(
                    kind, w, args.jobs, args.spread, args.concurrency, args.pg_url, Path(tmp)
                )
                print(
                    f"{r['db']:<11}{r['workers']:>6}{r['throughput']:>14.0f}{r['p50']:>12.1f}"
                    f"{r['p99']:>9.1f}{r['max']:>9.1f}{r['dupes']:>7}{r['after_lease']:>9}"
                    f"{r['missing']:>9}",
                    flush=True,
                )
                if r["double_claims"]:
                    print(f"  !! {r['double_claims']} jobs ran twice with the same attempt")


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--spread", type=float, default=10.0)
    p.add_argument("--db", choices=["sqlite", "postgres", "postgresql", "both"], default="both")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--pg-url", default=os.environ.get("EXOCOMMS_BENCH_PG_URL", DEFAULT_PG))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--schema", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return p.parse_args()


if __name__ == "__main__":
    _args = _parse()
    if _args.child:
        asyncio.run(child(_args.url, _args.schema, _args.out, _args.concurrency))
    else:
        asyncio.run(main(_args))
