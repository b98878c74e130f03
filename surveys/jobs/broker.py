"""The queue library behind the jobs table: Huey, on SQLite, Redis or PostgreSQL.

``JOBS_URL`` chooses Huey's storage: ``sqlite:///path`` (the default: a file next to the
database, no server), ``redis://host:6379/0`` (production) or ``postgresql://...``. Huey
carries only a job's id, signed with the secret key (Huey's messages are pickles: an unsigned
one from a stranger who can write to Redis would run code in the worker). Huey takes a message
off its queue when a worker starts it, so a worker killed mid-job loses the message: the jobs
table's lease and the worker's sweep bring the job back (``surveys.jobs.table``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.serializer import SignedSerializer
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from surveys.config import Settings
from surveys.jobs import runner, table
from surveys.storage.models import utcnow

log = logging.getLogger("yjvoice.jobs")

QUEUE_NAME = "yjvoice"
TASK_NAME = "yjvoice.run_job"


def default_url(settings: Settings) -> str:
    """Return the queue's URL: ``JOBS_URL``, else a SQLite file next to the database."""
    if settings.jobs_url:
        return settings.jobs_url
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).resolve().parent
    else:
        folder = Path(settings.instance_path)
    return f"sqlite:///{folder / 'yjvoice-jobs.sqlite3'}"


def split_queue_name(url: str, default: str = QUEUE_NAME) -> tuple[str, str]:
    """Return (url without ``?queue=NAME``, NAME): several queues can share one server."""
    base, _, query_string = url.partition("?")
    query = parse_qsl(query_string, keep_blank_values=True)
    names = [v for k, v in query if k == "queue" and v]
    rest = urlencode([(k, v) for k, v in query if k != "queue"])
    return (f"{base}?{rest}" if rest else base), (names[-1] if names else default)


def make_huey(url: str, secret: str, *, immediate: bool = False) -> Huey:
    """Build the Huey instance for ``url`` (sqlite:///, redis://, rediss://, postgresql://).

    ``?queue=NAME`` names the queue (default ``yjvoice``), e.g. for staging and production
    on one Redis.
    """
    url, name = split_queue_name(url)
    common: dict[str, Any] = {
        "results": False,  # the jobs table keeps outcomes
        "utc": True,
        "immediate": immediate,
        "serializer": SignedSerializer(secret=secret, salt="yjvoice-jobs"),
    }
    if url.startswith("sqlite:"):
        path = url.split(":///", 1)[1] if ":///" in url else "yjvoice-jobs.sqlite3"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=path, **common)
    if url.startswith(("redis:", "rediss:")):
        return RedisHuey(name, url=url, **common)
    if url.startswith("postgres"):
        dsn = url.split("://", 1)[1]
        return PostgresHuey(name, dsn=f"postgresql://{dsn}", table_prefix="yjv_queue", **common)
    raise ValueError("JOBS_URL must start with sqlite:///, redis://, rediss:// or postgresql://")


@dataclass
class Broker:
    """The process's queue: Huey plus what a job needs to run here."""

    huey: Huey
    settings: Settings
    sessions: sessionmaker[Session]
    worker: str

    def dispatch(self, items: list[tuple[int, datetime]]) -> None:
        """Hand jobs to Huey: now, or at their ``run_after`` when that is later."""
        now = utcnow()
        for job_id, run_after in items:
            if run_after > now:
                self._task.schedule(args=(job_id,), eta=run_after)
            else:
                self._task(job_id)

    def run(self, job_id: int) -> str | None:
        """Run a job in this process (what Huey calls in the worker)."""
        return runner.run_job(
            job_id, sessions=self.sessions, settings=self.settings, worker=self.worker
        )

    def __post_init__(self) -> None:
        self._task = self.huey.task(name=TASK_NAME)(_run_here)


_broker: Broker | None = None


def _run_here(job_id: int) -> None:
    if _broker is None:  # pragma: no cover - the worker configures before it consumes
        raise RuntimeError("the job queue is not configured in this process")
    _broker.run(int(job_id))


def configure(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    immediate: bool = False,
    url: str | None = None,
) -> Broker:
    """Set up this process's queue and hand it every job committed from now on.

    ``immediate=True`` (unit tests only) runs each job inside the committing process, at once.
    """
    global _broker
    huey = make_huey(url or default_url(settings), settings.secret_key, immediate=immediate)
    _broker = Broker(huey, settings, sessions, runner.worker_name())
    table.set_dispatcher(_broker.dispatch)
    return _broker


def current() -> Broker | None:
    """Return this process's broker, if configured."""
    return _broker


def reset() -> None:
    """Forget the broker (tests; a process that stops enqueueing)."""
    global _broker
    if _broker is not None:
        try:
            _broker.huey.storage.close()
        except Exception:  # closing is best effort
            log.debug("closing the queue's storage failed")
    _broker = None
    table.set_dispatcher(None)
