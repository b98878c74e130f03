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

Three modules: ``queue`` (which answers, pages and counts, the chosen quotes: queries),
``decisions`` (approve, reject, quote, tag, redaction edits: they change answers) and
``spans`` (editing redaction spans: pure). Every public name is here too.
"""

from __future__ import annotations

from surveys.services.review.decisions import (
    ACTIONS,
    LIGHT_EDIT_RATIO,
    MAX_QUOTE,
    BulkApproval,
    QuoteCheck,
    QuoteResult,
    accept_redactions,
    approve_unflagged,
    check_quote_edit,
    decide,
    quote_still_identifies,
    redact_too,
    redo_redaction,
    set_tags,
    undo_redaction,
    use_as_quote,
)
from surveys.services.review.errors import NotReviewable, ReviewError
from surveys.services.review.queue import (
    MAX_PAGE_SIZE,
    MAX_SEARCH,
    PAGE_SIZE,
    STATUS_FILTERS,
    QueueFilter,
    QueueItem,
    QueuePage,
    Quote,
    get_answer,
    get_answers,
    hidden_count,
    hidden_phrase,
    neighbours,
    queue,
    quotes,
    tag_filter_options,
    visible_conditions,
)
from surveys.services.review.spans import (
    REDACT_CATEGORIES,
    Segment,
    active_spans,
    published_segments,
    raw_segments,
    span_dicts,
)

__all__ = [
    "ACTIONS",
    "LIGHT_EDIT_RATIO",
    "MAX_PAGE_SIZE",
    "MAX_QUOTE",
    "MAX_SEARCH",
    "PAGE_SIZE",
    "REDACT_CATEGORIES",
    "STATUS_FILTERS",
    "BulkApproval",
    "NotReviewable",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "Quote",
    "QuoteCheck",
    "QuoteResult",
    "ReviewError",
    "Segment",
    "accept_redactions",
    "active_spans",
    "approve_unflagged",
    "check_quote_edit",
    "decide",
    "get_answer",
    "get_answers",
    "hidden_count",
    "hidden_phrase",
    "neighbours",
    "published_segments",
    "queue",
    "quote_still_identifies",
    "quotes",
    "raw_segments",
    "redact_too",
    "redo_redaction",
    "set_tags",
    "span_dicts",
    "tag_filter_options",
    "undo_redaction",
    "use_as_quote",
    "visible_conditions",
]
