"""Text messages from the command line: ``yjvoice sms invite`` and the ``yjvoice sms run`` worker.

``invite`` starts a text conversation with each number (at the consent question, audience
fixed) and sends a neutral invitation; in quiet hours (21:00-08:00 Europe/London unless set
otherwise) the invitations wait, numbers encrypted, for the job queue's ``sms.deliver`` job
(``yjvoice worker``) or ``sms run`` to send them in the morning. Numbers are never printed
back in full, logged or stored in clear.
"""

from __future__ import annotations

import json
import logging
import time

import click

from surveys.core.vocabulary import AUDIENCES, LANGUAGES
from yjvoice.context import actor, ready_runtime

log = logging.getLogger("yjvoice.sms")


@click.group(name="sms")
def sms_group() -> None:
    """Invite people by text message and send texts that had to wait."""


@sms_group.command(name="invite")
@click.option("--round", "code", required=True, help="The round's invite code.")
@click.option(
    "--audience",
    type=click.Choice(AUDIENCES),
    default="child",
    show_default=True,
    help="Who the numbers belong to.",
)
@click.option(
    "--to",
    "numbers",
    multiple=True,
    required=True,
    help="A phone number to invite (repeat --to for more), e.g. 07700 900123.",
)
@click.option(
    "--language",
    "lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="The invitation's language (default: the round's first).",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of counts.")
def sms_invite(
    code: str, audience: str, numbers: tuple[str, ...], lang: str | None, as_json: bool
) -> None:
    """Text an invitation to each number; replies YES start the round's questions."""
    from sms.providers import sender_for
    from surveys.notify import sms as outbound
    from surveys.services import texting

    rt = ready_runtime()
    if not rt.settings.sms.enabled:
        raise click.ClickException("no text-message provider: set SMS_PROVIDER and its keys")
    try:
        with rt.transaction() as session:
            result = texting.invite(
                session,
                rt.context,
                rt.settings.sms,
                code=code,
                audience=audience,
                numbers=numbers,
                actor=actor(),
                lang=lang,
            )
    except texting.InviteError as exc:
        raise click.ClickException(str(exc)) from None
    delivery = outbound.deliver(
        rt.transaction, sender_for(rt.settings.sms), result.texts, rt.settings.sms
    )
    counts = {
        "sent": delivery.sent,
        "waiting": delivery.queued,
        "failed": delivery.dropped,
        "invalid": len(result.invalid),
        "duplicates": result.duplicates,
        "opted_out": result.suppressed,
        "over_hourly_cap": result.capped,
    }
    click.echo(f"Invitations sent: {delivery.sent}")
    if delivery.queued:
        click.echo(f"Waiting (quiet hours or a provider problem): {delivery.queued}")
    if result.invalid:
        click.echo("Not phone numbers (by position): " + ", ".join(map(str, result.invalid)))
    if result.suppressed:
        click.echo(f"Opted out (texted STOP), not sent: {result.suppressed}")
    if as_json:
        click.echo(json.dumps(counts))


@sms_group.command(name="run")
@click.option("--once", is_flag=True, help="Do one pass and stop (for cron or a test).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=15.0,
    show_default=True,
    help="Seconds between passes.",
)
def sms_run(once: bool, interval: float) -> None:
    """Send texts that waited (quiet hours, provider failures); loop until stopped."""
    from sms.providers import sender_for
    from surveys.notify import sms as outbound

    rt = ready_runtime()
    sender = sender_for(rt.settings.sms)
    if sender is None:
        raise click.ClickException("no text-message provider: set SMS_PROVIDER and its keys")
    while True:
        try:
            sent = outbound.deliver_due(rt.transaction, sender, rt.settings.sms)
        except Exception:  # a database blip must not stop the worker
            if once:
                raise
            log.exception("sms pass failed; retrying in %ss", interval)
            sent = 0
        if once:
            click.echo(json.dumps({"sent": sent}))
            return
        if sent:
            log.info("sms pass sent=%d", sent)
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


def register(group: click.Group) -> None:
    """Add the ``sms`` commands to the ``yjvoice`` group."""
    group.add_command(sms_group)
