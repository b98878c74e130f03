"""The review queue: find a round's answers, read them safely and decide what to publish.

What a reviewer may see is decided here, not in templates:

* **Hidden answers** are flagged by the safeguarding detector or have a safeguarding case.
  They never appear in the queue, its counts or its search; the queue only says how many
  there are ("1 answer is with the safeguarding lead"), counted with the filters that say
  nothing about their words (priority, question, audience), so a search cannot probe them.
* Only **written** answers (no tapped choice), still **live** (not superseded), are reviewed.

Redactions are the analysis engine's spans, stored on the answer as JSON. The reviewer can
accept them, undo one (the span is kept, marked ``undone``, so it can be redone), or hide
more ("redact this too"); every change re-renders ``Answer.redacted`` from the raw text with
``redact.apply_spans``. A quote may be lightly edited: the edit goes to ``quote_text`` while
``redacted`` is kept, and the reviewer and time are recorded; an edit that brings back a
redacted word, or adds something that looks identifying, is refused until confirmed.

Pagination is keyset on the answer id (``after`` / ``before``), so page 400 of 100,000
answers costs what page 1 costs.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, exists, func, not_, select, update
from sqlalchemy.orm import Session

from surveys.analysis import redact as redact_mod
from surveys.core.vocabulary import REVIEW_STATUSES, SENTIMENTS
from surveys.storage.models import (
    Answer,
    AnswerTheme,
    Respondent,
    Round,
    SafeguardingCase,
    Theme,
    utcnow,
)

log = logging.getLogger("yjvoice.review")

#: The queue's status filter: one of the statuses, or these groupings.
STATUS_FILTERS: dict[str, str] = {
    "pending": "To review",
    "approved": "Approved",
    "rejected": "Rejected",
    "quotes": "Chosen as quotes",
    "all": "All",
}
ACTIONS: tuple[str, ...] = ("approve", "reject", "reset", "quote", "unquote")
#: Categories a reviewer may choose for "redact this too" (the anonymiser's own).
REDACT_CATEGORIES: dict[str, str] = dict(redact_mod.CATEGORIES)
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_SEARCH = 200
MAX_QUOTE = 2000
#: Below this similarity to the redacted text an edit is no longer "light".
LIGHT_EDIT_RATIO = 0.5
_THEME_PREFIX = "theme-"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_QID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_.]{1,120}$")
_PLACEHOLDER_RE = re.compile(r"\[[a-z]+(?: \d+)?\]")


class NotReviewable(LookupError):
    """No such answer in this round's queue (another round's, flagged, superseded, tapped)."""


class ReviewError(ValueError):
    """A review action cannot be done as asked; the message says why, in plain words."""


# ---- which answers the queue holds ------------------------------------------------------
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


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _content(f: QueueFilter) -> list[ColumnElement[bool]]:
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
        # The raw words are encrypted at rest (surveys.storage.crypto), so SQL cannot read them:
        # search the redacted text, which holds the same words with placeholders ("[name]").
        # A redacted word (a name, a school) is therefore not searchable, by design.
        out.append(Answer.redacted.ilike(f"%{_like_escape(f.search)}%", escape="\\"))
    return out


def _status(f: QueueFilter) -> list[ColumnElement[bool]]:
    if f.status in REVIEW_STATUSES:
        return [Answer.review_status == f.status]
    if f.status == "quotes":
        return [Answer.is_quote.is_(True), Answer.review_status == "approved"]
    return []


def _has_case() -> ColumnElement[bool]:
    return exists(select(SafeguardingCase.id).where(SafeguardingCase.answer_id == Answer.id))


def visible_conditions(rnd: Round) -> list[ColumnElement[bool]]:
    """Return the conditions of an answer the review queue may show."""
    # Two separate conditions, not NOT(a OR b): PostgreSQL plans a NOT EXISTS standing on
    # its own as an anti-join, but one inside a NOT(OR) as a per-row subplan costed so high
    # that every query pays for JIT compilation.
    return [*_live_written(rnd), Answer.flagged.is_(False), not_(_has_case())]


# ---- the queue ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A run of an answer's text: plain, or a redaction (shown highlighted)."""

    text: str
    span: int | None = None  # index into the answer's redactions
    category: str = ""
    placeholder: str = ""
    original: str = ""
    undone: bool = False
    accepted: bool = False


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
    base = [*visible_conditions(rnd), *_structural(f), *_content(f)]
    where = [*base, *_status(f)]
    stmt = select(Answer, Respondent.id).join(Respondent, Respondent.id == Answer.respondent_id)
    if before is not None:
        stmt = stmt.where(*where, Answer.id < before).order_by(Answer.id.desc())
    else:
        if after is not None:
            where.append(Answer.id > after)
        stmt = stmt.where(*where).order_by(Answer.id)
    rows = session.execute(stmt.limit(page_size + 1)).all()
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
    )


def neighbours(
    session: Session, rnd: Round, f: QueueFilter, answer_id: int
) -> tuple[int | None, int | None]:
    """Return the ids of the answers before and after this one in the filtered queue."""
    where = [*visible_conditions(rnd), *_structural(f), *_content(f), *_status(f)]
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


# ---- one answer ---------------------------------------------------------------------------
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


def decide(answers: Sequence[Answer], action: str, user_id: int | None) -> int:
    """Apply a review decision to answers already fetched for this round; return how many."""
    if action not in ACTIONS:
        raise ReviewError(f"Unknown action {action!r}.")
    now = utcnow()
    for a in answers:
        if action == "approve":
            if a.review_status != "approved":
                a.review_status, a.reviewed_by, a.reviewed_at = "approved", user_id, now
        elif action == "reject":
            a.review_status, a.reviewed_by, a.reviewed_at = "rejected", user_id, now
            a.is_quote = False
        elif action == "reset":
            a.review_status, a.reviewed_by, a.reviewed_at = "pending", None, None
            a.is_quote = False
        elif action == "quote":
            # A quote is published, so choosing one approves it.
            if a.review_status != "approved" or not a.is_quote:
                a.review_status, a.reviewed_by, a.reviewed_at = "approved", user_id, now
            a.is_quote = True
        elif action == "unquote":
            a.is_quote = False
    log.info("review %s answers=%d user=%s", action, len(answers), user_id)
    return len(answers)


@dataclass(frozen=True)
class QuoteCheck:
    """What a reviewer should know before a quote edit is saved."""

    warnings: tuple[str, ...] = ()
    reintroduced: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Return True when nothing needs a second look."""
        return not self.warnings


def check_quote_edit(answer: Answer, edit: str) -> QuoteCheck:
    """Return warnings about a quote edit: redacted words brought back, new identifiers."""
    warnings: list[str] = []
    back: list[str] = []
    folded = edit.casefold()
    for s in active_spans(answer):
        original = s.original.strip()
        if original and _contains(folded, original.casefold()) and original not in back:
            back.append(original)
    if back:
        shown = ", ".join(f"“{w}”" for w in back)
        warnings.append(
            f"The edit brings back {shown}, which was redacted. Put the placeholder back "
            "unless you are sure it identifies nobody."
        )
    found = [
        s
        for s in redact_mod.redact(edit).spans
        if not _PLACEHOLDER_RE.fullmatch(s.original) and s.original not in back
    ]
    if found:
        shown = ", ".join(
            f"“{s.original}” ({_category_word(s)})" for s in {s.original: s for s in found}.values()
        )
        warnings.append(f"The edit contains {shown}, which could identify someone.")
    base = answer.redacted or ""
    similar = difflib.SequenceMatcher(None, base, edit, autojunk=False).ratio() if base else 1.0
    if similar < LIGHT_EDIT_RATIO:
        warnings.append(
            "The edit changes much of what was said. Quotes should keep the person's own "
            "words; change only what is needed for anonymity or sense."
        )
    return QuoteCheck(tuple(warnings), tuple(back))


_CATEGORY_WORDS = {
    "name": "a name",
    "school": "a school",
    "place": "a place",
    "address": "an address",
    "postcode": "a postcode",
    "phone": "a phone number",
    "email": "an email address",
    "handle": "a social media handle",
    "url": "a link",
    "date": "a date",
    "id": "an ID number",
}


def _category_word(span: redact_mod.Span) -> str:
    return _CATEGORY_WORDS.get(span.category, "a detail")


def _contains(haystack: str, needle: str) -> bool:
    """Return True when needle occurs in haystack as a whole word (or run of words)."""
    left = r"\b" if needle[:1].isalnum() else ""
    right = r"\b" if needle[-1:].isalnum() else ""
    return re.search(left + re.escape(needle) + right, haystack) is not None


@dataclass(frozen=True)
class QuoteResult:
    """Whether a quote was saved, and the warnings that stopped or accompanied it."""

    saved: bool
    check: QuoteCheck = field(default_factory=QuoteCheck)


def use_as_quote(
    answer: Answer, user_id: int | None, edit: str | None = None, *, confirmed: bool = False
) -> QuoteResult:
    """Choose an answer as a quote, optionally with a light edit (the redacted text is kept).

    An edit with warnings is saved only when ``confirmed``; the reviewer and time are
    recorded whenever the edit changes.
    """
    text = _clean_quote(edit)
    if text is not None and text == (answer.redacted or "").strip():
        text = None  # no edit: the redacted text is the quote
    check = check_quote_edit(answer, text) if text is not None else QuoteCheck()
    if not check.ok and not confirmed:
        return QuoteResult(False, check)
    if text != answer.quote_text:
        answer.quote_text = text
        answer.reviewed_by, answer.reviewed_at = user_id, utcnow()
        row_id, edited = answer.id, text is not None  # ids and flags only: never the words
        log.info("quote edit answer_id=%s user=%s edited=%s", row_id, user_id, edited)
    decide([answer], "quote", user_id)
    return QuoteResult(True, check)


def _clean_quote(edit: str | None) -> str | None:
    if edit is None:
        return None
    text = edit.replace("\r\n", "\n").strip()
    if not text:
        return None
    if len(text) > MAX_QUOTE:
        raise ReviewError(f"A quote can be at most {MAX_QUOTE:,} characters.")
    return text


def set_tags(
    answer: Answer,
    *,
    sentiment: str | None = None,
    priority: str | None = None,
    themes: Sequence[str] | None = None,
    priorities: Iterable[str] = (),
    codebook: Iterable[str] = (),
) -> None:
    """Override sentiment, priority and codebook themes ("" puts the engine's back)."""
    if sentiment is not None:
        if sentiment and sentiment not in SENTIMENTS:
            raise ReviewError("Choose positive, neutral or negative.")
        keep = sentiment and sentiment != answer.sentiment
        answer.sentiment_override = sentiment if keep else None
    if priority is not None:
        if priority and priority not in set(priorities):
            raise ReviewError("Choose one of the priorities listed.")
        answer.priority_override = priority if priority and priority != answer.priority else None
    if themes is not None:
        allowed = list(codebook)
        unknown = set(themes) - set(allowed)
        if unknown:
            raise ReviewError("Choose themes from the list.")
        answer.themes = [k for k in allowed if k in set(themes)]


# ---- redactions ---------------------------------------------------------------------------
def span_dicts(answer: Answer) -> list[dict[str, Any]]:
    """Return the answer's redaction spans (engine's and reviewer's), in text order."""
    raw = answer.redactions or []
    return [dict(s) for s in raw if isinstance(s, dict)]


def _span(d: Mapping[str, Any]) -> redact_mod.Span:
    return redact_mod.Span(
        int(d["start"]),
        int(d["end"]),
        str(d["category"]),
        str(d["original"]),
        str(d["placeholder"]),
    )


def active_spans(answer: Answer) -> list[redact_mod.Span]:
    """Return the spans currently applied to the answer's published text."""
    return [_span(d) for d in span_dicts(answer) if not d.get("undone")]


def raw_segments(text: str, spans: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Split the raw text into plain runs and redactions (undone ones included)."""
    out: list[Segment] = []
    pos = 0
    order = sorted(range(len(spans)), key=lambda i: (int(spans[i]["start"]), i))
    for i in order:
        s = spans[i]
        start, end = int(s["start"]), int(s["end"])
        if start < pos or end > len(text):
            continue  # overlapping an earlier one (an undone span): shown by the earlier
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(
            Segment(
                text[start:end],
                span=i,
                category=str(s["category"]),
                placeholder=str(s["placeholder"]),
                original=str(s["original"]),
                undone=bool(s.get("undone")),
                accepted=bool(s.get("accepted")),
            )
        )
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def published_segments(text: str, spans: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Split the published (redacted) text into plain runs and placeholders."""
    active = [(i, s) for i, s in enumerate(spans) if not s.get("undone")]
    out: list[Segment] = []
    pos = 0
    for i, s in sorted(active, key=lambda p: (int(p[1]["start"]), p[0])):
        start, end = int(s["start"]), int(s["end"])
        if start < pos or end > len(text):
            continue
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(
            Segment(
                str(s["placeholder"]),
                span=i,
                category=str(s["category"]),
                placeholder=str(s["placeholder"]),
                accepted=bool(s.get("accepted")),
            )
        )
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return out


def _save_spans(answer: Answer, spans: list[dict[str, Any]]) -> None:
    spans.sort(key=lambda s: (int(s["start"]), int(s["end"])))
    active = [_span(s) for s in spans if not s.get("undone")]
    answer.redacted = redact_mod.apply_spans(answer.text, active)
    answer.redactions = spans  # a new list: SQLAlchemy sees the JSON change


def _span_at(spans: list[dict[str, Any]], index: int) -> dict[str, Any]:
    if not 0 <= index < len(spans):
        raise ReviewError("That redaction is no longer there; the page was out of date.")
    return spans[index]


def accept_redactions(answer: Answer, index: int | None = None) -> None:
    """Mark one redaction (or all applied ones) as checked by a reviewer."""
    spans = span_dicts(answer)
    targets = [_span_at(spans, index)] if index is not None else spans
    for s in targets:
        if not s.get("undone"):
            s["accepted"] = True
    _save_spans(answer, spans)


def undo_redaction(answer: Answer, index: int) -> None:
    """Show the original words again in the published text (the span is kept for redo)."""
    spans = span_dicts(answer)
    s = _span_at(spans, index)
    s["undone"] = True
    s.pop("accepted", None)
    _save_spans(answer, spans)
    row_id = answer.id
    log.info("redaction undone answer_id=%s category=%s", row_id, s.get("category"))


def redo_redaction(answer: Answer, index: int) -> None:
    """Hide an undone redaction's words again."""
    spans = span_dicts(answer)
    s = _span_at(spans, index)
    start, end = int(s["start"]), int(s["end"])
    for i, other in enumerate(spans):
        if i != index and not other.get("undone") and _overlaps(start, end, other):
            raise ReviewError("Those words overlap another redaction; undo that one first.")
    s.pop("undone", None)
    _save_spans(answer, spans)


def _overlaps(start: int, end: int, span: Mapping[str, Any]) -> bool:
    return start < int(span["end"]) and int(span["start"]) < end


def redact_too(answer: Answer, selected: str, category: str, user_id: int | None) -> int:
    """Hide every occurrence of the selected words too; return how many were added."""
    if category not in REDACT_CATEGORIES:
        raise ReviewError("Choose what kind of detail it is.")
    words = " ".join((selected or "").split())
    if not words:
        raise ReviewError("Type or select the words to hide.")
    if len(words) > 200:
        raise ReviewError("Select at most 200 characters at a time.")
    if _PLACEHOLDER_RE.fullmatch(words):
        raise ReviewError("Those words are already a placeholder.")
    spans = span_dicts(answer)
    text = answer.text
    # Whitespace in the selection matches any whitespace (a browser selection folds it).
    body = r"\s+".join(re.escape(w) for w in words.split(" "))
    left = r"(?<!\w)" if words[:1].isalnum() else ""
    right = r"(?!\w)" if words[-1:].isalnum() else ""
    pattern = re.compile(left + body + right, re.IGNORECASE)
    found = [
        m
        for m in pattern.finditer(text)
        if not any(_overlaps(m.start(), m.end(), s) for s in spans if not s.get("undone"))
    ]
    if not found:
        raise ReviewError("Those words are not in the answer as given (or are already hidden).")
    word = REDACT_CATEGORIES[category]
    same = {
        _norm(str(s["original"])): str(s["placeholder"]) for s in spans if s["category"] == category
    }
    used = {str(s["placeholder"]) for s in spans if s["category"] == category}
    added = 0
    for m in found:
        original = m.group(0)
        placeholder = same.get(_norm(original))
        if placeholder is None:
            placeholder = _next_placeholder(word, used)
            used.add(placeholder)
            same[_norm(original)] = placeholder
        # An undone span over the same words is replaced, not doubled.
        spans = [s for s in spans if not (s.get("undone") and _overlaps(m.start(), m.end(), s))]
        spans.append(
            {
                "start": m.start(),
                "end": m.end(),
                "category": category,
                "original": original,
                "placeholder": placeholder,
                "source": "reviewer",
                "accepted": True,
                "by": user_id,
                "at": utcnow().isoformat(timespec="seconds"),
            }
        )
        added += 1
    _save_spans(answer, spans)
    row_id = answer.id
    log.info("redaction added answer_id=%s category=%s count=%d", row_id, category, added)
    return added


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _next_placeholder(word: str, used: set[str]) -> str:
    n = 1
    while True:
        candidate = f"[{word}]" if n == 1 else f"[{word} {n}]"
        if candidate not in used:
            return candidate
        n += 1


def quote_still_identifies(answer: Answer) -> tuple[str, ...]:
    """Return redacted words that a saved quote edit still contains."""
    if not answer.quote_text:
        return ()
    return check_quote_edit(answer, answer.quote_text).reintroduced


# ---- the whole round ----------------------------------------------------------------------
@dataclass(frozen=True)
class BulkApproval:
    """What ``approve_unflagged`` did."""

    approved: int
    quotes: int
    hidden: int  # left alone: with the safeguarding lead


def approve_unflagged(
    session: Session, rnd: Round, *, user_id: int | None = None, as_quotes: bool = False
) -> BulkApproval:
    """Approve every pending written answer not with the safeguarding lead, in one statement."""
    now = utcnow()
    where = [*visible_conditions(rnd), Answer.review_status == "pending"]
    values: dict[str, Any] = {
        "review_status": "approved",
        "reviewed_at": now,
        "reviewed_by": user_id,
    }
    if as_quotes:
        values["is_quote"] = True
    result = session.execute(
        update(Answer).where(*where).values(**values).execution_options(synchronize_session=False)
    )
    approved = result.rowcount or 0  # type: ignore[attr-defined]
    quotes = approved if as_quotes else 0
    session.expire_all()
    hidden = hidden_count(session, rnd)
    log.info("bulk approval round=%s approved=%d quotes=%d", rnd.id, approved, quotes)
    return BulkApproval(approved, quotes, hidden)


# ---- chosen quotes (what a viewer may read) -------------------------------------------------
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
