"""Safeguarding alerts: an outbox of emails and Telegram staff-chat messages, retried until sent.

Once ``install(settings)`` has registered it with ``surveys.services.safeguarding.on_case_opened``
(the web app and the bot call it at start-up), ``enqueue_alerts`` adds one
``AlertMessage`` row per recipient in the same transaction: an email to every active user with
the ``safeguarding`` role and to every address in ``SAFEGUARDING_ALERT_EMAILS``, and one message
to ``TELEGRAM_STAFF_CHAT_ID`` when it is set. Nothing is sent from the request that stored the
answer: a worker (``yjvoice alerts run``) calls ``escalate_due`` and ``deliver_due``.

A message carries a link to the case in the admin pages, its categories and the round's title
and code, **never the answer text**: the text is rendered at delivery time from the case and
the round only. A failed delivery keeps the message pending with an exponential back-off
(10 s doubling to 10 min) and a short error, so an SMTP outage loses nothing.

A case nobody acknowledges within ``SAFEGUARDING_ESCALATE_MINUTES`` gets an escalation to
every address in ``SAFEGUARDING_DEPUTY_EMAILS``, once. Messages still waiting for a disabled
account are cancelled; when no active safeguarding user is left, they go to the deputies.

Log lines carry ids only. Each step is recorded in the audit log.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from surveys import jobs
from surveys.config import Settings, load_settings
from surveys.core.vocabulary import OPEN_CASE_STATUSES
from surveys.services import audit, safeguarding
from surveys.storage.db import rows_changed
from surveys.storage.models import AlertMessage, Answer, Round, SafeguardingCase, User, utcnow

log = logging.getLogger("yjvoice.alerts")

SAFEGUARDING_ROLE = "safeguarding"
BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_MAX = timedelta(minutes=10)


def send_lease(settings: Settings) -> timedelta:
    """Return how long a worker owns a message it is sending (a crashed worker's claim runs
    out): 4 x SMTP_TIMEOUT (one send waits at most about that per step), at least
    ALERT_LEASE_SECONDS (10 s; the worker-kill tests shorten it to wait less for the lease)."""
    return max(
        timedelta(seconds=settings.alert_lease_seconds),
        timedelta(seconds=4 * settings.smtp_timeout),
    )


MAX_ERROR = 300
#: Up to this many due messages are looked at in one pass (a burst must fit to be grouped).
BATCH = 1000
#: After an alert, alerts about near-identical answers in the same round wait this long, so
#: the rest of a burst goes out as one grouped alert (the first never waits).
COALESCE_HOLD = timedelta(seconds=60)
#: Two answers are near-identical when they share this much of their words (numbers alike).
SIMILAR = 0.8
#: A grouped alert links this many cases, then points at the queue for the rest.
GROUP_LINKS = 50

PENDING, SENT, CANCELLED = "pending", "sent", "cancelled"

_settings: Settings | None = None


# --------------------------------------------------------------------------- configuration


def configure(settings: Settings | None) -> None:
    """Tell the hook which settings to use (the web app, bot and worker call this at start).

    Without it the hook reads the environment once, on the first case opened.
    """
    global _settings
    _settings = settings


def _current_settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def case_url(settings: Settings, case_id: int) -> str:
    """Return the full address of a case in the admin safeguarding queue."""
    return f"{settings.public_base_url.rstrip('/')}/admin/safeguarding/{case_id}"


def backoff(attempts: int) -> timedelta:
    """Return the wait after the ``attempts``-th failure: 10 s, 20 s, 40 s ... at most 10 min."""
    exp = max(0, min(attempts - 1, 20))
    return min(BACKOFF_FIRST * (2**exp), BACKOFF_MAX)


# --------------------------------------------------------------------------- audit


def _audit(session: Session, action: str, **kw: Any) -> None:
    """Record a step in the audit log (ids only).

    In a savepoint: a failing audit call is logged and never undoes the alert (nor the case
    and answer stored in the same transaction).
    """
    try:
        with session.begin_nested():
            audit.record(session, action, **kw)
    except Exception as exc:  # the audit log must not stop an alert
        log.warning("audit record failed action=%s error=%s", action, type(exc).__name__)


# --------------------------------------------------------------------------- enqueue


def _active_safeguarders(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .where(User.role == SAFEGUARDING_ROLE, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _disabled_emails(session: Session) -> set[str]:
    return {e.lower() for e in session.scalars(select(User.email).where(User.active.is_(False)))}


def _add(
    session: Session,
    case_id: int,
    channel: str,
    recipient: str,
    kind: str,
    now: datetime,
) -> AlertMessage:
    msg = AlertMessage(
        case_id=case_id,
        channel=channel,
        recipient=recipient,
        kind=kind,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(msg)
    return msg


def enqueue_for_case(
    session: Session, case: SafeguardingCase, settings: Settings, now: datetime | None = None
) -> list[AlertMessage]:
    """Add the alert messages for a newly opened case to the session (no network)."""
    now = now or utcnow()
    disabled = _disabled_emails(session)
    emails: list[str] = []
    for email in [*_active_safeguarders(session), *settings.safeguarding_alert_emails]:
        email = email.strip().lower()
        if email and email not in emails and email not in disabled:
            emails.append(email)
    kind = "alert"
    if not emails:
        # Nobody designated (or every lead disabled): the deputies hear of it at once.
        emails = [e for e in settings.safeguarding_deputy_emails if e not in disabled]
        if emails:
            log.warning("no safeguarding lead to alert; alerting deputies case=%s", case.id)
        else:
            log.error("no safeguarding lead or deputy to alert by email case=%s", case.id)
    msgs = [_add(session, case.id, "email", e, kind, now) for e in emails]
    if settings.telegram_staff_chat_id:
        msgs.append(_add(session, case.id, "telegram", settings.telegram_staff_chat_id, kind, now))
    session.flush()
    if msgs:
        kick(session, now)
    for m in msgs:
        log.info("alert queued msg=%s case=%s channel=%s", m.id, case.id, m.channel)
    _audit(
        session,
        "safeguarding.alert_queued",
        round_id=case.round_id,
        target=f"case:{case.id}",
        details={"messages": [m.id for m in msgs], "channels": sorted({m.channel for m in msgs})},
    )
    return msgs


def enqueue_alerts(session: Session, case: SafeguardingCase) -> None:
    """The ``on_case_opened`` hook: queue the alerts in the transaction that opens the case."""
    enqueue_for_case(session, case, _current_settings())


def install(settings: Settings | None = None) -> None:
    """Use these settings and register the hook (idempotent): call it once at start-up in
    every process that opens cases (the web app, the bot)."""
    if settings is not None:
        configure(settings)
    safeguarding.on_case_opened(enqueue_alerts)


def uninstall() -> None:
    """Unregister the hook and forget the settings (tests)."""
    safeguarding.remove_hook(enqueue_alerts)
    configure(None)


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendered:
    """What a message says: a subject line and a plain-text body (no answer text)."""

    subject: str
    body: str


def render(session: Session, msg: AlertMessage, settings: Settings) -> Rendered:
    """Build the message from the case and its round only (never the answer)."""
    case = session.get(SafeguardingCase, msg.case_id)
    rnd = session.get(Round, case.round_id) if case else None
    categories = ", ".join(c.replace("_", " ") for c in (case.categories or [])) if case else ""
    categories = categories or "not given"
    round_line = f"{rnd.title} ({rnd.code})" if rnd else "unknown round"
    link = case_url(settings, msg.case_id)
    when = f"{case.created_at:%Y-%m-%d %H:%M} UTC" if case and case.created_at else "unknown"
    if msg.kind == "escalation":
        minutes = f"{settings.safeguarding_escalate_minutes:g}"
        subject = f"ESCALATION: safeguarding case #{msg.case_id} not acknowledged"
        intro = (
            f"Safeguarding case #{msg.case_id} has not been acknowledged within {minutes} "
            "minutes. You are on the deputy list: please make sure someone deals with it now."
        )
    else:
        subject = f"Safeguarding alert: case #{msg.case_id} ({rnd.code if rnd else 'round'})"
        intro = (
            "An answer in a YJ Voice consultation may disclose harm and needs the designated "
            "safeguarding lead."
        )
    body = (
        f"{intro}\n\n"
        f"Case: #{msg.case_id}\n"
        f"Categories: {categories}\n"
        f"Round: {round_line}\n"
        f"Opened: {when}\n\n"
        f"Open the case (sign-in required): {link}\n\n"
        "The young person's words are not in this message. Sign in to read them, acknowledge "
        "the case and record what was done.\n"
    )
    return Rendered(subject=subject, body=body)


def render_group(session: Session, msgs: list[AlertMessage], settings: Settings) -> Rendered:
    """Build one message for several cases with near-identical answers (never the answers)."""
    case_ids = sorted({m.case_id for m in msgs})
    cases = list(
        session.scalars(
            select(SafeguardingCase)
            .where(SafeguardingCase.id.in_(case_ids))
            .order_by(SafeguardingCase.created_at, SafeguardingCase.id)
        )
    )
    rnd = session.get(Round, cases[0].round_id) if cases else None
    code = rnd.code if rnd else "round"
    round_line = f"{rnd.title} ({rnd.code})" if rnd else "unknown round"
    categories = sorted({c for case in cases for c in (case.categories or [])})
    first = min((c.created_at for c in cases if c.created_at), default=None)
    last = max((c.created_at for c in cases if c.created_at), default=None)
    span = f"{first:%Y-%m-%d %H:%M} and {last:%H:%M} UTC" if first and last else "unknown times"
    n = len(case_ids)
    earlier = session.scalar(
        select(func.count())
        .select_from(SafeguardingCase)
        .where(
            SafeguardingCase.round_id == (rnd.id if rnd else -1),
            SafeguardingCase.id < case_ids[0],
            SafeguardingCase.created_at >= (first or utcnow()) - COALESCE_HOLD * 2,
        )
    )
    links = [f"  #{cid}: {case_url(settings, cid)}" for cid in case_ids[:GROUP_LINKS]]
    if n > GROUP_LINKS:
        links.append(
            f"  ... and {n - GROUP_LINKS} more: "
            f"{settings.public_base_url.rstrip('/')}/admin/safeguarding"
        )
    if msgs[0].kind == "escalation":
        minutes = f"{settings.safeguarding_escalate_minutes:g}"
        subject = f"ESCALATION: {n} safeguarding cases not acknowledged ({code})"
        intro = (
            f"{n} safeguarding cases with near-identical answers have not been acknowledged "
            f"within {minutes} minutes. You are on the deputy list: please make sure someone "
            "deals with them now."
        )
    else:
        subject = f"Safeguarding alert: {n} cases with near-identical answers ({code})"
        intro = (
            f"This one alert covers {n} safeguarding cases: answers with near-identical words "
            f"in one round, opened between {span}. It may be one young person answering more "
            "than once, or a flood of false answers hiding a real one. Every case is open in "
            "the queue and each needs looking at."
        )
        if earlier:
            intro += (
                f" {earlier} other case{'s' if earlier != 1 else ''} in this round opened in "
                "the two minutes before (alerted already)."
            )
    body = (
        f"{intro}\n\n"
        f"Cases covered: {n}\n"
        f"Categories: {', '.join(c.replace('_', ' ') for c in categories) or 'not given'}\n"
        f"Round: {round_line}\n\n"
        "Open each case (sign-in required):\n" + "\n".join(links) + "\n\n"
        "The young people's words are not in this message. Sign in to read them, acknowledge "
        "the cases and record what was done.\n"
    )
    return Rendered(subject=subject, body=body)


# --------------------------------------------------------------------------- sending


class DeliveryError(Exception):
    """A message could not be delivered; the text is short and holds no answer text."""


def send_email(settings: Settings, to: str, rendered: Rendered) -> None:
    """Send one email over SMTP (STARTTLS unless SMTP_STARTTLS=false)."""
    if not settings.smtp_host or not settings.smtp_from:
        raise DeliveryError("SMTP is not configured (SMTP_HOST and SMTP_FROM)")
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Message-ID"] = make_msgid(domain="yjvoice")
    msg.set_content(rendered.body)
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
    ) as smtp:
        smtp.ehlo()
        if settings.smtp_starttls:
            # Refuses to go on in clear text when the server offers no STARTTLS.
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        refused = smtp.send_message(msg)
        if refused:
            raise DeliveryError("recipient refused")


def send_telegram(settings: Settings, chat_id: str, rendered: Rendered) -> None:
    """Send one message to a Telegram chat through the Bot API's sendMessage."""
    import httpx

    if not settings.telegram_token:
        raise DeliveryError("TELEGRAM_TOKEN is not set")
    url = f"{settings.telegram_api_url}{settings.telegram_token}/sendMessage"
    payload = {
        "chat_id": chat_id,
        "text": f"{rendered.subject}\n\n{rendered.body}",
        "disable_web_page_preview": True,
    }
    try:
        resp = httpx.post(url, json=payload, timeout=settings.smtp_timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"telegram {type(exc).__name__}") from None
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code != 200 or not data.get("ok"):
        desc = str(data.get("description") or "")[:120]
        raise DeliveryError(f"telegram HTTP {resp.status_code} {desc}".strip())


Sender = Callable[[Settings, str, Rendered], None]
SENDERS: dict[str, Sender] = {"email": send_email, "telegram": send_telegram}


def _short_error(exc: BaseException, settings: Settings) -> str:
    if isinstance(exc, DeliveryError):
        text = str(exc)
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{type(exc).__name__} {exc.smtp_code}"
    elif isinstance(exc, (OSError, smtplib.SMTPException)):
        text = f"{type(exc).__name__}: {exc}"
    else:
        text = type(exc).__name__
    for secret in (settings.telegram_token, settings.smtp_password):
        if secret:
            text = text.replace(secret, "***")
    return text[:MAX_ERROR]


# --------------------------------------------------------------------------- delivery


@dataclass
class Counts:
    """What one run did."""

    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    escalated: int = 0
    redirected: int = 0
    queued: int = 0
    held: int = 0
    grouped: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the numbers (no ids)."""
        return {
            k: getattr(self, k)
            for k in (
                "sent", "failed", "cancelled", "escalated", "redirected", "queued", "held",
                "grouped",
            )
        }  # fmt: skip


def _claim(session: Session, msg_id: int, now: datetime, lease: timedelta) -> bool:
    """Take a due message for this worker (a lease), so two workers never both send it."""
    claimed = rows_changed(
        session,
        update(AlertMessage)
        .where(
            AlertMessage.id == msg_id,
            AlertMessage.status == PENDING,
            AlertMessage.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False),
    )
    return claimed == 1


def _case_status(session: Session, case_id: int) -> str | None:
    return session.scalar(select(SafeguardingCase.status).where(SafeguardingCase.id == case_id))


@dataclass(frozen=True)
class _Due:
    """A due message with what grouping needs (the words stay in memory, never stored)."""

    id: int
    case_id: int
    round_id: int
    kind: str
    channel: str
    recipient: str
    words: frozenset[str]


_WORD_RE = re.compile(r"[^\W\d_]+|\d+")


def fingerprint(text: str | None) -> frozenset[str]:
    """Return an answer's words, lower-cased, every number the same (for near-identity)."""
    return frozenset(
        "#" if w.isdigit() else w
        for w in _WORD_RE.findall(unicodedata.normalize("NFKC", text or "").lower())
    )


def near_identical(a: frozenset[str], b: frozenset[str]) -> bool:
    """Return True when two answers share at least ``SIMILAR`` of their words."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SIMILAR


def _due_messages(session: Session, now: datetime, limit: int) -> list[_Due]:
    rows = session.execute(
        select(
            AlertMessage.id,
            AlertMessage.case_id,
            SafeguardingCase.round_id,
            AlertMessage.kind,
            AlertMessage.channel,
            AlertMessage.recipient,
            SafeguardingCase.answer_id,
        )
        .join(SafeguardingCase, SafeguardingCase.id == AlertMessage.case_id)
        .where(AlertMessage.status == PENDING, AlertMessage.next_attempt_at <= now)
        .order_by(AlertMessage.next_attempt_at, AlertMessage.id)
        .limit(limit)
    ).all()
    words = _answer_words(session, {r.answer_id for r in rows})
    return [
        _Due(
            r.id,
            r.case_id,
            r.round_id,
            r.kind,
            r.channel,
            r.recipient,
            words.get(r.answer_id, frozenset()),
        )
        for r in rows
    ]


def _answer_words(session: Session, answer_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    ids = list(answer_ids)
    out: dict[int, frozenset[str]] = {}
    for start in range(0, len(ids), 500):
        for aid, text, redacted in session.execute(
            select(Answer.id, Answer.text, Answer.redacted).where(
                Answer.id.in_(ids[start : start + 500])
            )
        ):
            out[aid] = fingerprint(text or redacted)
    return out


def _recently_sent(
    session: Session, now: datetime
) -> dict[tuple[str, str, str, int], list[tuple[datetime, frozenset[str]]]]:
    """Return the alerts sent within ``COALESCE_HOLD``, by (kind, channel, recipient, round)."""
    rows = session.execute(
        select(
            AlertMessage.kind,
            AlertMessage.channel,
            AlertMessage.recipient,
            SafeguardingCase.round_id,
            AlertMessage.sent_at,
            SafeguardingCase.answer_id,
        )
        .join(SafeguardingCase, SafeguardingCase.id == AlertMessage.case_id)
        .where(AlertMessage.status == SENT, AlertMessage.sent_at > now - COALESCE_HOLD)
    ).all()
    words = _answer_words(session, {r.answer_id for r in rows})
    out: dict[tuple[str, str, str, int], list[tuple[datetime, frozenset[str]]]] = {}
    for kind, channel, recipient, round_id, sent_at, answer_id in rows:
        if sent_at is None:  # never: the query asks for sent_at > a time (the type allows it)
            continue
        out.setdefault((kind, channel, recipient, round_id), []).append(
            (sent_at, words.get(answer_id, frozenset()))
        )
    return out


def plan_batches(
    due: list[_Due], recent: dict, now: datetime
) -> tuple[list[list[int]], dict[int, datetime]]:
    """Group due messages into what goes out as one message; say which wait, and until when.

    Messages to one recipient about near-identical answers in one round form one batch. A batch
    near-identical to an alert that recipient got less than ``COALESCE_HOLD`` ago waits until
    the hold is over, so the rest of a burst arrives as one grouped alert. A lone answer unlike
    any recent one never waits.
    """
    clusters: dict[tuple, list[tuple[frozenset[str], list[_Due]]]] = {}
    for d in due:
        slot = clusters.setdefault((d.kind, d.channel, d.recipient, d.round_id), [])
        for words, members in slot:
            if near_identical(words, d.words) or (d.case_id in {m.case_id for m in members}):
                members.append(d)
                break
        else:
            slot.append((d.words, [d]))
    batches: list[list[int]] = []
    held: dict[int, datetime] = {}
    for group_key, slot in clusters.items():
        for words, members in slot:
            sent = [at for at, w in recent.get(group_key, []) if near_identical(words, w)]
            if sent:
                until = max(sent) + COALESCE_HOLD
                if until > now:
                    held.update({m.id: until for m in members})
                    continue
            batches.append([m.id for m in members])
    return batches, held


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    senders: dict[str, Sender] | None = None,
    limit: int = BATCH,
) -> dict[str, int]:
    """Send the messages that are due; return counts {sent, failed, cancelled, ...}.

    Each message is claimed, sent outside any transaction, then marked sent, or kept pending
    with ``attempts`` + 1, a short error and the next try after the back-off. Messages about
    near-identical answers in one round go to a recipient as one grouped alert that lists
    every case (``plan_batches``); ``counts["grouped"]`` says how many such alerts went.
    """
    now = now or utcnow()
    senders = senders or SENDERS
    counts = Counts()
    redirect_disabled(session_factory, settings, now, counts=counts)
    with session_factory.begin() as session:
        due = _due_messages(session, now, limit)
        batches, held = plan_batches(due, _recently_sent(session, now) if due else {}, now)
        for msg_id, until in held.items():
            session.execute(
                update(AlertMessage)
                .where(AlertMessage.id == msg_id, AlertMessage.status == PENDING)
                .values(next_attempt_at=until)
                .execution_options(synchronize_session=False)
            )
        if held:
            counts.held += len(held)
            log.info("alerts held to group a burst messages=%s", len(held))
    for ids in batches:
        _deliver_batch(session_factory, settings, ids, now, senders, counts)
    return counts.as_dict()


def _deliver_batch(
    session_factory: sessionmaker[Session],
    settings: Settings,
    ids: list[int],
    now: datetime,
    senders: dict[str, Sender],
    counts: Counts,
) -> None:
    """Claim, send as one message, and record the outcome of each message in the batch."""
    with session_factory.begin() as session:
        mine: list[int] = []
        for msg_id in ids:
            if not _claim(session, msg_id, now, send_lease(settings)):
                continue  # another worker has it, or it was sent meanwhile
            msg = session.get_one(AlertMessage, msg_id)  # claimed (locked) just now
            if msg.kind == "escalation" and _case_status(session, msg.case_id) != "new":
                msg.status, msg.last_error = CANCELLED, "case acknowledged before escalation"
                counts.cancelled += 1
                log.info("alert cancelled msg=%s case=%s (acknowledged)", msg.id, msg.case_id)
                continue
            mine.append(msg_id)
        if not mine:
            return
        msgs = [session.get_one(AlertMessage, i) for i in mine]
        channel, recipient = msgs[0].channel, msgs[0].recipient
        case_ids = [m.case_id for m in msgs]
        if len(msgs) == 1:
            rendered = render(session, msgs[0], settings)
        else:
            rendered = render_group(session, msgs, settings)
    try:
        sender = senders.get(channel)
        if sender is None:
            raise DeliveryError(f"unknown channel {channel}")
        sender(settings, recipient, rendered)
        error = None
    except Exception as exc:  # any failure: keep the messages and try again later
        error = _short_error(exc, settings)
    with session_factory.begin() as session:
        for msg_id, case_id in zip(mine, case_ids, strict=True):
            message = session.get(AlertMessage, msg_id)
            if message is None:
                # Its case was deleted while we were sending (a withdrawal): nothing to
                # record, and the rest of the batch must still be marked.
                continue
            message.attempts = (message.attempts or 0) + 1
            if error is None:
                message.status, message.sent_at, message.last_error = SENT, now, None
                counts.sent += 1
                log.info("alert sent msg=%s case=%s channel=%s", msg_id, case_id, channel)
                _audit(
                    session,
                    "safeguarding.alert_sent",
                    target=f"case:{case_id}",
                    details={"message": msg_id, "channel": channel, "kind": message.kind,
                             "grouped_with": len(mine) - 1},
                )  # fmt: skip
            else:
                message.last_error = error
                message.next_attempt_at = now + backoff(message.attempts)
                counts.failed += 1
                log.warning(
                    "alert delivery failed msg=%s case=%s channel=%s attempts=%s",
                    msg_id,
                    case_id,
                    channel,
                    message.attempts,
                )
                _audit(
                    session,
                    "safeguarding.alert_failed",
                    target=f"case:{case_id}",
                    details={"message": msg_id, "channel": channel, "attempts": message.attempts},
                )
    if error is None and len(mine) > 1:
        counts.grouped += 1
        log.info("grouped alert sent messages=%s channel=%s", len(mine), channel)


# --------------------------------------------------------------------------- escalation


def _has_message(session: Session, case_id: int, recipient: str, kinds: Iterable[str]) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(AlertMessage)
            .where(
                AlertMessage.case_id == case_id,
                AlertMessage.recipient == recipient,
                AlertMessage.kind.in_(list(kinds)),
                AlertMessage.status != CANCELLED,
            )
        )
    )


def redirect_disabled(
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    counts: Counts | None = None,
) -> dict[str, int]:
    """Cancel unsent email to disabled accounts; with no active lead left, tell the deputies."""
    now = now or utcnow()
    counts = counts if counts is not None else Counts()
    with session_factory.begin() as session:
        disabled = _disabled_emails(session)
        if not disabled:
            return counts.as_dict()
        stuck = [
            m
            for m in session.scalars(
                select(AlertMessage)
                .where(AlertMessage.status == PENDING, AlertMessage.channel == "email")
                .order_by(AlertMessage.id)
                .with_for_update(skip_locked=True)
            )
            if m.recipient.lower() in disabled
        ]
        if not stuck:
            return counts.as_dict()
        nobody = not _active_safeguarders(session)
        for m in stuck:
            m.status, m.last_error = CANCELLED, "recipient account disabled"
            counts.cancelled += 1
            log.info("alert cancelled msg=%s case=%s (recipient disabled)", m.id, m.case_id)
            if not nobody:
                continue
            case_open = _case_status(session, m.case_id) in OPEN_CASE_STATUSES
            if not case_open:
                continue
            added = []
            for deputy in settings.safeguarding_deputy_emails:
                if deputy in disabled or _has_message(session, m.case_id, deputy, [m.kind]):
                    continue
                added.append(_add(session, m.case_id, "email", deputy, m.kind, now))
            session.flush()
            counts.redirected += len(added)
            if added:
                kick(session, now)
            if not added and not settings.safeguarding_deputy_emails:
                log.error("alert for disabled lead has no deputy to go to case=%s", m.case_id)
            for new in added:
                log.info(
                    "alert redirected to deputy msg=%s from=%s case=%s", new.id, m.id, m.case_id
                )
            _audit(
                session,
                "safeguarding.alert_redirected",
                target=f"case:{m.case_id}",
                details={"cancelled": m.id, "messages": [n.id for n in added]},
            )
    return counts.as_dict()


def escalate_due(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    """Escalate each case not acknowledged in time to the deputies (once per case).

    Also redirects messages waiting for disabled accounts (``redirect_disabled``).
    """
    now = now or utcnow()
    counts = Counts()
    cutoff = now - timedelta(minutes=settings.safeguarding_escalate_minutes)
    with session_factory.begin() as session:
        ids = list(
            session.scalars(
                select(SafeguardingCase.id)
                .where(
                    SafeguardingCase.status == "new",
                    SafeguardingCase.escalated_at.is_(None),
                    SafeguardingCase.created_at <= cutoff,
                )
                .order_by(SafeguardingCase.created_at, SafeguardingCase.id)
            )
        )
    for case_id in ids:
        with session_factory.begin() as session:
            claimed = rows_changed(
                session,
                update(SafeguardingCase)
                .where(
                    SafeguardingCase.id == case_id,
                    SafeguardingCase.status == "new",
                    SafeguardingCase.escalated_at.is_(None),
                )
                .values(escalated_at=now)
                .execution_options(synchronize_session=False),
            )
            if claimed != 1:
                continue  # acknowledged, or another worker escalated it
            disabled = _disabled_emails(session)
            deputies = [d for d in settings.safeguarding_deputy_emails if d not in disabled]
            msgs = [_add(session, case_id, "email", d, "escalation", now) for d in deputies]
            if settings.telegram_staff_chat_id:
                msgs.append(
                    _add(
                        session,
                        case_id,
                        "telegram",
                        settings.telegram_staff_chat_id,
                        "escalation",
                        now,
                    )
                )
            session.flush()
            if msgs:
                kick(session, now)
            counts.escalated += 1
            counts.queued += len(msgs)
            if not deputies:
                log.error("case escalated but no deputy is configured case=%s", case_id)
            log.info("case escalated case=%s messages=%s", case_id, [m.id for m in msgs])
            round_id = session.scalar(
                select(SafeguardingCase.round_id).where(SafeguardingCase.id == case_id)
            )
            _audit(
                session,
                "safeguarding.escalated",
                round_id=round_id,
                target=f"case:{case_id}",
                details={"messages": [m.id for m in msgs]},
            )
    redirect_disabled(session_factory, settings, now, counts=counts)
    return counts.as_dict()


def run_once(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    """Escalate what is due, then deliver what is due; return the combined counts."""
    out = escalate_due(session_factory, settings, now)
    for key, value in deliver_due(session_factory, settings, now).items():
        out[key] = out.get(key, 0) + value
    return out


# --------------------------------------------------------------------------- jobs

DELIVER = "alerts.deliver"
ESCALATE = "alerts.escalate"


def kick(session: Session, now: datetime | None = None) -> None:
    """Queue a delivery job in the caller's transaction (one waits at a time; it sends all)."""
    jobs.enqueue(session, DELIVER, key=DELIVER, now=now)


@jobs.job(DELIVER, label="Send safeguarding alerts", max_attempts=None)
def deliver_job(ctx: jobs.Context) -> dict[str, int]:
    """Send every due alert; while some wait for a retry, run again when the first is due."""
    counts = deliver_due(ctx.sessions, ctx.settings, now=ctx.now())
    with ctx.sessions() as session:
        waiting, first, error = session.execute(
            select(
                func.count(),
                func.min(AlertMessage.next_attempt_at),
                func.max(AlertMessage.last_error),
            ).where(AlertMessage.status == PENDING)
        ).one()
    if waiting:
        at = max(first, ctx.now() + timedelta(seconds=1))
        reason = f"{waiting} alert message{'s' if waiting != 1 else ''} waiting"
        raise jobs.Defer(f"{reason}: {error}" if error else reason, at=at)
    return counts


@jobs.job(
    ESCALATE,
    label="Escalate unacknowledged safeguarding cases",
    every=timedelta(seconds=30),
    max_attempts=2,
)
def escalate_job(ctx: jobs.Context) -> dict[str, int]:
    """Escalate overdue cases, and make sure a delivery job exists for anything due."""
    now = ctx.now()
    counts = escalate_due(ctx.sessions, ctx.settings, now)
    with ctx.sessions.begin() as session:
        due = session.scalar(
            select(func.count())
            .select_from(AlertMessage)
            .where(AlertMessage.status == PENDING, AlertMessage.next_attempt_at <= now)
        )
        if due and jobs.active_job(session, DELIVER) is None:
            kick(session, now)
    return counts


def undelivered_count(session: Session, now: datetime, *, grace: timedelta) -> int:
    """Return how many alert messages have failed at least once or waited past ``grace``.

    The workbench shows these in a banner: an alert nobody received is a case nobody knows
    of, and a log line is not where a safeguarding lead looks.
    """
    stmt = (
        select(func.count())
        .select_from(AlertMessage)
        .where(
            AlertMessage.status == PENDING,
            (AlertMessage.attempts > 0) | (AlertMessage.created_at < now - grace),
        )
    )
    return session.scalar(stmt) or 0


def pending_count(session: Session) -> int:
    """Return how many messages are still waiting to be delivered."""
    return (
        session.scalar(
            select(func.count()).select_from(AlertMessage).where(AlertMessage.status == PENDING)
        )
        or 0
    )


__all__ = [
    "configure",
    "deliver_due",
    "enqueue_alerts",
    "enqueue_for_case",
    "escalate_due",
    "install",
    "redirect_disabled",
    "run_once",
    "undelivered_count",
]
