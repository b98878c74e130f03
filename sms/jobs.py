"""Texts that had to wait, sent by the job queue: the periodic ``sms.deliver`` job.

Every 30 seconds (once across all workers, ``yjvoice worker``) the job sends the outbox's
due texts (invitations held for quiet hours, replies whose provider failed) through the
configured provider, then erases their numbers (``surveys.notify.sms.deliver_due``). It is
idempotent: a text is marked sent in the same transaction as it is sent, under a row lock,
so a job that runs twice sends nothing twice. ``yjvoice sms run`` does the same in a loop for
a setup without the worker.
"""

from __future__ import annotations

from datetime import timedelta

from sms.providers import sender_for
from surveys import jobs
from surveys.notify import sms as outbound

DELIVER = "sms.deliver"


@jobs.job(
    DELIVER,
    label="Send text messages that waited",
    every=timedelta(seconds=30),
    max_attempts=2,
)
def deliver_job(ctx: jobs.Context) -> dict[str, int]:
    """Send every text whose time has come; count what went and what still waits."""
    settings = ctx.settings.sms
    sender = sender_for(settings)
    sent = outbound.deliver_due(ctx.sessions.begin, sender, settings, now=ctx.now())
    with ctx.sessions() as session:
        waiting = outbound.waiting(session)
    return {"sent": sent, "waiting": waiting}
