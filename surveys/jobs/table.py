"""The jobs table: enqueue, claim with a lease, finish, retry, sweep, and what the lead sees.

Every function takes the time (``now``) so tests need no clock, and a session or session
factory from its caller. A job goes ``queued`` → ``running`` (claimed with a lease) → ``done``,
or back to ``queued`` (a retry, after the back-off) or to ``failed`` (out of attempts; the
lead's retry button queues it again). A worker that is killed leaves a ``running`` job whose
lease runs out: ``sweep`` puts it back in the queue.

Jobs are handed to the queue library (``surveys.jobs.broker``) only after the transaction
that created them commits, so a worker never sees a job that was rolled back, and a job whose
hand-over failed (the queue's server was down, the process died) is handed over by the sweep.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from surveys.jobs.registry import get_kind, label_of, load_kinds
from surveys.storage.db import rows_changed
from surveys.storage.models import Job, utcnow

log = logging.getLogger("yjvoice.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
MAX_ERROR = 300
#: A queued job that is due but was handed to the queue this long ago is handed over again.
REDISPATCH_AFTER = timedelta(seconds=30)
#: A job may be claimed this early (clocks of two machines, the queue's own timer).
EARLY = timedelta(seconds=1)

_INFO_KEY = "yjv_jobs_dispatch"
Dispatcher = Callable[[list[tuple[int, datetime]]], None]
_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Hand committed jobs to this function: [(job id, run_after)] (the broker sets it)."""
    global _dispatcher
    _dispatcher = dispatcher


def dispatch_now(items: list[tuple[int, datetime]]) -> None:
    """Hand jobs to the queue now; a failure is logged and left to the sweep."""
    if not items or _dispatcher is None:
        return
    try:
        _dispatcher(items)
    except Exception as exc:  # the queue's server is down: the sweep hands them over later
        log.warning("jobs not handed to the queue (%s); the sweep will", type(exc).__name__)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # SQLAlchemy also calls this when a savepoint is released: the jobs are not visible to a
    # worker (and on SQLite the write lock is still held) until the outer transaction commits.
    if session.in_nested_transaction():
        return
    items = session.info.pop(_INFO_KEY, None)
    if items:
        dispatch_now(list(items.items()))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A savepoint rolled back keeps the outer transaction's jobs (one rolled back with the
    # savepoint is simply not there to claim).
    if session.in_nested_transaction():
        return
    session.info.pop(_INFO_KEY, None)


def _later(session: Session, job: Job) -> None:
    """Hand ``job`` to the queue once the session's transaction commits."""
    session.info.setdefault(_INFO_KEY, {})[job.id] = job.run_after


def short_error(exc: BaseException | str) -> str:
    """Return a short error for the table and the workbench (type and message, no traceback)."""
    if isinstance(exc, str):
        return exc[:MAX_ERROR]
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR]


# --------------------------------------------------------------------------- enqueue


def enqueue(
    session: Session,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    run_after: datetime | None = None,
    round_id: int | None = None,
    requested_by: int | None = None,
    now: datetime | None = None,
) -> Job:
    """Queue a job in the caller's transaction; return it (or the same-key job already queued).

    ``key`` makes enqueueing idempotent: while a job with this key waits in the queue, asking
    again returns that job (moved earlier if asked to run sooner). A running job does not
    count: a change that arrives while a job runs gets a fresh run after it.
    """
    spec = get_kind(kind)
    now = now or utcnow()
    run_after = run_after or now
    key = key or f"{kind}:{uuid.uuid4().hex}"
    existing = _queued_with_key(session, key)
    if existing is None:
        job = Job(
            kind=kind,
            key=key,
            params=dict(params or {}),
            status=QUEUED,
            attempts=0,
            max_attempts=spec.max_attempts,
            run_after=run_after,
            dispatched_at=now,
            round_id=round_id,
            requested_by=requested_by,
            created_at=now,
            progress_done=0,
        )
        try:
            with session.begin_nested():
                session.add(job)
                session.flush()
        except IntegrityError:  # another transaction queued the same key just now
            existing = _queued_with_key(session, key)
            if existing is None:
                raise
        else:
            log.info("job queued job=%s kind=%s", job.id, kind)
            _later(session, job)
            return job
    if run_after < existing.run_after:
        existing.run_after = run_after
        _later(session, existing)
    return existing


def waiting(session: Session, key: str, by: datetime) -> bool:
    """Return True when a job with this key is queued to run by ``by``.

    Then ``enqueue(key=key, run_after=by)`` would change nothing: a caller that queues the
    same job on every write (``analysis.assess``, for each answer) asks this first, with one
    plain statement instead of loading the job.
    """
    found = session.connection().execute(_WAITING, {"key": key, "by": by}).first()
    return found is not None


_JOBS = Job.__table__
_WAITING = (
    select(_JOBS.c.id)
    .where(
        _JOBS.c.key == bindparam("key"),
        _JOBS.c.status == QUEUED,
        _JOBS.c.run_after <= bindparam("by"),
    )
    .limit(1)
)


def _queued_with_key(session: Session, key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.key == key, Job.status == QUEUED))


def active_job(session: Session, key: str) -> Job | None:
    """Return the queued or running job with this key, if any (newest first)."""
    return session.scalar(
        select(Job).where(Job.key == key, Job.status.in_(ACTIVE)).order_by(Job.id.desc()).limit(1)
    )


def latest_job(session: Session, key: str) -> Job | None:
    """Return the newest job with this key, whatever its status."""
    return session.scalar(select(Job).where(Job.key == key).order_by(Job.id.desc()).limit(1))


# --------------------------------------------------------------------------- the worker's side


@dataclass(frozen=True)
class Claimed:
    """A job a worker holds: what it needs to run it."""

    id: int
    kind: str
    params: dict[str, Any]
    attempt: int
    result: dict[str, Any] | None


def claim(
    sessions: sessionmaker[Session], job_id: int, worker: str, lease: timedelta, now: datetime
) -> Claimed | None:
    """Take a due, queued job for ``worker`` with a lease; None when it is not there to take."""
    with sessions.begin() as session:
        taken = rows_changed(
            session,
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED, Job.run_after <= now + EARLY)
            .values(
                status=RUNNING,
                worker=worker,
                lease_until=now + lease,
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .execution_options(synchronize_session=False),
        )
        if taken != 1:
            return None
        job = session.get_one(Job, job_id)  # just claimed in this transaction
        return Claimed(job.id, job.kind, dict(job.params or {}), job.attempts, job.result)


def heartbeat(
    sessions: sessionmaker[Session],
    job_id: int,
    worker: str,
    lease: timedelta,
    now: datetime,
    *,
    progress: tuple[int, int | None] | None = None,
    result: dict[str, Any] | None = None,
) -> bool:
    """Renew the lease (and record progress); False when the job is no longer this worker's."""
    values: dict[str, Any] = {"lease_until": now + lease}
    if progress is not None:
        values["progress_done"], values["progress_total"] = progress
    if result is not None:
        values["result"] = result
    with sessions.begin() as session:
        return (
            rows_changed(
                session,
                update(Job)
                .where(Job.id == job_id, Job.status == RUNNING, Job.worker == worker)
                .values(**values)
                .execution_options(synchronize_session=False),
            )
            == 1
        )


def _mine(session: Session, job_id: int, worker: str) -> Job | None:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != RUNNING or job.worker != worker:
        return None  # the sweep gave it back to the queue: this run's outcome does not count
    return job


def finish(
    sessions: sessionmaker[Session],
    job_id: int,
    worker: str,
    now: datetime,
    result: dict[str, Any] | None,
) -> bool:
    """Mark a job done; False when this worker no longer held it."""
    with sessions.begin() as session:
        job = _mine(session, job_id, worker)
        if job is None:
            return False
        job.status, job.finished_at, job.lease_until = DONE, now, None
        job.last_error = None
        if result is not None:
            job.result = result
        if job.progress_total is not None:
            job.progress_done = job.progress_total
        return True


def reschedule(
    sessions: sessionmaker[Session],
    job_id: int,
    worker: str,
    now: datetime,
    *,
    error: str | None,
    at: datetime | None = None,
    counts: bool = True,
) -> str | None:
    """Put a job back in the queue after a failure (or a deferral); return its new status.

    ``counts=False`` (a deferral: quiet hours, waiting for a retry time the handler chose)
    gives the attempt back. Out of attempts, the job is ``failed``.
    """
    with sessions.begin() as session:
        job = _mine(session, job_id, worker)
        if job is None:
            return None
        if not counts:
            job.attempts = max(0, job.attempts - 1)
        job.last_error = error[:MAX_ERROR] if error else None
        job.lease_until, job.worker = None, None
        if counts and job.max_attempts is not None and job.attempts >= job.max_attempts:
            job.status, job.finished_at = FAILED, now
            log.warning("job failed job=%s kind=%s attempts=%s", job.id, job.kind, job.attempts)
            return FAILED
        if at is None:
            at = now + get_kind(job.kind).backoff.after(max(job.attempts, 1))
        newer = _queued_with_key(session, job.key)
        if newer is not None:
            # A newer job with the same key is already waiting: it does this work, no later
            # than this one would have.
            job.status, job.finished_at = DONE, now
            job.last_error = "superseded by a newer job"
            if at < newer.run_after:
                newer.run_after, newer.dispatched_at = at, now
                _later(session, newer)
            return DONE
        job.status, job.run_after, job.dispatched_at = QUEUED, at, now
        _later(session, job)
        return QUEUED


# --------------------------------------------------------------------------- sweep


@dataclass
class Swept:
    """What one sweep did."""

    recovered: int = 0
    failed: int = 0
    dispatched: int = 0
    scheduled: int = 0


def sweep(
    sessions: sessionmaker[Session],
    now: datetime | None = None,
    *,
    kinds: Iterable[Any] = (),
    limit: int = 500,
) -> Swept:
    """Recover jobs of workers that died, hand over due jobs the queue lost, start periodic jobs.

    Safe to run in every worker at once: each change is a conditional update.
    """
    now = now or utcnow()
    out = Swept()
    with sessions.begin() as session:
        lost = list(
            session.scalars(
                select(Job)
                .where(Job.status == RUNNING, Job.lease_until < now)
                .order_by(Job.id)
                .limit(limit)
            )
        )
        for job in lost:
            msg = f"the worker stopped during attempt {job.attempts} (lease ran out)"
            log.warning("job lease ran out job=%s kind=%s", job.id, job.kind)
            if job.max_attempts is not None and job.attempts >= job.max_attempts:
                job.status, job.finished_at, job.last_error = FAILED, now, msg
                out.failed += 1
            elif _queued_with_key(session, job.key) is not None:
                job.status, job.finished_at, job.last_error = DONE, now, "superseded"
            else:
                job.status, job.run_after, job.last_error = QUEUED, now, msg
                job.lease_until, job.worker, job.dispatched_at = None, None, now
                _later(session, job)
                out.recovered += 1
        session.flush()
        due = list(
            session.scalars(
                select(Job)
                .where(
                    Job.status == QUEUED,
                    Job.run_after <= now,
                    or_(Job.dispatched_at.is_(None), Job.dispatched_at <= now - REDISPATCH_AFTER),
                )
                .order_by(Job.run_after, Job.id)
                .limit(limit)
            )
        )
        for job in due:
            job.dispatched_at = now
            _later(session, job)
        out.dispatched = len(due)
        for spec in kinds:
            if spec.every is None:
                continue
            period = spec.every.total_seconds()
            bucket = int(now.timestamp() // period)
            key = f"{spec.name}@{bucket}"
            if session.scalar(select(func.count()).select_from(Job).where(Job.key == key)):
                continue
            enqueue(session, spec.name, {}, key=key, now=now)
            out.scheduled += 1
    return out


def due_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Return the ids of queued jobs that are due, oldest first (a synchronous pass)."""
    return list(
        session.scalars(
            select(Job.id)
            .where(Job.status == QUEUED, Job.run_after <= now + EARLY)
            .order_by(Job.run_after, Job.id)
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- the lead's side


class JobNotFound(LookupError):
    """No job has this id."""


class NotRetryable(ValueError):
    """Only a failed job can be retried by hand."""


def retry(session: Session, job_id: int, now: datetime | None = None) -> Job:
    """Queue a failed job again with fresh attempts (the lead's retry button)."""
    now = now or utcnow()
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    if job.status != FAILED:
        raise NotRetryable("Only a failed job can be retried.")
    if _queued_with_key(session, job.key) is not None:
        raise NotRetryable("The same work is already waiting in the queue.")
    job.status, job.attempts, job.run_after, job.dispatched_at = QUEUED, 0, now, now
    job.finished_at, job.lease_until, job.worker = None, None, None
    session.flush()
    _later(session, job)
    log.info("job queued again by hand job=%s kind=%s", job.id, job.kind)
    return job


@dataclass(frozen=True)
class JobView:
    """One job as the workbench lists it (ids and counts only)."""

    id: int
    kind: str
    label: str
    status: str
    attempts: int
    max_attempts: int | None
    progress_done: int
    progress_total: int | None
    last_error: str | None
    round_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime
    result: dict[str, Any] | None

    @property
    def percent(self) -> int | None:
        """Return progress as a whole percentage, when the job knows its total."""
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def waiting(self) -> bool:
        """Return True for a queued job that failed before and waits for its next try."""
        return self.status == QUEUED and self.attempts > 0

    def as_dict(self) -> dict[str, Any]:
        """Return the view as JSON-able data (the workbench's progress script reads it)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "attempts": self.attempts,
            "progress_done": self.progress_done,
            "progress_total": self.progress_total,
            "percent": self.percent,
            "last_error": self.last_error,
        }


def view(job: Job) -> JobView:
    """Return the workbench's view of a job."""
    return JobView(
        id=job.id,
        kind=job.kind,
        label=label_of(job.kind),
        status=job.status,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        progress_done=job.progress_done or 0,
        progress_total=job.progress_total,
        last_error=job.last_error,
        round_id=job.round_id,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        run_after=job.run_after,
        result=job.result,
    )


def list_jobs(
    session: Session,
    statuses: Iterable[str] | None = None,
    *,
    limit: int = 200,
    hide_done_periodic: bool = False,
) -> list[JobView]:
    """Return jobs for the workbench: unfinished first, then the newest.

    ``hide_done_periodic`` leaves out periodic jobs that did their work (escalation checks
    every 30 s would fill the page); their failures still show.
    """
    stmt = select(Job)
    if statuses:
        stmt = stmt.where(Job.status.in_(list(statuses)))
    if hide_done_periodic:
        periodic = [k.name for k in load_kinds().values() if k.every is not None]
        if periodic:
            stmt = stmt.where(~and_(Job.status == DONE, Job.kind.in_(periodic)))
    stmt = stmt.order_by((Job.status.in_([RUNNING, QUEUED, FAILED])).desc(), Job.id.desc()).limit(
        limit
    )
    return [view(j) for j in session.scalars(stmt)]


def counts(session: Session) -> dict[str, int]:
    """Return how many jobs are in each status."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    out = {s: 0 for s in (QUEUED, RUNNING, FAILED, DONE)}
    out.update({status: n for status, n in rows})
    return out


def purge_finished(
    session: Session,
    older_than: timedelta,
    now: datetime | None = None,
    *,
    kinds: Iterable[str] | None = None,
) -> int:
    """Delete done jobs (of these kinds) finished longer ago than ``older_than``; say how many."""
    now = now or utcnow()
    stmt = delete(Job).where(and_(Job.status == DONE, Job.finished_at < now - older_than))
    if kinds is not None:
        stmt = stmt.where(Job.kind.in_(list(kinds)))
    return rows_changed(session, stmt)
