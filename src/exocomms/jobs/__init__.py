"""Durable jobs: enqueue/cancel in the caller's transaction; workers claim under a lease.

See :mod:`exocomms.jobs.queue` (producers), :mod:`exocomms.jobs.registry` (handlers and retry
policy) and :mod:`exocomms.jobs.worker` (the consumer loop).
"""

from __future__ import annotations

from exocomms.jobs.queue import JobQueue
from exocomms.jobs.registry import Backoff, Handler, Job, JobRegistry, RetryLater
from exocomms.jobs.store import job_counts

__all__ = ["Backoff", "Handler", "Job", "JobQueue", "JobRegistry", "RetryLater", "job_counts"]
