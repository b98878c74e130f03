"""Jobs survive a worker killed with SIGKILL: real `yjvoice worker` processes on SQLite, on
Redis and on PostgreSQL. Nothing here measures speed: each wait polls for an outcome with a
generous limit, and the only clock that matters is the short lease the workers are given."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from surveys import jobs
from surveys.config import ConfigError, load_settings
from surveys.jobs import broker, registry, worker
from surveys.notify import alerts
from surveys.runtime import Runtime, initialise
from surveys.services.accounts import upsert_user
from surveys.storage.models import AlertMessage, Job
from tests.conftest import TEST_SECRET, make_settings
from tests.jobs import kinds  # noqa: F401 - registers the test kinds here too
from tests.test_alerts import LEAD, PASSWORD, SMTPServer, open_flagged_case

ROOT = Path(__file__).resolve().parents[2]
WORKER = (
    "from surveys.jobs import registry; registry.MODULES.append('tests.jobs.kinds'); "
    "from yjvoice.cli import main; main(['worker', '--workers', '2'])"
)
LEASE_SECONDS = "2"
# These workers run the test kinds and alerts, never the sentence model: loading it as each of
# their 13 processes starts cost about 0.7 s of CPU apiece. test_assess_worker.py's workers,
# which read answers, load it at start as production does (test_a_worker_warms_... below).
COLD = {"JOBS_WARM": "false"}
WAIT = 120.0  # seconds: a limit for a loaded machine, not a speed expectation


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.postgres),
                        pytest.param("postgres", marks=pytest.mark.postgres)])  # fmt: skip
def stack(request, tmp_path):
    """Return (database URL, queue URL): SQLite/SQLite, PostgreSQL/Redis, PostgreSQL/PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "yjvoice.sqlite3"
        import shutil

        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}", f"sqlite:///{tmp_path / 'queue.sqlite3'}"
        return
    request.getfixturevalue("pg_reset")()  # empty tables, as db_url gives them
    db_url = request.getfixturevalue("pg_database")
    if request.param == "redis":
        yield db_url, request.getfixturevalue("redis_queue_url")
        return
    name = f"yjvtest{os.getpid()}{time.monotonic_ns() % 10**6}"
    yield db_url, f"{db_url}?queue={name}"
    drop_queue_tables(db_url)


def drop_queue_tables(db_url: str) -> None:
    """Drop Huey's tables from the shared test database (the schema test compares it)."""
    from sqlalchemy import text

    from surveys.storage import db

    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        for suffix in ("kv", "schedule", "task", "counter"):
            conn.execute(text(f"DROP TABLE IF EXISTS yjv_queue_{suffix}"))
    engine.dispose()


class Workers:
    """Start and kill real worker processes sharing one database and queue."""

    def __init__(self, tmp_path: Path, db_url: str, queue_url: str, **env: str) -> None:
        self.log = tmp_path / "workers.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("JOBS_", "SMTP_"))},
            "DATABASE_URL": db_url,
            "SECRET_KEY": TEST_SECRET,
            "YJVOICE_INSTANCE": str(tmp_path / "worker-instance"),
            "JOBS_URL": queue_url,
            "JOBS_LEASE_SECONDS": LEASE_SECONDS,
            "JOBS_SWEEP_SECONDS": "0.5",
            "PUBLIC_BASE_URL": "http://testserver",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        self.procs: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env={**self.env, **env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> list[int | None]:
        codes = []
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            codes.append(proc.returncode)
        return codes

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def wait_for(self, what: str, check: Callable[[], object]) -> object:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}; worker log:\n{self.tail()}")


@pytest.fixture
def runtime_for(tmp_path):
    made: list[Runtime] = []

    def make(db_url: str, queue_url: str, **overrides) -> Runtime:
        rt = Runtime(make_settings(tmp_path, db_url, jobs_url=queue_url, **overrides))
        initialise(rt)
        broker.configure(rt.settings, rt.sessions)  # this process hands jobs to the queue
        made.append(rt)
        return rt

    yield make
    broker.reset()
    for rt in made:
        rt.database.dispose()


def test_a_worker_warms_its_resources_as_it_starts_unless_told_not_to(monkeypatch):
    monkeypatch.setattr(registry, "_factories", {})  # only this test's resource, built here
    monkeypatch.setattr(registry, "_resources", {})
    built: list[str] = []
    registry.resource("test-warm", warm=True)(lambda: built.append("built") or "resource")
    assert load_settings({}).jobs_warm  # production's default
    assert worker.warm(load_settings({"JOBS_WARM": "false"})) == [] and built == []
    assert worker.warm(load_settings({})) == ["test-warm"] and built == ["built"]
    with pytest.raises(ConfigError):
        load_settings({"JOBS_WARM": "maybe"})


def job_row(rt: Runtime, job_id: int) -> Job:
    with rt.sessions() as s:
        job = s.get(Job, job_id)
        s.expunge(job)
        return job


def test_a_job_survives_its_worker_killed_mid_way(stack, runtime_for, tmp_path):
    db_url, queue_url = stack
    rt = runtime_for(db_url, queue_url)
    gate = tmp_path / "gate"
    gate.mkdir()
    workers = Workers(tmp_path, db_url, queue_url, **COLD)
    try:
        first = workers.start()
        with rt.transaction() as s:
            job_id = jobs.enqueue(s, "test.gate", {"folder": str(gate)}).id
        workers.wait_for("the first worker to start the job",
                         lambda: (gate / f"started-{first.pid}-1").exists())  # fmt: skip
        workers.kill(first)
        job = job_row(rt, job_id)
        assert job.status == "running" and job.worker.split(":")[1] == str(first.pid)

        second = workers.start()
        workers.wait_for("the job to start again in the second worker",
                         lambda: (gate / f"started-{second.pid}-2").exists())  # fmt: skip
        (gate / "go").touch()
        workers.wait_for("the job to be done", lambda: job_row(rt, job_id).status == "done")
        job = job_row(rt, job_id)
        assert job.attempts == 2 and job.result == {"pid": second.pid}
        assert sorted(p.name for p in gate.glob("done-*")) == [f"done-{second.pid}"]
    finally:
        codes = workers.stop_all()
    assert codes[-1] == 0, workers.tail()  # SIGTERM: a clean stop


def test_a_failing_job_is_retried_by_a_real_worker(stack, runtime_for, tmp_path):
    db_url, queue_url = stack
    rt = runtime_for(db_url, queue_url)
    workers = Workers(tmp_path, db_url, queue_url, **COLD)
    try:
        workers.start()
        with rt.transaction() as s:
            job_id = jobs.enqueue(s, "test.flaky", {"value": 5}).id
        # The first attempt fails; the retry is due a second later and runs without any help.
        workers.wait_for("the retry to succeed", lambda: job_row(rt, job_id).status == "done")
        job = job_row(rt, job_id)
        assert (job.attempts, job.result, job.last_error) == (2, {"value": 5}, None)
    finally:
        workers.stop_all()


class BlackHole:
    """Accepts SMTP connections and never says a word (a mail server that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.mark.parametrize("queue", ["sqlite", pytest.param("redis", marks=pytest.mark.postgres)])
def test_an_alert_survives_a_worker_killed_while_sending(queue, request, runtime_for, tmp_path):
    if queue == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'yjvoice.sqlite3'}"
        queue_url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    else:
        request.getfixturevalue("pg_reset")()  # empty tables, as db_url gives them
        db_url = request.getfixturevalue("pg_database")
        queue_url = request.getfixturevalue("redis_queue_url")
    # The killed worker's claim on the message lasts 4 x SMTP_TIMEOUT, at least
    # ALERT_LEASE_SECONDS: 4 s here instead of production's 10 s floor (test_alerts.py checks
    # the defaults), still long enough that the kill lands while the first send hangs.
    smtp_env = {"SMTP_HOST": "127.0.0.1", "SMTP_FROM": "yjvoice@yjs.example.org",
                "SMTP_STARTTLS": "false", "SMTP_TIMEOUT": "1",
                "ALERT_LEASE_SECONDS": "1"}  # fmt: skip
    rt = runtime_for(db_url, queue_url, smtp_host="127.0.0.1", smtp_timeout=1.0,
                     alert_lease_seconds=1.0)  # fmt: skip
    with rt.transaction() as s:
        upsert_user(s, LEAD, PASSWORD, role="safeguarding")
    with rt.transaction() as s:
        from surveys.storage import store

        code = store.open_round(s, rt.catalogue, title="Test round", priorities=["policing"],
                                audiences=["child"]).code  # fmt: skip
    hole, smtp = BlackHole(), SMTPServer()
    smtp.start()
    alerts.install(rt.settings)
    workers = Workers(tmp_path, db_url, queue_url, **smtp_env, **COLD)
    try:
        first = workers.start(SMTP_PORT=str(hole.port))
        case_id = open_flagged_case(rt, code)  # commits the case, its alert and a job
        workers.wait_for("the worker to connect to the hanging mail server",
                         lambda: hole.accepted >= 1)  # fmt: skip
        workers.kill(first)
        workers.start(SMTP_PORT=str(smtp.port))

        def status() -> str:
            with rt.sessions() as s:
                (msg,) = s.scalars(select(AlertMessage))  # one message, for this case
                assert msg.case_id == case_id
                return msg.status

        workers.wait_for("the alert to be sent", lambda: status() == "sent")
        assert smtp.inbox.to() == [LEAD]
    finally:
        workers.stop_all()
        alerts.uninstall()
        hole.close()
        smtp.stop()
