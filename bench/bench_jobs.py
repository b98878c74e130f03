"""Benchmark: how soon a real worker starts a committed job, and how many it runs a second.

Starts one real `yjvoice worker` (2 threads) against a fresh database and queue, then
(1) commits one job at a time, every 0.3 s, and reads from the jobs table how long each
waited between its commit (``created_at``) and its start (``started_at``); (2) commits a
burst of jobs in one transaction and times the first commit to the last finish. The jobs are
the real ``alerts.deliver`` kind with nothing to send (a few queries each), each with a key of
its own. Prints Markdown rows.

    .venv/bin/python bench/bench_jobs.py [--queue sqlite|redis|postgres] [--single 50]
        [--burst 500] [--database-url URL]   # PostgreSQL: an empty database of its own
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

from surveys import jobs
from surveys.config import Settings
from surveys.jobs import broker
from surveys.runtime import Runtime, initialise
from surveys.storage.models import Job

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-not-for-production-0123456789"


def wait(rt: Runtime, n: int, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            if s.scalar(select(func.count()).select_from(Job).where(Job.status == "done")) >= n:
                return
        time.sleep(0.05)
    raise SystemExit("the worker did not finish in time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queue", choices=["sqlite", "redis", "postgres"], default="sqlite")
    ap.add_argument("--single", type=int, default=50)
    ap.add_argument("--burst", type=int, default=500)
    ap.add_argument("--database-url", help="PostgreSQL: an empty database of its own")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    db_url = args.database_url or f"sqlite:///{tmp / 'yjvoice.sqlite3'}"
    name = f"bench{uuid.uuid4().hex[:8]}"
    queue_url = {
        "sqlite": f"sqlite:///{tmp / 'queue.sqlite3'}",
        "redis": f"{args.redis_url}?queue={name}",
        "postgres": f"{db_url}?queue={name}",
    }[args.queue]
    rt = Runtime(Settings(instance_path=tmp, database_url=db_url, secret_key=SECRET,
                          jobs_url=queue_url))  # fmt: skip
    initialise(rt)
    broker.configure(rt.settings, rt.sessions)
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": SECRET, "JOBS_URL": queue_url,
           "YJVOICE_INSTANCE": str(tmp), "PYTHONPATH": str(ROOT)}  # fmt: skip
    log = (tmp / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "yjvoice", "worker", "--workers", "2"],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        with rt.transaction() as s:  # warm-up: wait until the worker runs a job
            jobs.enqueue(s, "alerts.deliver", key="warm-up")
        wait(rt, 1)
        for i in range(args.single):
            with rt.transaction() as s:
                jobs.enqueue(s, "alerts.deliver", key=f"single-{i}")
            time.sleep(0.3)
        wait(rt, 1 + args.single)
        with rt.sessions() as s:
            rows = s.execute(
                select(Job.created_at, Job.started_at).where(Job.key.like("single-%"))
            ).all()
        waits = sorted((b - a).total_seconds() * 1000 for a, b in rows)
        t0 = time.perf_counter()
        with rt.transaction() as s:
            for i in range(args.burst):
                jobs.enqueue(s, "alerts.deliver", key=f"burst-{i}")
        wait(rt, 1 + args.single + args.burst)
        burst_s = time.perf_counter() - t0
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        broker.reset()
    p95 = waits[int(0.95 * (len(waits) - 1))]
    backend = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; python {platform.python_version()}")  # fmt: skip
    print("| database / queue | commit to start, median | p95 | max | burst of N: jobs/s |")
    print(
        f"| {backend} / {args.queue} | {statistics.median(waits):.0f} ms | {p95:.0f} ms | "
        f"{waits[-1]:.0f} ms | {args.burst}: {args.burst / burst_s:.0f}/s |"
    )


if __name__ == "__main__":
    main()
