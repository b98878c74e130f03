"""Background work: ``yjvoice worker`` runs jobs; ``yjvoice jobs`` lists and retries them."""

from __future__ import annotations

import gc
import json
import logging

import click

from yjvoice.context import actor, ready_runtime

log = logging.getLogger("yjvoice.jobs")


def start_worker(workers: int | None = None) -> None:
    """Run the worker in this process until SIGINT or SIGTERM."""
    from surveys.jobs.worker import run_worker

    rt = ready_runtime()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_worker(rt, workers=workers)
    # Stopped cleanly, about to exit: leave the heap (the job kinds' imports, the sentence
    # model) out of the collector's passes at interpreter exit. They took 0.4-0.6 s of CPU
    # after every SIGTERM, before the process could go; reference counting still closes
    # files and connections, and atexit handlers still run.
    gc.freeze()


@click.command(name="worker")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    help="Jobs run at once in this process (default: JOBS_WORKERS, 2).",
)
def worker_command(workers: int | None) -> None:
    """Run background jobs (alerts, escalation, reading answers, themes) until stopped.

    The queue is JOBS_URL (default: a SQLite file next to the database). SIGTERM lets running
    jobs finish (up to 30 s); a worker killed outright loses nothing: its jobs go back to the
    queue when their lease runs out (JOBS_LEASE_SECONDS).
    """
    start_worker(workers)


@click.group(name="jobs")
def jobs_group() -> None:
    """See and retry background jobs (the workbench's Jobs page does the same)."""


@jobs_group.command(name="list")
@click.option(
    "--status",
    type=click.Choice(["queued", "running", "failed", "done"]),
    multiple=True,
    help="Only jobs in this status (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def jobs_list(status: tuple[str, ...], as_json: bool) -> None:
    """List jobs, unfinished first (ids, kinds, progress and errors; never answer text)."""
    from surveys.jobs import table

    rt = ready_runtime()
    with rt.sessions() as session:
        rows = table.list_jobs(session, status or None)
    for v in rows:
        if as_json:
            click.echo(json.dumps(v.as_dict()))
            continue
        progress = f" {v.progress_done}/{v.progress_total}" if v.progress_total else ""
        error = f"  last error: {v.last_error}" if v.last_error else ""
        click.echo(f"#{v.id} {v.status:<8} {v.kind} attempt {v.attempts}{progress}{error}")


@jobs_group.command(name="retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Queue a failed job again with fresh attempts."""
    from surveys.jobs import broker, table
    from surveys.services import audit

    rt = ready_runtime()
    broker.configure(rt.settings, rt.sessions)
    try:
        with rt.transaction() as session:
            job = table.retry(session, job_id)
            audit.record(session, "job.retried", actor=actor(), target=f"job:{job.id}")
    except table.JobNotFound:
        raise click.ClickException(f"no job has the id {job_id}") from None
    except table.NotRetryable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        broker.reset()
    click.echo(f"Job #{job_id} is queued again.")


@jobs_group.command(name="run")
@click.option("--once", is_flag=True, required=True, help="Run every due job once, here, and stop.")
def jobs_run(once: bool) -> None:
    """Run the due jobs in this process (for cron or a machine without a worker)."""
    from surveys.jobs import registry, runner, table

    rt = ready_runtime()
    kinds = registry.load_kinds().values()
    table.sweep(rt.sessions, kinds=kinds)
    counts = runner.run_due(rt.sessions, rt.settings)
    click.echo(json.dumps(counts))


def register(group: click.Group) -> None:
    """Add ``worker`` and ``jobs`` to the ``yjvoice`` group."""
    group.add_command(worker_command)
    group.add_command(jobs_group)
