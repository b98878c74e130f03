"""Review decisions: approve, reject and choose quotes (one answer, a selection, the whole
round), light quote edits checked for identifying words, tag overrides, and the redaction
edits of ``spans`` applied to an answer. Each records who decided and when; logs carry ids.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from surveys.analysis import redact as redact_mod
from surveys.core.vocabulary import SENTIMENTS
from surveys.services.review import spans as span_edits
from surveys.services.review.errors import ReviewError
from surveys.services.review.queue import hidden_count, visible_conditions
from surveys.services.review.spans import active_spans, is_placeholder, span_dicts
from surveys.storage.db import rows_changed
from surveys.storage.models import Answer, Round, utcnow

log = logging.getLogger("yjvoice.review")

ACTIONS: tuple[str, ...] = ("approve", "reject", "reset", "quote", "unquote")
MAX_QUOTE = 2000
#: Below this similarity to the redacted text an edit is no longer "light".
LIGHT_EDIT_RATIO = 0.5
BEING_READ = (
    "That answer is still being read for safeguarding concerns (it takes a few seconds after "
    "an answer arrives). Choose it as a quote once it has been read."
)


def decide(answers: Sequence[Answer], action: str, user_id: int | None) -> int:
    """Apply a review decision to answers already fetched for this round; return how many."""
    if action not in ACTIONS:
        raise ReviewError(f"Unknown action {action!r}.")
    if action == "quote" and any(a.assessed_at is None for a in answers):
        raise ReviewError(BEING_READ)  # the recall net may yet find a concern in it
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
        if not is_placeholder(s.original) and s.original not in back
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
    answer: Answer,
    user_id: int | None,
    edit: str | None = None,
    *,
    confirmed: bool = False,
    translation: str | None = None,
) -> QuoteResult:
    """Choose an answer as a quote, optionally with a light edit (the redacted text is kept).

    An edit with warnings is saved only when ``confirmed``; the reviewer and time are
    recorded whenever the edit changes. ``translation`` (a quote given in Welsh): the
    lead's English translation, printed after the quote in the English plan; None leaves it.
    """
    if answer.assessed_at is None:
        raise ReviewError(BEING_READ)
    text = _clean_quote(edit)
    if text is not None and text == (answer.redacted or "").strip():
        text = None  # no edit: the redacted text is the quote
    check = check_quote_edit(answer, text) if text is not None else QuoteCheck()
    if not check.ok and not confirmed:
        return QuoteResult(False, check)
    if translation is not None:
        answer.quote_translation = _clean_quote(translation)
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
def _save_spans(answer: Answer, spans: span_edits.Spans) -> None:
    # A new list: SQLAlchemy sees the JSON change.
    answer.redactions, answer.redacted = span_edits.render(answer.text, spans)


def accept_redactions(answer: Answer, index: int | None = None) -> None:
    """Mark one redaction (or all applied ones) as checked by a reviewer."""
    _save_spans(answer, span_edits.accepted(span_dicts(answer), index))


def undo_redaction(answer: Answer, index: int) -> None:
    """Show the original words again in the published text (the span is kept for redo)."""
    spans = span_edits.undone(span_dicts(answer), index)
    category = spans[index].get("category")
    _save_spans(answer, spans)
    row_id = answer.id
    log.info("redaction undone answer_id=%s category=%s", row_id, category)


def redo_redaction(answer: Answer, index: int) -> None:
    """Hide an undone redaction's words again."""
    _save_spans(answer, span_edits.redone(span_dicts(answer), index))


def redact_too(answer: Answer, selected: str, category: str, user_id: int | None) -> int:
    """Hide every occurrence of the selected words too; return how many were added."""
    at = utcnow().isoformat(timespec="seconds")
    spans, added = span_edits.hidden_too(
        answer.text, span_dicts(answer), selected, category, by=user_id, at=at
    )
    _save_spans(answer, spans)
    row_id = answer.id
    log.info("redaction added answer_id=%s category=%s count=%d", row_id, category, added)
    return added


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
    """Approve every pending written answer not with the safeguarding lead, in one statement.

    Answers still being read (the second reading, in a worker) are left pending.
    """
    now = utcnow()
    where = [
        *visible_conditions(rnd),
        Answer.review_status == "pending",
        Answer.assessed_at.is_not(None),
    ]
    values: dict[str, Any] = {
        "review_status": "approved",
        "reviewed_at": now,
        "reviewed_by": user_id,
    }
    if as_quotes:
        values["is_quote"] = True
    approved = (
        rows_changed(
            session,
            update(Answer)
            .where(*where)
            .values(**values)
            .execution_options(synchronize_session=False),
        )
        or 0
    )
    quotes = approved if as_quotes else 0
    session.expire_all()
    hidden = hidden_count(session, rnd)
    log.info("bulk approval round=%s approved=%d quotes=%d", rnd.id, approved, quotes)
    return BulkApproval(approved, quotes, hidden)
