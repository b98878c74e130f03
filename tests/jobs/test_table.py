"""Jobs are idempotent, retried with a back-off, recovered when a worker dies, and handed to
the queue only once committed. On SQLite and PostgreSQL, with time injected (no sleeping)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from huey.serializer import SignedSerializer
from sqlalchemy import select

from surveys import jobs
from surveys.jobs import broker, registry, runner, table
from surveys.storage.models import Job, utcnow
from tests.jobs import kinds

LEASE = timedelta(seconds=60)


@pytest.fixture(autouse=True)
def clean():
    kinds.CALLS.clear()
    yield
    broker.reset()


@pytest.fixture
def dispatched():
    seen: list[tuple[int, object]] = []
    table.set_dispatcher(seen.extend)
    yield seen
    table.set_dispatcher(None)


def at(t):
    return lambda: t


def queue(rt, kind="test.echo", params=None, **kw) -> int:
    with rt.transaction() as s:
        return jobs.enqueue(s, kind, params if params is not None else {"value": 7}, **kw).id


def get(rt, job_id) -> Job:
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        s.expunge(job)
        return job


def run(rt, job_id, now, worker="w1"):
    return runner.run_job(
        job_id, sessions=rt.sessions, settings=rt.settings, worker=worker, clock=at(now)
    )


def test_a_job_runs_once_and_keeps_its_result(rt):
    t0 = utcnow()
    job_id = queue(rt, now=t0)
    assert run(rt, job_id, t0) == "done"
    job = get(rt, job_id)
    assert (job.status, job.attempts, job.result, job.last_error) == ("done", 1, {"value": 7}, None)
    assert run(rt, job_id, t0) is None  # a second delivery of the same message does nothing
    assert kinds.CALLS == [("test.echo", 1)]


def test_a_failure_is_retried_after_a_growing_back_off(rt):
    t0 = utcnow()
    job_id = queue(rt, params={"value": 1, "fail_times": 2}, now=t0)
    assert run(rt, job_id, t0) == "queued"
    job = get(rt, job_id)
    assert job.attempts == 1 and job.run_after == t0 + timedelta(seconds=10)
    assert job.last_error == "RuntimeError: boom on attempt 1"
    assert run(rt, job_id, t0 + timedelta(seconds=5)) is None  # not due yet
    t1 = t0 + timedelta(seconds=10)
    assert run(rt, job_id, t1) == "queued"
    assert get(rt, job_id).run_after == t1 + timedelta(seconds=20)  # doubled
    assert run(rt, job_id, t1 + timedelta(seconds=20)) == "done"
    assert get(rt, job_id).attempts == 3


def test_out_of_attempts_a_job_fails_and_the_lead_can_queue_it_again(rt, dispatched):
    t0 = utcnow()
    job_id = queue(rt, params={"value": 1, "fail_times": 3}, now=t0)
    t = t0
    for _ in range(3):
        run(rt, job_id, t)
        t += timedelta(minutes=5)
    job = get(rt, job_id)
    assert job.status == "failed" and job.attempts == 3 and "attempt 3" in job.last_error
    with rt.sessions() as s:
        assert table.counts(s)["failed"] == 1
        (row,) = table.list_jobs(s, ["failed"])
        assert row.id == job_id and row.label == "test.echo"
    dispatched.clear()
    with rt.transaction() as s:
        table.retry(s, job_id, now=t)
    assert [i for i, _ in dispatched] == [job_id]  # handed to the queue on commit
    kinds.CALLS.clear()
    with rt.transaction() as s, pytest.raises(table.NotRetryable):
        table.retry(s, job_id, now=t)  # only a failed job
    assert run(rt, job_id, t) == "queued"  # fresh attempts: the first of three again fails...
    assert get(rt, job_id).attempts == 1


def test_the_same_key_queues_one_job_until_it_starts(rt):
    t0 = utcnow()
    first = queue(rt, key="k", now=t0)
    assert queue(rt, key="k", now=t0) == first
    sooner = queue(rt, key="k", run_after=t0 - timedelta(seconds=5), now=t0)
    assert sooner == first and get(rt, first).run_after == t0 - timedelta(seconds=5)
    claimed = table.claim(rt.sessions, first, "w1", LEASE, t0)
    assert claimed is not None
    second = queue(rt, key="k", now=t0)  # a change while it runs gets a run of its own
    assert second != first
    with rt.sessions() as s:
        assert jobs.active_job(s, "k").id == second


def test_waiting_says_when_queueing_the_same_key_again_would_change_nothing(rt):
    t0 = utcnow()
    later = t0 + timedelta(seconds=30)
    with rt.transaction() as s:
        assert not jobs.waiting(s, "k", t0)
    first = queue(rt, key="k", run_after=later, now=t0)
    with rt.transaction() as s:
        assert not jobs.waiting(s, "k", t0)  # it waits for later: queueing now moves it
        assert jobs.waiting(s, "k", later)
        assert not jobs.waiting(s, "other", later)
    assert table.claim(rt.sessions, first, "w1", LEASE, later) is not None
    with rt.transaction() as s:
        assert not jobs.waiting(s, "k", later)  # running is not waiting: a new run is due


def test_a_rolled_back_job_is_never_handed_to_the_queue(rt, dispatched):
    with pytest.raises(RuntimeError), rt.transaction() as s:
        jobs.enqueue(s, "test.echo", {"value": 1})
        assert dispatched == []  # not before the commit
        raise RuntimeError("the request failed")
    with rt.sessions() as s:
        assert s.scalar(select(Job.id)) is None
    job_id = queue(rt)
    assert [i for i, _ in dispatched] == [job_id]


def test_a_job_whose_worker_died_goes_back_to_the_queue(rt, dispatched):
    t0 = utcnow()
    job_id = queue(rt, now=t0)
    short = timedelta(seconds=5)
    assert table.claim(rt.sessions, job_id, "killed", short, t0) is not None
    assert table.sweep(rt.sessions, t0 + timedelta(seconds=4)).recovered == 0  # lease alive
    dispatched.clear()
    swept = table.sweep(rt.sessions, t0 + timedelta(seconds=6))
    assert swept.recovered == 1 and [i for i, _ in dispatched] == [job_id]  # handed over now
    job = get(rt, job_id)
    assert job.status == "queued" and "lease ran out" in job.last_error
    # The dead worker's outcome no longer counts; the new run does.
    assert not table.finish(rt.sessions, job_id, "killed", t0, {"late": True})
    assert run(rt, job_id, t0 + timedelta(seconds=7), worker="w2") == "done"
    job = get(rt, job_id)
    assert (job.attempts, job.result) == (2, {"value": 7})


def test_a_job_that_kills_every_worker_fails_after_its_attempts(rt):
    t0 = utcnow()
    job_id = queue(rt, now=t0)
    t = t0
    for n in range(3):
        assert table.claim(rt.sessions, job_id, f"w{n}", LEASE, t) is not None
        t += timedelta(minutes=2)
        table.sweep(rt.sessions, t)
    job = get(rt, job_id)
    assert job.status == "failed" and job.attempts == 3


def test_a_lease_is_renewed_while_the_job_reports_progress(rt):
    t0 = utcnow()
    job_id = queue(rt, now=t0)
    table.claim(rt.sessions, job_id, "w1", LEASE, t0)
    t1 = t0 + timedelta(seconds=50)
    assert table.heartbeat(rt.sessions, job_id, "w1", LEASE, t1, progress=(3, 10))
    assert table.sweep(rt.sessions, t0 + timedelta(seconds=90)).recovered == 0
    job = get(rt, job_id)
    assert (job.progress_done, job.progress_total) == (3, 10)
    assert not table.heartbeat(rt.sessions, job_id, "someone-else", LEASE, t1)


def test_a_deferred_job_keeps_its_attempts(rt):
    t0 = utcnow()
    morning = t0 + timedelta(hours=8)
    job_id = queue(rt, "test.later", {"until": morning.isoformat()}, now=t0)
    assert run(rt, job_id, t0) == "queued"
    job = get(rt, job_id)
    assert job.attempts == 0 and job.run_after == morning and job.last_error == "quiet hours"
    assert run(rt, job_id, morning) == "done"  # max_attempts=1, still allowed


def test_a_job_resumes_from_its_last_checkpoint(rt):
    t0 = utcnow()
    job_id = queue(rt, "test.steps", {"total": 5, "crash_at": 3}, now=t0)
    assert run(rt, job_id, t0) == "queued"
    assert get(rt, job_id).progress_done == 3
    assert run(rt, job_id, t0 + timedelta(minutes=1)) == "done"
    assert [step for _, step in kinds.CALLS] == [0, 1, 2, 3, 4]  # each step once
    assert get(rt, job_id).result == {"done": [0, 1, 2, 3, 4]}


def test_periodic_jobs_are_queued_once_per_period_across_workers(rt):
    t0 = utcnow().replace(microsecond=0)
    spec = registry.get_kind("alerts.escalate")
    assert table.sweep(rt.sessions, t0, kinds=[spec]).scheduled == 1
    assert table.sweep(rt.sessions, t0, kinds=[spec]).scheduled == 0  # a second worker
    assert table.sweep(rt.sessions, t0 + timedelta(seconds=31), kinds=[spec]).scheduled == 1


def test_a_due_job_the_queue_never_got_is_handed_over_by_the_sweep(rt, dispatched):
    t0 = utcnow()
    table.set_dispatcher(None)  # the queue's server was down when it was committed
    job_id = queue(rt, now=t0)
    table.set_dispatcher(dispatched.extend)
    assert table.sweep(rt.sessions, t0 + timedelta(seconds=5)).dispatched == 0  # just queued
    assert table.sweep(rt.sessions, t0 + table.REDISPATCH_AFTER).dispatched == 1
    assert [i for i, _ in dispatched] == [job_id]


def test_run_due_runs_every_due_job_here(rt):
    t0 = utcnow()
    ids = [queue(rt, params={"value": n}, now=t0) for n in range(3)]
    assert runner.run_due(rt.sessions, rt.settings, clock=at(t0)) == {"done": 3}
    assert [get(rt, i).result["value"] for i in ids] == [0, 1, 2]


def test_in_immediate_mode_a_committed_job_runs_at_once(rt):
    """Huey's immediate mode, for unit tests only: the committing process runs the job."""
    broker.configure(rt.settings, rt.sessions, immediate=True)
    job_id = queue(rt)
    assert get(rt, job_id).status == "done"


def test_a_job_queued_inside_a_savepoint_is_handed_over_when_the_transaction_commits(rt):
    """Releasing a savepoint is not the commit: the job is not visible to a worker until the
    outer transaction commits (and on SQLite, running it earlier would find the database
    locked)."""
    handed: list[int] = []
    table.set_dispatcher(lambda items: handed.extend(i for i, _ in items))
    with rt.transaction() as s:
        with s.begin_nested():
            job_id = jobs.enqueue(s, "test.echo", {"value": 1}).id
        assert handed == []
        with pytest.raises(RuntimeError), s.begin_nested():
            raise RuntimeError("a savepoint rolled back keeps the outer transaction's jobs")
        assert handed == []
    assert handed == [job_id]


def test_an_unknown_kind_is_refused_when_queued(rt):
    with rt.transaction() as s, pytest.raises(registry.UnknownJobKind):
        jobs.enqueue(s, "no.such.kind", {})


def test_queue_messages_are_signed_with_the_secret_key(tmp_path):
    huey = broker.make_huey(f"sqlite:///{tmp_path / 'q.sqlite3'}", "secret-one-" * 4)
    data = huey.serializer.serialize({"job": 1})
    assert huey.serializer.deserialize(data) == {"job": 1}
    stranger = SignedSerializer(secret="another-secret-" * 3, salt="yjvoice-jobs")
    with pytest.raises(ValueError):
        stranger.deserialize(data)


@pytest.mark.own_sqlite_file
def test_the_default_queue_is_a_sqlite_file_next_to_the_database(rt, tmp_path):
    url = broker.default_url(rt.settings)
    if rt.settings.database_url.startswith("sqlite"):
        assert url == f"sqlite:///{tmp_path / 'yjvoice-jobs.sqlite3'}"
    else:
        assert url == f"sqlite:///{rt.settings.instance_path / 'yjvoice-jobs.sqlite3'}"
    assert broker.split_queue_name("redis://127.0.0.1:6379/0?queue=staging") == (
        "redis://127.0.0.1:6379/0",
        "staging",
    )
