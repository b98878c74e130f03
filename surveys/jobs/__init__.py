"""Background work on one queue: safeguarding alerts, themes for a round, and what comes next.

The jobs table (``surveys.storage.models.Job``) is the source of truth; Huey
(``surveys.jobs.broker``) carries job ids to worker processes (``yjvoice worker``). See
docs/jobs.md for why Huey, how a job survives a killed worker, and how to add a kind of job.

Define a kind (in a module listed in ``registry.MODULES``)::

    @jobs.job("sms.send", max_attempts=8, backoff=jobs.Backoff(first=30, cap=3600))
    def send_text(ctx: jobs.Context, message_id: int) -> dict: ...

and queue one in the caller's transaction (handed to a worker when it commits)::

    jobs.enqueue(session, "sms.send", {"message_id": msg.id}, key=f"sms:{msg.id}")
"""

from surveys.jobs.registry import MODULES, Backoff, job, load_kinds, resource
from surveys.jobs.runner import Context, Defer, JobLost, Retry, run_due, run_job
from surveys.jobs.table import active_job, enqueue, latest_job, waiting

__all__ = [
    "MODULES",
    "Backoff",
    "Context",
    "Defer",
    "JobLost",
    "Retry",
    "active_job",
    "enqueue",
    "job",
    "latest_job",
    "load_kinds",
    "resource",
    "run_due",
    "run_job",
    "waiting",
]
