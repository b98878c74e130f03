"""Text messages out: the suppression list, the per-number cap, quiet hours, invitations and
the outbox of texts that must wait.

A phone number is known by its keyed hash (``SmsNumber``); the number itself lives only in
memory while a text is sent. ``deliver`` is the one way a text leaves: it sends at once,
or, when a text must wait (an invitation in quiet hours, a provider failure that may pass,
Notify's rate limit), keeps it in ``SmsOutbox`` with the number encrypted until a worker
(``deliver_due``: ``yjvoice sms run``) sends it and erases the number. Replies to a person
who texted in are never held for quiet hours.

Exactly once: nothing here is called for a duplicate delivery, so a re-delivered text sends
nothing. Log lines carry ids, counts and error codes, never a number or a text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from surveys.config import SmsSettings
from surveys.core import engine, phones
from surveys.core.vocabulary import SMS
from surveys.notify.sms import OptedOut, Sender, SendError
from surveys.services import audit, conversation
from surveys.storage import store
from surveys.storage.models import SmsNumber, SmsOutbox, utcnow

log = logging.getLogger("yjvoice.sms")
LONDON = ZoneInfo("Europe/London")
REPLY, INVITE, REMINDER = "reply", "invite", "reminder"
PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"
#: A text that keeps failing is given up after this many attempts (about a day of back-off).
MAX_ATTEMPTS = 10
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
#: At most this many numbers in one invitation batch.
MAX_INVITES = 500

Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Outgoing:
    """One text to send: the number (memory only), its keyed hash, the words."""

    number: str
    number_hash: str
    body: str
    kind: str = REPLY
    round_id: int | None = None


@dataclass
class Delivery:
    """What ``deliver`` did with a batch of texts (counts only)."""

    sent: int = 0
    queued: int = 0
    dropped: int = 0
    ids: list[str] = field(default_factory=list)  # the provider's ids of texts sent


def number_hash(secret: str, number: str) -> str:
    """Return the keyed hash a number is stored as (the same as its chat key)."""
    return store.keyed_hash(secret, "sms", number)


# ------------------------------------------------------------------------- numbers


def _insert_number(session: Session, key: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(SmsNumber.__table__).on_conflict_do_nothing(index_elements=["number_hash"])
    session.execute(stmt, {"number_hash": key, "misses": 0, "window_count": 0})


def number_row(session: Session, key: str) -> SmsNumber:
    """Return a number's row, created if new and locked for the rest of the transaction.

    Every delivery from one number takes this lock first, so texts from one phone are
    applied one at a time, in a fixed lock order (number, then respondent).
    """
    _insert_number(session, key)
    row = session.get(SmsNumber, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def is_suppressed(session: Session, key: str) -> bool:
    """Return True when a number opted out (texted STOP) and has not texted START since."""
    found = session.scalar(select(SmsNumber.opted_out_at).where(SmsNumber.number_hash == key))
    return found is not None


def take_quota(row: SmsNumber, wanted: int, cap: int, now: datetime | None = None) -> int:
    """Count ``wanted`` texts to a number against its hourly cap; return how many may go."""
    now = now or utcnow()
    if row.window_start is None or now - row.window_start >= timedelta(hours=1):
        row.window_start, row.window_count = now, 0
    allowed = max(0, min(wanted, cap - row.window_count))
    row.window_count += allowed
    if allowed < wanted:
        log.warning("sms: hourly cap reached, %d text(s) not sent", wanted - allowed)
    return allowed


# ------------------------------------------------------------------------- quiet hours


def quiet_until(settings: SmsSettings, now: datetime | None = None) -> datetime | None:
    """Return when quiet hours end, if ``now`` is inside them (Europe/London), else None."""
    local = (now or utcnow()).astimezone(LONDON)
    minute = local.hour * 60 + local.minute
    start, end = settings.quiet_start, settings.quiet_end
    inside = (start <= minute or minute < end) if start > end else (start <= minute < end)
    if start == end or not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    wake = datetime(day.year, day.month, day.day, end // 60, end % 60, tzinfo=LONDON)
    return wake.astimezone(UTC)


# ------------------------------------------------------------------------- sending


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_MAX, BACKOFF_FIRST * (2 ** max(0, attempts - 1)))


def _keep(session: Session, text: Outgoing, not_before: datetime, error: str | None) -> None:
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
                    _keep(session, text, when, error)
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


# ------------------------------------------------------------------------- invitations


class InviteError(ValueError):
    """Invitations cannot be sent as asked (no such round, closed, wrong audience...)."""


@dataclass
class Invitations:
    """The texts to send after the commit, and what was left out (counts and positions)."""

    texts: list[Outgoing] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)  # 1-based positions of unreadable numbers
    duplicates: int = 0
    suppressed: int = 0
    capped: int = 0


def invite(
    session: Session,
    ctx: conversation.Context,
    settings: SmsSettings,
    *,
    code: str,
    audience: str,
    numbers: Iterable[str],
    actor: object = None,
) -> Invitations:
    """Start an SMS conversation for each number and return the invitations to send.

    Each number is normalised to E.164 and then kept only as its keyed hash: the
    conversation (at the consent question, audience fixed) is found by it when the person
    replies YES. A number on the suppression list is skipped. The invitation never names
    the topic or the service (phones are shared). The caller commits, then ``deliver``s.
    """
    try:
        rnd = store.get_round(session, code)
        store.require_open(rnd)
    except store.RoundNotFound:
        raise InviteError(f"no round has the code {code!r}") from None
    except store.RoundClosed:
        raise InviteError(f"round {rnd.code} is not taking answers") from None
    if audience not in rnd.audiences:
        raise InviteError(f"round {rnd.code} does not ask {audience!r}")
    raw = list(numbers)
    if len(raw) > MAX_INVITES:
        raise InviteError(f"at most {MAX_INVITES} numbers at once")
    result = Invitations()
    seen: set[str] = set()
    minutes = max(2, round(len(ctx.catalogue.questions_for(rnd.priorities, audience)) / 3))
    body = engine.default_texts().get("sms_invite", audience, minutes=minutes)
    for position, item in enumerate(raw, start=1):
        e164 = phones.to_e164(item)
        if e164 is None:
            result.invalid.append(position)
            continue
        if e164 in seen:
            result.duplicates += 1
            continue
        seen.add(e164)
        key = number_hash(ctx.secret, e164)
        row = number_row(session, key)
        if row.opted_out_at is not None:
            result.suppressed += 1
            continue
        if take_quota(row, 1, settings.hourly_cap) < 1:
            result.capped += 1
            continue
        resp = store.find_respondent(session, rnd, SMS, key)
        if resp is None:
            resp, _ = conversation.start(
                session, rnd, ctx, channel=SMS, resume_key=key, audience=audience
            )
        store.link_chat(session, SMS, key, resp.id)
        result.texts.append(Outgoing(e164, key, body, INVITE, rnd.id))
    audit.record(
        session,
        "sms_invite",
        actor=actor,
        round_id=rnd.id,
        details={
            "audience": audience,
            "invited": len(result.texts),
            "invalid": len(result.invalid),
            "suppressed": result.suppressed,
        },
    )
    log.info("sms: %d invitation(s) for round %s", len(result.texts), rnd.id)
    return result
