"""The safeguarding alert worker: ``yjvoice alerts run [--once] [--interval SECONDS]``.

It escalates cases nobody has acknowledged in time and delivers the outbox (email and the
Telegram staff chat), retrying failures with a back-off. Logs carry ids only.
"""

from __future__ import annotations

import json
import logging
import time

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
    help="Seconds between passes.",
)
def alerts_run(once: bool, interval: float) -> None:
    """Escalate overdue cases and send due alert messages; loop until stopped."""
    from surveys.notify import alerts

    rt = ready_runtime()
    alerts.configure(rt.settings)
    while True:
        try:
            counts = alerts.run_once(rt.sessions, rt.settings)
        except Exception:  # a database blip must not stop the worker; try again next pass
            if once:
                raise
            log.exception("alert pass failed; retrying in %ss", interval)
            counts = None
        if once:
            click.echo(json.dumps(counts))
            return
        if counts and any(counts.values()):
            log.info("alert pass %s", counts)
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


def register(group: click.Group) -> None:
    """Add the ``alerts`` commands to the ``yjvoice`` group."""
    group.add_command(alerts_group)
