"""Read-only queries that hand the exporters their plain rows.

The exporters (``surveys.export``) import nothing from storage: they declare the rows they
take (``AnswerRow``, ``ActionRow``, ``RoundInfo``, ``AnswerRecord``) and this module fills
them from the database, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from surveys.export.answers import AnswerRecord
from surveys.export.plan import ActionRow, AnswerRow, RoundInfo
from surveys.storage.models import Answer, Narrative, Proposal, Round, SafeguardingCase
from surveys.storage.store import live_answers


def plan_rows(session: Session, rnd: Round) -> list[AnswerRow]:
    """Return the round's live answers as the plan's rows, raw text left in the database."""
    stmt = (
        select(
            Answer.id,
            Answer.respondent_id,
            Answer.priority,
            Answer.priority_override,
            Answer.question_id,
            Answer.audience,
            Answer.channel,
            Answer.choice,
            Answer.redacted,
            Answer.quote_text,
            Answer.sentiment,
            Answer.sentiment_override,
            Answer.review_status,
            Answer.is_quote,
            Answer.flagged,
            Answer.themes,
            Answer.language,
            Answer.quote_translation,
            Answer.assessed_at,
            SafeguardingCase.id.label("case_id"),
        )
        .outerjoin(  # a case cleared as "no concern" no longer holds the answer back
            SafeguardingCase,
            (SafeguardingCase.answer_id == Answer.id) & (SafeguardingCase.status != "cleared"),
        )
        .where(Answer.round_id == rnd.id, Answer.superseded.is_(False))
        .order_by(Answer.created_at, Answer.id)
    )
    rows = []
    # Core rows (no ORM loading): this reads every live answer of the round.
    for (
        answer_id,
        respondent_id,
        priority,
        priority_override,
        question_id,
        audience,
        channel,
        choice,
        redacted,
        quote_text,
        sentiment,
        sentiment_override,
        review_status,
        is_quote,
        flagged,
        themes,
        language,
        quote_translation,
        assessed_at,
        case_id,
    ) in session.connection().execute(stmt):
        quotable = (
            review_status == "approved"
            and not flagged
            and case_id is None
            and bool(is_quote)
            and redacted is not None
            and assessed_at is not None  # still being read: it may yet be a concern
        )
        text = (quote_text or redacted or "").strip() if quotable else ""
        rows.append(
            AnswerRow(
                answer_id,
                respondent_id,
                priority_override or priority,
                question_id,
                audience,
                channel,
                choice,
                text,
                sentiment_override or sentiment,
                quotable and bool(text),
                bool(flagged or case_id is not None),
                tuple(themes or ()),
                language or "en",
                (quote_translation or "").strip() if quotable else "",
            )
        )
    return rows


def narratives(session: Session, rnd: Round) -> dict[str, str]:
    """Return the lead's own narratives of a round, by priority key."""
    stmt = select(Narrative.priority, Narrative.text).where(Narrative.round_id == rnd.id)
    return {priority: text for priority, text in session.execute(stmt)}


def accepted_actions(session: Session, rnd: Round) -> list[ActionRow]:
    """Return the round's accepted proposals, oldest first."""
    stmt = (
        select(Proposal)
        .where(Proposal.round_id == rnd.id, Proposal.status == "accepted")
        .order_by(Proposal.created_at, Proposal.id)
    )
    return [
        ActionRow(p.priority, p.agency, p.achieve, p.do, p.evidence) for p in session.scalars(stmt)
    ]


def written_questions(session: Session, rnd: Round) -> list[tuple[str, str]]:
    """Return (question id, audience) of every written answer the round holds, oldest first.

    Includes questions the round no longer asks, or never asked: an import's own questions.
    """
    stmt = (
        select(Answer.question_id, Answer.audience, func.min(Answer.id))
        .where(Answer.round_id == rnd.id, Answer.choice.is_(None))
        .group_by(Answer.question_id, Answer.audience)
        .order_by(func.min(Answer.id))
    )
    return [(qid, aud) for qid, aud, _first in session.execute(stmt)]


def _day(value: object) -> date | None:
    # min()/max() bypass the column type: SQLite hands back text, PostgreSQL a datetime.
    if value is None:
        return None
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if hasattr(value, "date") else None


def round_info(session: Session, rnd: Round) -> RoundInfo:
    """Return the facts of a round the plan prints, with the days of its first and last answer."""
    first, last = session.execute(
        select(func.min(Answer.created_at), func.max(Answer.created_at)).where(
            Answer.round_id == rnd.id, Answer.superseded.is_(False)
        )
    ).one()
    return RoundInfo(
        code=rnd.code,
        title=rnd.title,
        status=rnd.status,
        priorities=tuple(rnd.priorities),
        audiences=tuple(rnd.audiences),
        created_on=rnd.created_at.date(),
        opened_on=rnd.opened_at.date() if rnd.opened_at else None,
        closed_on=rnd.closed_at.date() if rnd.closed_at else None,
        closes_on=rnd.closes_on,
        first_answer=_day(first),
        last_answer=_day(last),
    )


def answer_records(session: Session, rnd: Round) -> Iterator[AnswerRecord]:
    """Yield every live answer of the round as given, with its analysis, oldest first."""
    for a in live_answers(session, rnd):
        yield AnswerRecord(
            priority=a.priority,
            question_id=a.question_id,
            audience=a.audience,
            channel=a.channel,
            respondent_id=a.respondent_id,
            text=a.text,
            created_at=a.created_at,
            redacted=a.redacted,
            sentiment=a.sentiment,
            priority_guess=a.priority_guess,
            themes=tuple(a.themes or ()),
            flagged=bool(a.flagged),
            being_read=a.choice is None and a.assessed_at is None,
        )
