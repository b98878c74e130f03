"""Safeguarding alerts: ``yjvoice alerts run [--once]``.

Alerts are delivered by background jobs (``surveys.notify.alerts``: a delivery job queued with
each case, an escalation job every 30 s) that ``yjvoice worker`` runs. ``alerts run`` starts
that worker; ``--once`` instead escalates and delivers once, here, without a worker (cron, a
test). Logs carry ids only.
"""

from __future__ import annotations

import json
import logging

import click

from yjvoice.context import ready_runtime

log = logging.getLogger("yjvoice.alerts")


@click.group(name="alerts")
def alerts_group() -> None:
    """Deliver safeguarding alerts (email, Telegram staff chat) and escalate."""


@alerts_group.command(name="run")
@click.option("--once", is_flag=True, help="Do one pass and stop (for cron or a test).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=10.0,
    show_default=True,
    hidden=True,
    help="Ignored: kept so old service files still start (the worker sweeps JOBS_SWEEP_SECONDS).",
)
def alerts_run(once: bool, interval: float) -> None:
    """Run the worker that delivers alerts (same as `yjvoice worker`); --once: one pass here."""
    from surveys.notify import alerts

    if not once:
        from yjvoice.cli_jobs import start_worker

        start_worker()
        return
    rt = ready_runtime()
    alerts.configure(rt.settings)
    click.echo(json.dumps(alerts.run_once(rt.sessions, rt.settings)))


def register(group: click.Group) -> None:
    """Add the ``alerts`` commands to the ``yjvoice`` group."""
    group.add_command(alerts_group)
