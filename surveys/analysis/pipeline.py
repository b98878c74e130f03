"""Analyse each answer as it is stored: redact, read sentiment, guess the priority, tag
codebook themes and check for safeguarding concerns.

Deterministic, and run inside the transaction that stores the answer: an answer is never
in the database without its redacted text and its safeguarding check. Safeguarding has
two tiers that both open a case: the lexicon's explainable **hard flag** (help is shown
at once) and the learned recall net's **possible concern** (``assess.py``; the footer's
help is enough), which also takes answers not written in English ("not read
automatically"). The net never removes a hard flag. Sentiment and priority come from
the same embedding (``assess.py``); the priority prior is the question's own priority
when the answer replies to a priority question.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from surveys.analysis import assess, disclosure, redact
from surveys.analysis.clustering import tag_codebook

FLAG, POSSIBLE = "flag", "possible"
#: Conversation languages the safeguarding lexicon reads besides English (safeguard_cy.yaml).
LEXICON_LANGUAGES = frozenset({"cy"})


def language_is_english(language: str | None) -> bool:
    """Return True for an English (or unknown) conversation language."""
    return language in (None, "", "en")


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
    flagged: bool = False  # either tier: a case is opened and no export ever shows it
    flag_categories: list[str] = field(default_factory=list)
    flag_tier: str | None = None  # FLAG, POSSIBLE or None
    flag_score: float | None = None  # the recall net's score (0..1); None when not read
    flag_trigger: list[list[int]] = field(default_factory=list)  # [start, end] in the raw text

    @property
    def shows_help_now(self) -> bool:
        """Return True when the respondent must be shown where to get help in this turn."""
        return self.flag_tier == FLAG


def safeguarding(lexicon: disclosure.Safeguard, learned: assess.Assessment) -> dict[str, Any]:
    """Combine the two tiers: the lexicon's hard flag wins; the net can only add a concern."""
    if lexicon.flag:
        return {
            "flagged": True,
            "flag_categories": list(lexicon.categories),
            "flag_tier": FLAG,
            "flag_score": learned.score,
            "flag_trigger": [[m.start, m.end] for m in lexicon.matches],
        }
    if learned.concern:
        return {
            "flagged": True,
            "flag_categories": list(learned.categories) or [assess.NOT_READ],
            "flag_tier": POSSIBLE,
            "flag_score": learned.score,
            "flag_trigger": [list(learned.trigger)] if learned.trigger else [],
        }
    return {"flag_score": learned.score}


def analyse(
    text: str,
    *,
    choice: str | None = None,
    question_priority: str | None = None,
    question_id: str | None = None,
    language: str | None = None,
    redact_config: redact.RedactConfig | None = None,
) -> Analysis:
    """Analyse one answer; a tapped choice is already anonymous and says no more than itself.

    ``question_priority`` is the priority (bank) of the question answered: a prior for the
    priority guess unless it is an open question (``general.*``). ``language`` is the
    conversation's language: in a Welsh conversation the lexicon's Welsh patterns read the
    answer, so it is not sent to the "not read automatically" lane (text in a language no
    lexicon reads still is).
    """
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
    # The raw words for safeguarding: redaction must never hide a disclosure. The heads
    # read the raw words too (a placeholder such as [name] reads worse than a name).
    check = disclosure.check(text)
    learned = assess.assess(text, question_priority=question_priority, question_id=question_id)
    if learned.lane and language in LEXICON_LANGUAGES and not language_is_english(language):
        learned = replace(learned, concern=False, lane=None)
    return Analysis(
        redacted=red.text,
        redactions=spans,
        sentiment=learned.sentiment,
        sentiment_score=learned.sentiment_score,
        priority_guess=learned.priority,
        priority_confidence=learned.priority_confidence,
        themes=tag_codebook(red.text),
        **safeguarding(check, learned),
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
        "flag_tier": analysis.flag_tier,
        "flag_score": analysis.flag_score,
    }


def concern(analysis: Analysis) -> dict[str, Any]:
    """Return what the safeguarding case records about a flagged answer."""
    return {
        "categories": list(analysis.flag_categories),
        "tier": analysis.flag_tier or FLAG,
        "score": analysis.flag_score,
        "trigger_spans": [list(s) for s in analysis.flag_trigger],
    }
