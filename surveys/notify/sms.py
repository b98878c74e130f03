"""Text messages out: the one way a text leaves, behind a small interface.

``Sender`` is what a provider must do (``sms/providers.py`` has GOV.UK Notify and Twilio,
through their own client libraries, which never enter ``surveys/``). ``deliver`` sends texts
at once or, when a text must wait (an invitation in quiet hours, a provider failure that
may pass, Notify's rate limit), keeps it in ``SmsOutbox`` with the number encrypted until
``deliver_due`` (the job queue's periodic ``sms.deliver`` job, ``sms/jobs.py``; or
``yjvoice sms run``) sends it and erases the number. Replies to a person
who texted in are never held for quiet hours.

Exactly once: nothing here is called for a duplicate delivery, so a re-delivered text sends
nothing. Log lines carry ids, counts and error codes, never a number or a text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveys import jobs
from surveys.config import SmsSettings
from surveys.core import engine
from surveys.core.vocabulary import SMS
from surveys.services import followups
from surveys.services.texting import (
    REMINDER,
    REPLY,
    Outgoing,
    is_suppressed,
    number_hash,
    number_row,
    quiet_until,
    save_number,
)
from surveys.storage.models import Round, SmsOutbox, utcnow

log = logging.getLogger("yjvoice.sms")
PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"
#: A text that keeps failing is given up after this many attempts (about a day of back-off).
MAX_ATTEMPTS = 10
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
MAX_ERROR = 200

Transaction = Callable[[], AbstractContextManager[Session]]


class SendError(Exception):
    """A text was not accepted; ``retry`` says whether trying later may work."""

    def __init__(self, code: str, *, retry: bool) -> None:
        super().__init__(code)
        self.code = code[:MAX_ERROR]
        self.retry = retry


class OptedOut(SendError):
    """The provider refuses texts to this number: it opted out with the provider itself."""

    def __init__(self, code: str) -> None:
        super().__init__(code, retry=False)


class Sender(Protocol):
    """A provider that takes a text for one number and returns its message id."""

    name: str

    def send(self, number: str, body: str, *, reference: str | None = None) -> str:
        """Hand one text to the provider; return its id, or raise SendError."""
        ...


@dataclass
class Delivery:
    """What ``deliver`` did with a batch of texts (counts only)."""

    sent: int = 0
    queued: int = 0
    dropped: int = 0
    ids: list[str] = field(default_factory=list)  # the provider's ids of texts sent


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_MAX, BACKOFF_FIRST * (2 ** max(0, attempts - 1)))


def hold(session: Session, text: Outgoing, not_before: datetime, error: str | None = None) -> None:
    """Keep a text (its number encrypted) for the ``sms.deliver`` job, from ``not_before``."""
    session.add(
        SmsOutbox(
            number=text.number,
            number_hash=text.number_hash,
            body=text.body,
            kind=text.kind,
            round_id=text.round_id,
            status=PENDING,
            not_before=not_before,
            attempts=1 if error else 0,
            last_error=error,
        )
    )


def _opted_out(session: Session, key: str) -> None:
    row = number_row(session, key)
    row.opted_out_at = row.opted_out_at or utcnow()
    save_number(session, row)


def deliver(
    transaction: Transaction,
    sender: Sender | None,
    texts: Sequence[Outgoing],
    settings: SmsSettings,
    *,
    now: datetime | None = None,
) -> Delivery:
    """Send texts now, or keep them for the worker when they must wait; never raise.

    Called after the commit that decided them (a duplicate delivery never gets here).
    Invitations and reminders in quiet hours wait for the morning. A failure that may pass
    (timeout, 5xx, Notify's 429 rate limit) keeps that text and every later one of the
    batch for a retry with back-off, so a rate limit is not hammered. Twilio's 21610 (the
    number opted out with Twilio) puts the number on our suppression list.
    """
    now = now or utcnow()
    done = Delivery()
    waiting: list[tuple[Outgoing, datetime, str | None]] = []
    opted_out: list[str] = []
    backoff_error: str | None = None
    wake = quiet_until(settings, now)
    for text in texts:
        if text.kind != REPLY and wake is not None:
            waiting.append((text, wake, None))
            continue
        if sender is None or backoff_error is not None:
            waiting.append((text, now + BACKOFF_FIRST, backoff_error or "no provider"))
            continue
        try:
            done.ids.append(sender.send(text.number, text.body))
            done.sent += 1
        except OptedOut as exc:
            log.info("sms: provider says the number opted out (%s)", exc.code)
            opted_out.append(text.number_hash)
            done.dropped += 1
        except SendError as exc:
            if exc.retry:
                log.warning("sms: send failed, will retry (%s)", exc.code)
                backoff_error = exc.code
                waiting.append((text, now + BACKOFF_FIRST, exc.code))
            else:
                log.error("sms: send refused (%s)", exc.code)
                done.dropped += 1
    if waiting or opted_out:
        try:
            with transaction() as session:
                for text, when, error in waiting:
                    hold(session, text, when, error)
                for key in opted_out:
                    _opted_out(session, key)
            done.queued = len(waiting)
        except Exception as exc:  # the database is down too: nothing more we can do now
            log.error("sms: could not keep %d text(s): %s", len(waiting), type(exc).__name__)
            done.dropped += len(waiting)
    return done


def deliver_due(
    transaction: Transaction,
    sender: Sender | None,
    settings: SmsSettings,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Send waiting texts whose time has come; return how many went. Erases sent numbers."""
    if sender is None:
        return 0
    now = now or utcnow()
    wake = quiet_until(settings, now)
    sent = 0
    with transaction() as session:
        stmt = (
            select(SmsOutbox)
            .where(SmsOutbox.status == PENDING, SmsOutbox.not_before <= now)
            .order_by(SmsOutbox.not_before, SmsOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for row in session.scalars(stmt):
            if row.kind != REPLY and wake is not None:
                row.not_before = wake
                continue
            if row.number is None or is_suppressed(session, row.number_hash):
                row.status, row.number = CANCELLED, None
                continue
            row.attempts += 1
            try:
                sender.send(row.number, row.body)
            except OptedOut as exc:
                row.status, row.number, row.last_error = CANCELLED, None, exc.code
                _opted_out(session, row.number_hash)
                continue
            except SendError as exc:
                row.last_error = exc.code
                if exc.retry and row.attempts < MAX_ATTEMPTS:
                    row.not_before = now + _backoff(row.attempts)
                    if exc.code.endswith(":429"):
                        break  # rate limited: leave the rest for the next run
                else:
                    row.status, row.number = FAILED, None
                    log.error("sms: outbox %d given up (%s)", row.id, exc.code)
                continue
            row.status, row.number, row.sent_at = SENT, None, utcnow()
            sent += 1
    return sent


def waiting(session: Session, round_id: int | None = None) -> int:
    """Return how many texts wait in the outbox (for a round, or in all)."""
    stmt = select(SmsOutbox.id).where(SmsOutbox.status == PENDING)
    if round_id is not None:
        stmt = stmt.where(SmsOutbox.round_id == round_id)
    return len(session.scalars(stmt).all())


@jobs.job(followups.SMS_JOB, label="Tell people by text what changed", max_attempts=5)
def send_by_sms(ctx: jobs.Context, round_id: int) -> dict[str, int]:
    """Hand each waiting number a text in the SMS outbox, and erase the number here.

    The outbox keeps it encrypted until it is sent by the periodic
    ``sms.deliver`` job, which holds it for the end of quiet hours and backs off on rate
    limits. Moving a number from here to there is one transaction: nobody is told twice.
    """
    texts = engine.default_texts()
    moved = 0
    with ctx.sessions.begin() as session:
        rnd = session.get(Round, round_id)
        if rnd is None or rnd.changes_published_at is None:
            return {"told": 0}
        for person in followups.pending(session, round_id, SMS, limit=10_000):
            body = followups.message(texts, rnd, person, ctx.settings.public_base_url)
            number_key = number_hash(ctx.settings.secret_key, person.address)
            if not is_suppressed(session, number_key):
                hold(
                    session,
                    Outgoing(person.address, number_key, body, REMINDER, rnd.id),
                    ctx.now(),
                )
                moved += 1
            followups.told(session, person.id)
    # The periodic sms.deliver job (every 30 s) sends them.
    log.info("followups: %d text(s) for round %s in the outbox", moved, round_id)
    return {"told": moved}
