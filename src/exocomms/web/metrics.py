"""Prometheus metrics: one ``CollectorRegistry`` per app, served at ``GET /metrics``.

Request metrics are counted by the request middleware, outbox deliveries by the delivery job
(through ``runtime.extras["metrics"]``), and the job and outbox gauges are read from the
database at scrape time, so they are true for the whole cluster, not just this process.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from exocomms.jobs.worker import Worker
from exocomms.logging import get_logger
from exocomms.runtime import Runtime
from exocomms.web import status

log = get_logger(__name__)
router = APIRouter(tags=["ops"])

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _WorkerStatsCollector(Collector):
    """The embedded worker's own counters (claimed, done, failed, dead…), read at scrape."""

    def __init__(self, metrics: AppMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "exocomms_worker_jobs",
            "Jobs handled by this process's embedded worker since start, by outcome.",
            labels=["outcome"],
        )
        worker = self._metrics.worker
        if worker is not None:
            for outcome, value in dataclasses.asdict(worker.stats).items():
                family.add_metric([outcome], float(value))
        yield family


class AppMetrics:
    """The metrics of one app (several apps in one test process never collide)."""

    def __init__(self, version: str) -> None:
        self.worker: Worker | None = None  # set by the app while its embedded worker runs
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build_info = Gauge(
            "exocomms_build_info", "Version of the running service.", ["version"], registry=r
        )
        self.build_info.labels(version=version).set(1)
        self.http_requests = Counter(
            "exocomms_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "exocomms_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.outbox_deliveries = Counter(
            "exocomms_outbox_deliveries",
            "Webhook delivery attempts made by this process, by result.",
            ["result"],
            registry=r,
        )
        self.jobs = Gauge(
            "exocomms_jobs", "Jobs in the database by status.", ["status"], registry=r
        )
        self.outbox_messages = Gauge(
            "exocomms_outbox_messages", "Outbox messages by status.", ["status"], registry=r
        )
        self.database_up = Gauge(
            "exocomms_database_up", "1 if the database answered the last scrape.", registry=r
        )
        self.worker_running = Gauge(
            "exocomms_worker_running", "1 if this process runs a job worker.", registry=r
        )
        r.register(_WorkerStatsCollector(self))

    def observe_request(self, method: str, route: str, status_code: int, seconds: float) -> None:
        """Count one finished HTTP request."""
        self.http_requests.labels(method=method, route=route, status=str(status_code)).inc()
        self.http_duration.labels(method=method, route=route).observe(seconds)

    def outbox_delivery(self, result: str) -> None:
        """Count one outbox delivery attempt (delivered, retry, dead, permanent)."""
        self.outbox_deliveries.labels(result=result).inc()

    async def refresh(self, runtime: Runtime, worker_running: bool) -> None:
        """Update the database-backed gauges (best effort: a failing database sets ``up`` 0)."""
        self.worker_running.set(1 if worker_running else 0)
        try:
            job_counts = await status.job_counts(runtime.db)
            outbox_counts = await status.outbox_counts(runtime.db)
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics.database_unavailable", error=str(exc))
            self.database_up.set(0)
            return
        self.database_up.set(1)
        for name, count in job_counts.items():
            self.jobs.labels(status=name).set(count)
        for name, count in outbox_counts.items():
            self.outbox_messages.labels(status=name).set(count)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this app's metrics."""
    app_metrics: AppMetrics = request.app.state.metrics
    started = time.perf_counter()
    await app_metrics.refresh(request.app.state.runtime, status.worker_running(request.app))
    log.debug("metrics.refreshed", seconds=time.perf_counter() - started)
    return Response(generate_latest(app_metrics.registry), media_type=CONTENT_TYPE_LATEST)
