"""Tell people who asked what changed: the round's "You said, we did" page, by text or Telegram.

At the end of an SMS or Telegram conversation the person is offered one message when the
service publishes what it changed because of the answers (NEWS by text, /news or a button
in Telegram). Saying yes keeps their address (phone number or chat id) **encrypted**, with
a keyed hash so nobody is told twice; nothing else about them. When the lead publishes the
page (``changes.publish``), a job per channel sends the link and **erases** each address as
it goes. A page taken down and put up again sends nothing new.

The message never names the topic or the service beyond the sender name (phones are
shared and read by others).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from surveys import jobs
from surveys.core import engine
from surveys.core.vocabulary import SMS, TELEGRAM
from surveys.services import audit
from surveys.storage import db, store
from surveys.storage.models import FollowUp, Round, utcnow

log = logging.getLogger("yjvoice.followups")
#: The job kind per channel: SMS's in ``surveys.notify.sms``, Telegram's in ``bot.jobs`` (the
#: domain never imports the Telegram library).
SMS_JOB, TELEGRAM_JOB = "followups.sms", "followups.telegram"
JOB_FOR = {SMS: SMS_JOB, TELEGRAM: TELEGRAM_JOB}


@dataclass(frozen=True)
class Pending:
    """One address to tell, decrypted in memory only."""

    id: int
    address: str
    address_hash: str
    audience: str
    language: str


def page_url(base_url: str, code: str) -> str:
    """Return the public address of a round's "You said, we did" page."""
    return f"{base_url.rstrip('/')}/r/{code}/changed"


def ask(
    session: Session,
    secret: str,
    rnd: Round,
    *,
    channel: str,
    address: str,
    audience: str | None,
    language: str | None,
) -> bool:
    """Keep an address to tell when the page goes up; False when it was asked for already.

    If the page is already up, the job is queued at once (in the caller's transaction).
    """
    if channel not in JOB_FOR:
        raise ValueError(f"no follow-up by {channel!r}")
    key = store.keyed_hash(secret, f"followup-{channel}", address)
    values = {
        "round_id": rnd.id,
        "channel": channel,
        "audience": audience or "child",
        "address": address,
        "address_hash": key,
        "language": language or engine.ENGLISH,
        "created_at": utcnow(),
    }
    # One row per person and round even when two deliveries race: insert or do nothing.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(FollowUp)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["round_id", "channel", "address_hash"])
    )
    added = bool(db.rows_changed(session, stmt))
    if added and rnd.changes_published_at is not None:
        queue(session, rnd)
    return added


def queue(session: Session, rnd: Round) -> int:
    """Queue the sending job of each channel that has someone waiting; return how many."""
    channels = session.scalars(
        select(FollowUp.channel)
        .where(FollowUp.round_id == rnd.id, FollowUp.sent_at.is_(None))
        .distinct()
    ).all()
    for channel in channels:
        jobs.enqueue(
            session, JOB_FOR[channel], {"round_id": rnd.id}, key=f"{JOB_FOR[channel]}:{rnd.id}"
        )
    return len(channels)


def waiting(session: Session, round_id: int) -> dict[str, int]:
    """Return how many people wait to be told, per channel (for the lead's page)."""
    rows = session.execute(
        select(FollowUp.channel, FollowUp.sent_at).where(FollowUp.round_id == round_id)
    ).all()
    counts = {"waiting": 0, "told": 0}
    for _channel, sent_at in rows:
        counts["told" if sent_at is not None else "waiting"] += 1
    return counts


def pending(session: Session, round_id: int, channel: str, limit: int = 200) -> list[Pending]:
    """Return up to ``limit`` people still to tell by ``channel``, locked for this sender."""
    stmt = (
        select(FollowUp)
        .where(
            FollowUp.round_id == round_id,
            FollowUp.channel == channel,
            FollowUp.sent_at.is_(None),
        )
        .order_by(FollowUp.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        Pending(row.id, row.address or "", row.address_hash, row.audience, row.language)
        for row in session.scalars(stmt)
    ]


def told(session: Session, followup_id: int) -> None:
    """Mark one person told and erase their address."""
    row = session.get(FollowUp, followup_id)
    if row is not None:
        row.sent_at, row.address = utcnow(), None


def message(texts: engine.Texts, rnd: Round, person: Pending, base_url: str) -> str:
    """Return the words sent to one person (their language, their audience's wording)."""
    lang = person.language if person.language in (rnd.languages or ["en"]) else engine.ENGLISH
    url = page_url(base_url, rnd.code)
    return texts.get("news_message", person.audience, lang, url=url)


def published(session: Session, rnd: Round, *, actor: object = None) -> None:
    """The page went up: queue the messages to everyone waiting (``changes.publish`` calls)."""
    if queue(session, rnd):
        audit.record(session, "followups_queued", actor=actor, round_id=rnd.id)
