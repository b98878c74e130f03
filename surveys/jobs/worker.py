"""The worker process: Huey's consumer runs jobs; a sweeper thread keeps the table honest.

Every ``JOBS_SWEEP_SECONDS`` the sweeper gives back jobs whose worker died (lease ran out),
hands over due jobs the queue does not have (its server was down when they were queued, or
a message was lost with a killed worker), and starts periodic jobs (escalating safeguarding
cases). Several workers may run at once, on one machine or many.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from surveys.config import Settings
from surveys.jobs import broker, registry, table
from surveys.runtime import Runtime
from surveys.storage.models import utcnow

log = logging.getLogger("yjvoice.jobs")

#: Done jobs are deleted this long after they finished (failed ones stay until retried).
KEEP_DONE = timedelta(days=7)
#: Periodic jobs (escalation every 30 s) that did their work are deleted after an hour.
KEEP_PERIODIC = timedelta(hours=1)


class Sweeper(threading.Thread):
    """Sweep the jobs table every ``interval`` seconds until stopped."""

    def __init__(self, rt: Runtime, interval: float) -> None:
        super().__init__(name="jobs-sweeper", daemon=True)
        self.rt = rt
        self.interval = interval
        self.stopping = threading.Event()
        self.passes = 0

    def run(self) -> None:
        while True:
            self.sweep_once()
            if self.stopping.wait(self.interval):
                return

    def sweep_once(self) -> None:
        """Sweep once; log and carry on when the database does not answer."""
        try:
            kinds = registry.load_kinds().values()
            swept = table.sweep(self.rt.sessions, kinds=kinds)
            if swept.recovered or swept.failed:
                log.warning("sweep recovered=%s failed=%s", swept.recovered, swept.failed)
            self.passes += 1
            if self.passes % 60 == 1:
                periodic = [k.name for k in kinds if k.every is not None]
                with self.rt.transaction() as session:
                    table.purge_finished(session, KEEP_PERIODIC, utcnow(), kinds=periodic)
                    table.purge_finished(session, KEEP_DONE, utcnow())
        except Exception as exc:  # a database blip: the next pass tries again
            log.warning("sweep failed (%s); retrying", type(exc).__name__)


def warm(settings: Settings) -> list[str]:
    """Build the resources declared ``warm=True`` (the sentence model) unless JOBS_WARM is off;
    return their names. Tests whose workers run no job that needs them turn it off: loading the
    sentence model costs each worker process about 0.7 s of CPU."""
    return registry.warm_resources() if settings.jobs_warm else []


def run_worker(rt: Runtime, *, workers: int | None = None) -> None:
    """Run jobs until SIGINT or SIGTERM (then let running jobs finish, up to 30 s)."""
    settings = rt.settings
    kinds = registry.load_kinds()
    warmed = warm(settings)
    b = broker.configure(settings, rt.sessions)
    consumer = b.huey.create_consumer(
        workers=workers or settings.jobs_workers,
        worker_type="thread",
        periodic=False,  # periodic jobs come from the sweeper, once across all workers
        initial_delay=0.05,
        backoff=1.5,
        max_delay=0.5,  # an empty SQLite queue is polled at least twice a second
        scheduler_interval=1,
        graceful_signal="TERM",  # docker stop: finish what is running
        shutdown_timeout=30,
    )
    sweeper = Sweeper(rt, settings.jobs_sweep_seconds)
    sweeper.start()
    log.info(
        "worker started name=%s kinds=%s warmed=%s queue=%s",
        b.worker,
        len(kinds),
        warmed,
        type(b.huey).__name__,
    )
    try:
        consumer.run()
    finally:
        sweeper.stopping.set()
        sweeper.join(timeout=5)
        broker.reset()
