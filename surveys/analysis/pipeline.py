"""Analyse each answer as it is stored: redact, read sentiment, guess the priority, tag
codebook themes and check for safeguarding concerns.

Cheap and deterministic, so it runs inside the transaction that stores the answer: an
answer is never in the database without its redacted text and its safeguarding check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from surveys.analysis import disclosure, redact, sentiment
from surveys.analysis.clustering import tag_codebook
from surveys.analysis.priorities import classify

#: A tapped rating says its sentiment plainly; no need to read it.
RATING_SENTIMENT: dict[str, tuple[str, float]] = {
    "very_good": ("positive", 1.0),
    "good": ("positive", 0.5),
    "ok": ("neutral", 0.0),
    "poor": ("negative", -1.0),
}


@dataclass(frozen=True)
class Analysis:
    """Everything the analysis engines say about one answer."""

    redacted: str
    redactions: list[dict[str, Any]] = field(default_factory=list)
    sentiment: str | None = None
    sentiment_score: float | None = None
    priority_guess: str | None = None
    priority_confidence: float | None = None
    themes: list[str] = field(default_factory=list)
    flagged: bool = False
    flag_categories: list[str] = field(default_factory=list)


def analyse(
    text: str, *, choice: str | None = None, redact_config: redact.RedactConfig | None = None
) -> Analysis:
    """Analyse one answer; a tapped choice is already anonymous and says no more than itself."""
    if choice is not None:
        label, score = RATING_SENTIMENT.get(choice, (None, None))
        return Analysis(redacted=text, sentiment=label, sentiment_score=score)
    red = redact.redact(text, config=redact_config)
    spans = [
        {
            "start": s.start,
            "end": s.end,
            "category": s.category,
            "original": s.original,
            "placeholder": s.placeholder,
        }
        for s in red.spans
    ]
    feel = sentiment.score(red.text)
    guess = classify(red.text)
    check = disclosure.check(text)  # the raw words: redaction must never hide a disclosure
    return Analysis(
        redacted=red.text,
        redactions=spans,
        sentiment=feel.label,
        sentiment_score=feel.score,
        priority_guess=guess.priority,
        priority_confidence=guess.confidence,
        themes=tag_codebook(red.text),
        flagged=check.flag,
        flag_categories=list(check.categories),
    )


def columns(analysis: Analysis) -> dict[str, Any]:
    """Return an analysis as the answer columns that hold it."""
    return {
        "redacted": analysis.redacted,
        "redactions": analysis.redactions,
        "sentiment": analysis.sentiment,
        "sentiment_score": analysis.sentiment_score,
        "priority_guess": analysis.priority_guess,
        "priority_confidence": analysis.priority_confidence,
        "themes": analysis.themes,
        "flagged": analysis.flagged,
        "flag_categories": analysis.flag_categories,
    }
