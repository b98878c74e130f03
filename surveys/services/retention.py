"""Retention: raw answer text is kept for ``RETENTION_DAYS`` after its round closes.

``purge`` empties ``Answer.text`` (and a safeguarding case's contact) of every answer whose
round closed more than ``days`` ago; the redacted text, tags, themes, review state and
approved quotes stay, so exports still work. One ``UPDATE ... WHERE purged_at IS NULL``
per table does it: running it twice, or twice at once, purges each answer once and the
second run counts 0. Each run with something purged is recorded in the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from surveys.services import audit
from surveys.storage.db import rows_changed
from surveys.storage.models import Answer, Round, SafeguardingCase, utcnow

log = logging.getLogger("yjvoice.retention")
DEFAULT_RETENTION_DAYS = 90


@dataclass(frozen=True)
class PurgeCounts:
    """What one purge run did."""

    answers: int = 0
    contacts: int = 0
    rounds: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict (for JSON and the audit log)."""
        return asdict(self)


def cutoff(now: datetime | None = None, days: int = DEFAULT_RETENTION_DAYS) -> datetime:
    """Return the moment before which a round's close makes its raw text due for purging."""
    if days < 1:
        raise ValueError("retention must be at least 1 day")
    return (now or utcnow()) - timedelta(days=days)


def purge(
    session: Session,
    now: datetime | None = None,
    days: int | None = None,
    *,
    actor: object = None,
) -> PurgeCounts:
    """Empty the raw text of answers whose round closed more than ``days`` ago.

    ``days`` defaults to the ``RETENTION_DAYS`` setting (90). The caller commits.
    """
    if days is None:
        from surveys.config import load_settings

        days = load_settings().retention_days
    now = now or utcnow()
    due = select(Round.id).where(
        Round.status == "closed", Round.closed_at.is_not(None), Round.closed_at < cutoff(now, days)
    )
    round_ids = list(session.scalars(due))
    if not round_ids:
        return PurgeCounts()
    answers = rows_changed(
        session,
        update(Answer)
        .where(Answer.round_id.in_(round_ids), Answer.purged_at.is_(None))
        .values(text="", purged_at=now)
        .execution_options(synchronize_session=False),
    )
    contacts = rows_changed(
        session,
        update(SafeguardingCase)
        .where(SafeguardingCase.round_id.in_(round_ids), SafeguardingCase.contact.is_not(None))
        .values(contact=None)
        .execution_options(synchronize_session=False),
    )
    counts = PurgeCounts(answers=answers or 0, contacts=contacts or 0, rounds=len(round_ids))
    if counts.answers or counts.contacts:
        audit.record(
            session,
            "purge",
            actor=actor,
            details={**counts.as_dict(), "days": days, "round_ids": round_ids[:50]},
        )
    log.info(
        "purge answers=%d contacts=%d rounds=%d", counts.answers, counts.contacts, counts.rounds
    )
    return counts
