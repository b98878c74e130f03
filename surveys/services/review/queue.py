"""The review queue's queries: which answers a reviewer may see, pages of them with their
counts, one answer or a selection, and the chosen quotes a viewer may read.

Flagged answers and answers with a safeguarding case never appear in any of these: the
queue only says how many there are, counted with the filters that say nothing about their
words, so a search cannot probe them. Pagination is keyset on the answer id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, exists, func, not_, select, type_coerce
from sqlalchemy.orm import Session

from surveys.core.vocabulary import REVIEW_STATUSES, SENTIMENTS
from surveys.services.review.errors import NotReviewable, ReviewError
from surveys.services.review.spans import Segment, published_segments, span_dicts
from surveys.storage import crypto
from surveys.storage.models import (
    Answer,
    AnswerTheme,
    Respondent,
    Round,
    SafeguardingCase,
    Theme,
)

#: The queue's status filter: one of the statuses, or these groupings.
STATUS_FILTERS: dict[str, str] = {
    "pending": "To review",
    "approved": "Approved",
    "rejected": "Rejected",
    "quotes": "Chosen as quotes",
    "all": "All",
}
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SEARCH = 200
_THEME_PREFIX = "theme-"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_QID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_.]{1,120}$")


def _live_written(rnd: Round) -> list[ColumnElement[bool]]:
    return [
        Answer.round_id == rnd.id,
        Answer.superseded.is_(False),
        Answer.choice.is_(None),
    ]


def _effective_priority() -> ColumnElement[str]:
    return func.coalesce(Answer.priority_override, Answer.priority)


def _effective_sentiment() -> ColumnElement[str]:
    return func.coalesce(Answer.sentiment_override, Answer.sentiment)


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer asked the queue for; every value already checked."""

    priority: str = ""
    question: str = ""
    audience: str = ""
    sentiment: str = ""
    theme: str = ""  # a codebook key, or "theme-<id>" for a question's theme
    status: str = "pending"
    search: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> QueueFilter:
        """Read filters from query arguments, dropping anything malformed."""

        def get(name: str) -> str:
            value = args.get(name, "")
            return value.strip() if isinstance(value, str) else ""

        priority = get("priority")
        question = get("question")
        audience = get("audience")
        sentiment = get("sentiment")
        theme = get("theme")
        status = get("status") or "pending"
        search = " ".join(get("q").split())[:MAX_SEARCH]
        theme_ok = bool(_KEY_RE.match(theme)) or (
            theme.startswith(_THEME_PREFIX) and theme[len(_THEME_PREFIX) :].isdigit()
        )
        return cls(
            priority=priority if _KEY_RE.match(priority) else "",
            question=question if _QID_RE.match(question) else "",
            audience=audience if _KEY_RE.match(audience) else "",
            sentiment=sentiment if sentiment in SENTIMENTS else "",
            theme=theme if theme_ok else "",
            status=status if status in STATUS_FILTERS else "pending",
            search=search,
        )

    def to_args(self) -> dict[str, str]:
        """Return the filters as query arguments (only those set)."""
        out = {
            "priority": self.priority,
            "question": self.question,
            "audience": self.audience,
            "sentiment": self.sentiment,
            "theme": self.theme,
            "q": self.search,
        }
        out = {k: v for k, v in out.items() if v}
        if self.status != "pending":
            out["status"] = self.status
        return out

    @property
    def theme_id(self) -> int | None:
        """Return the question theme's id when filtering by one."""
        if self.theme.startswith(_THEME_PREFIX):
            return int(self.theme[len(_THEME_PREFIX) :])
        return None

    @property
    def is_filtered(self) -> bool:
        """Return True when anything narrows the queue beyond its status."""
        return bool(
            self.priority
            or self.question
            or self.audience
            or self.sentiment
            or self.theme
            or self.search
        )


def _structural(f: QueueFilter) -> list[ColumnElement[bool]]:
    """Return the filters that say nothing about an answer's words (safe for hidden ones)."""
    out: list[ColumnElement[bool]] = []
    if f.priority:
        out.append(_effective_priority() == f.priority)
    if f.question:
        out.append(Answer.question_id == f.question)
    if f.audience:
        out.append(Answer.audience == f.audience)
    return out


def _content(session: Session, rnd: Round, f: QueueFilter) -> list[ColumnElement[bool]]:
    """Return the filters that read an answer's words or analysis."""
    out: list[ColumnElement[bool]] = []
    if f.sentiment:
        out.append(_effective_sentiment() == f.sentiment)
    if f.theme_id is not None:
        out.append(
            Answer.id.in_(select(AnswerTheme.answer_id).where(AnswerTheme.theme_id == f.theme_id))
        )
    elif f.theme:
        # Codebook tags are a JSON list of keys; the key is checked to be lower_snake_case.
        out.append(cast(Answer.themes, Text).like(f'%"{f.theme}"%'))
    if f.search:
        out.append(Answer.id.in_(_search(session, rnd, f)))
    return out


def _search(session: Session, rnd: Round, f: QueueFilter) -> list[int]:
    """Return the ids of the round's visible answers whose redacted text holds the search.

    Every answer-derived text is encrypted at rest (surveys.storage.crypto), so SQL cannot
    read it: the round's redacted texts (under the structural filters) are decrypted here
    and matched, case-insensitively, as ``ILIKE '%...%'`` did. The redacted text holds the
    same words with placeholders ("[name]"): a redacted word is not searchable, by design.

    Only each token's last 24 characters (its HMAC, the cache's key) come from the database;
    the whole token only for texts this process has not decrypted yet. At 100,000 answers
    that is ~2.4 MB a search instead of ~15 MB, and no decryption once the cache is warm.
    """
    needle = f.search.casefold()
    stored = type_coerce(Answer.redacted, Text)  # the tokens as stored
    tail = (
        func.right(stored, TAIL)
        if session.get_bind().dialect.name == "postgresql"
        else func.substr(stored, -TAIL)
    )
    rows = session.execute(select(Answer.id, tail).where(*visible_conditions(rnd), *_structural(f)))
    found: list[int] = []
    missing: list[int] = []
    for answer_id, key in rows:
        if not key:
            continue
        text = _SEARCHABLE.get(key)
        if text is None:
            missing.append(answer_id)
        elif needle in text:
            found.append(answer_id)
    for start in range(0, len(missing), 5_000):
        chunk = missing[start : start + 5_000]
        for answer_id, token in session.execute(
            select(Answer.id, stored).where(Answer.id.in_(chunk))
        ):
            if token and needle in _searchable(token):
                found.append(answer_id)
    return sorted(found)


#: Decrypted, case-folded redacted texts by the tail of their token (its HMAC: unique per
#: encryption, so an edited text is a new entry). Decrypting costs ~40 us a text: paging or
#: refining a search in a large round then reads from here. Bounded (about 60 MB at most);
#: cleared when full.
TAIL = 24
_SEARCHABLE: dict[str, str] = {}
_SEARCHABLE_MAX = 250_000


def _searchable(token: str) -> str:
    if not crypto.is_token(token):  # a row written before encryption: not cached
        return token.casefold()
    key = token[-TAIL:]
    text = _SEARCHABLE.get(key)
    if text is None:
        if len(_SEARCHABLE) >= _SEARCHABLE_MAX:
            _SEARCHABLE.clear()
        text = _SEARCHABLE[key] = crypto.decrypt(token).casefold()
    return text


def _status(f: QueueFilter) -> list[ColumnElement[bool]]:
    if f.status in REVIEW_STATUSES:
        return [Answer.review_status == f.status]
    if f.status == "quotes":
        return [Answer.is_quote.is_(True), Answer.review_status == "approved"]
    return []


def _has_case() -> ColumnElement[bool]:
    """An answer with a safeguarding case, unless the lead cleared it as "no concern"."""
    return exists(
        select(SafeguardingCase.id).where(
            SafeguardingCase.answer_id == Answer.id, SafeguardingCase.status != "cleared"
        )
    )


def visible_conditions(rnd: Round) -> list[ColumnElement[bool]]:
    """Return the conditions of an answer the review queue may show."""
    # Two separate conditions, not NOT(a OR b): PostgreSQL plans a NOT EXISTS standing on
    # its own as an anti-join, but one inside a NOT(OR) as a per-row subplan costed so high
    # that every query pays for JIT compilation.
    return [*_live_written(rnd), Answer.flagged.is_(False), not_(_has_case())]


@dataclass(frozen=True)
class QueueItem:
    """One answer as the queue lists it (publishable form, never raw text)."""

    id: int
    pseudonym: str
    priority: str
    priority_overridden: bool
    question_id: str
    audience: str
    channel: str
    created_at: datetime
    segments: tuple[Segment, ...]
    quote_text: str | None
    is_quote: bool
    review_status: str
    sentiment: str | None
    sentiment_overridden: bool
    tags: tuple[str, ...]
    redaction_count: int
    language: str = "en"  # the language the question was asked in
    quote_translation: str | None = None  # the lead's English translation of the quote
    being_read: bool = False  # the second reading (recall net, heads) has not run yet


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue with everything the page prints about the rest."""

    filter: QueueFilter
    items: tuple[QueueItem, ...]
    total: int  # answers matching the filters, status included
    status_counts: dict[str, int]
    hidden: int  # answers with the safeguarding lead, under the structural filters
    next_after: int | None
    prev_before: int | None
    page_size: int


def queue(
    session: Session,
    rnd: Round,
    f: QueueFilter,
    *,
    after: int | None = None,
    before: int | None = None,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """Return one page of the round's review queue, oldest answer first."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    base = [*visible_conditions(rnd), *_structural(f), *_content(session, rnd, f)]
    where = [*base, *_status(f)]
    stmt = select(Answer, Respondent.id).join(Respondent, Respondent.id == Answer.respondent_id)
    if before is not None:
        stmt = stmt.where(*where, Answer.id < before).order_by(Answer.id.desc())
    else:
        if after is not None:
            where.append(Answer.id > after)
        stmt = stmt.where(*where).order_by(Answer.id)
    rows = list(session.execute(stmt.limit(page_size + 1)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if before is not None:
        rows.reverse()
    items = tuple(_item(a, rid) for a, rid in rows)

    counts = dict.fromkeys(STATUS_FILTERS, 0)
    status_rows = session.execute(
        select(Answer.review_status, Answer.is_quote, func.count())
        .where(*base)
        .group_by(Answer.review_status, Answer.is_quote)
    ).all()
    for status, is_quote, n in status_rows:
        counts[status] = counts.get(status, 0) + n
        counts["all"] += n
        if is_quote and status == "approved":
            counts["quotes"] += n
    total = counts.get(f.status, 0)

    if before is not None:
        next_after = items[-1].id if items else None
        prev_before = items[0].id if more and items else None
    else:
        next_after = items[-1].id if more and items else None
        prev_before = items[0].id if after is not None and items else None
    return QueuePage(
        filter=f,
        items=items,
        total=total,
        status_counts=counts,
        hidden=hidden_count(session, rnd, f),
        next_after=next_after,
        prev_before=prev_before,
        page_size=page_size,
    )


def hidden_count(session: Session, rnd: Round, f: QueueFilter | None = None) -> int:
    """Return how many written answers are with the safeguarding lead (no words read)."""
    where = _live_written(rnd)
    if f is not None:
        where += _structural(f)
    flagged = select(func.count()).select_from(Answer).where(*where, Answer.flagged.is_(True))
    cased = (
        select(func.count())
        .select_from(Answer)
        .where(*where, Answer.flagged.is_(False), _has_case())
    )
    return session.scalar(select(flagged.scalar_subquery() + cased.scalar_subquery())) or 0


def hidden_phrase(n: int) -> str:
    """Return the placeholder sentence for answers with the safeguarding lead."""
    if n == 1:
        return "1 answer is with the safeguarding lead."
    return f"{n} answers are with the safeguarding lead."


def _item(a: Answer, respondent_id: str) -> QueueItem:
    spans = span_dicts(a)
    return QueueItem(
        id=a.id,
        pseudonym="R-" + respondent_id[:8].upper(),
        priority=a.effective_priority,
        priority_overridden=a.priority_override is not None,
        question_id=a.question_id,
        audience=a.audience,
        channel=a.channel,
        created_at=a.created_at,
        segments=tuple(published_segments(a.text, spans)),
        quote_text=a.quote_text,
        is_quote=a.is_quote,
        review_status=a.review_status,
        sentiment=a.effective_sentiment,
        sentiment_overridden=a.sentiment_override is not None,
        tags=tuple(a.themes or ()),
        redaction_count=sum(1 for s in spans if not s.get("undone")),
        language=a.language or "en",
        quote_translation=a.quote_translation,
        being_read=a.assessed_at is None,
    )


def neighbours(
    session: Session, rnd: Round, f: QueueFilter, answer_id: int
) -> tuple[int | None, int | None]:
    """Return the ids of the answers before and after this one in the filtered queue."""
    where = [*visible_conditions(rnd), *_structural(f), *_content(session, rnd, f), *_status(f)]
    prev_id = session.scalar(
        select(Answer.id).where(*where, Answer.id < answer_id).order_by(Answer.id.desc()).limit(1)
    )
    next_id = session.scalar(
        select(Answer.id).where(*where, Answer.id > answer_id).order_by(Answer.id).limit(1)
    )
    return prev_id, next_id


def tag_filter_options(session: Session, rnd: Round) -> list[tuple[str, str]]:
    """Return (value, label) of the question themes a reviewer can filter by."""
    rows = session.execute(
        select(Theme.id, Theme.question_id, Theme.label)
        .where(Theme.round_id == rnd.id)
        .order_by(Theme.question_id, Theme.position, Theme.id)
    ).all()
    return [(f"{_THEME_PREFIX}{tid}", f"{qid}: {label}") for tid, qid, label in rows]


def get_answer(session: Session, rnd: Round, answer_id: int) -> Answer:
    """Return an answer of this round's queue, or raise NotReviewable."""
    answer = session.scalar(select(Answer).where(Answer.id == answer_id, *visible_conditions(rnd)))
    if answer is None:
        raise NotReviewable(answer_id)
    return answer


def get_answers(session: Session, rnd: Round, ids: Iterable[int]) -> list[Answer]:
    """Return these answers of this round's queue; raise NotReviewable if any is not one."""
    wanted = sorted(set(ids))
    if not wanted:
        raise ReviewError("Select at least one answer first.")
    if len(wanted) > 1000:
        raise ReviewError("Select at most 1,000 answers at a time.")
    found = list(
        session.scalars(
            select(Answer)
            .where(Answer.id.in_(wanted), *visible_conditions(rnd))
            .order_by(Answer.id)
        )
    )
    if len(found) != len(wanted):
        raise NotReviewable(sorted(set(wanted) - {a.id for a in found}))
    return found


@dataclass(frozen=True)
class Quote:
    """An approved quote as it would be published."""

    id: int
    priority: str
    question_id: str
    audience: str
    text: str


def quotes(
    session: Session,
    rnd: Round,
    *,
    priority: str = "",
    after: int | None = None,
    limit: int = MAX_PAGE_SIZE,
) -> tuple[list[Quote], int | None, int]:
    """Return a page of approved quotes (publishable text only), the next cursor and the total."""
    where = [
        *visible_conditions(rnd),
        Answer.review_status == "approved",
        Answer.is_quote.is_(True),
        Answer.redacted.is_not(None),
        Answer.assessed_at.is_not(None),
    ]
    if priority:
        where.append(_effective_priority() == priority)
    total = session.scalar(select(func.count()).select_from(Answer).where(*where)) or 0
    stmt = select(
        Answer.id,
        _effective_priority(),
        Answer.question_id,
        Answer.audience,
        Answer.quote_text,
        Answer.redacted,
    ).where(*where)
    if after is not None:
        stmt = stmt.where(Answer.id > after)
    rows = session.execute(stmt.order_by(Answer.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [Quote(i, p, q, a, (qt or red or "").strip()) for i, p, q, a, qt, red in rows]
    return out, (out[-1].id if more and out else None), total
