"""Run one job: claim it, keep its lease alive while the handler works, record the outcome."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from surveys.config import Settings
from surveys.jobs import table
from surveys.jobs.registry import UnknownJobKind, get_kind
from surveys.storage.models import utcnow

log = logging.getLogger("yjvoice.jobs")

Clock = Callable[[], datetime]


class Retry(Exception):
    """Raise in a handler to try again later; counts as a failed attempt.

    ``at`` or ``delay`` chooses when (default: the kind's back-off); ``reason`` is shown in
    the workbench (ids only, never answer text).
    """

    def __init__(
        self, reason: str = "", *, at: datetime | None = None, delay: timedelta | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at
        self.delay = delay


class Defer(Retry):
    """Raise in a handler to run later without using up an attempt (quiet hours, a wait)."""


class JobLost(Exception):
    """This worker no longer holds the job (its lease ran out and the sweep gave it away)."""


def worker_name() -> str:
    """Return a name for this process as a job's holder: host, pid and a random tag."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Context:
    """What a handler gets besides its parameters."""

    job_id: int
    kind: str
    attempt: int
    settings: Settings
    sessions: sessionmaker[Session]
    worker: str
    lease: timedelta
    clock: Clock = utcnow
    #: What the job saved with ``progress(..., result=...)`` on an earlier attempt: resume there.
    saved: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        """Return the current time (injected in tests)."""
        return self.clock()

    def progress(self, done: int, total: int | None = None, *, result: dict | None = None) -> None:
        """Record progress (and a checkpoint to resume from); renews the lease.

        Raises ``JobLost`` when the job was given to another worker meanwhile.
        """
        if result is not None:
            self.saved = dict(result)
        if not table.heartbeat(
            self.sessions,
            self.job_id,
            self.worker,
            self.lease,
            self.clock(),
            progress=(done, total),
            result=result,
        ):
            raise JobLost(self.job_id)


class _Heartbeat:
    """Renew a job's lease every third of the lease while its handler runs."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-{ctx.job_id}-lease")
        self.thread.daemon = True

    def _beat(self) -> None:
        interval = max(self.ctx.lease.total_seconds() / 3, 0.1)
        while not self.stopping.wait(interval):
            try:
                table.heartbeat(
                    self.ctx.sessions,
                    self.ctx.job_id,
                    self.ctx.worker,
                    self.ctx.lease,
                    self.ctx.now(),
                )
            except Exception as exc:  # a database blip: the next beat tries again
                log.warning("job heartbeat failed job=%s (%s)", self.ctx.job_id, type(exc).__name__)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


def run_job(
    job_id: int,
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    worker: str,
    lease: timedelta | None = None,
    clock: Clock = utcnow,
) -> str | None:
    """Run one job if it is queued and due; return its new status (None: not taken here)."""
    lease = lease or timedelta(seconds=settings.jobs_lease_seconds)
    claimed = table.claim(sessions, job_id, worker, lease, clock())
    if claimed is None:
        return None
    log.info("job started job=%s kind=%s attempt=%s", job_id, claimed.kind, claimed.attempt)
    try:
        spec = get_kind(claimed.kind)
    except UnknownJobKind:
        return table.reschedule(
            sessions, job_id, worker, clock(), error=f"unknown job kind {claimed.kind}"
        )
    ctx = Context(
        job_id=job_id,
        kind=claimed.kind,
        attempt=claimed.attempt,
        settings=settings,
        sessions=sessions,
        worker=worker,
        lease=lease,
        clock=clock,
        saved=dict(claimed.result or {}),
    )
    try:
        with _Heartbeat(ctx):
            result = spec.handler(ctx, **claimed.params)
    except JobLost:
        log.warning("job given to another worker while it ran job=%s", job_id)
        return None
    except Retry as asked:
        at = asked.at or (clock() + asked.delay if asked.delay else None)
        status = table.reschedule(
            sessions,
            job_id,
            worker,
            clock(),
            error=asked.reason or None,
            at=at,
            counts=not isinstance(asked, Defer),
        )
        log.info("job to run again job=%s kind=%s status=%s", job_id, claimed.kind, status)
        return status
    except Exception as exc:  # any failure is retried with the back-off
        # Logs carry the error's type only: a message could quote data.
        log.warning("job attempt failed job=%s kind=%s error=%s", job_id, claimed.kind,
                    type(exc).__name__)  # fmt: skip
        return table.reschedule(sessions, job_id, worker, clock(), error=table.short_error(exc))
    if result is not None and not isinstance(result, dict):
        result = {"result": result}
    if table.finish(sessions, job_id, worker, clock(), result):
        log.info("job done job=%s kind=%s", job_id, claimed.kind)
        return table.DONE
    return None


def run_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    clock: Clock = utcnow,
    worker: str | None = None,
    limit: int = 1000,
) -> dict[str, int]:
    """Run every due job in this process, one after another; return counts by outcome.

    For one-off passes (``yjvoice jobs run --once``) and tests; a worker process does the same
    through the queue.
    """
    worker = worker or worker_name()
    out: dict[str, int] = {}
    seen: set[int] = set()
    while len(seen) < limit:
        with sessions() as session:
            ids = [i for i in table.due_ids(session, clock()) if i not in seen]
        if not ids:
            break
        for job_id in ids:
            seen.add(job_id)
            status = run_job(
                job_id, sessions=sessions, settings=settings, worker=worker, clock=clock
            )
            if status:
                out[status] = out.get(status, 0) + 1
    return out
